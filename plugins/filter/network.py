"""Filters that plan an environment's address space before any AWS call is made."""

import ipaddress

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: network_plan
short_description: Plan and validate the subnet CIDRs of every tier
description:
  - Splits O(vpc_cidr) into one subnet per tier (public, app, data) and availability zone, or
    validates the CIDRs given in O(subnet_cidrs), and fails naming the variable at fault.
  - AWS accepts VPC and subnet prefixes from /16 to /28.
options:
  _input:
    description: The VPC CIDR (C(notejam_vpc_cidr)).
    type: str
    required: true
  az_count:
    description: Number of availability zones (C(network_az_count)), at least 2.
    type: int
    required: true
  subnet_cidrs:
    description: Explicit CIDRs per tier (C(network_subnet_cidrs)); each list holds O(az_count) items.
    type: dict
  newbits:
    description: Bits added to the VPC prefix for each subnet when planning automatically.
    type: int
    default: 4
"""

RETURN = r"""
_value:
  description:
    - A dict with keys C(public), C(app) and C(data), each a list of CIDRs, one per availability zone.
  type: dict
"""

TIERS = ("public", "app", "data")


def _network(value, variable):
    try:
        net = ipaddress.ip_network(str(value), strict=True)
    except ValueError as err:
        raise AnsibleFilterError(f"{variable}: {value!r} is not a valid IPv4 CIDR ({err})") from err
    if net.version != 4:
        raise AnsibleFilterError(f"{variable}: {value!r} must be an IPv4 CIDR")
    if not 16 <= net.prefixlen <= 28:
        raise AnsibleFilterError(f"{variable}: {value!r} has prefix /{net.prefixlen}; AWS accepts /16 to /28")
    return net


def network_plan(vpc_cidr, az_count, subnet_cidrs=None, newbits=4):
    vpc = _network(vpc_cidr, "notejam_vpc_cidr")
    try:
        az_count = int(az_count)
    except (TypeError, ValueError) as err:
        raise AnsibleFilterError(f"network_az_count: {az_count!r} is not a whole number") from err
    if az_count < 2:
        raise AnsibleFilterError(f"network_az_count: {az_count} is below 2; every tier needs two or more AZs")
    if subnet_cidrs:
        unknown = sorted(set(subnet_cidrs) - set(TIERS))
        if unknown:
            raise AnsibleFilterError(
                f"network_subnet_cidrs: unknown tier(s) {', '.join(unknown)}; accepted: {', '.join(TIERS)}"
            )
        plan = {}
        for tier in TIERS:
            given = list(subnet_cidrs.get(tier) or [])
            if len(given) != az_count:
                raise AnsibleFilterError(
                    f"network_subnet_cidrs.{tier}: {len(given)} CIDR(s) given; "
                    f"network_az_count is {az_count}, so it needs exactly {az_count}"
                )
            plan[tier] = [_network(c, f"network_subnet_cidrs.{tier}[{i}]") for i, c in enumerate(given)]
    else:
        prefix = vpc.prefixlen + int(newbits)
        if prefix > 28:
            raise AnsibleFilterError(f"notejam_vpc_cidr: {vpc} is too small to split into /{prefix} subnets")
        blocks = list(vpc.subnets(new_prefix=prefix))
        per_tier = max(az_count, 4) if len(blocks) >= 3 * max(az_count, 4) else az_count
        if len(blocks) < 3 * az_count:
            raise AnsibleFilterError(
                f"notejam_vpc_cidr: {vpc} holds {len(blocks)} /{prefix} subnets; "
                f"3 tiers x {az_count} AZs need {3 * az_count}"
            )
        # Each tier owns a fixed run of blocks so adding an AZ later never renumbers a subnet.
        plan = {tier: blocks[i * per_tier : i * per_tier + az_count] for i, tier in enumerate(TIERS)}

    placed = []
    for tier in TIERS:
        for index, net in enumerate(plan[tier]):
            where = f"network_subnet_cidrs.{tier}[{index}]" if subnet_cidrs else f"the {tier} subnet {index}"
            if not net.subnet_of(vpc):
                raise AnsibleFilterError(f"{where}: {net} is outside notejam_vpc_cidr {vpc}")
            for other_where, other in placed:
                if net.overlaps(other):
                    raise AnsibleFilterError(f"{where}: {net} overlaps {other_where} ({other})")
            placed.append((where, net))
    return {tier: [str(n) for n in nets] for tier, nets in plan.items()}


def network_subnets(plan, azs, name_prefix):
    """Flatten a plan into one entry per subnet: tier, index, AZ, CIDR and Name tag."""
    out = []
    for tier in TIERS:
        for index, cidr in enumerate(plan[tier]):
            if index >= len(azs):
                raise AnsibleFilterError(
                    f"network_az_count: the plan needs {len(plan[tier])} AZs, the region offers {len(azs)}"
                )
            out.append(
                {
                    "tier": tier,
                    "index": index,
                    "az": azs[index],
                    "cidr": cidr,
                    "name": f"{name_prefix}-{tier}-{azs[index]}",
                }
            )
    return out


class FilterModule:
    def filters(self):
        return {"network_plan": network_plan, "network_subnets": network_subnets}
