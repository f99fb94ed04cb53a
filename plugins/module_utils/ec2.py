# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""EC2 helpers shared by the modules that converge many EC2 resources in one call."""

try:
    import botocore.exceptions
except ImportError:  # AnsibleAWSModule reports the missing dependency
    botocore = None

from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.notejam.aws.plugins.module_utils.resource import (
    error_code_and_message,
    paginate,
    tag_delta,
    until_accepted,
)


def apply_ec2_tags(client, pending):
    """Close the tag differences of many EC2 resources with as few calls as possible.

    ``pending`` holds ``(resource id, tags before, tags after)``. EC2's CreateTags and DeleteTags
    take many resources at once, so resources that need the very same change share one call."""
    to_create, to_delete = {}, {}
    for resource_id, before, after in pending:
        to_set, to_unset = tag_delta(before, after)
        if to_set:
            to_create.setdefault(tuple(sorted(to_set.items())), []).append(resource_id)
        if to_unset:
            to_delete.setdefault(tuple(sorted(to_unset)), []).append(resource_id)
    for items, ids in to_create.items():
        client.create_tags(Resources=ids, Tags=ansible_dict_to_boto3_tag_list(dict(items)))
    for keys, ids in to_delete.items():
        client.delete_tags(Resources=ids, Tags=[{"Key": k} for k in keys])


# What each EC2 create returns its new resource under, and the codes EC2 answers while that new id
# has not propagated (https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html;
# codes from https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
_CREATED = {
    "create_vpc": ("Vpc", "VpcId"),
    "create_subnet": ("Subnet", "SubnetId"),
    "create_internet_gateway": ("InternetGateway", "InternetGatewayId"),
    "create_route_table": ("RouteTable", "RouteTableId"),
    "allocate_address": (None, "AllocationId"),
    "create_nat_gateway": ("NatGateway", "NatGatewayId"),
    "create_security_group": (None, "GroupId"),
    "create_vpc_endpoint": ("VpcEndpoint", "VpcEndpointId"),
}
NOT_FOUND_CODES = (
    "InvalidVpcID.NotFound",
    "InvalidSubnetID.NotFound",
    "InvalidInternetGatewayID.NotFound",
    "InvalidRouteTableID.NotFound",
    "InvalidAllocationID.NotFound",
    "NatGatewayNotFound",
    "InvalidNatGatewayID.NotFound",
    "InvalidGroup.NotFound",
    "InvalidGroupId.NotFound",
    "InvalidVpcEndpointId.NotFound",
)
# The describe call that names each kind of id, to wait until new ones are listed.
_DESCRIBE = {
    "vpc-": ("describe_vpcs", "VpcIds"),
    "subnet-": ("describe_subnets", "SubnetIds"),
    "igw-": ("describe_internet_gateways", "InternetGatewayIds"),
    "rtb-": ("describe_route_tables", "RouteTableIds"),
    "eipalloc-": ("describe_addresses", "AllocationIds"),
    "nat-": ("describe_nat_gateways", "NatGatewayIds"),
    "sg-": ("describe_security_groups", "GroupIds"),
    "vpce-": ("describe_vpc_endpoints", "VpcEndpointIds"),
}


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


