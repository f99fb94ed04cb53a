"""vpc_network: a three-tier VPC in one call; no-op, check mode, smallest repairs, bad input, absent."""

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules.vpc_network import main

TAGS = {"Project": "notejam", "Environment": "unit", "ManagedBy": "ansible"}
PLAN = {
    "public": ["10.50.0.0/20", "10.50.16.0/20"],
    "app": ["10.50.64.0/20", "10.50.80.0/20"],
    "data": ["10.50.128.0/20", "10.50.144.0/20"],
}
ARGS = {
    "name_prefix": "notejam-unit",
    "cidr_block": "10.50.0.0/16",
    "subnets": PLAN,
    "az_count": 2,
    "tags": TAGS,
}
READS = [
    "DescribeAvailabilityZones",
    "DescribeVpcs",
    "DescribeVpcAttribute",
    "DescribeVpcAttribute",
    "DescribeSubnets",
    "DescribeInternetGateways",
    "DescribeNatGateways",
    "DescribeAddresses",
    "DescribeRouteTables",
    "DescribeVpcEndpoints",
]


def ec2():
    return boto3.client("ec2")


def tags_of(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def tables_by_name(vpc_id):
    tables = ec2().describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    return {tags_of(t).get("Name", "main"): t for t in tables}


def default_routes(table):
    return [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]


@pytest.fixture
def created(aws, run_module):
    result = run_module(main, ARGS)
    assert result["changed"] is True, result
    return result


def test_create_builds_every_tier_gateway_and_route(created):
    vpc_id = created["vpc_id"]
    assert created["azs"] == ["us-east-1a", "us-east-1b"]
    [vpc] = ec2().describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert vpc["CidrBlock"] == "10.50.0.0/16" and tags_of(vpc) == dict(TAGS, Name="notejam-unit-vpc")
    assert ec2().describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")["EnableDnsHostnames"][
        "Value"
    ]

    subnets = {
        s["SubnetId"]: s
        for s in ec2().describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    }
    for tier in ("public", "app", "data"):
        ids = created["subnets"][tier]
        assert [subnets[i]["CidrBlock"] for i in ids] == PLAN[tier]
        assert [subnets[i]["AvailabilityZone"] for i in ids] == created["azs"]
        assert tags_of(subnets[ids[0]]) == dict(TAGS, Name=f"notejam-unit-{tier}-us-east-1a", Tier=tier)

    nats = ec2().describe_nat_gateways(NatGatewayIds=created["nat_gateway_ids"])["NatGateways"]
    assert [
        n["SubnetId"] for n in sorted(nats, key=lambda n: created["nat_gateway_ids"].index(n["NatGatewayId"]))
    ] == (created["subnets"]["public"])
    assert all(n["State"] == "available" for n in nats)
    allocations = [a["AllocationId"] for n in nats for a in n["NatGatewayAddresses"]]
    addresses = ec2().describe_addresses(AllocationIds=allocations)["Addresses"]
    assert sorted(tags_of(a)["Name"] for a in addresses) == [
        "notejam-unit-nat-us-east-1a",
        "notejam-unit-nat-us-east-1b",
    ]

    tables = tables_by_name(vpc_id)
    assert [r["GatewayId"] for r in default_routes(tables["notejam-unit-public"])] == [
        created["internet_gateway_id"]
    ]
    for index, az in enumerate(created["azs"]):
        app = tables[f"notejam-unit-app-{az}"]
        assert [r["NatGatewayId"] for r in default_routes(app)] == [created["nat_gateway_ids"][index]]
        assert [a["SubnetId"] for a in app["Associations"]] == [created["subnets"]["app"][index]]
    assert default_routes(tables["notejam-unit-data"]) == []
    assert sorted(a["SubnetId"] for a in tables["notejam-unit-data"]["Associations"]) == sorted(
        created["subnets"]["data"]
    )
    assert created["route_tables"]["app"] == [
        tables[f"notejam-unit-app-{az}"]["RouteTableId"] for az in created["azs"]
    ]

    [endpoint] = ec2().describe_vpc_endpoints(VpcEndpointIds=[created["s3_endpoint_id"]])["VpcEndpoints"]
    assert endpoint["ServiceName"] == "com.amazonaws.us-east-1.s3"
    assert sorted(endpoint["RouteTableIds"]) == sorted(created["route_tables"]["app"])
    assert tags_of(endpoint)["Name"] == "notejam-unit-s3"


