"""ecr_repository: create, no-op, check mode, diff, lifecycle policy JSON, encryption, bad input."""

import json

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules.ecr_repository import main

POLICY = {
    "rules": [
        {
            "rulePriority": 2,
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 50},
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 1,
            "description": "untagged",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 14,
            },
            "action": {"type": "expire"},
        },
    ]
}
ARGS = {"name": "notejam-test-app", "lifecycle_policy": POLICY, "tags": {"Project": "notejam"}}


@pytest.fixture
def created(aws, run_module):
    result = run_module(main, ARGS)
    assert result["changed"] is True, result
    return result


def test_create_is_immutable_scanned_with_policy(created):
    repo = created["repository"]
    assert repo["image_tag_mutability"] == "IMMUTABLE"
    assert repo["image_scanning_configuration"] == {"scan_on_push": True}
    assert repo["encryption_configuration"] == {"encryption_type": "AES256"}
    assert repo["tags"] == {"Project": "notejam"}
    # user data keeps its spelling
    assert repo["lifecycle_policy"]["rules"][0]["rulePriority"] == 1
    assert repo["repository_uri"].endswith("/notejam-test-app")


def test_second_run_changes_nothing_even_with_policy_spelled_differently(created, run_module, api_calls):
    reordered = {"rules": list(reversed(POLICY["rules"]))}
    result = run_module(main, dict(ARGS, lifecycle_policy=json.dumps(reordered, indent=4)))
    assert result["changed"] is False, result["changes"]
    assert api_calls and api_calls.writes == []


def test_check_mode_makes_no_write(aws, run_module, api_calls):
    result = run_module(main, ARGS, check=True)
    assert result["changed"] is True
    assert result["diff"]["after"]["image_tag_mutability"] == "IMMUTABLE"
    assert api_calls.writes == []
    assert boto3.client("ecr").describe_repositories()["repositories"] == []


def test_single_field_update(created, run_module, api_calls):
    result = run_module(main, dict(ARGS, scan_on_push=False))
    assert result["changes"] == ["imageScanningConfiguration.scanOnPush"]
    assert api_calls.writes == ["PutImageScanningConfiguration"]
    assert result["diff"]["before"]["image_scanning_configuration"] == {"scan_on_push": True}
    assert result["diff"]["after"]["image_scanning_configuration"] == {"scan_on_push": False}


def test_policy_change_and_purge(created, run_module, api_calls):
    one_rule = {"rules": [POLICY["rules"][1]]}
    assert run_module(main, dict(ARGS, lifecycle_policy=one_rule))["changes"] == ["lifecyclePolicy.rules"]
    assert api_calls.writes == ["PutLifecyclePolicy"]
    api_calls.clear_calls()
    kept = run_module(main, {"name": ARGS["name"], "tags": ARGS["tags"]})
    assert kept["changed"] is False and api_calls.writes == []
    purged = run_module(main, {"name": ARGS["name"], "purge_lifecycle_policy": True})
    assert purged["changes"] == ["lifecyclePolicy"]
    assert api_calls.writes == ["DeleteLifecyclePolicy"]
    assert purged["repository"]["lifecycle_policy"] is None


def test_kms_key_given_by_alias_compares_by_arn(aws, run_module, api_calls):
    kms = boto3.client("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/notejam-test", TargetKeyId=key["KeyId"])
    args = dict(ARGS, encryption_type="KMS", kms_key="alias/notejam-test")
    assert run_module(main, args)["changed"] is True
    api_calls.clear_calls()
    assert run_module(main, dict(args, kms_key=key["Arn"]))["changed"] is False
    assert api_calls.writes == []


def test_missing_kms_key_fails_but_check_mode_reports_the_create(aws, run_module, api_calls):
    """A real run names the missing key; a dry run whose earlier task would create the key reports
    the repository it would make."""
    args = dict(ARGS, encryption_type="KMS", kms_key="alias/not-made-yet")
    failed = run_module(main, args)
    assert failed["failed"] is True and failed["msg"] == "kms_key=alias/not-made-yet was not found"
    dry = run_module(main, args, check=True)
    assert dry["changed"] is True
    assert api_calls.writes == []
    assert boto3.client("ecr").describe_repositories()["repositories"] == []


def test_changing_encryption_fails_before_any_write(created, run_module, api_calls):
    result = run_module(main, dict(ARGS, encryption_type="KMS"))
    assert result["failed"] is True
    assert "encryption is fixed at creation" in result["msg"]
    assert api_calls.writes == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"kms_key": "alias/x"}, "kms_key needs encryption_type=KMS (accepted: AES256, KMS)"),
        ({"lifecycle_policy": "{not json"}, "lifecycle_policy is not valid JSON"),
        ({"lifecycle_policy": {"rule": []}}, "lifecycle_policy must be a document with a 'rules' list"),
        ({"image_tag_mutability": "SOMETIMES"}, "image_tag_mutability must be one of: MUTABLE, IMMUTABLE"),
    ],
)
def test_bad_input_fails_before_any_call(aws, run_module, api_calls, args, message):
    result = run_module(main, dict(ARGS, **args))
    assert result["failed"] is True
    assert message in result["msg"]
    assert api_calls == []


def test_absent_deletes_then_is_quiet(created, run_module, api_calls):
    assert run_module(main, {"name": ARGS["name"], "state": "absent"})["changed"] is True
    assert api_calls.writes == ["DeleteRepository"]
    api_calls.clear_calls()
    assert run_module(main, {"name": ARGS["name"], "state": "absent"})["changed"] is False
    assert api_calls.writes == []
