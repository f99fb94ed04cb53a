"""ecr_repository_creation_template against the emulator server, where the four template operations are
the harness's stand-ins (tests/emulator/fixes/ecr_templates.py): create, a second run with no write,
check mode, one change as one update, delete, and bad input refused before any call. The stand-ins'
own answers (errors the API reference documents) are pinned at the end."""

import uuid

import boto3
import botocore.client
import botocore.exceptions
import pytest
from ansible_collections.notejam.aws.plugins.modules import (
    ecr_repository_creation_template as template_module,
)

from tests.emulator.ctl import client_env

REGION = "eu-south-1"
ACCOUNT = "123456789012"


@pytest.fixture
def emulated(emulator, monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for key, value in client_env(emulator.url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    return emulator


def prefix():
    """A prefix of this test alone (the session's emulator is shared)."""
    return f"nj-{uuid.uuid4().hex[:8]}"


def key_arn(region=REGION):
    return boto3.client("kms", region_name=region).create_key()["KeyMetadata"]["Arn"]


def wanted(name, key, **extra):
    return dict(
        {
            "prefix": name,
            "applied_for": ["REPLICATION"],
            "image_tag_mutability": "IMMUTABLE",
            "encryption_type": "KMS",
            "kms_key": key,
            "custom_role_arn": f"arn:aws:iam::{ACCOUNT}:role/notejam-test-ecr-template",
            "resource_tags": {"Project": "notejam", "Environment": "test"},
            "description": "replicated repositories",
        },
        **extra,
    )


def describe(name):
    return boto3.client("ecr").describe_repository_creation_templates(prefixes=[name])[
        "repositoryCreationTemplates"
    ]


def test_template_is_created_then_second_run_changes_nothing(emulated, run_module, api_calls):
    name, key = prefix(), key_arn()
    api_calls.clear_calls()
    created = run_module(template_module.main, wanted(name, key))
    assert created["changed"] is True, created
    assert created["template"]["prefix"] == name
    assert created["template"]["encryption_configuration"] == {"encryption_type": "KMS", "kms_key": key}
    assert created["template"]["resource_tags"] == {"Project": "notejam", "Environment": "test"}
    assert created["diff"]["before"] == {}
    assert api_calls.writes == ["CreateRepositoryCreationTemplate"]
    [stored] = describe(name)
    assert stored["imageTagMutability"] == "IMMUTABLE" and stored["appliedFor"] == ["REPLICATION"]
    assert stored["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": key}

    api_calls.clear_calls()
    again = run_module(template_module.main, wanted(name, key))
    assert again["changed"] is False, again["changes"]
    assert api_calls.writes == []
    assert again["template"]["image_tag_mutability"] == "IMMUTABLE"


def test_check_mode_reports_the_template_and_writes_nothing(emulated, run_module, api_calls):
    name, key = prefix(), key_arn()
    api_calls.clear_calls()
    checked = run_module(template_module.main, wanted(name, key), check=True)
    assert checked["changed"] is True
    assert checked["diff"]["after"]["image_tag_mutability"] == "IMMUTABLE"
    assert api_calls.writes == []
    assert describe(name) == []


def test_one_change_is_one_update_with_the_whole_template(emulated, run_module, api_calls):
    name, key = prefix(), key_arn()
    run_module(template_module.main, wanted(name, key))
    api_calls.clear_calls()
    changed = run_module(template_module.main, wanted(name, key, image_tag_mutability="MUTABLE"))
    assert changed["changes"] == ["imageTagMutability"]
    assert api_calls.writes == ["UpdateRepositoryCreationTemplate"]
    [sent] = api_calls.of("UpdateRepositoryCreationTemplate")
    assert sent["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": key}
    assert describe(name)[0]["imageTagMutability"] == "MUTABLE"


def test_tags_given_replace_the_templates_tags(emulated, run_module):
    name, key = prefix(), key_arn()
    run_module(template_module.main, wanted(name, key))
    changed = run_module(template_module.main, wanted(name, key, resource_tags={"Project": "notejam"}))
    assert changed["changes"] == ["resourceTags.Environment"]
    assert describe(name)[0]["resourceTags"] == [{"Key": "Project", "Value": "notejam"}]


def test_options_left_out_are_kept(emulated, run_module, api_calls):
    name, key = prefix(), key_arn()
    run_module(template_module.main, wanted(name, key))
    api_calls.clear_calls()
    kept = run_module(template_module.main, {"prefix": name, "image_tag_mutability": "IMMUTABLE"})
    assert kept["changed"] is False and api_calls.writes == []


def test_aws_managed_key_needs_no_key_arn_and_defaults_compare_equal(emulated, run_module, api_calls):
    name = prefix()
    args = {"prefix": name, "applied_for": ["PULL_THROUGH_CACHE"], "encryption_type": "KMS"}
    created = run_module(template_module.main, args)
    assert created["template"]["encryption_configuration"] == {"encryption_type": "KMS"}
    # A template made with ECR's defaults (no mutability, no encryption) is no change either.
    plain = prefix()
    run_module(template_module.main, {"prefix": plain, "applied_for": ["REPLICATION"]})
    api_calls.clear_calls()
    again = run_module(
        template_module.main,
        {
            "prefix": plain,
            "applied_for": ["REPLICATION"],
            "image_tag_mutability": "MUTABLE",
            "encryption_type": "AES256",
        },
    )
    assert again["changed"] is False, again["changes"]
    assert api_calls.writes == []


def test_absent_deletes_and_a_second_absent_changes_nothing(emulated, run_module, api_calls):
    name, key = prefix(), key_arn()
    run_module(template_module.main, wanted(name, key))
    gone = run_module(template_module.main, {"prefix": name, "state": "absent"})
    assert gone["changed"] is True and gone["template"] == {}
    assert describe(name) == []
    api_calls.clear_calls()
    again = run_module(template_module.main, {"prefix": name, "state": "absent"})
    assert again["changed"] is False and api_calls.writes == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"image_tag_mutability": "SOMETIMES"}, "image_tag_mutability"),
        ({"applied_for": ["REPLICATION", "ON_A_WHIM"]}, "applied_for"),
        ({"applied_for": []}, "applied_for is empty"),
        ({"kms_key": ""}, "kms_key is empty"),
        ({"encryption_type": "AES256"}, "kms_key is given with encryption_type=AES256"),
        ({"kms_key": "alias/notejam-dr"}, "full ARN"),
        ({"kms_key": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab"}, "key of us-east-1"),
        ({"custom_role_arn": ""}, "custom_role_arn is empty"),
        ({"custom_role_arn": "notejam-role"}, "not an IAM role ARN"),
        ({"prefix": "Notejam-App"}, "prefix='Notejam-App' is not accepted"),
        ({"prefix": "notejam/"}, None),
        ({"lifecycle_policy": "{not json"}, "lifecycle_policy is not JSON"),
        ({"description": "x" * 257}, "at most 256"),
    ],
)
def test_bad_input_fails_naming_the_parameter_before_any_call(emulated, run_module, api_calls, args, message):
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab"
    full = wanted(prefix(), key, **args)
    result = run_module(template_module.main, full, check=True)
    if message is None:  # a namespace with its trailing '/' is a valid prefix
        assert not result.get("failed"), result
        return
    assert result.get("failed"), result
    assert message in result["msg"], result["msg"]
    assert api_calls == []


