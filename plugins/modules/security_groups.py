#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: security_groups
short_description: Converge a set of security groups of one VPC, with rules that refer to each other
version_added: 0.1.0
description:
  - Ensures every group of O(groups) exists in O(vpc_id) (found by name), then sets each group's
    inbound and outbound rules to exactly the listed ones, all in one invocation with one
    C(DescribeSecurityGroups) call for the VPC.
  - Rules may name another group of the set by its O(groups[].key), so groups that refer to each
    other (load balancer to app, app to database) are created first and then given their rules.
  - Listing O(groups[].egress) (even empty) purges every other outbound rule, including the
    allow-all rule AWS gives a new group; leaving it out keeps the outbound rules as they are.
    The same holds for O(groups[].ingress).
  - A rule that differs only in its description is updated in place, not revoked and re-added.
  - With O(lock_default_group=true) the VPC's default group is left with no rule at all.
  - With O(state=absent) the rules by which the set's groups refer to each other are revoked,
    then the groups are deleted.
author:
  - Notejam maintainers (@notejam)
options:
  vpc_id:
    description:
      - The VPC the groups live in.
      - Required, except in check mode, where leaving it empty (a VPC that a dry run has not
        created yet) reports every group as to be created without any call.
    type: str
  groups:
    description: The set of groups.
    type: list
    elements: dict
    required: true
    suboptions:
      key:
        description: How rules of this set refer to the group, and how RV(group_ids) names it.
        type: str
        required: true
      name:
        description: The group's name (unique in the VPC).
        type: str
        required: true
      description:
        description:
          - The group's description; required when O(state=present). AWS cannot change it once
            the group exists; a difference is reported as a warning.
        type: str
      ingress:
        description: Inbound rules; exactly these (omit to leave them as they are).
        type: list
        elements: dict
      egress:
        description: Outbound rules; exactly these (omit to leave them as they are).
        type: list
        elements: dict
      tags:
        description: Tags of this group, over O(tags); C(Name) defaults to the group's name.
        type: dict
  lock_default_group:
    description: Remove every rule of the VPC's C(default) security group.
    type: bool
    default: false
  release_timeout:
    description:
      - With O(state=absent), seconds to keep deleting each group while EC2 answers
        C(DependencyViolation) because network interfaces of what was just deleted (a load
        balancer, ECS tasks, a database) still use it, which takes minutes on AWS. A wait that
        ended well is reported as a warning; giving up names the interfaces that still use the group.
    type: int
    default: 1200
  state:
    description: Whether the groups exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
notes:
  - "A rule is a dict: C(proto) (C(tcp), C(udp), C(icmp), C(icmpv6), C(all) or C(-1), or a
    protocol number); C(ports) (a list of ports or C(from-to) ranges) or C(from_port)/C(to_port);
    exactly one of C(cidr_ip) (a CIDR or a list), C(cidr_ipv6) (likewise), C(group) (a key of
    this set), C(group_id) or C(prefix_list_id); and an optional C(rule_desc)."
  - Supports check mode (no write call) and diff mode.
"""

EXAMPLES = r"""
- name: Load balancer and app groups that refer to each other
  notejam.aws.security_groups:
    vpc_id: vpc-0123456789abcdef0
    lock_default_group: true
    tags:
      Project: notejam
    groups:
      - key: alb
        name: notejam-prod-alb
        description: load balancer
        ingress:
          - {proto: tcp, ports: [80, 443], cidr_ip: 0.0.0.0/0, rule_desc: HTTP(S) from the internet}
        egress:
          - {proto: tcp, ports: [8000], group: app, rule_desc: to app tasks}
      - key: app
        name: notejam-prod-app
        description: app tasks
        ingress:
          - {proto: tcp, ports: [8000], group: alb, rule_desc: from the load balancer}
        egress: []
  register: sgs

- name: Use an id
  ansible.builtin.debug:
    msg: "{{ sgs.group_ids.app }}"
