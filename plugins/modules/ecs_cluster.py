#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: ecs_cluster
short_description: Create, update or delete an ECS cluster (Container Insights, capacity providers, tags)
version_added: 0.1.0
description:
  - Ensures an Amazon ECS cluster exists with the given Container Insights setting, capacity
    providers, default capacity provider strategy and tags, or that it is gone.
  - Compares only what you set; an option left out is left as it is in AWS.
  - A second run with the same options makes no write call and reports no change; check mode
    makes no write call and reports the difference, which C(--diff) shows.
author:
  - Notejam maintainers (@notejam)
options:
  name:
    description: Name of the cluster.
    type: str
    required: true
  state:
    description: Whether the cluster should exist.
    type: str
    choices: [present, absent]
    default: present
  container_insights:
    description:
      - CloudWatch Container Insights for the cluster. V(enhanced) adds task and container level metrics.
      - Left as it is when not given (AWS creates clusters with V(disabled)).
    type: str
    choices: [enabled, disabled, enhanced]
  capacity_providers:
    description:
      - Capacity providers associated with the cluster, for example V(FARGATE) and V(FARGATE_SPOT).
      - Order does not matter. Left as it is when not given.
    type: list
    elements: str
  default_capacity_provider_strategy:
    description:
      - Strategy used by services and tasks that name neither a launch type nor a strategy.
      - Left as it is when not given.
    type: list
    elements: dict
    suboptions:
      capacity_provider:
        description: Name of a capacity provider listed in O(capacity_providers).
        type: str
        required: true
      weight:
        description: Relative share of tasks placed with this provider.
        type: int
        default: 0
      base:
        description: Tasks placed with this provider before weights apply.
        type: int
        default: 0
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Cluster with Container Insights on Fargate
  notejam.aws.ecs_cluster:
    name: notejam-dev-cluster
    container_insights: enabled
    capacity_providers: [FARGATE, FARGATE_SPOT]
    default_capacity_provider_strategy:
      - capacity_provider: FARGATE
        weight: 1
        base: 1
    tags:
      Project: notejam
      Environment: dev
      ManagedBy: ansible

- name: Remove the cluster (its services must be gone first)
  notejam.aws.ecs_cluster:
    name: notejam-dev-cluster
    state: absent
"""

RETURN = r"""
cluster:
  description:
    - The cluster as ECS describes it after the run; empty when absent.
    - In check mode, the predicted managed fields.
  returned: always
  type: dict
  contains:
    cluster_arn:
      description: ARN of the cluster.
      type: str
      sample: arn:aws:ecs:eu-west-1:123456789012:cluster/notejam-dev-cluster
    cluster_name:
      description: Name of the cluster.
      type: str
    status:
      description: Status of the cluster.
      type: str
      sample: ACTIVE
    settings:
      description: Cluster settings such as C(containerInsights).
      type: list
      elements: dict
    tags:
      description: Tags of the cluster.
      type: dict
changes:
  description: Paths of the managed fields that differed (and were changed unless in check mode).
  returned: always
  type: list
  elements: str
  sample: ["settings.containerInsights"]
diff:
  description: Managed fields before and after.
  returned: always
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.notejam.aws.plugins.module_utils.ecs import (
    apply_ecs_tags,
    capacity_provider_strategy,
    dict_to_ecs_tags,
    ecs_tags_to_dict,
)
from ansible_collections.notejam.aws.plugins.module_utils.resource import AwsResource, tags_after


class EcsCluster(AwsResource):
    service = "ecs"
    result_key = "cluster"

    def validate(self):
        providers = self.params.get("capacity_providers")
        strategy = self.params.get("default_capacity_provider_strategy") or []
        if providers is not None:
            missing = sorted({s["capacity_provider"] for s in strategy} - set(providers))
            if missing:
                self.module.fail_json(
                    msg=f"default_capacity_provider_strategy names {', '.join(missing)}, which "
                    f"capacity_providers does not list; accepted: {', '.join(providers) or 'none'}"
                )

    def read(self):
        found = self.client.describe_clusters(
            clusters=[self.params["name"]], include=["TAGS", "SETTINGS", "CONFIGURATIONS"]
        ).get("clusters", [])
        active = [c for c in found if c.get("status") != "INACTIVE"]
        if not active:
            return None
        cluster = active[0]
        cluster["tags"] = ecs_tags_to_dict(cluster.get("tags"))
        return cluster

    def comparable(self, raw):
        settings = {s["name"]: s["value"] for s in raw.get("settings") or []}
        return {
            "settings": {"containerInsights": settings.get("containerInsights", "disabled")},
            "capacityProviders": sorted(raw.get("capacityProviders") or []),
            "defaultCapacityProviderStrategy": capacity_provider_strategy(
                raw.get("defaultCapacityProviderStrategy") or []
            ),
            "tags": raw["tags"],
        }

    def created_defaults(self):
        return {
            "settings": {"containerInsights": "disabled"},
            "capacityProviders": [],
            "defaultCapacityProviderStrategy": [],
            "tags": {},
        }

    def desired(self, before):
        p = self.params
        providers = p["capacity_providers"]
        return {
            "settings": {"containerInsights": p["container_insights"]},
            "capacityProviders": None if providers is None else sorted(set(providers)),
            "defaultCapacityProviderStrategy": capacity_provider_strategy(
                p["default_capacity_provider_strategy"]
            ),
            "tags": tags_after((before or {}).get("tags") or {}, p["tags"], p["purge_tags"]),
        }

    def create(self, after):
        params = {
            "clusterName": self.params["name"],
            "settings": [{"name": "containerInsights", "value": after["settings"]["containerInsights"]}],
        }
        if after["capacityProviders"]:
            params["capacityProviders"] = after["capacityProviders"]
        if after["defaultCapacityProviderStrategy"]:
            params["defaultCapacityProviderStrategy"] = after["defaultCapacityProviderStrategy"]
        if after["tags"]:
            params["tags"] = dict_to_ecs_tags(after["tags"])
        # CreateCluster returns the existing cluster for a name that exists: safe to retry.
        self.client.create_cluster(**params)

    def update(self, before, after, changes):
        name = self.params["name"]
        if any(c.startswith("settings") for c in changes):
            # UpdateCluster(settings=...) rather than UpdateClusterSettings: same effect in AWS.
            self.client.update_cluster(
                cluster=name,
                settings=[{"name": "containerInsights", "value": after["settings"]["containerInsights"]}],
            )
        if any(c.startswith(("capacityProviders", "defaultCapacityProviderStrategy")) for c in changes):
            self.client.put_cluster_capacity_providers(
                cluster=name,
                capacityProviders=after["capacityProviders"],
                defaultCapacityProviderStrategy=after["defaultCapacityProviderStrategy"],
            )
        apply_ecs_tags(self.client, self.current_arn, before["tags"], after["tags"])

    def plan(self):
        raw, before, after, changes = super().plan()
        self.current_arn = raw and raw["clusterArn"]
        return raw, before, after, changes

    def delete(self, raw):
        self.client.delete_cluster(cluster=raw["clusterArn"])


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "container_insights": {"type": "str", "choices": ["enabled", "disabled", "enhanced"]},
        "capacity_providers": {"type": "list", "elements": "str"},
        "default_capacity_provider_strategy": {
            "type": "list",
            "elements": "dict",
            "options": {
                "capacity_provider": {"type": "str", "required": True},
                "weight": {"type": "int", "default": 0},
                "base": {"type": "int", "default": 0},
            },
        },
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    EcsCluster(module).run()


if __name__ == "__main__":
    main()
