"""cloudwatch_log_group: created with key, retention and tags; no-op without writes; check mode; a
group made without a key gets it associated; bad input fails before any call; delete."""

import json

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules.cloudwatch_log_group import main

NAME = "/notejam/test/vpc-flow-logs"
GROUP_ARN_PREFIX = "arn:aws:logs:us-east-1:123456789012:log-group:"
TAGS = {"Project": "notejam", "Environment": "test", "ManagedBy": "ansible"}


def logs_key(group_pattern=NAME):
    kms = boto3.client("kms")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                "Action": [
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": GROUP_ARN_PREFIX + group_pattern}
                },
            },
        ],
    }
    return kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]


@pytest.fixture
def key(aws):
    return logs_key()


def args(key, **extra):
    return dict({"name": NAME, "retention_days": 90, "kms_key_id": key, "tags": TAGS}, **extra)


def group():
    found = boto3.client("logs").describe_log_groups(logGroupNamePrefix=NAME)["logGroups"]
    return found[0] if found else None


def test_create_with_key_retention_and_tags(key, run_module):
    result = run_module(main, args(key))
    assert result["changed"] is True
    assert (group()["kmsKeyId"], group()["retentionInDays"]) == (key, 90)
    assert result["log_group"]["tags"] == TAGS


def test_second_run_and_check_mode_make_no_write(key, run_module, api_calls):
    run_module(main, args(key))
    api_calls.clear_calls()
    assert run_module(main, args(key))["changed"] is False
    assert run_module(main, args(key), check=True)["changed"] is False
    assert api_calls.writes == []


def test_check_mode_create_writes_nothing(key, run_module, api_calls):
    assert run_module(main, args(key), check=True)["changed"] is True
    assert api_calls.writes == [] and group() is None


def test_group_made_without_a_key_gets_it_associated(key, run_module, api_calls):
    boto3.client("logs").create_log_group(logGroupName=NAME, tags=TAGS)
    boto3.client("logs").put_retention_policy(logGroupName=NAME, retentionInDays=90)
    api_calls.clear_calls()
    result = run_module(main, args(key))
    assert result["changes"] == ["kmsKeyId"]
    assert api_calls.writes == ["AssociateKmsKey"]
    assert group()["kmsKeyId"] == key


def test_a_key_whose_policy_does_not_admit_the_group_is_refused_as_aws_does(aws, run_module):
    other = logs_key("/notejam/other/*")
    result = run_module(main, args(other))
    assert result["failed"] is True and "AccessDenied" in json.dumps(result)


def test_retention_and_tag_changes(key, run_module, api_calls):
    run_module(main, args(key))
    api_calls.clear_calls()
    result = run_module(main, args(key, retention_days=30, tags=dict(TAGS, Owner="ops")))
    assert sorted(result["changes"]) == ["Tags.Owner", "retentionInDays"]
    assert sorted(api_calls.writes) == ["PutRetentionPolicy", "TagResource"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"retention_days": 42}, "retention_days=42"),
        ({"kms_key_id": "alias/notejam-test-network"}, "not a KMS key ARN"),
    ],
)
def test_bad_input_fails_before_any_call(key, run_module, api_calls, extra, message):
    api_calls.clear_calls()
    result = run_module(main, args(key, **extra))
    assert result["failed"] is True and message in result["msg"]
    assert api_calls == []


def test_an_alias_stands_for_a_key_in_check_mode(aws, run_module, api_calls):
    result = run_module(main, args("alias/notejam-test-network"), check=True)
    assert result["changed"] is True and api_calls.writes == []


def test_absent_deletes_then_is_a_no_op(key, run_module, api_calls):
    run_module(main, args(key))
    assert run_module(main, {"name": NAME, "state": "absent"})["changed"] is True
    assert group() is None
    api_calls.clear_calls()
    assert run_module(main, {"name": NAME, "state": "absent"})["changed"] is False
    assert api_calls.writes == []


# names: several groups with the same settings in one module run (the aurora role's exported logs).
RDS_PREFIX = "/aws/rds/cluster/notejam-test-aurora/"
NAMES = [RDS_PREFIX + "error", RDS_PREFIX + "slowquery"]


@pytest.fixture
def rds_key(aws):
    return logs_key(RDS_PREFIX + "*")


def many(key, **extra):
    return dict({"names": NAMES, "retention_days": 30, "kms_key_id": key, "tags": TAGS}, **extra)


def groups():
    found = boto3.client("logs").describe_log_groups(logGroupNamePrefix=RDS_PREFIX)
    return {g["logGroupName"]: g for g in found["logGroups"]}


def test_names_creates_every_group_in_one_run(rds_key, run_module):
    result = run_module(main, many(rds_key))
    assert result["changed"] is True
    assert [g["log_group_name"] for g in result["log_groups"]] == NAMES
    settings = {name: (g["kmsKeyId"], g["retentionInDays"]) for name, g in groups().items()}
    assert settings == dict.fromkeys(NAMES, (rds_key, 30))


def test_names_second_run_and_check_mode_make_no_write(rds_key, run_module, api_calls):
    run_module(main, many(rds_key))
    api_calls.clear_calls()
    assert run_module(main, many(rds_key))["changed"] is False
    check = run_module(main, many(rds_key), check=True)
    assert (check["changed"], check["changes"]) == (False, [])
    assert api_calls.writes == []


def test_names_reports_the_one_group_that_drifted_by_name(rds_key, run_module, api_calls):
    run_module(main, many(rds_key))
    boto3.client("logs").put_retention_policy(logGroupName=NAMES[1], retentionInDays=7)
    api_calls.clear_calls()
    check = run_module(main, many(rds_key), check=True)
    assert (check["changed"], check["changes"]) == (True, [f"{NAMES[1]}: retentionInDays"])
    assert [d["before"]["retention_in_days"] for d in check["diff"]] == [30, 7]
    assert api_calls.writes == []
    result = run_module(main, many(rds_key))
    assert result["changes"] == [f"{NAMES[1]}: retentionInDays"]
    assert api_calls.writes == ["PutRetentionPolicy"]
    assert groups()[NAMES[1]]["retentionInDays"] == 30


def test_names_check_mode_create_writes_nothing(rds_key, run_module, api_calls):
    result = run_module(main, many(rds_key), check=True)
    assert result["changed"] is True
    assert {change.split(": ")[0] for change in result["changes"]} == set(NAMES)
    assert api_calls.writes == [] and groups() == {}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"name": NAME}, "mutually exclusive"),
        ({"names": [NAMES[0], NAMES[0]]}, "distinct"),
        ({"names": []}, "non-empty"),
        ({"retention_days": 42}, "retention_days=42"),
    ],
)
def test_names_bad_input_fails_before_any_call(rds_key, run_module, api_calls, extra, message):
    api_calls.clear_calls()
    result = run_module(main, many(rds_key, **extra))
    assert result["failed"] is True and message in result["msg"]
    assert api_calls == []


def test_names_absent_deletes_every_group(rds_key, run_module):
    run_module(main, many(rds_key))
    assert run_module(main, {"names": NAMES, "state": "absent"})["changed"] is True
    assert groups() == {}
