#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: cloudwatch_log_group
short_description: Manage a CloudWatch Logs group whose KMS key, retention and tags converge on every run
version_added: 0.2.0
description:
  - Creates, updates or deletes a CloudWatch Logs group found by its exact name.
  - Why not M(amazon.aws.cloudwatchlogs_log_group) (10.1)? It passes O(kms_key_id) only when it creates
    the group, so a group made before encryption was asked for stays unencrypted on every later run.
    Here a different key is associated (C(AssociateKmsKey)), so existing groups get the key too.
  - CloudWatch Logs takes the key's ARN (not an alias), and the key policy must let
    C(logs.<region>.amazonaws.com) use it for this group, or AWS answers C(AccessDeniedException).
    Data logged before the association stays readable; new events are encrypted with the key.
author:
  - notejam.aws maintainers (@notejam)
options:
  name:
    description:
      - Name of the log group. Exactly one of O(name) and O(names) is required.
    type: str
    aliases: [log_group_name]
  names:
    description:
      - Names of several log groups that take the same retention, key and tags, converged in one
        module run (one Python start and one client instead of one of each per group).
      - The result then lists them under RV(log_groups); RV(changes) prefixes each path with the
        group's name and a colon, and RV(diff) holds one before/after per group, in the order given.
    type: list
    elements: str
  retention_days:
    description:
      - Days CloudWatch keeps the events (one of the values CloudWatch Logs accepts).
      - Left out, the current retention is kept (a new group never expires its events).
    type: int
  kms_key_id:
    description:
      - ARN of the KMS key that encrypts the group's events. Left out, the current key is kept.
      - In check mode an alias (C(alias/name)) stands for a key an earlier task would create.
    type: str
  state:
    description: C(present) creates or updates, C(absent) deletes the group and its events.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Flow logs kept 90 days, encrypted with the network key
  notejam.aws.cloudwatch_log_group:
    name: /notejam/prod/vpc-flow-logs
    retention_days: 90
    kms_key_id: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    tags: {Project: notejam, Environment: prod, ManagedBy: ansible}

- name: The exported database logs, one module run for every group
  notejam.aws.cloudwatch_log_group:
    names:
      - /aws/rds/cluster/notejam-prod-aurora/error
      - /aws/rds/cluster/notejam-prod-aurora/slowquery
    retention_days: 30
    kms_key_id: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
"""

RETURN = r"""
log_group:
  description: The group as DescribeLogGroups returns it (snake_case), with its tags; empty when absent.
  returned: when O(name) is given
  type: dict
  contains:
    log_group_name:
      description: Name of the group.
      type: str
    log_group_arn:
      description: ARN of the group (without the trailing C(:*)).
      type: str
    retention_in_days:
      description: Days the events are kept (absent when they never expire).
      type: int
    kms_key_id:
      description: ARN of the key that encrypts the group.
      type: str
log_groups:
  description: Each group of O(names) as RV(log_group) describes one, in the order given.
  returned: when O(names) is given
  type: list
  elements: dict
changes:
  description: Dotted paths of the fields that differed; with O(names), prefixed by the group's name.
  returned: always
  type: list
  elements: str