def test_second_run_changes_nothing_and_describes_each_type_once(created, run_module, api_calls):
    result = run_module(main, ARGS)
    assert result["changed"] is False, result["changes"]
    assert api_calls.writes == []
    assert sorted(api_calls) == sorted(READS)
    for key in (
        "vpc_id",
        "subnets",
        "nat_gateway_ids",
        "route_tables",
        "s3_endpoint_id",
        "internet_gateway_id",
    ):
        assert result[key] == created[key]


def test_check_mode_makes_no_write_and_reports_the_plan(aws, run_module, api_calls):
    result = run_module(main, ARGS, check=True)
    assert result["changed"] is True
    assert api_calls.writes == []
    assert result["vpc_id"] is None
    after = result["diff"]["after"]
    assert after["route_tables"]["notejam-unit-app-us-east-1b"]["routes"] == {
        "0.0.0.0/0": "notejam-unit-nat-us-east-1b"
    }
    assert after["subnets"]["notejam-unit-data-us-east-1a"]["tags"]["Tier"] == "data"
    assert ec2().describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["notejam-unit-vpc"]}])["Vpcs"] == []


def test_check_mode_on_drift_reports_without_writing(created, run_module, api_calls):
    public = created["route_tables"]["public"]
    ec2().delete_route(RouteTableId=public, DestinationCidrBlock="0.0.0.0/0")
    api_calls.clear_calls()
    result = run_module(main, ARGS, check=True)
    assert result["changed"] is True
    assert result["changes"] == ["routeTables.notejam-unit-public.routes.0.0.0.0/0"]
    assert api_calls.writes == []


def test_removed_route_is_recreated_with_one_call(created, run_module, api_calls):
    app = created["route_tables"]["app"][1]
    ec2().delete_route(RouteTableId=app, DestinationCidrBlock="0.0.0.0/0")
    api_calls.clear_calls()
    result = run_module(main, ARGS)
    assert result["changes"] == ["routeTables.notejam-unit-app-us-east-1b.routes.0.0.0.0/0"]
    assert api_calls.writes == ["CreateRoute"]
    assert api_calls.of("CreateRoute")[0]["NatGatewayId"] == created["nat_gateway_ids"][1]


def test_extra_route_is_purged_but_endpoint_routes_are_kept(created, run_module, api_calls):
    data = created["route_tables"]["data"]
    ec2().create_route(
        RouteTableId=data, DestinationCidrBlock="0.0.0.0/0", GatewayId=created["internet_gateway_id"]
    )
    api_calls.clear_calls()
    result = run_module(main, ARGS)
    assert result["changes"] == ["routeTables.notejam-unit-data.routes.0.0.0.0/0"]
    assert api_calls.writes == ["DeleteRoute"]
    tables = tables_by_name(created["vpc_id"])
    assert default_routes(tables["notejam-unit-data"]) == []
    for az in created["azs"]:  # the endpoint's prefix-list routes are its own, never purged
        routes = tables[f"notejam-unit-app-{az}"]["Routes"]
        assert [r["GatewayId"] for r in routes if r.get("DestinationPrefixListId")] == [
            created["s3_endpoint_id"]
        ]


def test_route_to_another_target_is_replaced(created, run_module, api_calls):
    app = created["route_tables"]["app"][0]
    ec2().replace_route(
        RouteTableId=app, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=created["nat_gateway_ids"][1]
    )
    api_calls.clear_calls()
    run_module(main, ARGS)
    assert api_calls.writes == ["ReplaceRoute"]
    assert api_calls.of("ReplaceRoute")[0]["NatGatewayId"] == created["nat_gateway_ids"][0]


def test_drifted_tags_are_repaired_with_the_smallest_calls(created, run_module, api_calls):
    subnet = created["subnets"]["app"][0]
    ec2().create_tags(
        Resources=[subnet], Tags=[{"Key": "Tier", "Value": "public"}, {"Key": "Stray", "Value": "x"}]
    )
    ec2().delete_tags(Resources=[created["nat_gateway_ids"][0]], Tags=[{"Key": "Name"}])
    api_calls.clear_calls()
    result = run_module(main, ARGS)
    assert sorted(result["changes"]) == [
        "natGateways.notejam-unit-nat-us-east-1a.tags.Name",
        "subnets.notejam-unit-app-us-east-1a.tags.Stray",
        "subnets.notejam-unit-app-us-east-1a.tags.Tier",
    ]
    assert sorted(api_calls.writes) == ["CreateTags", "CreateTags", "DeleteTags"]
    [subnet_raw] = ec2().describe_subnets(SubnetIds=[subnet])["Subnets"]
    assert tags_of(subnet_raw) == dict(TAGS, Name="notejam-unit-app-us-east-1a", Tier="app")


