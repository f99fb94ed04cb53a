"""The emulator fixes the edge relies on: an ALB's attributes listed with AWS's defaults, WAFv2
ListResourcesForWebACL answered, and web ACL rules that AWS refuses refused (see
tests/emulator/fixes/elbv2.py and wafv2.py)."""

import boto3
import pytest
from botocore.config import Config

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


VISIBILITY = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "m"}
NOTE_FORM = {
    "AndStatement": {
        "Statements": [
            {
                "RegexMatchStatement": {
                    "RegexString": "^POST$",
                    "FieldToMatch": {"Method": {}},
                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                }
            },
            {
                "RegexMatchStatement": {
                    "RegexString": "^/notes/(create|[0-9]+/edit)/$",
                    "FieldToMatch": {"UriPath": {}},
                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                }
            },
        ]
    }
}
# The alb role's web ACL as boto3 sends it (roles/alb/tasks/waf.yml), one rule of each kind.
EDGE_RULES = [
    {
        "Name": "rate-limit-sign-in",
        "Priority": 1,
        "Action": {"Block": {}},
        "Statement": {
            "RateBasedStatement": {
                "Limit": 100,
                "EvaluationWindowSec": 300,
                "AggregateKeyType": "IP",
                "ScopeDownStatement": NOTE_FORM,
            }
        },
        "VisibilityConfig": VISIBILITY,
    },
    {
        "Name": "aws-common-rule-set",
        "Priority": 2,
        "OverrideAction": {"None": {}},
        "Statement": {
            "ManagedRuleGroupStatement": {
                "VendorName": "AWS",
                "Name": "AWSManagedRulesCommonRuleSet",
                "RuleActionOverrides": [
                    {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}},
                    {"Name": "CrossSiteScripting_BODY", "ActionToUse": {"Count": {}}},
                ],
            }
        },
        "VisibilityConfig": VISIBILITY,
    },
    {
        "Name": "block-xss-body-outside-note-forms",
        "Priority": 4,
        "Action": {"Block": {}},
        "Statement": {
            "AndStatement": {
                "Statements": [
                    {
                        "LabelMatchStatement": {
                            "Scope": "LABEL",
                            "Key": "awswaf:managed:aws:core-rule-set:CrossSiteScripting_Body",
                        }
                    },
                    {"NotStatement": {"Statement": NOTE_FORM}},
                ]
            }
        },
        "VisibilityConfig": VISIBILITY,
    },
]


def waf_client():
    """Without botocore's own checks (it checks minimums only), so the emulator's answer is what is tested."""
    return boto3.client("wafv2", config=Config(parameter_validation=False))


def create_acl(rules):
    return waf_client().create_web_acl(
        Name="acl", Scope="REGIONAL", DefaultAction={"Allow": {}}, VisibilityConfig=VISIBILITY, Rules=rules
    )["Summary"]


def test_the_edge_web_acl_is_stored_and_returned_as_sent(aws):
    summary = create_acl(EDGE_RULES)
    acl = boto3.client("wafv2").get_web_acl(Name="acl", Scope="REGIONAL", Id=summary["Id"])["WebACL"]
    assert acl["Rules"] == EDGE_RULES


def edited(index, change):
    rules = [dict(rule) for rule in EDGE_RULES]
    rules[index] = change(dict(rules[index]))
    return rules


def rate(limit=100, window=300):
    def change(rule):
        statement = dict(rule["Statement"]["RateBasedStatement"], Limit=limit, EvaluationWindowSec=window)
        return dict(rule, Statement={"RateBasedStatement": statement})

    return change


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        # API Reference, RateBasedStatement: Limit 10 to 2000000000; windows 60, 120, 300, 600.
        (edited(0, rate(limit=9)), "Rules[0].Statement.Limit"),
        (edited(0, rate(limit=2_000_000_001)), "Rules[0].Statement.Limit"),
        (edited(0, rate(window=30)), "Rules[0].Statement.EvaluationWindowSec"),
        # API Reference, Rule/OverrideAction: a managed group's rule takes OverrideAction only.
        (edited(1, lambda r: dict(r, Action={"Block": {}})), "Rules[1].OverrideAction"),
        (edited(0, lambda r: dict(r, OverrideAction={"None": {}})), "Rules[0].Action"),
        # API Reference, Statement: a rate-based statement cannot be nested.
        (
            edited(
                2, lambda r: dict(r, Statement={"NotStatement": {"Statement": EDGE_RULES[0]["Statement"]}})
            ),
            "Rules[2].Statement.NotStatement.Statement",
        ),
        # API Reference, RegexMatchStatement (1 to 512 characters), LabelMatchStatement (scope).
        (
            edited(
                0,
                lambda r: dict(
                    r,
                    Statement={
                        "RateBasedStatement": dict(
                            r["Statement"]["RateBasedStatement"],
                            ScopeDownStatement={
                                "RegexMatchStatement": {
                                    "RegexString": "a" * 513,
                                    "FieldToMatch": {"UriPath": {}},
                                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                                }
                            },
                        )
                    },
                ),
            ),
            "Rules[0].Statement.ScopeDownStatement.RegexString",
        ),
        (
            edited(
                2,
                lambda r: dict(
                    r, Statement={"LabelMatchStatement": {"Scope": "RULE", "Key": "awswaf:managed:x"}}
                ),
            ),
            "Rules[2].Statement.Scope",
        ),
    ],
)
def test_web_acl_rules_aws_refuses_are_refused(aws, rules, field):
    waf = waf_client()
    with pytest.raises(
        waf.exceptions.WAFInvalidParameterException, match=field.replace("[", r"\[").replace("]", r"\]")
    ):
        create_acl(rules)
    summary = create_acl(EDGE_RULES)
    lock = waf.get_web_acl(Name="acl", Scope="REGIONAL", Id=summary["Id"])["LockToken"]
    with pytest.raises(waf.exceptions.WAFInvalidParameterException):
        waf.update_web_acl(
            Name="acl",
            Scope="REGIONAL",
            Id=summary["Id"],
            DefaultAction={"Allow": {}},
            VisibilityConfig=VISIBILITY,
            Rules=rules,
            LockToken=lock,
        )
