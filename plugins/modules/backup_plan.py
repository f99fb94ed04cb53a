#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: backup_plan
short_description: Manage an AWS Backup plan whose rules, copies and tags are compared, not rewritten
version_added: 0.1.0
description:
  - Creates, updates or deletes an AWS Backup plan found by name.
  - Why not M(amazon.aws.backup_plan) (10.1)? In check mode it reports a change whenever tags are
    given; and it passes O(rules[].recovery_point_tags) through a camelCase conversion that turns
    C(ManagedBy) into C(Managedby), which both mis-tags recovery points and updates the plan on
    every run. Here tag keys are user data and stay as written, rules are compared with AWS's
    defaults made explicit, and check mode makes no write call.
  - O(state=absent) deletes the plan's selections first (AWS refuses to delete a plan that has any).
author:
  - notejam.aws maintainers (@notejam)
options:
  name:
    description: Name of the plan.
    type: str
    required: true
    aliases: [backup_plan_name]
  state:
    description: C(present) creates or updates, C(absent) deletes.
    type: str
    choices: [present, absent]
    default: present
  rules:
    description: The plan's rules (the whole list; order does not matter).
    type: list
    elements: dict
    suboptions:
      rule_name:
        description: Name of the rule, unique in the plan.
        type: str
        required: true
      target_backup_vault_name:
        description: Vault that receives the recovery points.
        type: str
        required: true
      schedule_expression:
        description: AWS Backup cron expression.
        type: str
        default: cron(0 5 ? * * *)
      schedule_expression_timezone:
        description: Time zone of the schedule.
        type: str
        default: Etc/UTC
      start_window_minutes:
        description: Minutes within which a job must start (at least 60).
        type: int
        default: 480
      completion_window_minutes:
        description: Minutes within which a started job must complete.
        type: int
        default: 10080
      lifecycle:
        description: When recovery points move to cold storage and expire.
        type: dict
        suboptions:
          move_to_cold_storage_after_days:
            description: Days before moving to cold storage (only for resource types that support it).
            type: int
          delete_after_days:
            description: Days before deletion (at least 90 after the move to cold storage).
            type: int
          opt_in_to_archive_for_supported_resources:
            description: Move supported resources to the archive tier.
            type: bool
      recovery_point_tags:
        description: Tags added to the recovery points (keys kept as written).
        type: dict
      copy_actions:
        description: Copies of each recovery point to other vaults (e.g. in another region).
        type: list
        elements: dict
        suboptions:
          destination_backup_vault_arn:
            description: ARN of the vault receiving the copy.
            type: str
            required: true
          lifecycle:
            description: Lifecycle of the copy.
            type: dict
            suboptions:
              move_to_cold_storage_after_days:
                description: Days before moving the copy to cold storage.
                type: int
              delete_after_days:
                description: Days before the copy is deleted.
                type: int
              opt_in_to_archive_for_supported_resources:
                description: Move supported resources to the archive tier.
                type: bool
      enable_continuous_backup:
        description: Continuous backup (point-in-time) for supported resources.
        type: bool
        default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Daily backups kept three years, copied to a second region
  notejam.aws.backup_plan:
    name: notejam-prod-plan
    rules:
      - rule_name: daily
        target_backup_vault_name: notejam-prod-vault
        schedule_expression: cron(0 3 ? * * *)
        lifecycle: {delete_after_days: 1095}
        copy_actions:
          - destination_backup_vault_arn: "{{ dr_vault_arn }}"
            lifecycle: {delete_after_days: 1095}
    tags: {Project: notejam, Environment: prod, ManagedBy: ansible}
"""

RETURN = r"""
backup_plan:
  description: The plan as GetBackupPlan returns it (snake_case; tag values as written), with its tags.
  returned: success
  type: dict
  contains:
    backup_plan_id:
      description: Id of the plan.
      type: str
    backup_plan_arn:
      description: ARN of the plan.
      type: str
    version_id:
      description: Version of the plan.
      type: str
changes:
  description: Dotted paths of the fields that differed.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.notejam.aws.plugins.module_utils.resource import (  # noqa: E402
    AwsResource,
    client_token,
    paginate,
    tag_delta,
    tags_after,
)

