"""The integration suite's security audit (tests/integration/security_audit.py) finds what it must:
a log group of the environment without KMS, a service-trusted role without confused-deputy
conditions, a vault without the inventory's lock; and passes what is right."""

import json

import boto3
import pytest

from tests.integration import security_audit

ACCOUNT = "123456789012"


def client(service, region):
    return boto3.client(service, region_name=region)


def trust(service, condition=None):
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_log_groups_of_the_environment_without_kms_are_found(aws):
    logs = client("logs", "us-east-1")
    kms = client("kms", "us-east-1")
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
    }
    key = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    logs.create_log_group(logGroupName="/notejam/dev/vpc-flow-logs", kmsKeyId=key)
    logs.create_log_group(logGroupName="/aws/rds/cluster/notejam-dev-aurora/error")
    logs.create_log_group(logGroupName="/tagged/only", tags={"Environment": "dev"})
    logs.create_log_group(logGroupName="/notejam/prod/vpc-flow-logs")  # another environment's
    assert security_audit.log_groups_without_kms(client, "dev", "us-east-1") == [
        "/aws/rds/cluster/notejam-dev-aurora/error",
        "/tagged/only",
    ]


def test_service_roles_without_source_conditions_are_found(aws):
    iam = client("iam", "us-east-1")
    account = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    iam.create_role(
        RoleName="notejam-dev-task", AssumeRolePolicyDocument=trust("ecs-tasks.amazonaws.com", account)
    )
    iam.create_role(RoleName="notejam-dev-backup", AssumeRolePolicyDocument=trust("backup.amazonaws.com"))
    iam.create_role(
        RoleName="notejam-dev-flow-logs",
        AssumeRolePolicyDocument=trust("vpc-flow-logs.amazonaws.com", account),
    )
    iam.create_role(RoleName="notejam-dev-new", AssumeRolePolicyDocument=trust("lambda.amazonaws.com"))
    iam.create_role(RoleName="notejam-prod-new", AssumeRolePolicyDocument=trust("lambda.amazonaws.com"))
    problems, audited = security_audit.service_trust_problems(client, "dev", "us-east-1")
    assert sorted(problems) == [
        "notejam-dev-flow-logs (vpc-flow-logs.amazonaws.com): aws:SourceArn not within "
        f"arn:aws:ec2:*:{ACCOUNT}:*",
        f"notejam-dev-new (lambda.amazonaws.com): no aws:SourceAccount={ACCOUNT}",
    ]
    assert len(audited) == 4


@pytest.mark.parametrize(
    ("lock", "problems"),
    [({"MinRetentionDays": 1, "MaxRetentionDays": 35}, 0), ({"MinRetentionDays": 1}, 2), (None, 2)],
)
def test_vaults_without_the_inventorys_lock_are_found(aws, lock, problems):
    for name, region in (("notejam-dev-vault", "eu-west-1"), ("notejam-dev-vault-dr", "eu-central-1")):
        backup = client("backup", region)
        backup.create_backup_vault(BackupVaultName=name)
        if lock:
            backup.put_backup_vault_lock_configuration(BackupVaultName=name, **lock)
    assert len(security_audit.vault_lock_problems(client, "dev", "eu-west-1")) == problems
