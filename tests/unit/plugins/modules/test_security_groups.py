"""security_groups: a set of groups that refer to each other: rules, no-op, check mode, repair, absent."""

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules.security_groups import main

TAGS = {"Project": "notejam", "Environment": "unit", "ManagedBy": "ansible"}


def group_set():
    return [
        {
            "key": "alb",
            "name": "notejam-unit-alb",
            "description": "load balancer",
            "ingress": [
                {
                    "proto": "tcp",
                    "ports": [80, 443],
                    "cidr_ip": "0.0.0.0/0",
                    "rule_desc": "HTTP(S) from the internet",
                },
                {"proto": "tcp", "ports": [80, 443], "cidr_ipv6": "::/0", "rule_desc": "HTTP(S) over IPv6"},
            ],
            "egress": [{"proto": "tcp", "ports": ["8000"], "group": "app", "rule_desc": "to app tasks"}],
        },
        {
            "key": "app",
            "name": "notejam-unit-app",
            "description": "app tasks",
            "ingress": [
                {"proto": "tcp", "ports": [8000], "group": "alb", "rule_desc": "from the load balancer"}
            ],
            "egress": [
                {"proto": "tcp", "ports": [443], "cidr_ip": "0.0.0.0/0", "rule_desc": "HTTPS out"},
                {"proto": "tcp", "ports": [3306], "group": "db", "rule_desc": "to the database"},
            ],
        },
        {
            "key": "db",
            "name": "notejam-unit-db",
            "description": "database",
            "ingress": [{"proto": "tcp", "ports": [3306], "group": "app", "rule_desc": "from app tasks"}],
            "egress": [],
        },
    ]


@pytest.fixture
def vpc_id(aws):
    return boto3.client("ec2").create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]


def args(vpc_id, **extra):
    return dict({"vpc_id": vpc_id, "groups": group_set(), "tags": TAGS, "lock_default_group": True}, **extra)


@pytest.fixture
def created(vpc_id, run_module):
    result = run_module(main, args(vpc_id))
    assert result["changed"] is True, result
    return result


def groups_by_name(vpc_id):
    found = boto3.client("ec2").describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return {g["GroupName"]: g for g in found["SecurityGroups"]}


def test_create_gives_each_group_exactly_its_rules_by_group_id(created, vpc_id):
    ids = created["group_ids"]
    assert set(ids) == {"alb", "app", "db"} and all(v.startswith("sg-") for v in ids.values())
    groups = groups_by_name(vpc_id)
    db = groups["notejam-unit-db"]
    assert db["IpPermissionsEgress"] == []  # AWS's default allow-all egress was purged
    [mysql] = db["IpPermissions"]
    assert (mysql["FromPort"], mysql["ToPort"]) == (3306, 3306)
    assert [p["GroupId"] for p in mysql["UserIdGroupPairs"]] == [ids["app"]]
    assert mysql["IpRanges"] == []
    alb = groups["notejam-unit-alb"]
    assert sorted(p["FromPort"] for p in alb["IpPermissions"]) == [80, 443]
    assert {r["CidrIpv6"] for p in alb["IpPermissions"] for r in p["Ipv6Ranges"]} == {"::/0"}
    assert {t["Key"]: t["Value"] for t in alb["Tags"]} == dict(TAGS, Name="notejam-unit-alb")
    default = groups["default"]
    assert default["IpPermissions"] == [] and default["IpPermissionsEgress"] == []
    assert {
        "protocol": "tcp",
        "from_port": 3306,
        "to_port": 3306,
        "group": "db",
        "description": "to the database",
    } in (created["groups"]["app"]["egress"])


def test_second_run_changes_nothing_and_makes_one_read(created, vpc_id, run_module, api_calls):
    result = run_module(main, args(vpc_id))
    assert result["changed"] is False, result["changes"]
    assert api_calls.writes == []
    assert api_calls == ["DescribeSecurityGroups"]
    assert result["group_ids"] == created["group_ids"]


def test_group_id_of_the_set_counts_as_its_key(created, vpc_id, run_module, api_calls):
    groups = group_set()
    groups[2]["ingress"] = [
        {
            "proto": "tcp",
            "ports": [3306],
            "group_id": created["group_ids"]["app"],
            "rule_desc": "from app tasks",
        }
    ]
    result = run_module(main, args(vpc_id, groups=groups))
    assert result["changed"] is False, result["changes"]
    assert api_calls.writes == []