def test_subnet_association_is_moved_back(created, run_module, api_calls):
    subnet = created["subnets"]["data"][0]
    association = next(
        a["RouteTableAssociationId"]
        for a in tables_by_name(created["vpc_id"])["notejam-unit-data"]["Associations"]
        if a["SubnetId"] == subnet
    )
    ec2().replace_route_table_association(
        AssociationId=association, RouteTableId=created["route_tables"]["public"]
    )
    api_calls.clear_calls()
    result = run_module(main, ARGS)
    assert sorted(result["changes"]) == [
        "routeTables.notejam-unit-data.subnets",
        "routeTables.notejam-unit-public.subnets",
    ]
    assert api_calls.writes == ["ReplaceRouteTableAssociation"]


def test_endpoint_route_tables_are_modified_in_place(created, run_module, api_calls):
    endpoint = created["s3_endpoint_id"]
    ec2().modify_vpc_endpoint(VpcEndpointId=endpoint, RemoveRouteTableIds=[created["route_tables"]["app"][1]])
    table = tables_by_name(created["vpc_id"])["notejam-unit-app-us-east-1b"]
    assert [
        r for r in table["Routes"] if r.get("DestinationPrefixListId")
    ] == []  # as AWS: the route went too
    api_calls.clear_calls()
    result = run_module(main, ARGS)
    assert result["changes"] == ["s3Endpoint.routeTables"]
    assert api_calls.writes == ["ModifyVpcEndpoint"]
    assert result["s3_endpoint_id"] == endpoint
    table = tables_by_name(created["vpc_id"])["notejam-unit-app-us-east-1b"]
    assert [r["GatewayId"] for r in table["Routes"] if r.get("DestinationPrefixListId")] == [endpoint]


def test_dns_hostnames_turned_off_are_turned_on(created, run_module, api_calls):
    ec2().modify_vpc_attribute(VpcId=created["vpc_id"], EnableDnsHostnames={"Value": False})
    api_calls.clear_calls()
    result = run_module(main, ARGS)
    assert result["changes"] == ["vpc.enableDnsHostnames"]
    assert api_calls.writes == ["ModifyVpcAttribute"]


def test_single_nat_serves_every_app_table(aws, run_module):
    result = run_module(main, dict(ARGS, nat_gateways="single"))
    assert len(result["nat_gateway_ids"]) == 1
    tables = tables_by_name(result["vpc_id"])
    for az in result["azs"]:
        assert [r["NatGatewayId"] for r in default_routes(tables[f"notejam-unit-app-{az}"])] == result[
            "nat_gateway_ids"
        ]
    again = run_module(main, dict(ARGS, nat_gateways="single"))
    assert again["changed"] is False, again["changes"]


def test_explicit_azs_are_used_in_plan_order(aws, run_module, api_calls):
    result = run_module(main, dict(ARGS, azs=["us-east-1c", "us-east-1b"], az_count=None))
    assert result["azs"] == ["us-east-1c", "us-east-1b"]
    assert "DescribeAvailabilityZones" not in api_calls
    [first_public] = ec2().describe_subnets(SubnetIds=[result["subnets"]["public"][0]])["Subnets"]
    assert first_public["AvailabilityZone"] == "us-east-1c"


def test_subnet_in_another_az_fails_before_any_write(aws, run_module, api_calls):
    vpc_id = ec2().create_vpc(
        CidrBlock="10.50.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "notejam-unit-vpc"}]}],
    )["Vpc"]["VpcId"]
    ec2().create_subnet(VpcId=vpc_id, CidrBlock=PLAN["app"][1], AvailabilityZone="us-east-1c")
    api_calls.clear_calls()
    result = run_module(main, ARGS)
    assert result.get("failed")
    assert "notejam-unit-app-us-east-1b" in result["msg"] and "us-east-1c" in result["msg"]
    assert api_calls.writes == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cidr_block": "10.50.0.0/12"}, "cidr_block"),
        ({"cidr_block": "10.50.1.0/16"}, "cidr_block"),
        (
            {"subnets": dict(PLAN, data=["10.50.0.0/24", "10.50.144.0/20"])},
            "subnets.data[0]: 10.50.0.0/24 overlaps",
        ),
        (
            {"subnets": dict(PLAN, app=["10.60.0.0/20", "10.50.80.0/20"])},
            "subnets.app[0]: 10.60.0.0/20 is not inside",
        ),
        ({"subnets": dict(PLAN, app=["10.50.64.0/20"])}, "one CIDR per AZ"),
        ({"subnets": {"public": PLAN["public"], "app": PLAN["app"]}}, "needs exactly the tiers"),
        ({"az_count": 3}, "az_count: 3"),
        ({"azs": ["us-east-1a"], "az_count": None}, "azs: 1 zone(s)"),
    ],
)
def test_bad_input_fails_before_any_call(aws, run_module, api_calls, change, message):
    result = run_module(main, dict(ARGS, **change))
    assert result.get("failed") and message in result["msg"], result["msg"]
    assert api_calls == []


