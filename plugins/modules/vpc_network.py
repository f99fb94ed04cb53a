#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: vpc_network
short_description: Converge a whole three-tier VPC (subnets, gateways, routes, S3 endpoint) in one call
version_added: 0.1.0
description:
  - Ensures, in one invocation, the VPC named C(<name_prefix>-vpc) with O(cidr_block) (DNS support
    and DNS hostnames on), one subnet per tier (public, app, data) and availability zone, an
    internet gateway, NAT gateways (one per AZ or a single one, each with a tagged Elastic IP),
    route tables (public to the internet gateway, one app table per AZ to a NAT gateway, data with
    no route out) and an S3 gateway endpoint on the app route tables.
  - Every resource type is described once, filtered by the VPC, so a run that changes nothing
    makes about ten read calls and no write call.
  - Resources are found by their Name tags (VPC, route tables, internet gateway by attachment,
    subnets by CIDR, NAT gateways by subnet, the endpoint by service name), so re-runs and
    interrupted runs find what exists instead of creating duplicates.
  - Routes of the managed route tables are purged to exactly the desired ones; the C(local) route
    and the prefix-list routes that gateway endpoints add are left alone.
  - A subnet cannot move to another availability zone; when an existing subnet's AZ differs from
    the plan the module fails naming it, before any write.
  - With O(state=absent) the VPC and everything in it that this module manages are removed in
    dependency order (endpoints, NAT gateways and their Elastic IPs, route tables, subnets, the
    internet gateway, the VPC). Security groups and flow logs are not removed here.
author:
  - Notejam maintainers (@notejam)
options:
  name_prefix:
    description:
      - Prefix of every Name tag, for example C(notejam-prod). The VPC is C(<prefix>-vpc), subnets
        C(<prefix>-<tier>-<az>), C(<prefix>-igw), C(<prefix>-nat-<az>), route tables
        C(<prefix>-public), C(<prefix>-app-<az>) and C(<prefix>-data), the endpoint C(<prefix>-s3).
    type: str
    required: true
  cidr_block:
    description:
      - The VPC's IPv4 CIDR (/16 to /28). Required when O(state=present).
      - With O(state=absent) it narrows the look-up by name.
    type: str
  vpc_id:
    description:
      - The VPC to remove, when O(state=absent) (instead of the look-up by name).
    type: str
  subnets:
    description:
      - The subnet plan, as the C(notejam.aws.network_plan) filter returns it.
      - C(public), C(app) and C(data), each a list of one CIDR per availability zone, in AZ order.
      - Required when O(state=present).
    type: dict
  az_count:
    description:
      - How many availability zones to use; the first ones available, sorted by name.
      - Defaults to the length of the plan's lists, and must equal it.
    type: int
  azs:
    description:
      - Explicit availability zones, in plan order, instead of choosing them.
    type: list
    elements: str
  nat_gateways:
    description:
      - C(per_az) puts a NAT gateway in every public subnet and routes each AZ's app subnet through
        its own; C(single) puts one in the first public subnet for all AZs.
    type: str
    choices: [per_az, single]
    default: per_az
  s3_endpoint:
    description:
      - Ensure an S3 gateway endpoint on the app route tables. When false an existing endpoint is
        left as it is.
    type: bool
    default: true
  wait:
    description: Wait for new NAT gateways to become available (and, when absent, to be deleted).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for NAT gateways.
    type: int
    default: 600
  release_timeout:
    description:
      - With O(state=absent), seconds to keep deleting each subnet, detaching the internet gateway
        and deleting the VPC while EC2 answers C(DependencyViolation) because network interfaces
        of what was just deleted (a load balancer, ECS tasks, a database) are still being released,
        which takes minutes on AWS. A wait that ended well is reported as a warning; giving up names
        the interfaces that still hold the resource.
    type: int
    default: 1200
  state:
    description: Whether the network exists.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
notes:
  - O(tags) go on every resource, with its C(Name) (and C(Tier) on subnets) added.
  - Supports check mode (no write call; RV(changes) says what would change) and diff mode.
"""

EXAMPLES = r"""
- name: Converge the network of prod
  notejam.aws.vpc_network:
    name_prefix: notejam-prod
    cidr_block: 10.30.0.0/16
    subnets: "{{ '10.30.0.0/16' | notejam.aws.network_plan(3) }}"
    az_count: 3
    nat_gateways: per_az
    tags:
      Project: notejam
      Environment: prod
      ManagedBy: ansible
  register: network

- name: Remove it
  notejam.aws.vpc_network:
    name_prefix: notejam-prod
    vpc_id: "{{ network.vpc_id }}"
    state: absent
"""

RETURN = r"""
vpc_id:
  description: The VPC's id (null in check mode before it exists, or when absent).
  returned: always
  type: str
  sample: vpc-0123456789abcdef0
azs:
  description: The availability zones of the tiers, in order.
  returned: always
  type: list
  elements: str
  sample: [us-east-1a, us-east-1b]
subnets:
  description: Subnet ids per tier, in AZ order.
  returned: always
  type: dict
  sample: {public: [subnet-1, subnet-2], app: [subnet-3, subnet-4], data: [subnet-5, subnet-6]}