class NewResourceAwareClient:
    """An EC2 client that remembers the ids its creates returned, and gives a call naming one of
    them time to see it: ``*.NotFound`` for a new id is retried (jittered, bounded by
    ``timeout`` seconds), while ``NotFound`` for any other id fails at once as the error it is.

    ``wait_listed()`` waits until every new id is described, so a read that lists by filter
    right after the creates sees them all."""

    def __init__(self, client, module, timeout=120):
        self._client = client
        self._module = module
        self._timeout = timeout
        self.new_ids = []

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if not callable(attr) or name in ("get_waiter", "get_paginator", "can_paginate"):
            return attr

        def call(**params):
            new = set(self.new_ids).intersection(_strings(params))
            result = self._patiently(attr, name, params, new) if new else attr(**params)
            if name in _CREATED:
                container, key = _CREATED[name]
                created = (result.get(container) or {}) if container else result
                if created.get(key):
                    self.new_ids.append(created[key])
            return result

        return call

    def _patiently(self, attr, name, params, new):
        import random
        import time

        from ansible_collections.notejam.aws.plugins.module_utils import resource

        deadline = time.monotonic() + self._timeout
        attempt = 0
        while True:
            try:
                return attr(**params)
            except botocore.exceptions.ClientError as e:
                code = e.response.get("Error", {}).get("Code")
                if code not in NOT_FOUND_CODES or time.monotonic() >= deadline:
                    if code in NOT_FOUND_CODES:
                        self._module.fail_json_aws(
                            e,
                            msg=f"Gave up after {self._timeout}s waiting for EC2 to know "
                            f"{', '.join(sorted(new))} (created by this run) for {name}",
                        )
                    raise
            attempt += 1
            # Jittered and growing, at least a tenth of a second even when tests shorten delays.
            time.sleep(max(0.1, random.uniform(0, min(resource.RETRY_DELAY * 2**attempt, 10))))  # noqa: S311 - jitter

    def wait_listed(self):
        """Wait until every id created through this client is described by EC2."""
        by_kind = {}
        for new_id in self.new_ids:
            for prefix, (operation, key) in _DESCRIBE.items():
                ids = by_kind.setdefault((operation, key), [])
                if new_id.startswith(prefix) and new_id not in ids:
                    ids.append(new_id)
        for (operation, key), ids in by_kind.items():
            if ids:
                getattr(self, operation)(**{key: ids})


# --- deletes that wait for network interfaces to be released -------------------------------------
# Deleting a load balancer, an ECS task or a database does not free its network interfaces at once:
# they linger (on AWS for minutes, "it can take several minutes" for a load balancer's or Lambda's),
# and until they are gone EC2 answers DeleteSubnet, DeleteSecurityGroup, DetachInternetGateway and
# DeleteVpc with DependencyViolation
# (https://repost.aws/knowledge-center/troubleshoot-dependency-error-delete-vpc,
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html: "DependencyViolation:
# The specified object has dependent resources"). Each operation, what names the object, and the
# DescribeNetworkInterfaces filter that lists what still holds it (for the report).
_RELEASE = {
    "delete_subnet": ("SubnetId", "subnet", "subnet-id"),
    "delete_security_group": ("GroupId", "security group", "group-id"),
    "detach_internet_gateway": ("VpcId", "internet gateway's VPC", "vpc-id"),
    "delete_vpc": ("VpcId", "VPC", "vpc-id"),
}


def _holders(client, name, value):
    """The network interfaces that still use a subnet, group or VPC, for a message."""
    interfaces = paginate(
        client,
        "describe_network_interfaces",
        "NetworkInterfaces",
        Filters=[{"Name": name, "Values": [value]}],
    )
    if not interfaces:
        return "no network interface listed: another dependency, or one EC2 no longer lists"
    shown = [
        f"{i['NetworkInterfaceId']} ({i.get('Description') or i.get('InterfaceType') or 'no description'}, "
        f"{i.get('Status', 'unknown')})"
        for i in interfaces[:5]
    ]
    more = f" and {len(interfaces) - 5} more" if len(interfaces) > 5 else ""
    return f"still used by {', '.join(shown)}{more}"


def delete_when_released(module, client, operation, timeout, **params):
    """``client.<operation>(**params)`` (one of :data:`_RELEASE`), repeated while EC2 answers
    DependencyViolation, at most ``timeout`` seconds: the network interfaces of what the run (or
    the tiers destroyed before) just deleted are still being released. Giving up names the object
    and the interfaces that still use it; a wait that ended well is reported as a warning."""
    key, kind, interface_filter = _RELEASE[operation]
    target = params[key]
    return until_accepted(
        module,
        f"the network interfaces in {kind} {target} to be released ({operation} answers DependencyViolation)",
        lambda: getattr(client, operation)(**params),
        lambda error: error_code_and_message(error)[0] == "DependencyViolation",
        timeout,
        explain=lambda: _holders(client, interface_filter, target),
    )