_LIFECYCLE_KEYS = {
    "move_to_cold_storage_after_days": "MoveToColdStorageAfterDays",
    "delete_after_days": "DeleteAfterDays",
    "opt_in_to_archive_for_supported_resources": "OptInToArchiveForSupportedResources",
}


def _lifecycle(value):
    """A lifecycle in AWS's shape, unset and false-by-default fields left out, as AWS answers."""
    out = {}
    for key, aws_key in _LIFECYCLE_KEYS.items():
        item = (value or {}).get(key, (value or {}).get(aws_key))
        if item is None or (aws_key == "OptInToArchiveForSupportedResources" and item is False):
            continue
        out[aws_key] = item
    return out or None


def _normalise_rule(rule):
    """One rule, from AWS or from the user (already camelCase), with AWS defaults explicit."""
    normal = {
        "RuleName": rule["RuleName"],
        "TargetBackupVaultName": rule["TargetBackupVaultName"],
        "ScheduleExpression": rule.get("ScheduleExpression") or "cron(0 5 ? * * *)",
        "ScheduleExpressionTimezone": rule.get("ScheduleExpressionTimezone") or "Etc/UTC",
        "StartWindowMinutes": int(rule.get("StartWindowMinutes") or 480),
        "CompletionWindowMinutes": int(rule.get("CompletionWindowMinutes") or 10080),
        "EnableContinuousBackup": bool(rule.get("EnableContinuousBackup", False)),
    }
    lifecycle = _lifecycle(rule.get("Lifecycle"))
    if lifecycle:
        normal["Lifecycle"] = lifecycle
    if rule.get("RecoveryPointTags"):
        normal["RecoveryPointTags"] = {str(k): str(v) for k, v in rule["RecoveryPointTags"].items()}
    copies = []
    for copy in rule.get("CopyActions") or []:
        item = {"DestinationBackupVaultArn": copy["DestinationBackupVaultArn"]}
        copy_lifecycle = _lifecycle(copy.get("Lifecycle"))
        if copy_lifecycle:
            item["Lifecycle"] = copy_lifecycle
        copies.append(item)
    if copies:
        normal["CopyActions"] = sorted(copies, key=lambda c: c["DestinationBackupVaultArn"])
    return normal


def _user_rule(rule):
    """A rule from the module's snake_case options, in AWS's shape (tag keys untouched)."""
    return _normalise_rule(
        {
            "RuleName": rule["rule_name"],
            "TargetBackupVaultName": rule["target_backup_vault_name"],
            "ScheduleExpression": rule["schedule_expression"],
            "ScheduleExpressionTimezone": rule["schedule_expression_timezone"],
            "StartWindowMinutes": rule["start_window_minutes"],
            "CompletionWindowMinutes": rule["completion_window_minutes"],
            "EnableContinuousBackup": rule["enable_continuous_backup"],
            "Lifecycle": rule.get("lifecycle"),
            "RecoveryPointTags": rule.get("recovery_point_tags"),
            "CopyActions": [
                {
                    "DestinationBackupVaultArn": c["destination_backup_vault_arn"],
                    "Lifecycle": c.get("lifecycle"),
                }
                for c in rule.get("copy_actions") or []
            ],
        }
    )