internet_gateway_id:
  description: The internet gateway's id.
  returned: always
  type: str
  sample: igw-0123456789abcdef0
nat_gateway_ids:
  description: The NAT gateways' ids, in AZ order (one with O(nat_gateways=single)).
  returned: always
  type: list
  elements: str
route_tables:
  description: Route table ids; C(app) has one per AZ.
  returned: always
  type: dict
  sample: {public: rtb-1, app: [rtb-2, rtb-3], data: rtb-4}
s3_endpoint_id:
  description: The S3 gateway endpoint's id (null when O(s3_endpoint=false) and none exists).
  returned: always
  type: str
  sample: vpce-0123456789abcdef0
changes:
  description: Dotted paths of what differed from the desired state.
  returned: always
  type: list
  elements: str
  sample: [routeTables.notejam-prod-app-us-east-1a.routes.0.0.0.0/0]
"""

import ipaddress

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.notejam.aws.plugins.module_utils.ec2 import (
    NewResourceAwareClient,
    apply_ec2_tags,
    delete_when_released,
)
from ansible_collections.notejam.aws.plugins.module_utils.resource import (
    AwsResource,
    client_token,
    create_once,
    paginate,
    shown,
    tags_after,
    wait_for,
    wait_with_waiter,
    whole,
)

TIERS = ("public", "app", "data")
LIVE_NAT_STATES = ("pending", "available")
# Targets a route may name, in the order AWS documents them.
ROUTE_TARGETS = (
    "GatewayId",
    "NatGatewayId",
    "TransitGatewayId",
    "VpcPeeringConnectionId",
    "NetworkInterfaceId",
    "InstanceId",
    "EgressOnlyInternetGatewayId",
    "CarrierGatewayId",
    "LocalGatewayId",
    "CoreNetworkArn",
)
ROUTE_DESTINATIONS = ("DestinationCidrBlock", "DestinationIpv6CidrBlock", "DestinationPrefixListId")
DEFAULT_ROUTE = "0.0.0.0/0"


def _tags(raw):
    return boto3_tag_list_to_ansible_dict(raw.get("Tags", []))


def _tag_specs(resource_type, tags):
    return [{"ResourceType": resource_type, "Tags": ansible_dict_to_boto3_tag_list(tags)}] if tags else []


def _route_destination(route):
    for key in ROUTE_DESTINATIONS:
        if route.get(key):
            return key, route[key]
    return None, None


def _route_target(route):
    for key in ROUTE_TARGETS:
        if route.get(key):
            return route[key]
    return None


def _is_kept_route(route):
    """Routes the module never purges: the VPC's own ``local`` route and the prefix-list routes a
    gateway endpoint adds (the endpoint owns those; its route table set decides them)."""
    if route.get("GatewayId") == "local" or route.get("Origin") == "CreateRouteTable":
        return True
    return bool(route.get("DestinationPrefixListId")) and str(route.get("GatewayId", "")).startswith("vpce-")


class Network(AwsResource):
    service = "ec2"
    result_key = "network"

    def __init__(self, module):
        super().__init__(module)
        # EC2 is eventually consistent: what this run creates may answer NotFound for a while.
        self.client = NewResourceAwareClient(self.client, module, timeout=self.params["wait_timeout"])
        self.prefix = self.params["name_prefix"]
        self.present = self.params["state"] == "present"
        self.azs = list(self.params["azs"] or [])
        self.plan_cidrs = {}

    # --- names ---------------------------------------------------------------------------------
    @property
    def vpc_name(self):
        return f"{self.prefix}-vpc"

    @property
    def igw_name(self):
        return f"{self.prefix}-igw"

    def subnet_name(self, tier, index):
        return f"{self.prefix}-{tier}-{self.azs[index]}"

    def nat_name(self, index):
        return f"{self.prefix}-nat-{self.azs[index]}"

    def nat_count(self):
        return len(self.azs) if self.params["nat_gateways"] == "per_az" else 1

    def nat_index_for_app(self, index):
        return index if self.params["nat_gateways"] == "per_az" else 0

    def app_table_name(self, index):
        return f"{self.prefix}-app-{self.azs[index]}"

    @property
    def table_names(self):
        return (
            [f"{self.prefix}-public"]
            + [self.app_table_name(i) for i in range(len(self.azs))]
            + [f"{self.prefix}-data"]
        )

    @property
    def endpoint_name(self):
        return f"{self.prefix}-s3"

    @property
    def s3_service(self):
        return f"com.amazonaws.{self.client.meta.region_name}.s3"

    def tagged(self, name, **extra):
        """The tags a resource should end with: the module's tags, its Name and ``extra``."""
        wanted = {} if self.params["tags"] is None else dict(self.params["tags"])
        wanted.update(Name=name, **extra)
        return wanted

    # --- validation (no API call) --------------------------------------------------------------
    def validate(self):
        fail = self.module.fail_json
        if not self.present:
            if not (self.params["vpc_id"] or self.params["name_prefix"]):
                fail(msg="state=absent needs vpc_id or name_prefix")
            return
        try:
            vpc = ipaddress.ip_network(str(self.params["cidr_block"]), strict=True)
        except ValueError as e:
            fail(msg=f"cidr_block: {self.params['cidr_block']!r} is not a valid IPv4 CIDR ({e})")
        if vpc.version != 4 or not 16 <= vpc.prefixlen <= 28:
            fail(msg=f"cidr_block: {vpc} must be an IPv4 CIDR from /16 to /28")
        plan = self.params["subnets"]
        if sorted(plan) != sorted(TIERS):
            fail(
                msg=f"subnets: needs exactly the tiers {', '.join(TIERS)}; "
                f"got {', '.join(sorted(plan)) or 'none'}"
            )
        lengths = {tier: len(plan[tier] or []) for tier in TIERS}
        if len(set(lengths.values())) != 1 or not lengths["public"]:
            fail(msg=f"subnets: every tier needs one CIDR per AZ, the same number each; got {lengths}")
        count = lengths["public"]
        if self.params["az_count"] is not None and self.params["az_count"] != count:
            fail(msg=f"az_count: {self.params['az_count']} but the subnets plan has {count} CIDR(s) per tier")
        if self.azs and len(self.azs) != count:
            fail(msg=f"azs: {len(self.azs)} zone(s) given but the subnets plan has {count} CIDR(s) per tier")
        placed = []
        for tier in TIERS:
            self.plan_cidrs[tier] = []
            for index, cidr in enumerate(plan[tier]):
                where = f"subnets.{tier}[{index}]"
                try:
                    net = ipaddress.ip_network(str(cidr), strict=True)
                except ValueError as e:
                    fail(msg=f"{where}: {cidr!r} is not a valid IPv4 CIDR ({e})")
                if net.version != 4 or not net.subnet_of(vpc):
                    fail(msg=f"{where}: {net} is not inside cidr_block {vpc}")
                for other_where, other in placed:
                    if net.overlaps(other):
                        fail(msg=f"{where}: {net} overlaps {other_where} ({other})")
                placed.append((where, net))
                self.plan_cidrs[tier].append(str(net))

    # --- read: one describe per resource type ------------------------------------------------
    def choose_azs(self):
        if self.azs:
            return
        count = len(self.plan_cidrs["public"])
        zones = self.client.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])
        names = sorted(z["ZoneName"] for z in zones["AvailabilityZones"])
        if len(names) < count:
            self.module.fail_json(
                msg=f"az_count is {count} but the region offers {len(names)} available zone(s): "
                f"{', '.join(names)}"
            )
        self.azs = names[:count]

    def find_vpc(self):
        if self.params["vpc_id"]:
            filters = [{"Name": "vpc-id", "Values": [self.params["vpc_id"]]}]
        else:
            filters = [{"Name": "tag:Name", "Values": [self.vpc_name]}]
            if self.params["cidr_block"]:
                filters.append(
                    {"Name": "cidr-block-association.cidr-block", "Values": [self.params["cidr_block"]]}
                )
        vpcs = self.client.describe_vpcs(Filters=filters)["Vpcs"]
        if len(vpcs) > 1:
            ids = ", ".join(sorted(v["VpcId"] for v in vpcs))
            self.module.fail_json(
                msg=f"More than one VPC is named {self.vpc_name} with that CIDR: {ids}; remove the extra ones"
            )
        return vpcs[0] if vpcs else None

    def read(self):
        if self.present:
            self.choose_azs()
        snap = {"vpc": self.find_vpc()}
        if snap["vpc"] is None:
            return None
        vpc_id = snap["vpc"]["VpcId"]
        by_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
        for attribute in ("enableDnsSupport", "enableDnsHostnames"):
            answer = self.client.describe_vpc_attribute(VpcId=vpc_id, Attribute=attribute)
            snap[attribute] = answer[attribute[0].upper() + attribute[1:]]["Value"]
        snap["subnets"] = paginate(self.client, "describe_subnets", "Subnets", Filters=by_vpc)
        snap["igws"] = self.client.describe_internet_gateways(
            Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}]
        )["InternetGateways"]
        snap["nats"] = [
            n
            for n in paginate(self.client, "describe_nat_gateways", "NatGateways", Filter=by_vpc)
            if n["State"] in LIVE_NAT_STATES + (() if self.present else ("failed",))
        ]
        snap["addresses"] = self.client.describe_addresses(Filters=[{"Name": "domain", "Values": ["vpc"]}])[
            "Addresses"
        ]
        snap["route_tables"] = paginate(self.client, "describe_route_tables", "RouteTables", Filters=by_vpc)
        snap["endpoints"] = [
            e
            for e in paginate(self.client, "describe_vpc_endpoints", "VpcEndpoints", Filters=by_vpc)
            if e["State"].lower() not in ("deleted", "deleting", "failed")
        ]
        return snap

    # --- index of what was read, by the names the module gives things ------------------------
    def index(self, snap):
        """Map the raw snapshot onto logical names: {kind: {name: raw}} plus an id -> name map."""
        found = {"subnets": {}, "nats": {}, "tables": {}, "addresses": {}, "igw": None, "endpoint": None}
        names = {}
        if snap is None:
            return found, names
        by_cidr = {s["CidrBlock"]: s for s in snap["subnets"]}
        for tier in TIERS:
            for index, cidr in enumerate(self.plan_cidrs.get(tier, [])):
                if cidr in by_cidr:
                    found["subnets"][self.subnet_name(tier, index)] = by_cidr[cidr]
        for name, subnet in found["subnets"].items():
            names[subnet["SubnetId"]] = name
        if snap["igws"]:
            found["igw"] = snap["igws"][0]
            names[found["igw"]["InternetGatewayId"]] = self.igw_name
        public_ids = {}
        for index in range(self.nat_count() if self.present else 0):
            subnet = found["subnets"].get(self.subnet_name("public", index))
            if subnet:
                public_ids[subnet["SubnetId"]] = self.nat_name(index)
        for nat in sorted(snap["nats"], key=lambda n: (n["State"] != "available", n["NatGatewayId"])):
            name = public_ids.get(nat["SubnetId"])
            if name and name not in found["nats"]:
                found["nats"][name] = nat
                names[nat["NatGatewayId"]] = name
        allocation_of = {}
        for name, nat in found["nats"].items():
            for address in nat.get("NatGatewayAddresses", []):
                if address.get("AllocationId"):
                    allocation_of[address["AllocationId"]] = name
        for address in snap["addresses"]:
            name = allocation_of.get(address.get("AllocationId"))
            if name:
                found["addresses"][name] = address
        wanted_tables = set(self.table_names) if self.present else set()
        for table in sorted(snap["route_tables"], key=lambda t: t["RouteTableId"]):
            name = _tags(table).get("Name")
            if name in wanted_tables and name not in found["tables"]:
                found["tables"][name] = table
                names[table["RouteTableId"]] = name
        service = self.s3_service
        for endpoint in snap["endpoints"]:
            if endpoint["ServiceName"] == service and endpoint.get("VpcEndpointType", "Gateway") == "Gateway":
                found["endpoint"] = endpoint
                break
        return found, names

    # --- compare ---------------------------------------------------------------------------------
    def comparable(self, snap):
        found, names = self.index(snap)
        vpc = snap["vpc"]
        state = {
            "vpc": {
                "cidrBlock": vpc["CidrBlock"],
                "enableDnsSupport": snap["enableDnsSupport"],
                "enableDnsHostnames": snap["enableDnsHostnames"],
                "tags": _tags(vpc),
            },
            "subnets": {
                name: {
                    "cidrBlock": s["CidrBlock"],
                    "availabilityZone": s["AvailabilityZone"],
                    "mapPublicIpOnLaunch": s.get("MapPublicIpOnLaunch", False),
                    "tags": _tags(s),
                }
                for name, s in found["subnets"].items()
            },
            "natGateways": {
                name: {
                    "subnet": names.get(n["SubnetId"], n["SubnetId"]),
                    "tags": _tags(n),
                    "addressTags": _tags(found["addresses"].get(name, {})),
                }
                for name, n in found["nats"].items()
            },
            "routeTables": {name: self.comparable_table(t, names) for name, t in found["tables"].items()},
        }
        if found["igw"]:
            state["internetGateway"] = {"tags": _tags(found["igw"])}
        if found["endpoint"] and self.params["s3_endpoint"]:
            state["s3Endpoint"] = {
                "routeTables": sorted(names.get(r, r) for r in found["endpoint"].get("RouteTableIds", [])),
                "tags": _tags(found["endpoint"]),
            }
        return state

    def comparable_table(self, table, names):
        routes = {}
        for route in table.get("Routes", []):
            if _is_kept_route(route):
                continue
            _kind, destination = _route_destination(route)
            target = _route_target(route)
            routes[destination] = names.get(target, target)
        subnets = sorted(
            names.get(a["SubnetId"], a["SubnetId"])
            for a in table.get("Associations", [])
            if a.get("SubnetId") and a.get("AssociationState", {}).get("State", "associated") == "associated"
        )
        return {"routes": routes, "subnets": subnets, "tags": _tags(table)}

    def desired(self, before):
        before = before or {}

        def tags_of(kind, name, wanted):
            current = ((before.get(kind) or {}).get(name) or {}).get("tags")
            return tags_after(current, wanted, self.params["purge_tags"])

        count = len(self.azs)
        subnets = {}
        for tier in TIERS:
            for index in range(count):
                name = self.subnet_name(tier, index)
                subnets[name] = {
                    "cidrBlock": self.plan_cidrs[tier][index],
                    "availabilityZone": self.azs[index],
                    "mapPublicIpOnLaunch": False,
                    "tags": tags_of("subnets", name, self.tagged(name, Tier=tier)),
                }
        nats = {}
        for index in range(self.nat_count()):
            name = self.nat_name(index)
            current = (before.get("natGateways") or {}).get(name) or {}
            nats[name] = {
                "subnet": self.subnet_name("public", index),
                "tags": tags_of("natGateways", name, self.tagged(name)),
                "addressTags": tags_after(
                    current.get("addressTags"), self.tagged(name), self.params["purge_tags"]
                ),
            }
        public = f"{self.prefix}-public"
        tables = {
            public: {
                "routes": whole({DEFAULT_ROUTE: self.igw_name}),
                "subnets": [self.subnet_name("public", i) for i in range(count)],
            },
            f"{self.prefix}-data": {
                "routes": whole({}),
                "subnets": [self.subnet_name("data", i) for i in range(count)],
            },
        }
        for index in range(count):
            tables[self.app_table_name(index)] = {
                "routes": whole({DEFAULT_ROUTE: self.nat_name(self.nat_index_for_app(index))}),
                "subnets": [self.subnet_name("app", index)],
            }
        for name, table in tables.items():
            table["subnets"] = sorted(table["subnets"])
            table["tags"] = tags_of("routeTables", name, self.tagged(name))
        wanted = {
            "vpc": {
                "cidrBlock": self.params["cidr_block"],
                "enableDnsSupport": True,
                "enableDnsHostnames": True,
                "tags": tags_after(
                    (before.get("vpc") or {}).get("tags"),
                    self.tagged(self.vpc_name),
                    self.params["purge_tags"],
                ),
            },
            "subnets": subnets,
            "internetGateway": {
                "tags": tags_after(
                    (before.get("internetGateway") or {}).get("tags"),
                    self.tagged(self.igw_name),
                    self.params["purge_tags"],
                )
            },
            "natGateways": nats,
            "routeTables": tables,
        }
        if self.params["s3_endpoint"]:
            wanted["s3Endpoint"] = {
                "routeTables": sorted(self.app_table_name(i) for i in range(count)),
                "tags": tags_after(
                    (before.get("s3Endpoint") or {}).get("tags"),
                    self.tagged(self.endpoint_name),
                    self.params["purge_tags"],
                ),
            }
        return wanted

    def plan(self):
        raw, before, after, changes = super().plan()
        if self.present and before:
            for name, subnet in before["subnets"].items():
                planned = after["subnets"][name]["availabilityZone"]
                if subnet["availabilityZone"] != planned:
                    self.module.fail_json(
                        msg=(
                            f"Subnet {name} ({subnet['cidrBlock']}) is in {subnet['availabilityZone']} "
                            f"but the plan puts it in {planned}; a subnet cannot move between AZs. "
                            "Remove it or change the plan."
                        )
                    )
        return raw, before, after, changes

    # --- apply -----------------------------------------------------------------------------------
    def apply(self, raw, before, after, changes):
        if after is None:
            self.delete(raw)
            return None
        Converge(self, raw, before or {}, after).run()
        # The read lists by filter: wait until what was created is listed.
        self.client.wait_listed()
        return self.read()

    def create(self, after):  # pragma: no cover - apply() handles creation and update together
        raise NotImplementedError

    def update(self, before, after, changes):  # pragma: no cover - see apply()
        raise NotImplementedError

    def set_tags(self, pending):
        """Apply tag changes; ``pending`` holds (resource id, tags before, tags after)."""
        apply_ec2_tags(self.client, pending)

    def wait_nats(self, nat_ids):
        if nat_ids and self.params["wait"]:
            wait_with_waiter(
                self.module,
                self.client,
                "nat_gateway_available",
                f"NAT gateway(s) {', '.join(nat_ids)} to become available",
                self.params["wait_timeout"],
                NatGatewayIds=nat_ids,
            )

    def delete(self, snap):
        vpc_id = snap["vpc"]["VpcId"]
        endpoint_ids = [e["VpcEndpointId"] for e in snap["endpoints"]]
        if endpoint_ids:
            self.client.delete_vpc_endpoints(VpcEndpointIds=endpoint_ids)

            def endpoints_gone():
                left = [
                    e["VpcEndpointId"]
                    for e in self.client.describe_vpc_endpoints(
                        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
                    )["VpcEndpoints"]
                    if e["State"].lower() not in ("deleted",)
                ]
                return not left, left

            wait_for(
                self.module,
                f"VPC endpoints {', '.join(endpoint_ids)} to be deleted",
                endpoints_gone,
                self.params["wait_timeout"],
            )
        nat_ids = [n["NatGatewayId"] for n in snap["nats"]]
        allocations = {
            a["AllocationId"]
            for n in snap["nats"]
            for a in n.get("NatGatewayAddresses", [])
            if a.get("AllocationId")
        }
        # Addresses allocated for a NAT gateway that was never created (an interrupted run).
        for address in snap["addresses"]:
            name = _tags(address).get("Name", "")
            if name.startswith(f"{self.prefix}-nat-") and not address.get("AssociationId"):
                allocations.add(address["AllocationId"])
        for nat_id in nat_ids:
            self.client.delete_nat_gateway(NatGatewayId=nat_id)
        if nat_ids:
            wait_with_waiter(
                self.module,
                self.client,
                "nat_gateway_deleted",
                f"NAT gateway(s) {', '.join(nat_ids)} to be deleted",
                self.params["wait_timeout"],
                NatGatewayIds=nat_ids,
            )
        for allocation_id in sorted(allocations):
            self.client.release_address(AllocationId=allocation_id)
        for table in snap["route_tables"]:
            if any(a.get("Main") for a in table.get("Associations", [])):
                continue  # the VPC's main table goes with the VPC
            for association in table.get("Associations", []):
                if association.get("SubnetId") or association.get("GatewayId"):
                    self.client.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
            self.client.delete_route_table(RouteTableId=table["RouteTableId"])
        # The load balancer, tasks and database destroyed just before leave network interfaces in
        # these subnets (public IPs in the VPC) for minutes: wait for them (bounded, reported).
        release = self.params["release_timeout"]
        for subnet in snap["subnets"]:
            delete_when_released(
                self.module, self.client, "delete_subnet", release, SubnetId=subnet["SubnetId"]
            )
        for igw in snap["igws"]:
            delete_when_released(
                self.module,
                self.client,
                "detach_internet_gateway",
                release,
                InternetGatewayId=igw["InternetGatewayId"],
                VpcId=vpc_id,
            )
            self.client.delete_internet_gateway(InternetGatewayId=igw["InternetGatewayId"])
        delete_when_released(self.module, self.client, "delete_vpc", release, VpcId=vpc_id)

    # --- result ----------------------------------------------------------------------------------
    def ids(self, snap):
        found, _names = self.index(snap)
        count = len(self.azs)

        def id_of(kind, name, key):
            item = found[kind].get(name)
            return item[key] if item else None

        if not self.present:
            return {
                "vpc_id": None,
                "azs": [],
                "subnets": {t: [] for t in TIERS},
                "internet_gateway_id": None,
                "nat_gateway_ids": [],
                "route_tables": {"public": None, "app": [], "data": None},
                "s3_endpoint_id": None,
            }
        return {
            "vpc_id": snap["vpc"]["VpcId"] if snap else None,
            "azs": self.azs,
            "subnets": {
                t: [id_of("subnets", self.subnet_name(t, i), "SubnetId") for i in range(count)] for t in TIERS
            },
            "internet_gateway_id": found["igw"]["InternetGatewayId"] if found["igw"] else None,
            "nat_gateway_ids": [
                id_of("nats", self.nat_name(i), "NatGatewayId") for i in range(self.nat_count())
            ],
            "route_tables": {
                "public": id_of("tables", f"{self.prefix}-public", "RouteTableId"),
                "app": [id_of("tables", self.app_table_name(i), "RouteTableId") for i in range(count)],
                "data": id_of("tables", f"{self.prefix}-data", "RouteTableId"),
            },
            "s3_endpoint_id": found["endpoint"]["VpcEndpointId"] if found["endpoint"] else None,
        }

    def finish(self, raw, before, after, changes, **extra_result):
        if not self.module.check_mode and raw is not None and not changes:
            raw = self.settle(raw, False)
        self.module.exit_json(
            changed=bool(changes),
            changes=changes,
            diff={"before": shown(before) or {}, "after": shown(after) or {}},
            **self.ids(raw if self.present else None),
            **extra_result,
        )

    def settle(self, raw, changed):
        """A NAT gateway still pending from an interrupted run is waited for, as a new one is."""
        found, _names = self.index(raw)
        pending = [n["NatGatewayId"] for n in found["nats"].values() if n["State"] == "pending"]
        if pending:
            self.wait_nats(pending)
            return self.read()
        return raw


