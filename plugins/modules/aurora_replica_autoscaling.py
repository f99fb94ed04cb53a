#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: aurora_replica_autoscaling
short_description: Scale an Aurora cluster's readers with Application Auto Scaling target tracking
version_added: 0.1.0
description:
  - Registers the cluster's reader count (C(rds:cluster:ReadReplicaCount)) as a scalable target
    with a minimum and maximum, and keeps one target tracking policy on the readers' average CPU
    (or connections).
  - Why not M(community.aws.application_autoscaling_policy): it writes in check mode and
    re-puts the policy on every run. Here the target and the policy are read, compared and only
    the differing one is written; check mode makes no write call.
  - O(state=absent) deletes the policy and deregisters the target. Readers that Auto Scaling
    added are removed by Auto Scaling itself as it scales in, or with the cluster.
author:
  - notejam.aws maintainers
options:
  db_cluster_identifier:
    description: The Aurora cluster whose readers scale.
    type: str
    required: true
  state:
    description: C(present) registers target and policy, C(absent) removes both.
    type: str
    choices: [present, absent]
    default: present
  min_capacity:
    description: Fewest readers Auto Scaling keeps (0 to 15).
    type: int
  max_capacity:
    description: Most readers Auto Scaling adds (1 to 15), at least O(min_capacity).
    type: int
  policy_name:
    description: Name of the target tracking policy; defaults to C(<db_cluster_identifier>-readers-cpu).
    type: str
  metric:
    description: Predefined metric tracked.
    type: str
    choices: [RDSReaderAverageCPUUtilization, RDSReaderAverageDatabaseConnections]
    default: RDSReaderAverageCPUUtilization
  target_value:
    description: Target value of the metric (percent CPU, or connections).
    type: float
    default: 60
  scale_in_cooldown:
    description: Seconds after a scale-in before another.
    type: int
    default: 300
  scale_out_cooldown:
    description: Seconds after a scale-out before another.
    type: int
    default: 300
  disable_scale_in:
    description: Never remove readers automatically.
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Between 1 and 3 readers, tracking 60% CPU
  notejam.aws.aurora_replica_autoscaling:
    db_cluster_identifier: notejam-prod-aurora
    min_capacity: 1
    max_capacity: 3
    target_value: 60
"""

RETURN = r"""
scaling:
  description: The scalable target's bounds and the policy's configuration.
  returned: success
  type: dict
  contains:
    min_capacity:
      description: Fewest readers.
      type: int
    max_capacity:
      description: Most readers.
      type: int
    policy:
      description: Policy name and target tracking configuration.
      type: dict
changes:
  description: Dotted paths of the fields that differed.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.notejam.aws.plugins.module_utils.resource import AwsResource  # noqa: E402

NAMESPACE = "rds"
DIMENSION = "rds:cluster:ReadReplicaCount"
MAX_READERS = 15  # Aurora allows 15 replicas per cluster


