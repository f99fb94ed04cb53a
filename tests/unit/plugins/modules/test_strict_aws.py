"""Modules against AWS's documented unkindness (the emulator's strict mode, tests/emulator/strict.py):
EC2 resources not visible right after their create, throttling beyond the SDK's own retries, and a
create without a client token whose success is hidden behind a 5xx."""

import boto3
import botocore.client
import botocore.exceptions
import pytest
from ansible_collections.notejam.aws.plugins.modules import (
    ecs_cluster,
    ecs_run_task,
    security_groups,
    vpc_network,
)

from tests.unit.conftest import STRICT_REGION

TAGS = {"Project": "notejam", "Environment": "strict", "ManagedBy": "ansible"}


def network_args(prefix, second_octet):
    plan = {
        tier: [f"10.{second_octet}.{base}.0/20", f"10.{second_octet}.{base + 16}.0/20"]
        for tier, base in (("public", 0), ("app", 64), ("data", 128))
    }
    return {
        "name_prefix": prefix,
        "cidr_block": f"10.{second_octet}.0.0/16",
        "subnets": plan,
        "az_count": 2,
        "tags": TAGS,
    }


def test_vpc_network_converges_while_new_resources_answer_not_found(strict_aws, run_module, api_calls):
    """Defect 3: the VPC, subnets, gateway, addresses and tables answer NotFound for their first
    moments; the module waits for them instead of failing, then a second run writes nothing."""
    args = network_args("notejam-strict", 71)

    first = run_module(vpc_network.main, args)
    assert first.get("failed") is not True, first.get("msg")
    assert first["changed"] is True
    assert len(first["subnets"]["app"]) == 2 and first["internet_gateway_id"]
    assert len(first["nat_gateway_ids"]) == 2 and all(first["nat_gateway_ids"])
    api_calls.clear_calls()
    second = run_module(vpc_network.main, args)
    assert second["changed"] is False, second["changes"]
    assert api_calls.writes == []


def test_security_groups_wait_for_new_groups_to_be_listed(strict_aws, run_module, api_calls):
    """Defect 3: a group just created is left out of a listing by VPC for a while (it used to be a
    KeyError traceback); rules that name a new group wait for it too."""
    ec2 = boto3.client("ec2", region_name=STRICT_REGION)
    vpc_id = ec2.create_vpc(CidrBlock="10.72.0.0/16")["Vpc"]["VpcId"]
    ec2.get_waiter("vpc_exists").wait(VpcIds=[vpc_id], WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    groups = [
        {
            "key": "alb",
            "name": "notejam-strict-alb",
            "description": "load balancer",
            "ingress": [{"proto": "tcp", "ports": [443], "cidr_ip": "0.0.0.0/0"}],
        },
        {
            "key": "app",
            "name": "notejam-strict-app",
            "description": "tasks",
            "ingress": [{"proto": "tcp", "ports": [8000], "group": "alb"}],
        },
    ]
    args = {"vpc_id": vpc_id, "groups": groups, "tags": TAGS}

    first = run_module(security_groups.main, args)
    assert first.get("failed") is not True, first.get("msg")
    assert all(first["group_ids"].values())
    api_calls.clear_calls()
    second = run_module(security_groups.main, args)
    assert second["changed"] is False, second["changes"]
    assert api_calls.writes == []


def test_throttling_beyond_the_sdks_retries_is_retried_for_every_service(strict_aws, run_module):
    """Defect 7: ECS (like ACM, ECR, Backup, Application Auto Scaling) throttles with
    ThrottlingException; six refusals in a row outlast botocore's own five attempts."""
    strict_aws(throttle_every=2, throttle_burst=6)
    result = run_module(ecs_cluster.main, {"name": "notejam-strict-cluster", "tags": TAGS})
    assert result.get("failed") is not True, result.get("msg")
    assert result["cluster"]["cluster_name"] == "notejam-strict-cluster"


@pytest.fixture
def create_vpc_answers_500_after_succeeding(monkeypatch):
    """The first CreateVpc is carried out, then its answer is lost behind an InternalError (500)."""
    original = botocore.client.BaseClient._make_api_call
    seen = []

    def flaky(self, operation_name, api_params):
        result = original(self, operation_name, api_params)
        if operation_name == "CreateVpc" and not seen:
            seen.append(result)
            raise botocore.exceptions.ClientError(
                {
                    "Error": {"Code": "InternalError", "Message": "An internal error has occurred"},
                    "ResponseMetadata": {"HTTPStatusCode": 500},
                },
                operation_name,
            )
        return result

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", flaky)
    return seen


def test_a_create_without_client_token_is_not_sent_again_after_a_5xx(
    aws, create_vpc_answers_500_after_succeeding, run_module
):
    """Defect 7: CreateVpc has no ClientToken; after a 5xx that hid a success the module finds the
    VPC by its Name tag instead of making a second one."""
    args = dict(network_args("notejam-5xx", 73), wait_timeout=5)
    result = run_module(vpc_network.main, args)
    assert result.get("failed") is not True, result.get("msg")
    assert create_vpc_answers_500_after_succeeding, "the 5xx was not injected"
    vpcs = boto3.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["notejam-5xx-vpc"]}])
    assert len(vpcs["Vpcs"]) == 1


