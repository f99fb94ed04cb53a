#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: application_autoscaling
short_description: Scalable target, target-tracking policies and scheduled actions in one module
version_added: 0.1.0
description:
  - Ensures an Application Auto Scaling scalable target (for example an ECS service's desired
    count) with its capacity limits, its target-tracking scaling policies and its scheduled
    actions, or that the target is gone (AWS then deletes its policies and actions too).
  - Reads everything first and compares; only what differs is written. Check mode makes no call
    that writes (the C(community.aws) module registers the target even in check mode).
  - Policies and scheduled actions not listed are deleted unless O(purge_policies=false) or
    O(purge_scheduled_actions=false). Step-scaling policies are never touched.
  - Bad input (minimum above maximum, unknown metric type, malformed schedule or time zone) fails
    before any call.
author:
  - Notejam maintainers (@notejam)
options:
  service_namespace:
    description: Namespace of the scaled resource.
    type: str
    default: ecs
  resource_id:
    description: The scaled resource, for ECS V(service/<cluster name>/<service name>).
    type: str
    required: true
  scalable_dimension:
    description: What is scaled.
    type: str
    default: ecs:service:DesiredCount
  state:
    description: Whether the scalable target should exist.
    type: str
    choices: [present, absent]
    default: present
  min_capacity:
    description: Lowest capacity autoscaling may set. Required to create the target.
    type: int
  keep_min_capacity:
    description:
      - Use O(min_capacity) only to create the target; an existing target keeps the minimum it has.
      - For targets whose minimum scheduled actions raise and lower through the day, so that a
        re-run in business hours does not put the night's minimum back.
    type: bool
    default: false
  max_capacity:
    description: Highest capacity autoscaling may set. Required to create the target.
    type: int
  role_arn:
    description: Role Application Auto Scaling uses; the service-linked role when not given.
    type: str
  target_tracking_policies:
    description: Target-tracking scaling policies of the target.
    type: list
    elements: dict
    suboptions:
      name:
        description: Policy name, unique for the target.
        type: str
        required: true
      target_value:
        description: Value the metric is kept at, for example V(60) (percent CPU).
        type: float
        required: true
      predefined_metric_type:
        description:
          - Metric, for example V(ECSServiceAverageCPUUtilization),
            V(ECSServiceAverageMemoryUtilization) or V(ALBRequestCountPerTarget).
        type: str
        required: true
      resource_label:
        description:
          - For V(ALBRequestCountPerTarget), V(app/<alb name>/<id>/targetgroup/<tg name>/<id>).
        type: str
      scale_in_cooldown:
        description: Seconds after a scale-in before another scale-in. Left as it is when not given.
        type: int
      scale_out_cooldown:
        description: Seconds after a scale-out before another scale-out. Left as it is when not given.
        type: int
      disable_scale_in:
        description: Let this policy only scale out.
        type: bool
        default: false
  purge_policies:
    description: Delete target-tracking policies of the target that O(target_tracking_policies) does not list.
    type: bool
    default: true
  scheduled_actions:
    description: Scheduled actions that change the capacity limits at given times.
    type: list
    elements: dict
    suboptions:
      name:
        description: Action name, unique for the target.
        type: str
        required: true
      state:
        description:
          - V(absent) deletes the action if it exists (also with O(purge_scheduled_actions=false));
            only O(scheduled_actions[].name) is needed then.
        type: str
        choices: [present, absent]
        default: present
      schedule:
        description: V(cron(...)), V(rate(...)) or V(at(...)) expression. Required with V(state=present).
        type: str
      timezone:
        description: IANA time zone of the schedule.
        type: str
        default: UTC
      min_capacity:
        description: Minimum capacity from the scheduled time on.
        type: int
      max_capacity:
        description: Maximum capacity from the scheduled time on.
        type: int
      start_time:
        description: ISO 8601 date and time before which the action does not run.
        type: str
      end_time:
        description: ISO 8601 date and time after which the action does not run.
        type: str
  purge_scheduled_actions:
    description: Delete scheduled actions of the target that O(scheduled_actions) does not list.
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Scale the web service on CPU and ALB requests, more capacity in business hours
  notejam.aws.application_autoscaling:
    resource_id: service/notejam-prod-cluster/notejam-prod-app
    min_capacity: 2
    max_capacity: 16
    target_tracking_policies:
      - name: cpu
        predefined_metric_type: ECSServiceAverageCPUUtilization
        target_value: 60
        scale_out_cooldown: 60
        scale_in_cooldown: 300
      - name: requests
        predefined_metric_type: ALBRequestCountPerTarget
        resource_label: "{{ alb_arn_suffix }}/{{ tg_arn_suffix }}"
        target_value: 500
    scheduled_actions:
      - name: business-hours
        schedule: cron(0 7 ? * MON-FRI *)
        timezone: Europe/London
        min_capacity: 4
        max_capacity: 16
      - name: night
        schedule: cron(0 20 ? * MON-FRI *)
        timezone: Europe/London
        min_capacity: 2
        max_capacity: 16
    tags:
      Project: notejam
      Environment: prod
      ManagedBy: ansible
