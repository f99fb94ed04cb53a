"""The emulator fixes the edge relies on: an ALB's attributes listed with AWS's defaults, and
WAFv2 ListResourcesForWebACL answered (see tests/emulator/fixes/elbv2.py and wafv2.py)."""

import boto3
import pytest

from tests.emulator.fixes.elbv2 import ALB_DEFAULT_ATTRIBUTES
from tests.emulator.fixes.wafv2 import list_resources_for_web_acl
from tests.emulator.standins import Call, StandinError


@pytest.fixture
def alb(aws):
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{n}.0/24", AvailabilityZone=f"us-east-1{az}")[
            "Subnet"
        ]["SubnetId"]
        for n, az in ((1, "a"), (2, "b"))
    ]
    elbv2 = boto3.client("elbv2")
    arn = elbv2.create_load_balancer(Name="lb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    return elbv2, arn


def attributes(elbv2, arn):
    found = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    return {a["Key"]: a["Value"] for a in found}


def test_new_alb_lists_every_attribute_with_aws_defaults(alb):
    elbv2, arn = alb
    listed = attributes(elbv2, arn)
    assert listed["idle_timeout.timeout_seconds"] == "60"
    assert listed["access_logs.s3.enabled"] == "false"
    assert listed["routing.http.drop_invalid_header_fields.enabled"] == "false"
    assert listed["load_balancing.cross_zone.enabled"] == "true"
    assert set(ALB_DEFAULT_ATTRIBUTES) <= set(listed)


def test_modified_attributes_win_over_the_defaults(alb):
    elbv2, arn = alb
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "120"}]
    )
    assert attributes(elbv2, arn)["idle_timeout.timeout_seconds"] == "120"


def test_list_resources_for_web_acl_names_the_associated_alb(alb):
    _, arn = alb
    waf = boto3.client("wafv2")
    acl = waf.create_web_acl(
        Name="acl",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={
            "SampledRequestsEnabled": False,
            "CloudWatchMetricsEnabled": False,
            "MetricName": "m",
        },
    )["Summary"]["ARN"]
    call = Call("wafv2", "ListResourcesForWebACL", "us-east-1", body=f'{{"WebACLArn": "{acl}"}}'.encode())
    assert list_resources_for_web_acl(call) == (200, {"ResourceArns": []})
    waf.associate_web_acl(WebACLArn=acl, ResourceArn=arn)
    assert list_resources_for_web_acl(call) == (200, {"ResourceArns": [arn]})
    other = Call("wafv2", "ListResourcesForWebACL", "us-east-1", body=b'{"WebACLArn": "arn:aws:wafv2:x"}')
    with pytest.raises(StandinError, match="doesn't exist"):
        list_resources_for_web_acl(other)