TRUST_ECS_TASKS = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
    '"Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
)


def test_a_migration_task_whose_new_role_ecs_cannot_assume_yet_is_started_once_it_can(
    strict_aws, run_module, api_calls
):
    """Defect 2: the ecs_service role creates the task's roles seconds before the migration runs;
    RunTask answers InvalidParameterException until IAM has propagated them. The module waits
    (bounded) and says what it waited for."""
    ec2 = boto3.client("ec2", region_name=STRICT_REGION)
    subnet = ec2.describe_subnets()["Subnets"][0]
    group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [subnet["VpcId"]]}])
    role = boto3.client("iam", region_name=STRICT_REGION).create_role(
        RoleName="notejam-strict-migrate", AssumeRolePolicyDocument=TRUST_ECS_TASKS
    )["Role"]["Arn"]
    ecs = boto3.client("ecs", region_name=STRICT_REGION)
    ecs.create_cluster(clusterName="notejam-strict-migrate")
    ecs.register_task_definition(
        family="notejam-strict-migrate",
        taskRoleArn=role,
        executionRoleArn=role,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "notejam:1"}],
    )
    args = {
        "cluster": "notejam-strict-migrate",
        "task_definition": "notejam-strict-migrate",
        "subnets": [subnet["SubnetId"]],
        "security_groups": [group["SecurityGroups"][0]["GroupId"]],
        "container_name": "app",
        "command": ["flask", "--app", "notejam", "db", "upgrade"],
        "wait": False,
        "role_propagation_timeout": 30,
    }
    result = run_module(ecs_run_task.main, args)
    assert result.get("failed") is not True, result.get("msg")
    assert result["task"]["task_arn"]
    assert len(api_calls.of("RunTask")) > 1, "the role was assumable at once: strict mode did not refuse it"
    assert any("ECS to be able to assume the roles" in w for w in result.get("warnings", []))


def test_destroy_waits_while_a_deleted_load_balancers_interfaces_hold_the_network(
    strict_aws, run_module, api_calls
):
    """Defect 4: destroy.yml removes the load balancer, then the security groups and the network;
    on AWS the load balancer's network interfaces linger for minutes and EC2 answers
    DependencyViolation. Both modules wait (bounded) and say what they waited for."""
    args = network_args("notejam-strict-gone", 74)
    network = run_module(vpc_network.main, args)
    assert network.get("failed") is not True, network.get("msg")
    groups = run_module(
        security_groups.main,
        {
            "vpc_id": network["vpc_id"],
            "groups": [{"key": "alb", "name": "notejam-strict-gone-alb", "description": "load balancer"}],
            "tags": TAGS,
        },
    )
    assert groups.get("failed") is not True, groups.get("msg")
    # Interfaces linger 30 s from here (half of AWS's base 60 s): enough for each module to meet
    # them even on a loaded machine, where a tenth (6 s) could be over before the delete is sent.
    strict_aws(time_scale=0.5)
    elbv2 = boto3.client("elbv2", region_name=STRICT_REGION)
    balancer = elbv2.create_load_balancer(
        Name="notejam-strict-gone",
        Subnets=network["subnets"]["public"],
        SecurityGroups=[groups["group_ids"]["alb"]],
    )["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.delete_load_balancer(LoadBalancerArn=balancer)
    api_calls.clear_calls()

    gone = run_module(
        security_groups.main,
        {
            "vpc_id": network["vpc_id"],
            "groups": [{"key": "alb", "name": "notejam-strict-gone-alb"}],
            "state": "absent",
            "release_timeout": 60,
        },
    )
    assert gone.get("failed") is not True, gone.get("msg")
    assert len(api_calls.of("DeleteSecurityGroup")) > 1, "strict mode did not hold the group"
    assert any("security group" in w and "DependencyViolation" in w for w in gone.get("warnings", []))

    # A second load balancer, deleted just before the network goes: its interfaces hold the subnets.
    balancer = elbv2.create_load_balancer(Name="notejam-strict-gone-2", Subnets=network["subnets"]["public"])
    elbv2.delete_load_balancer(LoadBalancerArn=balancer["LoadBalancers"][0]["LoadBalancerArn"])
    api_calls.clear_calls()
    removed = run_module(vpc_network.main, dict(args, state="absent", release_timeout=60))
    assert removed.get("failed") is not True, removed.get("msg")
    assert len(api_calls.of("DeleteSubnet")) > 6, "no subnet was held (six subnets, one call each)"
    assert any("subnet" in w and "DependencyViolation" in w for w in removed.get("warnings", []))
    assert removed["changed"] is True and removed["vpc_id"] is None
    ec2 = boto3.client("ec2", region_name=STRICT_REGION)
    assert (
        ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["notejam-strict-gone-vpc"]}])["Vpcs"] == []
    )