"""

RETURN = r"""
scalable_target:
  description:
    - The target after the run, with its policies and scheduled actions keyed by name; empty when absent.
    - In check mode, the predicted state.
  returned: always
  type: dict
  contains:
    scalable_target_arn:
      description: ARN of the scalable target.
      type: str
    min_capacity:
      description: Lowest capacity.
      type: int
    max_capacity:
      description: Highest capacity.
      type: int
    policies:
      description: Target-tracking policies by name.
      type: dict
    scheduled_actions:
      description: Scheduled actions by name.
      type: dict
    tags:
      description: Tags of the target.
      type: dict
changes:
  description: Paths of the fields that differed.
  returned: always
  type: list
  elements: str
  sample: ["policies.cpu.target_value", "scheduled_actions.night"]
diff:
  description: Target, policies and scheduled actions before and after.
  returned: always
  type: dict
"""

import datetime

try:
    import zoneinfo
except ImportError:  # Python < 3.9 targets: time zones are then checked by AWS only
    zoneinfo = None

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.notejam.aws.plugins.module_utils.resource import (
    ABSENT,
    AwsResource,
    conform,
    drop_none,
    merge_desired,
    paginate,
    tag_delta,
    tags_after,
    whole,
)

SCHEDULE_PREFIXES = ("cron(", "rate(", "at(")


def _timestamp(value):
    """ISO 8601 text in UTC for a datetime or text (AWS returns datetimes, users write text)."""
    if value is None:
        return None
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc).isoformat()


def _policy_from_aws(policy):
    config = policy.get("TargetTrackingScalingPolicyConfiguration") or {}
    metric = config.get("PredefinedMetricSpecification") or {}
    return drop_none(
        {
            "target_value": config.get("TargetValue"),
            "predefined_metric_type": metric.get("PredefinedMetricType"),
            "resource_label": metric.get("ResourceLabel"),
            "scale_in_cooldown": config.get("ScaleInCooldown"),
            "scale_out_cooldown": config.get("ScaleOutCooldown"),
            "disable_scale_in": bool(config.get("DisableScaleIn", False)),
        }
    )


def _action_from_aws(action):
    limits = action.get("ScalableTargetAction") or {}
    return drop_none(
        {
            "schedule": action.get("Schedule"),
            "timezone": action.get("Timezone") or "UTC",
            "min_capacity": limits.get("MinCapacity"),
            "max_capacity": limits.get("MaxCapacity"),
            "start_time": _timestamp(action.get("StartTime")),
            "end_time": _timestamp(action.get("EndTime")),
        }
    )


class ScalableTarget(AwsResource):
    service = "application-autoscaling"
    result_key = "scalable_target"
    extra_retry_codes = ("ConcurrentUpdateException",)
    verbatim_keys = ("tags", "policies", "scheduled_actions")

    @property
    def _key(self):
        p = self.params
        return {
            "ServiceNamespace": p["service_namespace"],
            "ResourceId": p["resource_id"],
            "ScalableDimension": p["scalable_dimension"],
        }

    # --- input --------------------------------------------------------------------------------
    def validate(self):
        p = self.params
        fail = self.module.fail_json
        try:
            conform(self.client, "ServiceNamespace", p["service_namespace"], "service_namespace")
            conform(self.client, "ScalableDimension", p["scalable_dimension"], "scalable_dimension")
        except ValueError as e:
            fail(msg=str(e))
        if p["service_namespace"] == "ecs" and len(p["resource_id"].split("/")) != 3:
            fail(msg=f"resource_id={p['resource_id']} is not an ECS service; accepted: service/CLUSTER/NAME")
        if p["state"] == "absent":
            return
        low, high = p["min_capacity"], p["max_capacity"]
        for name, value in (("min_capacity", low), ("max_capacity", high)):
            if value is not None and value < 0:
                fail(msg=f"{name}={value} is not accepted; accepted: 0 or more")
        if low is not None and high is not None and low > high:
            fail(msg=f"min_capacity={low} is greater than max_capacity={high}; accepted: min <= max")
        self._validate_policies(p["target_tracking_policies"] or [])
        self._validate_actions(p["scheduled_actions"] or [])

    def _require_unique_names(self, items, parameter):
        names = [x["name"] for x in items]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            self.module.fail_json(msg=f"{parameter}: names must be unique; repeated: {', '.join(repeated)}")

    def _validate_policies(self, policies):
        fail = self.module.fail_json
        self._require_unique_names(policies, "target_tracking_policies")
        for i, policy in enumerate(policies):
            where = f"target_tracking_policies[{i}]"
            try:
                conform(
                    self.client,
                    "MetricType",
                    policy["predefined_metric_type"],
                    f"{where}.predefined_metric_type",
                )
            except ValueError as e:
                fail(msg=str(e))
            if policy["target_value"] <= 0:
                fail(msg=f"{where}.target_value={policy['target_value']} must be more than 0")
            if (
                policy["predefined_metric_type"].endswith("RequestCountPerTarget")
                and not policy["resource_label"]
            ):
                fail(msg=f"{where}.resource_label is required for {policy['predefined_metric_type']}")
            for cooldown in ("scale_in_cooldown", "scale_out_cooldown"):
                if policy[cooldown] is not None and policy[cooldown] < 0:
                    fail(msg=f"{where}.{cooldown}={policy[cooldown]} is not accepted; accepted: 0 or more")

    def _validate_actions(self, actions):
        fail = self.module.fail_json
        self._require_unique_names(actions, "scheduled_actions")
        for i, action in enumerate(actions):
            where = f"scheduled_actions[{i}]"
            if action["state"] == "absent":
                continue
            if not action["schedule"]:
                fail(msg=f"{where}.schedule is required with state=present")
            schedule = action["schedule"].strip()
            if not (schedule.startswith(SCHEDULE_PREFIXES) and schedule.endswith(")")):
                fail(
                    msg=f"{where}.schedule={schedule!r} is not accepted; accepted: cron(..), rate(..), at(..)"
                )
            if action["min_capacity"] is None and action["max_capacity"] is None:
                fail(msg=f"{where} needs min_capacity, max_capacity or both")
            low, high = action["min_capacity"], action["max_capacity"]
            if low is not None and high is not None and low > high:
                fail(msg=f"{where}.min_capacity={low} is greater than {where}.max_capacity={high}")
            if zoneinfo is not None:
                try:
                    zoneinfo.ZoneInfo(action["timezone"])
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    zone = action["timezone"]
                    fail(msg=f"{where}.timezone={zone} is not an IANA time zone (like Europe/London)")
            for key in ("start_time", "end_time"):
                if action[key]:
                    try:
                        _timestamp(action[key])
                    except ValueError:
                        fail(msg=f"{where}.{key}={action[key]} is not an ISO 8601 date and time")

    # --- read ---------------------------------------------------------------------------------
    def read(self):
        key = self._key
        targets = self.client.describe_scalable_targets(
            ServiceNamespace=key["ServiceNamespace"],
            ResourceIds=[key["ResourceId"]],
            ScalableDimension=key["ScalableDimension"],
        ).get("ScalableTargets", [])
        if not targets:
            return None
        target = targets[0]
        policies = paginate(self.client, "describe_scaling_policies", "ScalingPolicies", **key)
        actions = paginate(self.client, "describe_scheduled_actions", "ScheduledActions", **key)
        tags = self.client.list_tags_for_resource(ResourceARN=target["ScalableTargetARN"]).get("Tags", {})
        return {
            "scalable_target_arn": target["ScalableTargetARN"],
            "min_capacity": target.get("MinCapacity"),
            "max_capacity": target.get("MaxCapacity"),
            "role_arn": target.get("RoleARN"),
            "policies": {
                p["PolicyName"]: _policy_from_aws(p)
                for p in policies
                if p.get("PolicyType") == "TargetTrackingScaling"
            },
            "scheduled_actions": {a["ScheduledActionName"]: _action_from_aws(a) for a in actions},
            "tags": tags,
        }

    def comparable(self, raw):
        return {k: raw[k] for k in ("min_capacity", "max_capacity", "policies", "scheduled_actions", "tags")}

    def created_defaults(self):
        return {"policies": {}, "scheduled_actions": {}, "tags": {}}

    def desired(self, before):
        p = self.params
        before = before or {}
        if not before and (p["min_capacity"] is None or p["max_capacity"] is None):
            self.module.fail_json(
                msg=f"min_capacity and max_capacity are required to create the target {p['resource_id']}"
            )
        wanted_min = None if (before and p["keep_min_capacity"]) else p["min_capacity"]
        low = wanted_min if wanted_min is not None else before.get("min_capacity")
        high = p["max_capacity"] if p["max_capacity"] is not None else before.get("max_capacity")
        if low is not None and high is not None and low > high:
            self.module.fail_json(msg=f"min_capacity={low} would be greater than max_capacity={high}")
        return {
            "min_capacity": wanted_min,
            "max_capacity": p["max_capacity"],
            "policies": self._desired_children(
                before.get("policies") or {},
                p["target_tracking_policies"],
                p["purge_policies"],
                lambda x: {
                    "target_value": float(x["target_value"]),
                    "predefined_metric_type": x["predefined_metric_type"],
                    "resource_label": x["resource_label"],
                    "scale_in_cooldown": x["scale_in_cooldown"],
                    "scale_out_cooldown": x["scale_out_cooldown"],
                    "disable_scale_in": x["disable_scale_in"],
                },
            ),
            "scheduled_actions": self._desired_children(
                before.get("scheduled_actions") or {},
                p["scheduled_actions"],
                p["purge_scheduled_actions"],
                lambda x: {
                    "schedule": x["schedule"].strip(),
                    "timezone": x["timezone"],
                    "min_capacity": x["min_capacity"],
                    "max_capacity": x["max_capacity"],
                    "start_time": _timestamp(x["start_time"]),
                    "end_time": _timestamp(x["end_time"]),
                },
            ),
            "tags": tags_after(before.get("tags") or {}, p["tags"], p["purge_tags"]),
        }

    @staticmethod
    def _desired_children(current, specs, purge, shape):
        """Policies or actions by name; each merged over its current self, so fields left out
        (None) keep AWS's value; with ``purge`` the names not listed disappear."""
        if specs is None:
            return None
        wanted = {
            s["name"]: merge_desired(current.get(s["name"]) or {}, shape(s))
            for s in specs
            if s.get("state", "present") == "present"
        }
        if not purge:
            # Listed as absent: removed from what is kept (ABSENT deletes the key on merge).
            wanted.update({s["name"]: ABSENT for s in specs if s.get("state") == "absent"})
            return wanted
        return whole(wanted)

    # --- apply --------------------------------------------------------------------------------
    def create(self, after):
        self._register(after, with_tags=True)
        self._apply_children({}, after)

    def update(self, before, after, changes):
        if any(c.startswith(("min_capacity", "max_capacity")) for c in changes):
            self._register(after, with_tags=False)
        self._apply_children(before, after)
        to_set, to_unset = tag_delta(before.get("tags"), after.get("tags"))
        arn = self.current_arn
        if to_unset:
            self.client.untag_resource(ResourceARN=arn, TagKeys=list(to_unset))
        if to_set:
            self.client.tag_resource(ResourceARN=arn, Tags=to_set)

    def plan(self):
        raw, before, after, changes = super().plan()
        self.current_arn = raw and raw["scalable_target_arn"]
        return raw, before, after, changes

    def _register(self, after, with_tags):
        params = dict(self._key, MinCapacity=after["min_capacity"], MaxCapacity=after["max_capacity"])
        if self.params["role_arn"]:
            params["RoleARN"] = self.params["role_arn"]
        if with_tags and after.get("tags"):
            params["Tags"] = after["tags"]
        # RegisterScalableTarget creates or updates: safe to retry.
        self.client.register_scalable_target(**params)

    def _apply_children(self, before, after):
        key = self._key
        old, new = before.get("policies") or {}, after.get("policies") or {}
        for name in sorted(set(old) - set(new)):
            self.client.delete_scaling_policy(PolicyName=name, **key)
        for name, policy in sorted(new.items()):
            if old.get(name) == policy:
                continue
            metric = drop_none(
                {
                    "PredefinedMetricType": policy["predefined_metric_type"],
                    "ResourceLabel": policy.get("resource_label"),
                }
            )
            config = drop_none(
                {
                    "TargetValue": policy["target_value"],
                    "PredefinedMetricSpecification": metric,
                    "ScaleInCooldown": policy.get("scale_in_cooldown"),
                    "ScaleOutCooldown": policy.get("scale_out_cooldown"),
                    "DisableScaleIn": policy.get("disable_scale_in", False),
                }
            )
            self.client.put_scaling_policy(
                PolicyName=name,
                PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration=config,
                **key,
            )
        old, new = before.get("scheduled_actions") or {}, after.get("scheduled_actions") or {}
        for name in sorted(set(old) - set(new)):
            self.client.delete_scheduled_action(ScheduledActionName=name, **key)
        for name, action in sorted(new.items()):
            if old.get(name) == action:
                continue
            params = drop_none(
                {
                    "ScheduledActionName": name,
                    "Schedule": action["schedule"],
                    "Timezone": action.get("timezone"),
                    "StartTime": action.get("start_time")
                    and datetime.datetime.fromisoformat(action["start_time"]),
                    "EndTime": action.get("end_time") and datetime.datetime.fromisoformat(action["end_time"]),
                    "ScalableTargetAction": drop_none(
                        {"MinCapacity": action.get("min_capacity"), "MaxCapacity": action.get("max_capacity")}
                    ),
                }
            )
            self.client.put_scheduled_action(**params, **key)

    def delete(self, raw):
        # AWS deletes the target's scaling policies and scheduled actions with it.
        self.client.deregister_scalable_target(**self._key)