"""

RETURN = r"""
group_ids:
  description: Each group's id by its key (null in check mode for a group still to be created).
  returned: always
  type: dict
  sample: {alb: sg-0123456789abcdef0, app: sg-0fedcba9876543210}
groups:
  description: Each group by its key, as compared (rules normalised; other groups of the set named by key).
  returned: always
  type: dict
changes:
  description: Dotted paths of what differed from the desired state.
  returned: always
  type: list
  elements: str
  sample: [groups.db.ingress]
"""

import ipaddress
import json

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
    create_once,
    differences,
    merge_desired,
    paginate,
    shown,
    tags_after,
)

PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}
TARGETS = ("cidr_ip", "cidr_ipv6", "group", "group_id", "prefix_list_id")
DIRECTIONS = ("ingress", "egress")
# What AWS gives every new group (and what a listed egress purges).
AWS_DEFAULT_EGRESS = {"protocol": "-1", "cidrIp": "0.0.0.0/0"}
RULE_OPTIONS = {
    "proto",
    "ports",
    "from_port",
    "to_port",
    "cidr_ip",
    "cidr_ipv6",
    "group",
    "group_id",
    "prefix_list_id",
    "rule_desc",
}


def _sorted_rules(rules):
    return sorted(rules, key=lambda r: json.dumps(r, sort_keys=True))


def _identity(rule):
    """A rule without its description: what AWS matches when it authorizes or revokes."""
    return json.dumps({k: v for k, v in rule.items() if k != "description"}, sort_keys=True)


class SecurityGroups(AwsResource):
    service = "ec2"
    result_key = "groups"

    def __init__(self, module):
        super().__init__(module)
        # EC2 is eventually consistent: a group just created may answer NotFound, and a listing by
        # VPC may leave it out, for a while.
        self.client = NewResourceAwareClient(self.client, module)
        self.present = self.params["state"] == "present"
        self.spec = {g["key"]: g for g in self.params["groups"]}
        self.wanted_rules = {}

    # --- validation (no API call) --------------------------------------------------------------
    def validate(self):
        fail = self.module.fail_json
        keys = [g["key"] for g in self.params["groups"]]
        names = [g["name"] for g in self.params["groups"]]
        for label, values in (("key", keys), ("name", names)):
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                fail(msg=f"groups: each {label} must be unique; repeated: {', '.join(repeated)}")
        if "default" in names:
            fail(msg="groups: 'default' is the VPC's own group; use lock_default_group to empty it")
        if not self.params["vpc_id"] and not self.module.check_mode:
            fail(msg="vpc_id is required (it may only be empty in check mode, before the VPC exists)")
        if not self.present:
            return
        missing = [g["key"] for g in self.params["groups"] if not g.get("description")]
        if missing:
            fail(msg=f"groups: description is required with state=present; missing for {', '.join(missing)}")
        for group in self.params["groups"]:
            for direction in DIRECTIONS:
                rules = group.get(direction)
                if rules is None:
                    continue
                normalised = []
                for index, rule in enumerate(rules):
                    normalised.extend(
                        self.normalise_rule(rule, f"groups[{group['key']}].{direction}[{index}]")
                    )
                self.wanted_rules[(group["key"], direction)] = _sorted_rules(
                    {_identity(r) + r.get("description", ""): r for r in normalised}.values()
                )

    def normalise_rule(self, rule, where):
        """One user rule (several ports, several CIDRs) as the atomic rules AWS keeps."""
        fail = self.module.fail_json
        if not isinstance(rule, dict):
            fail(msg=f"{where}: a rule must be a dict")
        unknown = sorted(set(rule) - RULE_OPTIONS)
        if unknown:
            fail(
                msg=f"{where}: unknown option(s) {', '.join(unknown)}; "
                f"accepted: {', '.join(sorted(RULE_OPTIONS))}"
            )
        if rule.get("proto") in (None, ""):
            fail(msg=f"{where}.proto is required (tcp, udp, icmp, icmpv6, all, or a protocol number)")
        proto = str(rule["proto"]).lower()
        proto = PROTOCOL_NAMES.get(proto, proto)
        if proto not in ("tcp", "udp", "icmp", "icmpv6", "-1") and not proto.isdigit():
            fail(
                msg=f"{where}.proto={rule['proto']!r} is not accepted; "
                "accepted: tcp, udp, icmp, icmpv6, all, -1, a number"
            )
        ranges = self.port_ranges(rule, proto, where)
        given = [t for t in TARGETS if rule.get(t) not in (None, "", [])]
        if len(given) != 1:
            fail(msg=f"{where}: needs exactly one of {', '.join(TARGETS)}; got {', '.join(given) or 'none'}")
        kind = given[0]
        values = rule[kind] if isinstance(rule[kind], list) else [rule[kind]]
        targets = []
        for value in values:
            value = str(value)
            if kind in ("cidr_ip", "cidr_ipv6"):
                version = 4 if kind == "cidr_ip" else 6
                try:
                    net = ipaddress.ip_network(value, strict=True)
                except ValueError as e:
                    fail(msg=f"{where}.{kind}: {value!r} is not a valid network ({e})")
                if net.version != version:
                    fail(msg=f"{where}.{kind}: {value!r} is not an IPv{version} CIDR")
                targets.append(({"cidr_ip": "cidrIp", "cidr_ipv6": "cidrIpv6"}[kind], str(net)))
            elif kind == "group":
                if value not in self.spec:
                    fail(
                        msg=f"{where}.group: {value!r} is not a key of groups; "
                        f"keys: {', '.join(sorted(self.spec))}"
                    )
                targets.append(("group", value))
            elif kind == "group_id":
                targets.append(("groupId", value))  # one of this set's is renamed to its key in desired()
            else:
                targets.append(("prefixListId", value))
        description = rule.get("rule_desc")
        out = []
        for from_port, to_port in ranges:
            for target_key, target in targets:
                atomic = {"protocol": proto, target_key: target}
                if from_port is not None:
                    atomic.update(fromPort=from_port, toPort=to_port)
                if description:
                    atomic["description"] = str(description)
                out.append(atomic)
        return out

    def port_ranges(self, rule, proto, where):
        fail = self.module.fail_json
        if proto == "-1":
            if rule.get("ports") or rule.get("from_port") is not None:
                fail(msg=f"{where}: proto all covers every port; drop ports/from_port/to_port")
            return [(None, None)]
        ranges = []

        def number(value, what):
            try:
                return int(str(value).strip())
            except ValueError:
                fail(msg=f"{where}.{what}: {value!r} is not a port number")

        if rule.get("ports") not in (None, []):
            if rule.get("from_port") is not None or rule.get("to_port") is not None:
                fail(msg=f"{where}: give ports or from_port/to_port, not both")
            ports = rule["ports"] if isinstance(rule["ports"], list) else [rule["ports"]]
            for port in ports:
                text = str(port).strip()
                if "-" in text.lstrip("-"):
                    low, high = text.split("-", 1)
                    ranges.append((number(low, "ports"), number(high, "ports")))
                else:
                    ranges.append((number(text, "ports"), number(text, "ports")))
        elif rule.get("from_port") is not None:
            from_port = number(rule["from_port"], "from_port")
            to_port = number(rule.get("to_port", from_port), "to_port")
            ranges.append((from_port, to_port))
        elif proto in ("icmp", "icmpv6"):
            ranges.append((-1, -1))
        else:
            fail(msg=f"{where}: proto {proto} needs ports or from_port/to_port")
        if proto in ("tcp", "udp"):
            for low, high in ranges:
                if not 0 <= low <= high <= 65535:
                    fail(msg=f"{where}: port range {low}-{high} is outside 0-65535 or reversed")
        return ranges

    # --- read: one describe for the VPC --------------------------------------------------------
    def find_group_id(self, name):
        """The id of the group ``name`` in the VPC, or ``None`` (a create whose answer was lost)."""
        groups = self.client.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [self.params["vpc_id"]]},
                {"Name": "group-name", "Values": [name]},
            ]
        )["SecurityGroups"]
        return groups[0]["GroupId"] if groups else None

    def read(self):
        if not self.params["vpc_id"]:
            return []  # check mode before the VPC exists: nothing of the set exists either
        return paginate(
            self.client,
            "describe_security_groups",
            "SecurityGroups",
            Filters=[{"Name": "vpc-id", "Values": [self.params["vpc_id"]]}],
        )

    def index(self, raw):
        """({key: group}, default group or None, {group id: key})."""
        by_name = {g["GroupName"]: g for g in raw}
        found = {key: by_name[spec["name"]] for key, spec in self.spec.items() if spec["name"] in by_name}
        return found, by_name.get("default"), {g["GroupId"]: key for key, g in found.items()}

    def rules_of(self, permissions, keys):
        rules = []
        for permission in permissions:
            proto = str(permission.get("IpProtocol", "-1")).lower()
            proto = PROTOCOL_NAMES.get(proto, proto)
            base = {"protocol": proto}
            if proto != "-1" and permission.get("FromPort") is not None:
                base.update(fromPort=permission["FromPort"], toPort=permission.get("ToPort"))
            entries = (
                [("cidrIp", r["CidrIp"], r) for r in permission.get("IpRanges", [])]
                + [
                    ("cidrIpv6", str(ipaddress.ip_network(r["CidrIpv6"])), r)
                    for r in permission.get("Ipv6Ranges", [])
                ]
                + [
                    ("group", keys[p["GroupId"]], p) if p["GroupId"] in keys else ("groupId", p["GroupId"], p)
                    for p in permission.get("UserIdGroupPairs", [])
                ]
                + [("prefixListId", p["PrefixListId"], p) for p in permission.get("PrefixListIds", [])]
            )
            for target_key, target, entry in entries:
                rule = dict(base, **{target_key: target})
                if entry.get("Description"):
                    rule["description"] = entry["Description"]
                rules.append(rule)
        return _sorted_rules(rules)

    def comparable(self, raw):
        found, default, keys = self.index(raw)
        self.keys_by_id = keys
        state = {
            "groups": {
                key: {
                    "groupName": group["GroupName"],
                    "description": group.get("Description", ""),
                    "ingress": self.rules_of(group.get("IpPermissions", []), keys),
                    "egress": self.rules_of(group.get("IpPermissionsEgress", []), keys),
                    "tags": boto3_tag_list_to_ansible_dict(group.get("Tags", [])),
                }
                for key, group in found.items()
            }
        }
        if self.params["lock_default_group"] and default is not None:
            state["defaultGroup"] = {
                "ingress": self.rules_of(default.get("IpPermissions", []), keys),
                "egress": self.rules_of(default.get("IpPermissionsEgress", []), keys),
            }
        return state

    def wanted(self, key, direction):
        """The listed rules, with the ids of this set's groups replaced by their keys."""
        rules = self.wanted_rules.get((key, direction))
        if rules is None:
            return None
        renamed = []
        for rule in rules:
            group_id = rule.get("groupId")
            if group_id in self.keys_by_id:
                rule = {k: v for k, v in rule.items() if k != "groupId"}
                rule["group"] = self.keys_by_id[group_id]
            renamed.append(rule)
        return _sorted_rules(renamed)

    def desired(self, before):
        groups = {}
        for key, spec in self.spec.items():
            current = before["groups"].get(key)
            wanted_tags = dict(self.params["tags"] or {})
            wanted_tags.update(spec.get("tags") or {})
            wanted_tags.setdefault("Name", spec["name"])
            if current and current["description"] != spec["description"]:
                self.module.warn(
                    f"Security group {spec['name']} has the description {current['description']!r}; "
                    "AWS cannot "
                    f"change it to {spec['description']!r} without deleting and re-creating the group."
                )
            groups[key] = {
                "groupName": spec["name"],
                "description": current["description"] if current else spec["description"],
                "ingress": self.wanted(key, "ingress"),
                "egress": self.wanted(key, "egress"),
                "tags": tags_after((current or {}).get("tags"), wanted_tags, self.params["purge_tags"]),
            }
            if current is None:
                # What AWS gives a new group for what was not listed.
                groups[key]["ingress"] = groups[key]["ingress"] if groups[key]["ingress"] is not None else []
                if groups[key]["egress"] is None:
                    groups[key]["egress"] = [AWS_DEFAULT_EGRESS]
        wanted = {"groups": groups}
        if self.params["lock_default_group"] and "defaultGroup" in before:
            wanted["defaultGroup"] = {"ingress": [], "egress": []}
        return wanted

    def plan(self):
        raw = self.read()
        before = self.comparable(raw)
        if self.present:
            after = merge_desired(before, self.desired(before))
        else:
            after = {"groups": {}}
            before = {"groups": before["groups"]}
        return raw, before, after, differences(before, after)

    # --- apply -----------------------------------------------------------------------------------
    def apply(self, raw, before, after, changes):
        found, default, _keys = self.index(raw)
        if not self.present:
            self.delete(found)
            return self.read()
        ids = {key: group["GroupId"] for key, group in found.items()}
        have_all = before["groups"]
        tag_changes = []
        missing = [key for key in after["groups"] if key not in ids]
        for key in missing:
            want = after["groups"][key]
            ids[key] = create_once(
                lambda want=want: self.client.create_security_group(
                    GroupName=want["groupName"],
                    Description=want["description"],
                    VpcId=self.params["vpc_id"],
                    TagSpecifications=[
                        {
                            "ResourceType": "security-group",
                            "Tags": ansible_dict_to_boto3_tag_list(want["tags"]),
                        }
                    ],
                )["GroupId"],
                lambda want=want: self.find_group_id(want["groupName"]),
                f"security group {want['groupName']}",
            )
            self.client.new_ids.append(ids[key])
        if missing:
            # Start from the rules AWS really gave the new groups (its default egress) rather
            # than from an assumption about them, once EC2 lists them all.
            self.client.wait_listed()
            have_all = self.comparable(self.read())["groups"]
        for key, want in after["groups"].items():
            have = have_all[key]
            for direction in DIRECTIONS:
                listed = (key, direction) in self.wanted_rules
                self.set_rules(ids[key], direction, have[direction], want[direction] if listed else None, ids)
            tag_changes.append((ids[key], have["tags"], want["tags"]))
        if "defaultGroup" in after:
            for direction in DIRECTIONS:
                self.set_rules(default["GroupId"], direction, before["defaultGroup"][direction], [], ids)
        self.set_tags(tag_changes)
        return self.read()

    def permission(self, rule, ids, with_description=True):
        """One atomic rule as an AWS IpPermission."""
        permission = {"IpProtocol": rule["protocol"]}
        if "fromPort" in rule:
            permission.update(FromPort=rule["fromPort"], ToPort=rule["toPort"])
        entry = {}
        if with_description and rule.get("description"):
            entry["Description"] = rule["description"]
        if "cidrIp" in rule:
            permission["IpRanges"] = [dict(entry, CidrIp=rule["cidrIp"])]
        elif "cidrIpv6" in rule:
            permission["Ipv6Ranges"] = [dict(entry, CidrIpv6=rule["cidrIpv6"])]
        elif "prefixListId" in rule:
            permission["PrefixListIds"] = [dict(entry, PrefixListId=rule["prefixListId"])]
        else:
            group_id = ids[rule["group"]] if "group" in rule else rule["groupId"]
            permission["UserIdGroupPairs"] = [dict(entry, GroupId=group_id)]
        return permission

    def set_rules(self, group_id, direction, have, want, ids):
        """The smallest calls that turn ``have`` into ``want``: authorize the missing rules, update
        the descriptions that differ, then revoke the rest."""
        if want is None or have == want:
            return
        have_by_id = {_identity(r): r for r in have}
        want_by_id = {_identity(r): r for r in want}
        add = [r for i, r in want_by_id.items() if i not in have_by_id]
        describe = [r for i, r in want_by_id.items() if i in have_by_id and have_by_id[i] != r]
        remove = [r for i, r in have_by_id.items() if i not in want_by_id]
        if add:
            getattr(self.client, f"authorize_security_group_{direction}")(
                GroupId=group_id, IpPermissions=[self.permission(r, ids) for r in add]
            )
        if describe:
            getattr(self.client, f"update_security_group_rule_descriptions_{direction}")(
                GroupId=group_id,
                IpPermissions=[
                    self.permission(dict(r, description=r.get("description", "")), ids) for r in describe
                ],
            )
        if remove:
            getattr(self.client, f"revoke_security_group_{direction}")(
                GroupId=group_id,
                IpPermissions=[self.permission(r, ids, with_description=False) for r in remove],
            )

    def set_tags(self, pending):
        """Apply tag changes; ``pending`` holds (resource id, tags before, tags after)."""
        apply_ec2_tags(self.client, pending)

    def delete(self, found):
        ids = {key: group["GroupId"] for key, group in found.items()}
        in_set = set(ids.values())
        # Groups that refer to each other cannot be deleted until the references are gone.
        for group in found.values():
            for direction, field in (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress")):
                references = []
                for permission in group.get(field, []):
                    pairs = [p for p in permission.get("UserIdGroupPairs", []) if p["GroupId"] in in_set]
                    if pairs:
                        reference = {
                            k: v for k, v in permission.items() if k in ("IpProtocol", "FromPort", "ToPort")
                        }
                        reference["UserIdGroupPairs"] = [{"GroupId": p["GroupId"]} for p in pairs]
                        references.append(reference)
                if references:
                    getattr(self.client, f"revoke_security_group_{direction}")(
                        GroupId=group["GroupId"], IpPermissions=references
                    )
        # Network interfaces of the load balancer, tasks and database destroyed just before keep
        # their groups for minutes: wait for them (bounded by release_timeout, reported).
        for group_id in ids.values():
            delete_when_released(
                self.module,
                self.client,
                "delete_security_group",
                self.params["release_timeout"],
                GroupId=group_id,
            )

    # --- result ----------------------------------------------------------------------------------
    def finish(self, raw, before, after, changes, **extra_result):
        found, _default, _keys = self.index(raw)
        state = (
            after if self.module.check_mode else (self.comparable(raw) if self.present else {"groups": {}})
        )
        groups = {}
        for key, group in state["groups"].items():
            groups[key] = dict(shown(group), group_id=found[key]["GroupId"] if key in found else None)
        self.module.exit_json(
            changed=bool(changes),
            changes=changes,
            diff={"before": shown(before), "after": shown(after)},
            group_ids={key: (found[key]["GroupId"] if key in found else None) for key in self.spec}
            if self.present
            else {},
            groups=groups,
            **extra_result,
        )


def main():
    module = AnsibleAWSModule(
        argument_spec={
            "vpc_id": {"type": "str"},
            "groups": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "key": {"type": "str", "required": True, "no_log": False},
                    "name": {"type": "str", "required": True},
                    "description": {"type": "str"},
                    "ingress": {"type": "list", "elements": "dict"},
                    "egress": {"type": "list", "elements": "dict"},
                    "tags": {"type": "dict"},
                },
            },
            "lock_default_group": {"type": "bool", "default": False},
            "release_timeout": {"type": "int", "default": 1200},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "tags": {"type": "dict", "aliases": ["resource_tags"]},
            "purge_tags": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    SecurityGroups(module).run()


if __name__ == "__main__":
    main()