def test_a_new_template_needs_applied_for_and_a_role_for_its_key(emulated, run_module, api_calls):
    missing = run_module(template_module.main, {"prefix": prefix(), "image_tag_mutability": "IMMUTABLE"})
    assert missing["failed"] and "applied_for is required" in missing["msg"]
    without_role = {k: v for k, v in wanted(prefix(), key_arn()).items() if k != "custom_role_arn"}
    api_calls.clear_calls()
    refused = run_module(template_module.main, without_role)
    assert refused["failed"] and "custom_role_arn is required" in refused["msg"]
    assert api_calls.writes == []


# --- the stand-ins, as the API reference documents them ------------------------------------------


def ecr():
    return boto3.client("ecr")


def code(error):
    return error.value.response["Error"]["Code"]


def test_standin_refuses_a_second_template_for_a_prefix(emulated):
    name = prefix()
    ecr().create_repository_creation_template(prefix=name, appliedFor=["REPLICATION"])
    with pytest.raises(botocore.exceptions.ClientError) as error:
        ecr().create_repository_creation_template(prefix=name, appliedFor=["REPLICATION"])
    assert code(error) == "TemplateAlreadyExistsException"


@pytest.mark.parametrize("bad", ["Upper", "-dash", "a//b", "team/Upper"])
def test_standin_refuses_a_prefix_outside_the_pattern(emulated, bad):
    with pytest.raises(botocore.exceptions.ClientError) as error:
        ecr().create_repository_creation_template(prefix=bad, appliedFor=["REPLICATION"])
    assert code(error) == "ValidationException"


