"""Bad data-tier input fails before the first AWS call, naming the variable at fault: retention
below the environment's minimum, an unknown instance class, a DR region equal to the primary, a
Serverless v2 range with min > max, the Data API on a T instance class, Vault Lock bounds that
exclude the plan's retention, a compliance cooling-off under AWS's 3 days, an unknown lock mode."""

import json

import pytest

# The network role's fact, as if it had run (--tags skips it): the data tier's checks come first.
NETWORK = json.dumps(
    {
        "notejam_network": {
            "vpc_id": "vpc-0",
            "vpc_cidr": "10.40.0.0/16",
            "azs": ["us-east-1a", "us-east-1b"],
            "subnets": {"public": [], "app": [], "data": ["subnet-a", "subnet-b"]},
            "security_groups": {
                "db": "sg-0",
                "app": "sg-1",
                "alb": "sg-2",
                "migrate": "sg-3",
                "codebuild": "sg-4",
            },
        }
    }
)


@pytest.mark.emulator
@pytest.mark.parametrize(
    ("inventory", "tags", "extra_vars", "expected"),
    [
        ("prod", "aurora", "aurora_backup_retention_days=14", "aurora_backup_retention_days=14"),
        ("local", "aurora", "aurora_backup_retention_days=40", "aurora_backup_retention_days=40"),
        ("local", "aurora", "aurora_instance_class=db.m1.tiny", "aurora_instance_class"),
        ("local", "aurora", "notejam_dr_region=us-east-1", "aurora_dr_region=us-east-1"),
        # "Data API isn't supported on T DB instance classes" (issue 14, defect 1); test runs db.t4g.medium.
        ("test", "aurora", "aurora_data_api=true", "aurora_data_api=true is not accepted"),
        (
            "local",
            "aurora",
            "aurora_serverless_min_acu=8 aurora_serverless_max_acu=2",
            "aurora_serverless_min_acu=8",
        ),
        (
            "prod",
            "backup",
            "backup_daily_retention_days=365 backup_kms_key_arn=k",
            "backup_daily_retention_days=365",
        ),
        ("local", "backup", "notejam_dr_region=us-east-1 backup_kms_key_arn=k", "backup_dr_region=us-east-1"),
        (
            "local",
            "backup",
            "backup_vault_lock_min_retention_days=10 backup_kms_key_arn=k",
            "backup_daily_retention_days=7 is outside the Vault Lock's bounds",
        ),
        (
            "local",
            "backup",
            "backup_vault_lock_min_retention_days=40 backup_vault_lock_max_retention_days=35"
            " backup_kms_key_arn=k",
            "backup_vault_lock_min_retention_days=40",
        ),
        (
            "prod",
            "backup",
            "backup_vault_lock_changeable_for_days=2 backup_kms_key_arn=k",
            "backup_vault_lock_changeable_for_days=2",
        ),
        ("local", "backup", "backup_vault_lock_mode=legal backup_kms_key_arn=k", "backup_vault_lock_mode"),
    ],
)
def test_bad_data_tier_input_fails_before_any_aws_call(
    inventory, tags, extra_vars, expected, playbook, fresh_emulator
):
    fresh_emulator.reset_calls()
    run = playbook("site.yml", inventory, "--tags", tags, "-e", NETWORK, "-e", extra_vars)
    assert run.returncode != 0
    assert expected in run.output, run.tail()
    assert fresh_emulator.calls()["total"] == 0, fresh_emulator.calls()["calls"]