def test_check_mode_makes_no_write_and_reports_changes(vpc_id, run_module, api_calls):
    result = run_module(main, args(vpc_id), check=True)
    assert result["changed"] is True
    assert api_calls.writes == []
    assert result["group_ids"] == {"alb": None, "app": None, "db": None}
    assert result["diff"]["after"]["groups"]["db"]["ingress"] == [
        {
            "protocol": "tcp",
            "from_port": 3306,
            "to_port": 3306,
            "group": "app",
            "description": "from app tasks",
        }
    ]
    assert set(groups_by_name(vpc_id)) == {"default"}


def test_extra_rule_is_revoked_with_one_call(created, vpc_id, run_module, api_calls):
    ec2 = boto3.client("ec2")
    ec2.authorize_security_group_ingress(
        GroupId=created["group_ids"]["db"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
        ],
    )
    api_calls.clear_calls()
    result = run_module(main, args(vpc_id))
    assert result["changes"] == ["groups.db.ingress"]
    assert api_calls.writes == ["RevokeSecurityGroupIngress"]
    [revoke] = api_calls.of("RevokeSecurityGroupIngress")
    assert revoke["IpPermissions"][0]["IpRanges"] == [{"CidrIp": "10.0.0.0/8"}]
    assert groups_by_name(vpc_id)["notejam-unit-db"]["IpPermissions"][0]["IpRanges"] == []


def test_check_mode_on_drift_reports_without_writing(created, vpc_id, run_module, api_calls):
    boto3.client("ec2").authorize_security_group_egress(
        GroupId=created["group_ids"]["db"],
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    api_calls.clear_calls()
    result = run_module(main, args(vpc_id), check=True)
    assert result["changed"] is True and result["changes"] == ["groups.db.egress"]
    assert api_calls.writes == []


def test_changed_description_is_updated_in_place(created, vpc_id, run_module, api_calls):
    groups = group_set()
    groups[2]["ingress"][0]["rule_desc"] = "MySQL from app tasks"
    result = run_module(main, args(vpc_id, groups=groups))
    assert result["changes"] == ["groups.db.ingress"]
    assert api_calls.writes == ["UpdateSecurityGroupRuleDescriptionsIngress"]
    pairs = groups_by_name(vpc_id)["notejam-unit-db"]["IpPermissions"][0]["UserIdGroupPairs"]
    assert [p.get("Description") for p in pairs] == ["MySQL from app tasks"]


def test_drifted_tag_is_repaired_with_one_call(created, vpc_id, run_module, api_calls):
    ec2 = boto3.client("ec2")
    app = created["group_ids"]["app"]
    ec2.create_tags(
        Resources=[app], Tags=[{"Key": "Environment", "Value": "other"}, {"Key": "Stray", "Value": "x"}]
    )
    api_calls.clear_calls()
    result = run_module(main, args(vpc_id))
    assert result["changes"] == ["groups.app.tags.Environment", "groups.app.tags.Stray"]
    assert api_calls.writes == ["CreateTags", "DeleteTags"]
    tags = {t["Key"]: t["Value"] for t in groups_by_name(vpc_id)["notejam-unit-app"]["Tags"]}
    assert tags == dict(TAGS, Name="notejam-unit-app")


def test_omitted_egress_is_left_alone(vpc_id, run_module):
    groups = [{"key": "codebuild", "name": "notejam-unit-codebuild", "description": "builds"}]
    result = run_module(main, {"vpc_id": vpc_id, "groups": groups})
    assert result["changed"] is True
    egress = groups_by_name(vpc_id)["notejam-unit-codebuild"]["IpPermissionsEgress"]
    assert [r["CidrIp"] for p in egress for r in p["IpRanges"]] == ["0.0.0.0/0"]
    again = run_module(main, {"vpc_id": vpc_id, "groups": groups})
    assert again["changed"] is False, again["changes"]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"proto": "tcp", "ports": [80], "group": "nosuch"}, "is not a key of groups"),
        ({"proto": "tcp", "ports": [80]}, "needs exactly one of"),
        ({"proto": "tcp", "ports": [80], "cidr_ip": "10.0.0.1/8"}, "is not a valid network"),
        ({"proto": "tcp", "ports": [80], "cidr_ip": "::/0"}, "is not an IPv4 CIDR"),
        ({"proto": "tcp", "cidr_ip": "0.0.0.0/0"}, "needs ports or from_port/to_port"),
        ({"proto": "gre-ish", "ports": [1], "cidr_ip": "0.0.0.0/0"}, "is not accepted"),
        ({"proto": "tcp", "ports": ["70000"], "cidr_ip": "0.0.0.0/0"}, "outside 0-65535"),
        ({"proto": "tcp", "port": 80, "cidr_ip": "0.0.0.0/0"}, "unknown option(s) port"),
    ],
)
def test_bad_rule_fails_before_any_call(vpc_id, run_module, api_calls, rule, message):
    groups = group_set()
    groups[0]["ingress"] = [rule]
    result = run_module(main, args(vpc_id, groups=groups))
    assert result.get("failed") and message in result["msg"], result["msg"]
    assert "groups[alb].ingress[0]" in result["msg"]
    assert api_calls == []