def test_standin_answers_not_found_for_update_and_delete_of_an_unknown_prefix(emulated):
    for call in (
        lambda: ecr().update_repository_creation_template(prefix=prefix(), imageTagMutability="IMMUTABLE"),
        lambda: ecr().delete_repository_creation_template(prefix=prefix()),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as error:
            call()
        assert code(error) == "TemplateNotFoundException"


def test_standin_refuses_a_key_of_another_region_an_alias_and_an_empty_applied_for(emulated):
    for params in (
        {"encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": key_arn("us-east-1")}},
        {"encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": "alias/x"}},
        {"encryptionConfiguration": {"encryptionType": "AES256", "kmsKey": key_arn()}},
        {"customRoleArn": "arn:aws:iam::999999999999:role/other-account"},
    ):
        with pytest.raises(botocore.exceptions.ClientError) as error:
            ecr().create_repository_creation_template(prefix=prefix(), appliedFor=["REPLICATION"], **params)
        assert code(error) in ("ValidationException", "InvalidParameterException"), params
    with pytest.raises(botocore.exceptions.ClientError) as error:
        ecr().create_repository_creation_template(prefix=prefix(), appliedFor=[])
    assert code(error) == "ValidationException"


def test_standin_gives_defaults_pages_and_returns_the_deleted_template(emulated):
    names = sorted(prefix() for _ in range(3))
    for name in names:
        ecr().create_repository_creation_template(prefix=name, appliedFor=["CREATE_ON_PUSH"])
    first = ecr().describe_repository_creation_templates(prefixes=names, maxResults=2)
    assert [t["prefix"] for t in first["repositoryCreationTemplates"]] == names[:2]
    rest = ecr().describe_repository_creation_templates(
        prefixes=names, maxResults=2, nextToken=first["nextToken"]
    )
    assert [t["prefix"] for t in rest["repositoryCreationTemplates"]] == names[2:] and "nextToken" not in rest
    template = first["repositoryCreationTemplates"][0]
    assert template["imageTagMutability"] == "MUTABLE"
    assert template["encryptionConfiguration"] == {"encryptionType": "AES256"}
    deleted = ecr().delete_repository_creation_template(prefix=names[0])
    assert deleted["repositoryCreationTemplate"]["prefix"] == names[0]
    assert deleted["registryId"] == ACCOUNT


# --- AWS's answers that are not about the template ------------------------------------------------


def test_throttling_beyond_the_sdks_retries_still_converges(strict_aws, run_module):
    """ECR throttles with ThrottlingException; six refusals in a row outlast botocore's attempts."""
    strict_aws(throttle_every=2, throttle_burst=6)
    name = prefix()
    args = {"prefix": name, "applied_for": ["REPLICATION"], "image_tag_mutability": "IMMUTABLE"}
    result = run_module(template_module.main, args)
    assert result.get("failed") is not True, result.get("msg")
    assert result["template"]["image_tag_mutability"] == "IMMUTABLE"


def test_a_create_whose_answer_was_lost_ends_in_one_template(emulated, run_module, api_calls, monkeypatch):
    """CreateRepositoryCreationTemplate has no client token: the first attempt is carried out, its
    answer is lost behind a 500, the retry finds the template there and updates it to the same state."""
    original = botocore.client.BaseClient._make_api_call
    lost = []

    def flaky(self, operation_name, api_params):
        result = original(self, operation_name, api_params)
        if operation_name == "CreateRepositoryCreationTemplate" and not lost:
            lost.append(result)
            raise botocore.exceptions.ClientError(
                {
                    "Error": {"Code": "InternalError", "Message": "An internal error has occurred"},
                    "ResponseMetadata": {"HTTPStatusCode": 500},
                },
                operation_name,
            )
        return result

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", flaky)
    name = prefix()
    args = {"prefix": name, "applied_for": ["REPLICATION"], "image_tag_mutability": "IMMUTABLE"}
    result = run_module(template_module.main, args)
    assert result.get("failed") is not True, result.get("msg")
    assert lost, "the create was never answered with the 500"
    [stored] = describe(name)
    assert stored["imageTagMutability"] == "IMMUTABLE"
    assert run_module(template_module.main, args)["changed"] is False