class ReplicaAutoscaling(AwsResource):
    service = "application-autoscaling"
    result_key = "scaling"

    def __init__(self, module):
        super().__init__(module)
        self.resource_id = f"cluster:{self.params['db_cluster_identifier']}"
        self.policy_name = self.params["policy_name"] or f"{self.params['db_cluster_identifier']}-readers-cpu"

    def validate(self):
        p = self.params
        if p["state"] == "absent":
            return
        low, high = p["min_capacity"], p["max_capacity"]
        if low is None or high is None:
            self.module.fail_json(msg="min_capacity and max_capacity are required with state=present")
        if not 0 <= low <= MAX_READERS:
            self.module.fail_json(
                msg=f"min_capacity={low} is out of range; accepted: 0 to {MAX_READERS} readers"
            )
        if not 1 <= high <= MAX_READERS:
            self.module.fail_json(
                msg=f"max_capacity={high} is out of range; accepted: 1 to {MAX_READERS} readers"
            )
        if low > high:
            self.module.fail_json(msg=f"min_capacity={low} is above max_capacity={high}")
        if p["target_value"] <= 0 or (
            p["metric"] == "RDSReaderAverageCPUUtilization" and p["target_value"] > 100
        ):
            self.module.fail_json(msg=f"target_value={p['target_value']} is out of range for {p['metric']}")

    def read(self):
        targets = self.client.describe_scalable_targets(
            ServiceNamespace=NAMESPACE, ResourceIds=[self.resource_id], ScalableDimension=DIMENSION
        )["ScalableTargets"]
        if not targets:
            return None
        policies = self.client.describe_scaling_policies(
            ServiceNamespace=NAMESPACE,
            ResourceId=self.resource_id,
            ScalableDimension=DIMENSION,
            PolicyNames=[self.policy_name],
        )["ScalingPolicies"]
        return {"target": targets[0], "policy": policies[0] if policies else None}

    def comparable(self, raw):
        target = raw["target"]
        policy = raw["policy"]
        config = None
        if policy:
            tracking = policy.get("TargetTrackingScalingPolicyConfiguration", {})
            config = {
                "PolicyName": policy["PolicyName"],
                "PredefinedMetricType": tracking.get("PredefinedMetricSpecification", {}).get(
                    "PredefinedMetricType"
                ),
                "TargetValue": float(tracking.get("TargetValue", 0)),
                "ScaleInCooldown": tracking.get("ScaleInCooldown", 0),
                "ScaleOutCooldown": tracking.get("ScaleOutCooldown", 0),
                "DisableScaleIn": bool(tracking.get("DisableScaleIn", False)),
            }
        return {"MinCapacity": target["MinCapacity"], "MaxCapacity": target["MaxCapacity"], "Policy": config}

    def desired(self, before):
        p = self.params
        return {
            "MinCapacity": p["min_capacity"],
            "MaxCapacity": p["max_capacity"],
            "Policy": {
                "PolicyName": self.policy_name,
                "PredefinedMetricType": p["metric"],
                "TargetValue": float(p["target_value"]),
                "ScaleInCooldown": p["scale_in_cooldown"],
                "ScaleOutCooldown": p["scale_out_cooldown"],
                "DisableScaleIn": p["disable_scale_in"],
            },
        }

    def _register(self, after):
        self.client.register_scalable_target(
            ServiceNamespace=NAMESPACE,
            ResourceId=self.resource_id,
            ScalableDimension=DIMENSION,
            MinCapacity=after["MinCapacity"],
            MaxCapacity=after["MaxCapacity"],
        )

    def _put_policy(self, after):
        policy = after["Policy"]
        self.client.put_scaling_policy(
            PolicyName=policy["PolicyName"],
            ServiceNamespace=NAMESPACE,
            ResourceId=self.resource_id,
            ScalableDimension=DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": policy["TargetValue"],
                "PredefinedMetricSpecification": {"PredefinedMetricType": policy["PredefinedMetricType"]},
                "ScaleInCooldown": policy["ScaleInCooldown"],
                "ScaleOutCooldown": policy["ScaleOutCooldown"],
                "DisableScaleIn": policy["DisableScaleIn"],
            },
        )

    def create(self, after):
        self._register(after)
        self._put_policy(after)

    def update(self, before, after, changes):
        if any(c in ("MinCapacity", "MaxCapacity") for c in changes):
            self._register(after)
        if any(c == "Policy" or c.startswith("Policy.") for c in changes):
            self._put_policy(after)

    def delete(self, raw):
        if raw["policy"]:
            self.client.delete_scaling_policy(
                PolicyName=self.policy_name,
                ServiceNamespace=NAMESPACE,
                ResourceId=self.resource_id,
                ScalableDimension=DIMENSION,
            )
        self.client.deregister_scalable_target(
            ServiceNamespace=NAMESPACE, ResourceId=self.resource_id, ScalableDimension=DIMENSION
        )


def main():
    argument_spec = {
        "db_cluster_identifier": {"type": "str", "required": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "min_capacity": {"type": "int"},
        "max_capacity": {"type": "int"},
        "policy_name": {"type": "str"},
        "metric": {
            "type": "str",
            "default": "RDSReaderAverageCPUUtilization",
            "choices": ["RDSReaderAverageCPUUtilization", "RDSReaderAverageDatabaseConnections"],
        },
        "target_value": {"type": "float", "default": 60},
        "scale_in_cooldown": {"type": "int", "default": 300},
        "scale_out_cooldown": {"type": "int", "default": 300},
        "disable_scale_in": {"type": "bool", "default": False},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    ReplicaAutoscaling(module).run()


if __name__ == "__main__":
    main()
