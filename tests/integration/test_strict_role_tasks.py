"""Role tasks that hand AWS something it created moments before, against the emulator in strict
mode (tests/emulator/strict.py: a new IAM role is not assumable at first, WAF cannot see a new web
ACL or load balancer at first), as real AWS behaves and moto does not (issue 14, defects 2 and 5)."""

import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.emulator.ctl import REPO

PLAYBOOK = "tests/integration/playbooks/strict_role_tasks.yml"
REGION = "ca-central-1"  # no other test of the session emulator uses it
TAGS = {"Project": "notejam", "Environment": "strict", "ManagedBy": "ansible"}


@pytest.fixture
def strict(strict_settings):
    """Strict mode on, no throttling (this is about propagation), AWS's delays at full length
    (10 s for IAM and WAF): each ansible-playbook task takes a second or two, so shorter ones
    would be over before the task that meets them."""
    strict_settings(enabled=True, throttle_every=0, time_scale=1.0)


@pytest.fixture
def client(emulator):
    def make(service):
        return emulator.client(service, REGION)

    return make


@pytest.fixture
def run_tasks(emulator_env, tmp_path):
    """run_tasks(role, [task files], variables) -> (returncode, output) of ansible-playbook."""

    def run(role, tasks, variables):
        env = dict(emulator_env, AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION, ANSIBLE_NOCOLOR="1")
        env["ANSIBLE_LOCAL_TEMP"] = str(tmp_path / "ansible-tmp")
        extra = dict(variables, role_name=role, role_tasks=tasks)
        ansible = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        proc = subprocess.run(
            [ansible, PLAYBOOK, "-i", "localhost,", "-e", json.dumps(extra)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        return proc.returncode, proc.stdout + proc.stderr

    return run


def environment(prefix):
    return {
        "notejam_env": "strict",
        "notejam_region": REGION,
        "notejam_dr_region": "us-west-2",
        "notejam_name_prefix": prefix,
        "notejam_tags": TAGS,
        "ansible_python_interpreter": sys.executable,
    }


def test_the_backup_selection_waits_for_the_role_the_same_run_created(strict, client, run_tasks):
    """Defect 2: iam.yml creates the role AWS Backup assumes and selection.yml hands it over at
    once; AWS Backup answers InvalidParameterValueException until IAM has propagated it."""
    prefix = f"notejam-strict-{uuid.uuid4().hex[:6]}"
    backup = client("backup")
    plan_id = backup.create_backup_plan(
        BackupPlan={
            "BackupPlanName": f"{prefix}-plan",
            "Rules": [{"RuleName": "daily", "TargetBackupVaultName": "Default"}],
        }
    )["BackupPlanId"]
    variables = dict(
        environment(prefix),
        backup_plan={"backup_plan": {"backup_plan_id": plan_id}},
        backup_role_propagation_delay=2,
    )

    returncode, output = run_tasks("backup", ["iam", "selection"], variables)

    assert returncode == 0, output[-4000:]
    assert (
        "FAILED - RETRYING: [localhost]: Selection of the environment's tagged Aurora clusters" in output
    ), "the role was assumable at once: strict mode did not refuse it"
    selections = backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]
    assert [s["SelectionName"] for s in selections] == [f"{prefix}-tagged"]


def test_the_web_acl_is_attached_once_waf_can_see_the_new_acl_and_load_balancer(strict, client, run_tasks):
    """Defect 5: waf.yml creates the web ACL and attaches it to a load balancer created moments
    before; WAF answers WAFUnavailableEntityException until it can see both."""
    prefix = f"notejam-strict-{uuid.uuid4().hex[:6]}"
    ec2, elbv2 = client("ec2"), client("elbv2")
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [
        s["SubnetId"]
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    ]
    arn = elbv2.create_load_balancer(Name=f"{prefix}-alb", Subnets=subnets[:2])["LoadBalancers"][0][
        "LoadBalancerArn"
    ]
    variables = dict(
        environment(prefix),
        notejam_fqdn="strict.notejam.example.com",
        notejam_dns_zone="notejam.example.com",
        alb_load_balancer={"load_balancer_arn": arn},
        alb_waf_association_delay=2,
    )

    returncode, output = run_tasks("alb", ["waf"], variables)

    assert returncode == 0, output[-4000:]
    assert "FAILED - RETRYING: [localhost]: Attach the web ACL to the load balancer" in output, (
        "the association was accepted at once: strict mode did not refuse it"
    )
    acl = client("wafv2").get_web_acl_for_resource(ResourceArn=arn)["WebACL"]
    assert acl["Name"] == f"{prefix}-alb"
