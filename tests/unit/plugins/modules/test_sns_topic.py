"""sns_topic: created with its key, policy, tags and subscriptions; a second run and check mode make
no write; a pending email subscription is reported and never subscribed again; a confirmed one left
out is unsubscribed; bad endpoints fail before any call; delete."""

import json

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules.sns_topic import main

from tests.emulator.fixes import sns as sns_fixes

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TAGS = {"Project": "notejam", "Environment": "test", "ManagedBy": "ansible"}
ARN = "arn:aws:sns:us-east-1:123456789012:notejam-test-alarms"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "CloudWatchAlarmsOfThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": ARN,
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        }
    ],
}
SUBS = [
    {"protocol": "email", "endpoint": "OnCall@example.com"},
    {"protocol": "https", "endpoint": "https://hooks.example.com/sns"},
]


def args(**extra):
    return dict(
        {
            "name": "notejam-test-alarms",
            "kms_master_key_id": KEY,
            "policy": POLICY,
            "subscriptions": SUBS,
            "tags": TAGS,
        },
        **extra,
    )


def subscriptions():
    return boto3.client("sns").list_subscriptions_by_topic(TopicArn=ARN)["Subscriptions"]


def test_create_with_key_policy_tags_and_pending_subscriptions(aws, run_module):
    result = run_module(main, args())
    assert result["changed"] is True, result
    attributes = boto3.client("sns").get_topic_attributes(TopicArn=ARN)["Attributes"]
    assert attributes["KmsMasterKeyId"] == KEY
    assert json.loads(attributes["Policy"]) == POLICY
    assert sorted(s["SubscriptionArn"] for s in subscriptions()) == ["PendingConfirmation"] * 2
    assert result["pending_confirmation"] == ["OnCall@example.com", "https://hooks.example.com/sns"]
    assert result["topic"]["tags"] == TAGS


def test_second_run_and_check_mode_make_no_write_while_confirmations_wait(aws, run_module, api_calls):
    run_module(main, args())
    api_calls.clear_calls()
    again = run_module(
        main, args(subscriptions=[{"protocol": "email", "endpoint": "oncall@EXAMPLE.com"}, SUBS[1]])
    )
    assert again["changed"] is False, again["changes"]
    assert len(again["pending_confirmation"]) == 2
    assert run_module(main, args(), check=True)["changed"] is False
    assert api_calls.writes == []


def test_check_mode_create_writes_nothing(aws, run_module, api_calls):
    assert run_module(main, args(), check=True)["changed"] is True
    assert api_calls.writes == []


def test_confirmed_subscription_left_out_is_unsubscribed_pending_one_is_left_to_expire(
    aws, run_module, api_calls
):
    run_module(main, args(subscriptions=SUBS[:1]))
    sns_fixes.confirm_all()
    run_module(main, args())  # the https one is pending
    api_calls.clear_calls()
    result = run_module(main, args(subscriptions=[{"protocol": "email", "endpoint": "new@example.com"}]))
    assert result["changed"] is True
    assert sorted(api_calls.writes) == ["Subscribe", "Unsubscribe"]
    endpoints = sorted(s["Endpoint"] for s in subscriptions())
    assert endpoints == ["https://hooks.example.com/sns", "new@example.com"]
    assert (
        run_module(main, args(subscriptions=[{"protocol": "email", "endpoint": "new@example.com"}]))[
            "changed"
        ]
        is False
    )


def test_policy_key_and_tags_converge_on_an_existing_topic(aws, run_module):
    boto3.client("sns").create_topic(Name="notejam-test-alarms")
    result = run_module(main, args())
    assert {c.split(".")[0] for c in result["changes"]} == {
        "KmsMasterKeyId",
        "Policy",
        "Subscriptions",
        "Tags",
    }
    assert run_module(main, args())["changed"] is False


@pytest.mark.parametrize(
    "sub, message",
    [
        ({"protocol": "email", "endpoint": "not-an-address"}, "is not an email address"),
        ({"protocol": "https", "endpoint": "http://hooks.example.com/sns"}, "is not an https:// URL"),
        ({"protocol": "sms", "endpoint": "+353000000"}, "protocol"),
    ],
)
def test_bad_subscription_fails_before_any_call(aws, run_module, api_calls, sub, message):
    result = run_module(main, args(subscriptions=[sub]))
    assert result.get("failed") and message in result["msg"], result
    assert api_calls == []


def test_absent_deletes_the_topic(aws, run_module):
    run_module(main, args())
    assert run_module(main, {"name": "notejam-test-alarms", "state": "absent"})["changed"] is True
    assert boto3.client("sns").list_topics()["Topics"] == []
    assert run_module(main, {"name": "notejam-test-alarms", "state": "absent"})["changed"] is False
