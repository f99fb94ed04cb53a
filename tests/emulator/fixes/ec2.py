"""EC2 as AWS does it, where moto 5.2.5 differs."""

from moto.ec2 import utils as ec2_utils
from moto.ec2.models.security_groups import SecurityGroupRule


def apply():
    """DescribeTags names a NAT gateway's resource type ``natgateway`` (the value AWS documents
    for the ``resource-type`` filter); moto says ``nat-gateway``, so a tag look-up filtered by
    type finds nothing and amazon.aws's ec2_vpc_nat_gateway re-tags the gateway on every run."""
    ec2_utils.EC2_PREFIX_TO_RESOURCE["nat"] = "natgateway"
    _patch_security_group_rule_identity()


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
