"""Strict mode (tests/emulator/strict.py): each behaviour happens, and ends after its scaled delay.

The session emulator runs strict at a time scale of 0.1 (tests/emulator/ctl.py); these tests turn
throttling off unless they are about it, so each sees one behaviour at a time.
"""

import json
import time

import botocore.config
import botocore.exceptions
import pytest

from tests.emulator import strict

# Scale used here: every delay is a tenth of its base (EC2 visibility 0.5 s, IAM 1 s, ...).
SCALE = 0.1
NO_SDK_RETRIES = botocore.config.Config(retries={"total_max_attempts": 1})


@pytest.fixture
def strict_only(strict_settings):
    """Strict on, no throttling, this module's time scale."""
    strict_settings(enabled=True, throttle_every=0, time_scale=SCALE)
    return strict_settings


@pytest.fixture
def client(emulator):
    def make(service, region="eu-west-1", config=None):
        return emulator.client(service, region, config)

    return make


def error_code(call, *args, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(*args, **kwargs)
    return caught.value.response["Error"]["Code"]


def wait_past(seconds):
    time.sleep(seconds * SCALE + 0.1)


# --- the settings --------------------------------------------------------------------------------
def test_settings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv(strict.STRICT_VARIABLE, "0")
    monkeypatch.setenv(strict.SCALE_VARIABLE, "0.25")
    assert strict.strict_enabled() is False
    assert strict.scaled(8) == 2.0
    monkeypatch.setenv(strict.STRICT_VARIABLE, "1")
    assert strict.strict_enabled() is True
    monkeypatch.delenv(strict.STRICT_VARIABLE)
    assert strict.strict_enabled() is False


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "fast", ""])
def test_a_time_scale_that_is_not_a_positive_number_is_refused_by_name(monkeypatch, value):
    monkeypatch.setenv(strict.SCALE_VARIABLE, value)
    with pytest.raises(ValueError, match=r"NOTEJAM_EMULATOR_TIME_SCALE.*greater than 0"):
        strict.scaled(1)


def test_a_strict_flag_other_than_0_or_1_is_refused_by_name(monkeypatch):
    monkeypatch.setenv(strict.STRICT_VARIABLE, "yes")
    with pytest.raises(ValueError, match=r"NOTEJAM_EMULATOR_STRICT.*1 \(on\), 0 \(off\)"):
        strict.strict_enabled()


def test_throttle_is_every_nth_call_for_burst_calls():
    throttle = strict.Throttle(every=3, burst=2)
    assert [throttle.hit("ecs") for _ in range(8)] == [False, False, True, True, False, False, True, True]
    assert strict.Throttle(every=0, burst=1).hit("ecs") is False


# --- throttling ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("ec2", lambda c: c.describe_vpcs(), "RequestLimitExceeded"),
        ("ecs", lambda c: c.list_clusters(), "ThrottlingException"),
        ("acm", lambda c: c.list_certificates(), "ThrottlingException"),
        ("backup", lambda c: c.list_backup_vaults(), "ThrottlingException"),
        ("iam", lambda c: c.list_roles(), "Throttling"),
        ("elbv2", lambda c: c.describe_load_balancers(), "Throttling"),
        ("rds", lambda c: c.describe_db_clusters(), "Throttling"),
        ("route53", lambda c: c.list_hosted_zones(), "Throttling"),
        ("sns", lambda c: c.list_topics(), "Throttled"),
    ],
)
def test_each_service_throttles_with_its_own_code(strict_settings, client, service, call, code):
    strict_settings(enabled=True, throttle_every=1, throttle_burst=1)
    raw = client(service, "us-east-1", NO_SDK_RETRIES)
    assert error_code(call, raw) == code


def test_throttled_calls_are_a_steady_share_that_the_sdk_absorbs(strict_settings, client, emulator):
    strict_settings(enabled=True, throttle_every=3, throttle_burst=1, time_scale=SCALE)
    ecs = client("ecs")
    emulator.reset_calls()
    for _ in range(5):
        ecs.list_clusters()  # botocore's own retries ride over a single throttled call
    # Five answered calls cost seven requests: the 3rd and the 6th were throttled.
    assert emulator.calls()["calls"] == {"ecs:ListClusters": 7}