def test_more_azs_than_the_region_offers_fails_before_any_write(aws, run_module, api_calls):
    plan = {
        tier: [f"10.50.{8 * (7 * t + i)}.0/21" for i in range(7)]
        for t, tier in enumerate(("public", "app", "data"))
    }
    result = run_module(main, dict(ARGS, subnets=plan, az_count=7))
    assert result.get("failed") and "az_count is 7 but the region offers" in result["msg"], result["msg"]
    assert api_calls.writes == []


def test_absent_removes_everything_in_dependency_order(created, run_module, api_calls):
    result = run_module(main, {"name_prefix": "notejam-unit", "vpc_id": created["vpc_id"], "state": "absent"})
    assert result["changed"] is True, result
    writes = api_calls.writes
    order = [
        writes.index(op)
        for op in (
            "DeleteVpcEndpoints",
            "DeleteNatGateway",
            "ReleaseAddress",
            "DeleteRouteTable",
            "DeleteSubnet",
            "DetachInternetGateway",
            "DeleteVpc",
        )
    ]
    assert order == sorted(order)
    assert writes.count("ReleaseAddress") == 2
    assert ec2().describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["notejam-unit-vpc"]}])["Vpcs"] == []
    assert ec2().describe_addresses()["Addresses"] == []
    live = [
        n for n in ec2().describe_nat_gateways()["NatGateways"] if n["State"] not in ("deleted", "deleting")
    ]
    assert live == []
    api_calls.clear_calls()
    again = run_module(main, {"name_prefix": "notejam-unit", "cidr_block": "10.50.0.0/16", "state": "absent"})
    assert again["changed"] is False and api_calls.writes == []


def test_absent_in_check_mode_writes_nothing(created, run_module, api_calls):
    result = run_module(
        main, {"name_prefix": "notejam-unit", "vpc_id": created["vpc_id"], "state": "absent"}, check=True
    )
    assert result["changed"] is True
    assert api_calls.writes == []
    assert ec2().describe_vpcs(VpcIds=[created["vpc_id"]])["Vpcs"]


def named_vpc():
    """A VPC as an interrupted first run leaves it: named, nothing else yet."""
    return ec2().create_vpc(
        CidrBlock="10.50.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "notejam-unit-vpc"}]}],
    )["Vpc"]["VpcId"]


def test_address_left_by_an_interrupted_run_is_reused(aws, run_module, api_calls):
    vpc_id = named_vpc()
    spare = ec2().allocate_address(
        Domain="vpc",
        TagSpecifications=[
            {"ResourceType": "elastic-ip", "Tags": [{"Key": "Name", "Value": "notejam-unit-nat-us-east-1a"}]}
        ],
    )["AllocationId"]
    api_calls.clear_calls()
    result = run_module(main, ARGS)
    assert result["vpc_id"] == vpc_id
    assert api_calls.writes.count("AllocateAddress") == 1  # only for the second AZ's NAT
    [nat] = ec2().describe_nat_gateways(NatGatewayIds=[result["nat_gateway_ids"][0]])["NatGateways"]
    assert [a["AllocationId"] for a in nat["NatGatewayAddresses"]] == [spare]
    [address] = ec2().describe_addresses(AllocationIds=[spare])["Addresses"]
    assert tags_of(address) == dict(TAGS, Name="notejam-unit-nat-us-east-1a")


def test_detached_internet_gateway_is_reused(aws, run_module, api_calls):
    named_vpc()
    igw = ec2().create_internet_gateway(
        TagSpecifications=[
            {"ResourceType": "internet-gateway", "Tags": [{"Key": "Name", "Value": "notejam-unit-igw"}]}
        ],
    )["InternetGateway"]["InternetGatewayId"]
    api_calls.clear_calls()
    result = run_module(main, ARGS)
    assert "CreateInternetGateway" not in api_calls.writes
    assert result["internet_gateway_id"] == igw
    [found] = ec2().describe_internet_gateways(InternetGatewayIds=[igw])["InternetGateways"]
    assert tags_of(found) == dict(TAGS, Name="notejam-unit-igw")
    assert [a["VpcId"] for a in found["Attachments"]] == [result["vpc_id"]]