class BackupPlan(AwsResource):
    service = "backup"
    result_key = "backup_plan"
    verbatim_keys = ("tags", "Tags", "RecoveryPointTags", "recovery_point_tags")

    def validate(self):
        p = self.params
        if p["state"] == "absent":
            return
        if not p["rules"]:
            self.module.fail_json(msg="rules is required with state=present (at least one rule)")
        names = [r["rule_name"] for r in p["rules"]]
        if len(set(names)) != len(names):
            self.module.fail_json(msg=f"rules[].rule_name must be unique; got {names}")
        for rule in p["rules"]:
            where = f"rules[{rule['rule_name']}]"
            if rule["start_window_minutes"] < 60:
                self.module.fail_json(
                    msg=f"{where}.start_window_minutes={rule['start_window_minutes']}; accepted: 60 or more"
                )
            for lifecycle_where, lifecycle in [(f"{where}.lifecycle", rule.get("lifecycle"))] + [
                (f"{where}.copy_actions[{i}].lifecycle", c.get("lifecycle"))
                for i, c in enumerate(rule.get("copy_actions") or [])
            ]:
                cold = (lifecycle or {}).get("move_to_cold_storage_after_days")
                delete = (lifecycle or {}).get("delete_after_days")
                if delete is not None and delete < 1:
                    self.module.fail_json(
                        msg=f"{lifecycle_where}.delete_after_days={delete}; accepted: 1 or more"
                    )
                if cold is not None and delete is not None and delete < cold + 90:
                    self.module.fail_json(
                        msg=f"{lifecycle_where}.delete_after_days={delete} must be at least "
                        f"move_to_cold_storage_after_days + 90 = {cold + 90} (cold storage minimum)"
                    )

    def read(self):
        plans = paginate(self.client, "list_backup_plans", "BackupPlansList")
        match = [
            p for p in plans if p.get("BackupPlanName") == self.params["name"] and not p.get("DeletionDate")
        ]
        if not match:
            return None
        plan = self.client.get_backup_plan(BackupPlanId=match[0]["BackupPlanId"])
        plan.pop("ResponseMetadata", None)
        plan["Tags"] = self.client.list_tags(ResourceArn=plan["BackupPlanArn"]).get("Tags", {})
        return plan

    def comparable(self, raw):
        rules = [_normalise_rule(r) for r in raw["BackupPlan"].get("Rules", [])]
        return {"Rules": sorted(rules, key=lambda r: r["RuleName"]), "Tags": raw.get("Tags") or {}}

    def desired(self, before):
        p = self.params
        rules = sorted((_user_rule(r) for r in p["rules"]), key=lambda r: r["RuleName"])
        return {"Rules": rules, "Tags": tags_after((before or {}).get("Tags"), p["tags"], p["purge_tags"])}

    def _plan_document(self, after):
        return {"BackupPlanName": self.params["name"], "Rules": after["Rules"]}

    def create(self, after):
        params = {"BackupPlan": self._plan_document(after), "CreatorRequestId": client_token()}
        if after.get("Tags"):
            params["BackupPlanTags"] = after["Tags"]
        self.client.create_backup_plan(**params)

    def update(self, before, after, changes):
        raw = self.read()
        if any(c == "Rules" or c.startswith("Rules.") for c in changes):
            self.client.update_backup_plan(
                BackupPlanId=raw["BackupPlanId"], BackupPlan=self._plan_document(after)
            )
        if any(c == "Tags" or c.startswith("Tags.") for c in changes):
            to_set, to_unset = tag_delta(before.get("Tags"), after.get("Tags"))
            if to_unset:
                self.client.untag_resource(ResourceArn=raw["BackupPlanArn"], TagKeyList=list(to_unset))
            if to_set:
                self.client.tag_resource(ResourceArn=raw["BackupPlanArn"], Tags=to_set)

    def delete(self, raw):
        plan_id = raw["BackupPlanId"]
        for selection in paginate(
            self.client, "list_backup_selections", "BackupSelectionsList", BackupPlanId=plan_id
        ):
            self.client.delete_backup_selection(BackupPlanId=plan_id, SelectionId=selection["SelectionId"])
        self.client.delete_backup_plan(BackupPlanId=plan_id)


def main():
    lifecycle = {
        "type": "dict",
        "options": {
            "move_to_cold_storage_after_days": {"type": "int"},
            "delete_after_days": {"type": "int"},
            "opt_in_to_archive_for_supported_resources": {"type": "bool"},
        },
    }
    argument_spec = {
        "name": {"type": "str", "required": True, "aliases": ["backup_plan_name"]},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "rules": {
            "type": "list",
            "elements": "dict",
            "options": {
                "rule_name": {"type": "str", "required": True},
                "target_backup_vault_name": {"type": "str", "required": True},
                "schedule_expression": {"type": "str", "default": "cron(0 5 ? * * *)"},
                "schedule_expression_timezone": {"type": "str", "default": "Etc/UTC"},
                "start_window_minutes": {"type": "int", "default": 480},
                "completion_window_minutes": {"type": "int", "default": 10080},
                "lifecycle": lifecycle,
                "recovery_point_tags": {"type": "dict"},
                "copy_actions": {
                    "type": "list",
                    "elements": "dict",
                    "options": {
                        "destination_backup_vault_arn": {"type": "str", "required": True},
                        "lifecycle": lifecycle,
                    },
                },
                "enable_continuous_backup": {"type": "bool", "default": False},
            },
        },
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    BackupPlan(module).run()


if __name__ == "__main__":
    main()