# --- EC2 eventual consistency --------------------------------------------------------------------
def test_a_new_vpc_is_not_found_at_first_then_found(strict_only, client):
    ec2 = client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]

    assert error_code(ec2.describe_vpcs, VpcIds=[vpc_id]) == "InvalidVpcID.NotFound"
    assert vpc_id not in [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
    assert error_code(ec2.create_subnet, VpcId=vpc_id, CidrBlock="10.77.1.0/24") == "InvalidVpcID.NotFound"

    wait_past(strict.EC2_VISIBILITY_DELAY)
    assert ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["VpcId"] == vpc_id
    assert vpc_id in [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]


def test_each_new_ec2_resource_answers_its_own_not_found_code(strict_only, client):
    ec2 = client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.78.0.0/16")["Vpc"]["VpcId"]
    wait_past(strict.EC2_VISIBILITY_DELAY)
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.78.1.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    group = ec2.create_security_group(GroupName="strict-sg", Description="d", VpcId=vpc_id)["GroupId"]
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc_id, ServiceName="com.amazonaws.eu-west-1.s3", RouteTableIds=[]
    )["VpcEndpoint"]["VpcEndpointId"]

    assert error_code(ec2.describe_subnets, SubnetIds=[subnet]) == "InvalidSubnetID.NotFound"
    assert (
        error_code(ec2.attach_internet_gateway, InternetGatewayId=igw, VpcId=vpc_id)
        == "InvalidInternetGatewayID.NotFound"
    )
    assert error_code(ec2.describe_route_tables, RouteTableIds=[table]) == "InvalidRouteTableID.NotFound"
    assert error_code(ec2.describe_addresses, AllocationIds=[allocation]) == "InvalidAllocationID.NotFound"
    assert error_code(ec2.describe_security_groups, GroupIds=[group]) == "InvalidGroup.NotFound"
    assert (
        error_code(ec2.describe_vpc_endpoints, VpcEndpointIds=[endpoint]) == "InvalidVpcEndpointId.NotFound"
    )
    listed = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    assert group not in [g["GroupId"] for g in listed]

    wait_past(strict.EC2_VISIBILITY_DELAY)
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    assert error_code(ec2.describe_nat_gateways, NatGatewayIds=[nat]) == "NatGatewayNotFound"
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    assert ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["GroupId"] == group


def test_strict_off_answers_as_moto_does(strict_settings, client):
    strict_settings(enabled=False)
    ec2 = client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.79.0.0/16")["Vpc"]["VpcId"]
    assert ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["VpcId"] == vpc_id


# --- IAM propagation -----------------------------------------------------------------------------
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def test_a_new_role_cannot_be_passed_to_backup_at_first(strict_only, client):
    role = client("iam", "us-east-1").create_role(RoleName="strict-backup", AssumeRolePolicyDocument=TRUST)
    backup = client("backup")
    plan = backup.create_backup_plan(
        BackupPlan={
            "BackupPlanName": "strict",
            "Rules": [{"RuleName": "r", "TargetBackupVaultName": "Default"}],
        }
    )
    selection = {"SelectionName": "s", "IamRoleArn": role["Role"]["Arn"], "Resources": ["*"]}

    with pytest.raises(botocore.exceptions.ClientError) as refused:
        backup.create_backup_selection(BackupPlanId=plan["BackupPlanId"], BackupSelection=selection)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    # AWS's wording, which the backup role's retry matches on.
    assert (
        refused.value.response["Error"]["Message"]
        == f"IAM Role {role['Role']['Arn']} cannot be assumed by AWS Backup"
    )
    wait_past(strict.IAM_PROPAGATION_DELAY)
    backup.create_backup_selection(BackupPlanId=plan["BackupPlanId"], BackupSelection=selection)


