"""One audit of an environment's edge protections, run after an inventory has converged: it looks at
everything the environment has (not at a list of what the roles make today), so a future log group
without KMS or a future service role without confused-deputy conditions fails it.

- every log group named or tagged for the environment is encrypted with a customer-managed key;
- every IAM role of the environment trusted by an AWS service carries ``aws:SourceAccount`` (the
  account's id), and ``aws:SourceArn`` in this account where the service documents it, unless the
  service is listed in UNCONDITIONED with the reason;
- both backup vaults carry the Vault Lock the inventory asks for.
"""

import datetime

import yaml

from tests.emulator.ctl import REPO

# Services whose documentation does not say they send aws:SourceAccount/aws:SourceArn when they assume
# a customer's role: a condition on a key the service does not send denies the AssumeRole.
UNCONDITIONED = {
    "backup.amazonaws.com": "AWS Backup documents the keys for resource policies (KMS, SNS), not for "
    "the service role it assumes (roles/backup/tasks/iam.yml)",
    "ecr.amazonaws.com": "the Amazon ECR User Guide gives the repository creation template's role a trust "
    "policy without conditions and documents no keys for it (roles/codepipeline/tasks/replication.yml)",
}
# Services that document aws:SourceArn in the role's trust policy (VPC User Guide, flow logs IAM role;
# RDS User Guide, Enhanced Monitoring confused deputy), with the ARN service it names.
# CodeBuild and CodePipeline user guides, "Cross-service confused deputy prevention" (service roles).
SOURCE_ARN = {
    "vpc-flow-logs.amazonaws.com": "ec2",
    "monitoring.rds.amazonaws.com": "rds",
    "codebuild.amazonaws.com": "codebuild",
    "codepipeline.amazonaws.com": "codepipeline",
}


def group_vars(env, name):
    path = REPO / "inventories" / env / "group_vars" / "all" / f"{name}.yml"
    return yaml.safe_load(path.read_text()) if path.exists() else {}


def _as_list(value):
    return value if isinstance(value, list) else [value]


def log_groups_without_kms(aws_client, env, region):
    logs = aws_client("logs", region)
    markers = (f"/notejam/{env}/", f"notejam-{env}-")
    found = []
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            arn = group.get("logGroupArn") or group["arn"].removesuffix(":*")
            tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
            mine = any(m in group["logGroupName"] for m in markers) or tags.get("Environment") == env
            if mine and not str(group.get("kmsKeyId", "")).startswith("arn:aws:kms:"):
                found.append(group["logGroupName"])
    return sorted(found)


def service_trust_problems(aws_client, env, region):
    iam = aws_client("iam", region)
    account = aws_client("sts", region).get_caller_identity()["Account"]
    problems, audited = [], []
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            if not role["RoleName"].startswith(f"notejam-{env}-"):
                continue
            for statement in _as_list(role["AssumeRolePolicyDocument"].get("Statement", [])):
                principal = statement.get("Principal") or {}
                services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
                for service in services:
                    audited.append(f"{role['RoleName']}:{service}")
                    if service in UNCONDITIONED:
                        continue
                    condition = statement.get("Condition") or {}
                    if (condition.get("StringEquals") or {}).get("aws:SourceAccount") != account:
                        problems.append(f"{role['RoleName']} ({service}): no aws:SourceAccount={account}")
                    if service in SOURCE_ARN:
                        arns = _as_list((condition.get("ArnLike") or {}).get("aws:SourceArn", []))
                        wanted = f"arn:aws:{SOURCE_ARN[service]}:*:{account}:"
                        # Any region (or one region: narrower) of this service in this account.
                        within = [
                            a.split(":")[:3] == ["arn", "aws", SOURCE_ARN[service]]
                            and a.split(":")[4:5] == [account]
                            for a in arns
                        ]
                        if not arns or not all(within):
                            problems.append(
                                f"{role['RoleName']} ({service}): aws:SourceArn not within {wanted}*"
                            )
    return problems, audited


def vault_lock_problems(aws_client, env, region):
    settings = dict(
        {"backup_vault_lock_mode": "governance", "backup_vault_lock_changeable_for_days": 3},
        **group_vars(env, "backup"),
    )
    dr_region = group_vars(env, "aurora")["notejam_dr_region"]
    problems = []
    for name, where in ((f"notejam-{env}-vault", region), (f"notejam-{env}-vault-dr", dr_region)):
        vault = aws_client("backup", where).describe_backup_vault(BackupVaultName=name)
        got = (vault.get("Locked"), vault.get("MinRetentionDays"), vault.get("MaxRetentionDays"))
        wanted = (
            True,
            settings["backup_vault_lock_min_retention_days"],
            settings["backup_vault_lock_max_retention_days"],
        )
        if got != wanted:
            problems.append(f"{name} ({where}): lock {got}, inventory asks {wanted}")
        lock_date = vault.get("LockDate")
        if settings["backup_vault_lock_mode"] == "compliance":
            days = settings["backup_vault_lock_changeable_for_days"]
            expected = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days)
            if lock_date is None or abs((lock_date - expected).total_seconds()) > 86400:
                problems.append(
                    f"{name} ({where}): compliance lock date {lock_date}, expected about {expected}"
                )
        elif lock_date is not None:
            problems.append(f"{name} ({where}): governance lock with a lock date {lock_date}")
    return problems
