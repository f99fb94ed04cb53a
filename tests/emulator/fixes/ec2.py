"""EC2 as AWS does it, where moto 5.2.5 differs."""

from moto.ec2 import utils as ec2_utils
from moto.ec2.models.security_groups import SecurityGroupRule
from moto.ec2.models.vpcs import VPCBackend


def apply():
    """DescribeTags names a NAT gateway's resource type ``natgateway`` (the value AWS documents
    for the ``resource-type`` filter); moto says ``nat-gateway``, so a tag look-up filtered by
    type finds nothing and amazon.aws's ec2_vpc_nat_gateway re-tags the gateway on every run."""
    ec2_utils.EC2_PREFIX_TO_RESOURCE["nat"] = "natgateway"
    _patch_security_group_rule_identity()
    _patch_gateway_endpoint_route_tables()


def _same_rule_but_description(self, other):
    """AWS identifies a security group rule by protocol, ports and source/destination; the
    description is not part of it. moto compares a referenced group's pair *with* its Description,
    so revoking (or updating the description of) a rule that names a group and has a description
    fails with InvalidPermission.NotFound (or is silently skipped), where AWS acts on it."""
    if not isinstance(other, SecurityGroupRule):
        return NotImplemented

    def pair(rule):
        return {k: v for k, v in (rule.source_group or {}).items() if k != "Description"}

    def cidr(rule, key):
        return rule.ip_range.get(key)

    if self.ip_protocol != other.ip_protocol or pair(self) != pair(other):
        return False
    for key in ("CidrIp", "CidrIpv6"):
        if key in self.ip_range and cidr(self, key) != cidr(other, key):
            return False
    if self.prefix_list_id != other.prefix_list_id:
        return False
    same_ports = (self.from_port, self.to_port) == (other.from_port, other.to_port)
    return self.ip_protocol == "-1" or same_ports


def _patch_security_group_rule_identity():
    SecurityGroupRule.__eq__ = _same_rule_but_description


def _patch_gateway_endpoint_route_tables():
    """AWS adds the service's prefix-list route to a route table that ModifyVpcEndpoint adds to a
    gateway endpoint, and removes it from one it removes; moto only edits the endpoint's list, so
    the tables keep (or never get) the route. CreateVpcEndpoint and DeleteVpcEndpoints already do."""
    original = VPCBackend.modify_vpc_endpoint
    if getattr(original, "_notejam_fix", False):
        return

    def modify_vpc_endpoint(self, *args, **kwargs):
        endpoint_id = kwargs["vpc_id"] if "vpc_id" in kwargs else args[0]
        endpoint = self.describe_vpc_endpoints(vpc_end_point_ids=[endpoint_id])[0]
        before = set(endpoint.route_table_ids or [])
        result = original(self, *args, **kwargs)
        prefix_list = endpoint.destination_prefix_list_id
        if prefix_list and str(endpoint.vpc_endpoint_type).lower() == "gateway":
            after = set(endpoint.route_table_ids or [])
            for table_id in sorted(after - before):
                self.create_route(
                    table_id, None, gateway_id=endpoint.id, destination_prefix_list_id=prefix_list
                )
            for table_id in sorted(before - after):
                self.delete_route(table_id, None, destination_prefix_list_id=prefix_list)
        return result

    modify_vpc_endpoint._notejam_fix = True
    VPCBackend.modify_vpc_endpoint = modify_vpc_endpoint