class Converge:
    """The write half of a present run: closes every difference in dependency order, learning the
    ids of what it creates as it goes (each step needs the ids of the ones before)."""

    def __init__(self, network, snap, before, after):
        self.net = network
        self.client = network.client
        self.found, names = network.index(snap)
        # Name -> id, route tables apart: an app route table and an app subnet share a Name.
        self.table_ids = {name: t["RouteTableId"] for name, t in self.found["tables"].items()}
        self.ids = {name: rid for rid, name in names.items() if rid not in self.table_ids.values()}
        self.snap = snap
        self.before = before
        self.after = after
        self.tag_changes = []

    def id_of(self, name):
        return self.ids.get(name, name)

    def find_one(self, operation, key, filters, keep=lambda item: True):
        """The first resource ``operation`` lists under ``key`` for ``filters`` (and ``keep``), or
        ``None``: how a create whose answer was lost learns whether it happened."""
        found = [i for i in getattr(self.client, operation)(Filters=filters)[key] if keep(i)]
        return found[0] if found else None

    def run(self):
        self.vpc()
        self.subnets()
        self.internet_gateway()
        self.nat_gateways()
        self.route_tables()
        self.endpoint()
        self.net.set_tags(self.tag_changes)

    def vpc(self):
        want = self.after["vpc"]
        have = self.before.get("vpc")
        if have is None:
            vpc = create_once(
                lambda: self.client.create_vpc(
                    CidrBlock=want["cidrBlock"], TagSpecifications=_tag_specs("vpc", want["tags"])
                )["Vpc"],
                self.net.find_vpc,
                f"VPC {self.net.vpc_name}",
            )
            self.vpc_id = vpc["VpcId"]
            self.client.new_ids.append(self.vpc_id)
            # VpcAvailable fails at once on InvalidVpcID.NotFound: be sure EC2 knows the VPC first.
            self.client.describe_vpcs(VpcIds=[self.vpc_id])
            wait_with_waiter(
                self.net.module,
                self.client,
                "vpc_available",
                f"VPC {self.vpc_id} to become available",
                self.net.params["wait_timeout"],
                VpcIds=[self.vpc_id],
            )
            have = {"enableDnsSupport": True, "enableDnsHostnames": False, "tags": want["tags"]}
        else:
            self.vpc_id = self.snap["vpc"]["VpcId"]
        for attribute in ("enableDnsSupport", "enableDnsHostnames"):
            if have[attribute] != want[attribute]:
                key = attribute[0].upper() + attribute[1:]
                self.client.modify_vpc_attribute(VpcId=self.vpc_id, **{key: {"Value": want[attribute]}})
        self.tag_changes.append((self.vpc_id, have["tags"], want["tags"]))

    def subnets(self):
        have_all = self.before.get("subnets") or {}
        for name, want in self.after["subnets"].items():
            have = have_all.get(name)
            if have is None:
                subnet = create_once(
                    lambda want=want: self.client.create_subnet(
                        VpcId=self.vpc_id,
                        CidrBlock=want["cidrBlock"],
                        AvailabilityZone=want["availabilityZone"],
                        TagSpecifications=_tag_specs("subnet", want["tags"]),
                    )["Subnet"],
                    lambda want=want: self.find_one(
                        "describe_subnets",
                        "Subnets",
                        [
                            {"Name": "vpc-id", "Values": [self.vpc_id]},
                            {"Name": "cidr-block", "Values": [want["cidrBlock"]]},
                        ],
                    ),
                    f"subnet {name}",
                )
                self.ids[name] = subnet["SubnetId"]
                self.client.new_ids.append(subnet["SubnetId"])
                have = {"mapPublicIpOnLaunch": subnet.get("MapPublicIpOnLaunch", False), "tags": want["tags"]}
            if have["mapPublicIpOnLaunch"] != want["mapPublicIpOnLaunch"]:
                self.client.modify_subnet_attribute(
                    SubnetId=self.ids[name], MapPublicIpOnLaunch={"Value": want["mapPublicIpOnLaunch"]}
                )
            self.tag_changes.append((self.ids[name], have["tags"], want["tags"]))

    def internet_gateway(self):
        want = self.after["internetGateway"]
        have = self.before.get("internetGateway")
        name = self.net.igw_name
        if have is None:
            # One left detached by an interrupted run is reused rather than duplicated.
            detached = [
                g
                for g in self.client.describe_internet_gateways(
                    Filters=[{"Name": "tag:Name", "Values": [name]}]
                )["InternetGateways"]
                if not g.get("Attachments")
            ]
            if detached:
                igw = detached[0]
                have = {"tags": _tags(igw)}
            else:
                igw = create_once(
                    lambda: self.client.create_internet_gateway(
                        TagSpecifications=_tag_specs("internet-gateway", want["tags"])
                    )["InternetGateway"],
                    lambda: self.find_one(
                        "describe_internet_gateways",
                        "InternetGateways",
                        [{"Name": "tag:Name", "Values": [name]}],
                        lambda g: not g.get("Attachments"),
                    ),
                    f"internet gateway {name}",
                )
                self.client.new_ids.append(igw["InternetGatewayId"])
                have = {"tags": want["tags"]}
            self.ids[name] = igw["InternetGatewayId"]
            self.client.attach_internet_gateway(InternetGatewayId=self.ids[name], VpcId=self.vpc_id)
        self.tag_changes.append((self.ids[name], have["tags"], want["tags"]))

    def nat_gateways(self):
        have_all = self.before.get("natGateways") or {}
        # Addresses allocated by an interrupted run (tagged with the NAT's name, not associated).
        spare = [a for a in self.snap["addresses"] if not a.get("AssociationId")] if self.snap else []
        created = []
        for name, want in self.after["natGateways"].items():
            have = have_all.get(name)
            if have is None:
                reusable = [a for a in spare if _tags(a).get("Name") == name]
                if reusable:
                    address = reusable[0]
                    spare.remove(address)
                    address_tags = _tags(address)
                else:
                    address = create_once(
                        lambda want=want: self.client.allocate_address(
                            Domain="vpc", TagSpecifications=_tag_specs("elastic-ip", want["addressTags"])
                        ),
                        lambda name=name: self.find_one(
                            "describe_addresses",
                            "Addresses",
                            [{"Name": "tag:Name", "Values": [name]}, {"Name": "domain", "Values": ["vpc"]}],
                            lambda found: not found.get("AssociationId"),
                        ),
                        f"Elastic IP for {name}",
                    )
                    self.client.new_ids.append(address["AllocationId"])
                    address_tags = want["addressTags"]
                nat = self.client.create_nat_gateway(
                    SubnetId=self.id_of(want["subnet"]),
                    AllocationId=address["AllocationId"],
                    ConnectivityType="public",
                    ClientToken=client_token(),
                    TagSpecifications=_tag_specs("natgateway", want["tags"]),
                )["NatGateway"]
                self.ids[name] = nat["NatGatewayId"]
                created.append(nat["NatGatewayId"])
                self.tag_changes.append((address["AllocationId"], address_tags, want["addressTags"]))
                continue
            self.tag_changes.append((self.ids[name], have["tags"], want["tags"]))
            address = self.found["addresses"].get(name)
            if address:
                self.tag_changes.append((address["AllocationId"], have["addressTags"], want["addressTags"]))
        self.net.wait_nats(created)

    def route_tables(self):
        have_all = self.before.get("routeTables") or {}
        raw_tables = dict(self.found["tables"].items())
        # Where each of our subnets is associated now: subnet id -> association id.
        associations = {}
        for table in self.snap["route_tables"] if self.snap else []:
            for association in table.get("Associations", []):
                if association.get("SubnetId") and not association.get("Main"):
                    associations[association["SubnetId"]] = association["RouteTableAssociationId"]
        for name, want in self.after["routeTables"].items():
            have = have_all.get(name)
            if have is None:
                table = self.client.create_route_table(
                    VpcId=self.vpc_id,
                    ClientToken=client_token(),
                    TagSpecifications=_tag_specs("route-table", want["tags"]),
                )["RouteTable"]
                self.table_ids[name] = table["RouteTableId"]
                raw_tables[name] = table
                have = {"routes": {}, "subnets": [], "tags": want["tags"]}
            table_id = self.table_ids[name]
            self.routes(table_id, raw_tables[name], have["routes"], want["routes"])
            for subnet_name in sorted(set(want["subnets"]) - set(have["subnets"])):
                subnet_id = self.id_of(subnet_name)
                if subnet_id in associations:
                    self.client.replace_route_table_association(
                        AssociationId=associations[subnet_id], RouteTableId=table_id
                    )
                else:
                    self.client.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)
            for subnet_name in sorted(set(have["subnets"]) - set(want["subnets"])):
                subnet_id = self.id_of(subnet_name)
                association = next(
                    a for a in raw_tables[name].get("Associations", []) if a.get("SubnetId") == subnet_id
                )
                # A subnet moved to another of our tables was re-associated above already.
                if subnet_id not in self.moved_subnets(name):
                    self.client.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
            self.tag_changes.append((table_id, have["tags"], want["tags"]))

    def moved_subnets(self, table_name):
        """Subnet ids that leave ``table_name`` for another table of ours."""
        moved = set()
        for other, want in self.after["routeTables"].items():
            if other != table_name:
                moved.update(self.id_of(s) for s in want["subnets"])
        return moved

    def routes(self, table_id, raw_table, have, want):
        kinds = {}
        for route in raw_table.get("Routes", []):
            kind, destination = _route_destination(route)
            kinds[destination] = kind
        for destination, target in sorted(want.items()):
            if have.get(destination) == target:
                continue
            target_id = self.id_of(target)
            key = "NatGatewayId" if target_id.startswith("nat-") else "GatewayId"
            call = self.client.replace_route if destination in have else self.client.create_route
            call(RouteTableId=table_id, DestinationCidrBlock=destination, **{key: target_id})
        for destination in sorted(set(have) - set(want)):
            self.client.delete_route(
                RouteTableId=table_id, **{kinds.get(destination, "DestinationCidrBlock"): destination}
            )

    def endpoint(self):
        want = self.after.get("s3Endpoint")
        if want is None:
            return
        have = self.before.get("s3Endpoint")
        wanted_ids = sorted(self.table_ids[n] for n in want["routeTables"])
        if have is None:
            endpoint = self.client.create_vpc_endpoint(
                VpcId=self.vpc_id,
                ServiceName=self.net.s3_service,
                VpcEndpointType="Gateway",
                RouteTableIds=wanted_ids,
                ClientToken=client_token(),
                TagSpecifications=_tag_specs("vpc-endpoint", want["tags"]),
            )["VpcEndpoint"]
            return
        endpoint = self.found["endpoint"]
        current_ids = set(endpoint.get("RouteTableIds", []))
        add = sorted(set(wanted_ids) - current_ids)
        remove = sorted(current_ids - set(wanted_ids))
        if add or remove:
            self.client.modify_vpc_endpoint(
                VpcEndpointId=endpoint["VpcEndpointId"], AddRouteTableIds=add, RemoveRouteTableIds=remove
            )
        self.tag_changes.append((endpoint["VpcEndpointId"], have["tags"], want["tags"]))


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "name_prefix": {"type": "str", "required": True},
            "cidr_block": {"type": "str"},
            "vpc_id": {"type": "str"},
            "subnets": {"type": "dict"},
            "az_count": {"type": "int"},
            "azs": {"type": "list", "elements": "str"},
            "nat_gateways": {"type": "str", "choices": ["per_az", "single"], "default": "per_az"},
            "s3_endpoint": {"type": "bool", "default": True},
            "wait": {"type": "bool", "default": True},
            "wait_timeout": {"type": "int", "default": 600},
            "release_timeout": {"type": "int", "default": 1200},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "tags": {"type": "dict", "aliases": ["resource_tags"]},
            "purge_tags": {"type": "bool", "default": True},
        },
        required_if=[("state", "present", ["cidr_block", "subnets"])],
        mutually_exclusive=[("vpc_id", "cidr_block")],
        supports_check_mode=True,
    )
    Network(module).run()


if __name__ == "__main__":
    main()