def test_a_new_role_in_a_task_definition_fails_run_task_at_first(strict_only, client):
    ec2 = client("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]
    group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [subnet["VpcId"]]}])
    network = {"subnets": [subnet["SubnetId"]], "securityGroups": [group["SecurityGroups"][0]["GroupId"]]}
    role = client("iam", "us-east-1").create_role(RoleName="strict-task", AssumeRolePolicyDocument=TRUST)
    ecs = client("ecs")
    ecs.create_cluster(clusterName="strict")
    ecs.register_task_definition(
        family="strict",
        executionRoleArn=role["Role"]["Arn"],
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "c", "image": "busybox"}],
    )
    run = {
        "cluster": "strict",
        "taskDefinition": "strict",
        "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": network},
    }
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        ecs.run_task(**run)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert refused.value.response["Error"]["Message"].startswith(
        f"ECS was unable to assume the role '{role['Role']['Arn']}' that was provided for this task."
    )
    wait_past(strict.IAM_PROPAGATION_DELAY)
    assert ecs.run_task(**run)["tasks"]


# --- lingering network interfaces ----------------------------------------------------------------
def test_a_deleted_load_balancers_interfaces_hold_its_subnets_and_groups(strict_only, client):
    ec2, elbv2 = client("ec2"), client("elbv2")
    vpc_id = ec2.create_vpc(CidrBlock="10.80.0.0/16")["Vpc"]["VpcId"]
    wait_past(strict.EC2_VISIBILITY_DELAY)
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.80.{n}.0/24", AvailabilityZone=f"eu-west-1{az}")[
            "Subnet"
        ]["SubnetId"]
        for n, az in ((1, "a"), (2, "b"))
    ]
    group = ec2.create_security_group(GroupName="strict-alb", Description="d", VpcId=vpc_id)["GroupId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    wait_past(strict.EC2_VISIBILITY_DELAY)
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    arn = elbv2.create_load_balancer(Name="strict-alb", Subnets=subnets, SecurityGroups=[group])[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]
    elbv2.delete_load_balancer(LoadBalancerArn=arn)

    assert error_code(ec2.delete_security_group, GroupId=group) == "DependencyViolation"
    assert error_code(ec2.delete_subnet, SubnetId=subnets[0]) == "DependencyViolation"
    assert (
        error_code(ec2.detach_internet_gateway, InternetGatewayId=igw, VpcId=vpc_id) == "DependencyViolation"
    )
    wait_past(strict.ENI_LINGER)
    ec2.delete_security_group(GroupId=group)
    ec2.delete_subnet(SubnetId=subnets[0])
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)


# --- ACM and WAF ---------------------------------------------------------------------------------
def test_acm_shows_the_validation_record_after_a_delay(strict_only, client):
    acm = client("acm")
    arn = acm.request_certificate(DomainName="strict.example.com", ValidationMethod="DNS")["CertificateArn"]
    options = acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"]
    assert all("ResourceRecord" not in o for o in options)
    wait_past(strict.ACM_RECORD_DELAY)
    options = acm.describe_certificate(CertificateArn=arn)["Certificate"]["DomainValidationOptions"]
    assert all(o["ResourceRecord"]["Type"] == "CNAME" for o in options)


def test_a_new_web_acl_association_is_unavailable_at_first(strict_only, client):
    ec2, elbv2, wafv2 = client("ec2"), client("elbv2"), client("wafv2")
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [
        s["SubnetId"]
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    ]
    arn = elbv2.create_load_balancer(Name="strict-waf", Subnets=subnets[:2])["LoadBalancers"][0][
        "LoadBalancerArn"
    ]
    acl = wafv2.create_web_acl(
        Name="strict",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={
            "SampledRequestsEnabled": False,
            "CloudWatchMetricsEnabled": False,
            "MetricName": "m",
        },
    )["Summary"]["ARN"]
    code = error_code(wafv2.associate_web_acl, WebACLArn=acl, ResourceArn=arn)
    assert code == "WAFUnavailableEntityException"
    wait_past(strict.WAF_ASSOCIATION_DELAY)
    wafv2.associate_web_acl(WebACLArn=acl, ResourceArn=arn)