"""

import re  # noqa: E402

try:
    import botocore
except ImportError:  # AnsibleAWSModule reports the missing dependency
    botocore = None

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.notejam.aws.plugins.module_utils.resource import (  # noqa: E402
    AwsResource,
    paginate,
    tag_delta,
    tags_after,
)

# PutRetentionPolicy's accepted values (CloudWatch Logs API reference).
RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")


class LogGroup(AwsResource):
    service = "logs"
    result_key = "log_group"

    def __init__(self, module, name=None, client=None):
        """One group: ``module.params["name"]``, or ``name`` (one of ``names``) sharing ``client``."""
        if client is None:
            super().__init__(module)
        else:
            self.module, self.client = module, client
        self.params = dict(module.params, name=name) if name is not None else module.params

    def validate(self):
        p = self.params
        if p["state"] == "absent":
            return
        if p["retention_days"] is not None and p["retention_days"] not in RETENTION_DAYS:
            self.module.fail_json(
                msg=f"retention_days={p['retention_days']}; accepted: {', '.join(map(str, RETENTION_DAYS))}"
            )
        key = p["kms_key_id"]
        alias_in_check = self.module.check_mode and str(key).startswith("alias/")
        if key is not None and not _KEY_ARN.match(key) and not alias_in_check:
            self.module.fail_json(
                msg=f"kms_key_id={key} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); "
                "CloudWatch Logs does not take aliases"
            )

    def read(self):
        name = self.params["name"]
        groups = paginate(self.client, "describe_log_groups", "logGroups", logGroupNamePrefix=name)
        match = [g for g in groups if g.get("logGroupName") == name]
        if not match:
            return None
        group = dict(match[0])
        group.setdefault("logGroupArn", group.get("arn", "").removesuffix(":*"))
        group["Tags"] = self.client.list_tags_for_resource(resourceArn=group["logGroupArn"]).get("tags", {})
        return group

    def comparable(self, raw):
        return {
            "retentionInDays": raw.get("retentionInDays"),
            "kmsKeyId": raw.get("kmsKeyId"),
            "Tags": raw.get("Tags") or {},
        }

    def desired(self, before):
        p = self.params
        return {
            "retentionInDays": p["retention_days"],
            "kmsKeyId": p["kms_key_id"],
            "Tags": tags_after((before or {}).get("Tags"), p["tags"], p["purge_tags"]),
        }

    def create(self, after):
        params = {"logGroupName": self.params["name"]}
        if after.get("kmsKeyId"):
            params["kmsKeyId"] = after["kmsKeyId"]
        if after.get("Tags"):
            params["tags"] = after["Tags"]
        self.client.create_log_group(**params)
        if after.get("retentionInDays"):
            self.client.put_retention_policy(
                logGroupName=self.params["name"], retentionInDays=after["retentionInDays"]
            )

    def update(self, before, after, changes):
        name = self.params["name"]
        if "kmsKeyId" in changes:
            self.client.associate_kms_key(logGroupName=name, kmsKeyId=after["kmsKeyId"])
        if "retentionInDays" in changes:
            self.client.put_retention_policy(logGroupName=name, retentionInDays=after["retentionInDays"])
        if any(c == "Tags" or c.startswith("Tags.") for c in changes):
            arn = self.read()["logGroupArn"]
            to_set, to_unset = tag_delta(before.get("Tags"), after.get("Tags"))
            if to_unset:
                self.client.untag_resource(resourceArn=arn, tagKeys=list(to_unset))
            if to_set:
                self.client.tag_resource(resourceArn=arn, tags=to_set)

    def delete(self, raw):
        self.client.delete_log_group(logGroupName=self.params["name"])


def main():
    argument_spec = {
        "name": {"type": "str", "aliases": ["log_group_name"]},
        "names": {"type": "list", "elements": "str"},
        "retention_days": {"type": "int"},
        "kms_key_id": {"type": "str"},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("name", "names")],
        required_one_of=[("name", "names")],
    )
    if module.params["names"] is None:
        LogGroup(module).run()
    else:
        converge_each(module, module.params["names"])


def converge_each(module, names):
    """Every group of ``names`` through the same cycle, with one client; one result for all."""
    if not names or len(set(names)) != len(names) or not all(names):
        module.fail_json(msg=f"names={names}: accepted a non-empty list of distinct, non-empty group names")
    first = LogGroup(module, names[0])
    first.validate()  # the same retention and key for every group: checked once, before any call
    groups = [first] + [LogGroup(module, name, first.client) for name in names[1:]]
    outcomes = []
    for group in groups:
        try:
            outcomes.append((group.params["name"], group.converge()))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            module.fail_json_aws(
                e,
                msg=f"Managing the log group {group.params['name']} failed",
                log_groups=[outcome["log_group"] for _, outcome in outcomes],
                changed=any(outcome["changed"] for _, outcome in outcomes) and not module.check_mode,
            )
    module.exit_json(
        changed=any(outcome["changed"] for _, outcome in outcomes),
        changes=[f"{name}: {path}" for name, outcome in outcomes for path in outcome["changes"]],
        diff=[outcome["diff"] for _, outcome in outcomes],
        log_groups=[outcome["log_group"] for _, outcome in outcomes],
    )


if __name__ == "__main__":
    main()