def main():
    argument_spec = {
        "service_namespace": {"type": "str", "default": "ecs"},
        "resource_id": {"type": "str", "required": True},
        "scalable_dimension": {"type": "str", "default": "ecs:service:DesiredCount"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "min_capacity": {"type": "int"},
        "keep_min_capacity": {"type": "bool", "default": False},
        "max_capacity": {"type": "int"},
        "role_arn": {"type": "str"},
        "target_tracking_policies": {
            "type": "list",
            "elements": "dict",
            "options": {
                "name": {"type": "str", "required": True},
                "target_value": {"type": "float", "required": True},
                "predefined_metric_type": {"type": "str", "required": True},
                "resource_label": {"type": "str"},
                "scale_in_cooldown": {"type": "int"},
                "scale_out_cooldown": {"type": "int"},
                "disable_scale_in": {"type": "bool", "default": False},
            },
        },
        "purge_policies": {"type": "bool", "default": True},
        "scheduled_actions": {
            "type": "list",
            "elements": "dict",
            "options": {
                "name": {"type": "str", "required": True},
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "schedule": {"type": "str"},
                "timezone": {"type": "str", "default": "UTC"},
                "min_capacity": {"type": "int"},
                "max_capacity": {"type": "int"},
                "start_time": {"type": "str"},
                "end_time": {"type": "str"},
            },
        },
        "purge_scheduled_actions": {"type": "bool", "default": True},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    ScalableTarget(module).run()


if __name__ == "__main__":
    main()