def test_repeated_names_fail_before_any_call(vpc_id, run_module, api_calls):
    groups = group_set()
    groups[1]["name"] = groups[0]["name"]
    result = run_module(main, args(vpc_id, groups=groups))
    assert result.get("failed") and "repeated: notejam-unit-alb" in result["msg"]
    assert api_calls == []


def test_absent_revokes_cross_references_then_deletes_the_set(created, vpc_id, run_module, api_calls):
    result = run_module(main, {"vpc_id": vpc_id, "groups": group_set(), "state": "absent"})
    assert result["changed"] is True
    assert set(groups_by_name(vpc_id)) == {"default"}
    assert api_calls.writes.count("DeleteSecurityGroup") == 3
    first_delete = api_calls.writes.index("DeleteSecurityGroup")
    assert set(api_calls.writes[:first_delete]) <= {"RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress"}
    api_calls.clear_calls()
    again = run_module(main, {"vpc_id": vpc_id, "groups": group_set(), "state": "absent"})
    assert again["changed"] is False and api_calls.writes == []


def test_check_mode_without_a_vpc_yet_reports_every_group_without_a_call(aws, run_module, api_calls):
    result = run_module(main, args(None), check=True)
    assert result["changed"] is True
    assert sorted(result["changes"]) == ["groups.alb", "groups.app", "groups.db"]
    assert api_calls == []


def test_missing_vpc_id_fails_outside_check_mode(aws, run_module, api_calls):
    result = run_module(main, args(None))
    assert result.get("failed") and "vpc_id is required" in result["msg"]
    assert api_calls == []


# --- network interfaces that outlive what was deleted (issue 14, defect 4) -------------------------
@pytest.fixture
def groups_in_use_refuse_deletion(monkeypatch):
    """As AWS does and moto does not: DeleteSecurityGroup answers DependencyViolation while a
    network interface uses the group (EC2 API reference, error codes: "DependencyViolation")."""
    import botocore.client
    import botocore.exceptions

    original = botocore.client.BaseClient._make_api_call

    def refusing(self, operation_name, api_params):
        if operation_name == "DeleteSecurityGroup":
            used = original(
                self,
                "DescribeNetworkInterfaces",
                {"Filters": [{"Name": "group-id", "Values": [api_params["GroupId"]]}]},
            )["NetworkInterfaces"]
            if used:
                raise botocore.exceptions.ClientError(
                    {
                        "Error": {
                            "Code": "DependencyViolation",
                            "Message": f"resource {api_params['GroupId']} has a dependent object",
                        },
                        "ResponseMetadata": {"HTTPStatusCode": 400},
                    },
                    operation_name,
                )
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refusing)


def test_absent_gives_up_after_release_timeout_naming_the_interfaces_that_use_a_group(
    created, vpc_id, run_module, groups_in_use_refuse_deletion
):
    """A load balancer deleted just before leaves its network interface in the group for minutes;
    EC2 refuses the delete with DependencyViolation. The bounded wait names that interface."""
    ec2 = boto3.client("ec2")
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.60.1.0/24")["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(
        SubnetId=subnet, Groups=[created["group_ids"]["alb"]], Description="ELB app/notejam-unit-alb/0123"
    )["NetworkInterface"]["NetworkInterfaceId"]

    result = run_module(main, args(vpc_id, state="absent", release_timeout=1))

    assert result["failed"] is True
    alb = created["group_ids"]["alb"]
    assert (
        f"Gave up after 1s waiting for the network interfaces in security group {alb} "
        "to be released (delete_security_group answers DependencyViolation)" in result["msg"]
    )
    assert f"still used by {eni} (ELB app/notejam-unit-alb/0123, available)" in result["msg"]

    ec2.delete_network_interface(NetworkInterfaceId=eni)
    result = run_module(main, args(vpc_id, state="absent"))
    assert result.get("failed") is not True, result.get("msg")
    left = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    assert [g["GroupName"] for g in left] == ["default"]
