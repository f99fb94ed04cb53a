"""CloudWatch Logs KMS as AWS does it (see tests/emulator/fixes/logs.py): AssociateKmsKey and
DisassociateKmsKey served, a key whose policy does not admit the group refused, aliases refused."""

import json

import boto3
import pytest

GROUP = "/notejam/test/app"
GROUP_ARN = f"arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}"


def key(statement_extra=None, service="logs.us-east-1.amazonaws.com"):
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"],
        "Resource": "*",
    }
    statement.update(statement_extra or {})
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    return boto3.client("kms").create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]


@pytest.fixture
def logs(aws):
    return boto3.client("logs")


def kms_key_id(logs):
    return logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0].get("kmsKeyId")


def test_associate_and_disassociate(logs):
    logs.create_log_group(logGroupName=GROUP)
    arn = key({"Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": GROUP_ARN}}})
    logs.associate_kms_key(logGroupName=GROUP, kmsKeyId=arn)
    assert kms_key_id(logs) == arn
    logs.disassociate_kms_key(logGroupName=GROUP)
    assert kms_key_id(logs) is None


def test_associate_with_a_missing_group_is_not_found(logs):
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.associate_kms_key(logGroupName="/nope", kmsKeyId=key())


@pytest.mark.parametrize(
    "make_key",
    [
        lambda: key(service="logs.eu-west-1.amazonaws.com"),
        lambda: key(
            {"Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": GROUP_ARN + "-other"}}}
        ),
        lambda: key({"Action": ["kms:Decrypt*"]}),
        lambda: boto3.client("kms").create_key()["KeyMetadata"]["Arn"],  # the default key policy
    ],
    ids=["other-region-principal", "other-group", "missing-actions", "default-policy"],
)
def test_a_key_that_does_not_admit_the_group_is_denied_on_create_and_associate(logs, make_key):
    arn = make_key()
    with pytest.raises(logs.exceptions.ClientError, match="AccessDenied"):
        logs.create_log_group(logGroupName=GROUP, kmsKeyId=arn)
    logs.create_log_group(logGroupName=GROUP)
    with pytest.raises(logs.exceptions.ClientError, match="AccessDenied"):
        logs.associate_kms_key(logGroupName=GROUP, kmsKeyId=arn)


def test_an_alias_is_not_a_key_arn(logs):
    kms = boto3.client("kms")
    kms.create_alias(AliasName="alias/logs", TargetKeyId=key())
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.create_log_group(logGroupName=GROUP, kmsKeyId="alias/logs")
