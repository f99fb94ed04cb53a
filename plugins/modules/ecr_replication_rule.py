#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: ecr_replication_rule
short_description: "Manage one repository's rule in the ECR registry's replication configuration"
version_added: 0.2.0
description:
  - ECR replication is one configuration per registry (account and region), holding up to 10 rules.
    This module owns exactly one rule, the one whose only repository filter is O(repository)
    (C(PREFIX_MATCH)), and leaves every other rule as it is, so it never clobbers replication that
    other teams configured.
  - The destinations are compared as a set, so a re-run makes no call; a change is one
    C(PutReplicationConfiguration) with the other rules as read just before.
  - C(PREFIX_MATCH) is the only filter type ECR offers, so repositories whose names start with
    O(repository) are replicated too; name repositories so that none is a prefix of another.
  - ECR replicates images pushed after the rule exists; images pushed before are not copied.
author:
  - Notejam maintainers (@notejam)
options:
  repository:
    description: Name of the repository whose images are replicated.
    type: str
    required: true
  destinations:
    description:
      - Where the images go, each C({region, registry_id}); C(registry_id) defaults to this account.
      - Required with O(state=present); 1 to 25 destinations, none the source region of this account.
    type: list
    elements: dict
  state:
    description: Whether the rule should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Replicate the delivery repository to the DR region
  notejam.aws.ecr_replication_rule:
    repository: notejam-prod-app
    destinations:
      - region: eu-central-1
"""

RETURN = r"""
rule:
  description: The repository's replication rule after the run; empty when absent.
  returned: always
  type: dict
  contains:
    destinations:
      description: Each C({region, registry_id}).
      type: list
    repository_filters:
      description: The rule's filter (the repository, C(PREFIX_MATCH)).
      type: list
other_rules:
  description: How many other rules the registry's configuration holds (left as they are).
  returned: always
  type: int
changes:
  description: Paths of the managed fields that differed.
  returned: always
  type: list
  elements: str
diff:
  description: The rule before and after.
  returned: always
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.notejam.aws.plugins.module_utils.resource import AwsResource, snake

_MAX_RULES = 10


class EcrReplicationRule(AwsResource):
    service = "ecr"
    result_key = "rule"

    def _filters(self):
        return [{"filter": self.params["repository"], "filterType": "PREFIX_MATCH"}]

    def _registry(self):
        registry = self.client.describe_registry()
        rules = (registry.get("replicationConfiguration") or {}).get("rules") or []
        ours = [r for r in rules if r.get("repositoryFilters") == self._filters()]
        others = [r for r in rules if r.get("repositoryFilters") != self._filters()]
        return registry["registryId"], ours, others

    def validate(self):
        p = self.params
        if p["state"] != "present":
            return
        destinations = p["destinations"] or []
        if not 1 <= len(destinations) <= 25:
            self.module.fail_json(msg=f"destinations: 1 to 25 accepted, {len(destinations)} given")
        for i, dest in enumerate(destinations):
            unknown = set(dest) - {"region", "registry_id"}
            if unknown or not dest.get("region"):
                self.module.fail_json(
                    msg=f"destinations[{i}] needs a region (and optionally registry_id); got {dest}"
                )

    def read(self):
        registry_id, ours, others = self._registry()
        self.registry_id, self.others = registry_id, others
        return ours[0] if ours else None

    def comparable(self, raw):
        return {
            "destinations": sorted(
                (
                    {"region": d["region"], "registryId": d["registryId"]}
                    for d in raw.get("destinations") or []
                ),
                key=lambda d: (d["region"], d["registryId"]),
            )
        }

    def desired(self, before):
        destinations = sorted(
            (
                {"region": d["region"], "registryId": str(d.get("registry_id") or self.registry_id)}
                for d in self.params["destinations"]
            ),
            key=lambda d: (d["region"], d["registryId"]),
        )
        for dest in destinations:
            if dest["region"] == self.module.region and dest["registryId"] == self.registry_id:
                self.module.fail_json(
                    msg=f"destinations: {dest['region']} is the repository's own region; "
                    "replicate to another region"
                )
        return {"destinations": destinations}

    def _put(self, rules):
        if len(rules) > _MAX_RULES:
            self.module.fail_json(
                msg=f"The registry's replication configuration would hold {len(rules)} rules; "
                f"ECR accepts {_MAX_RULES}"
            )
        self.client.put_replication_configuration(replicationConfiguration={"rules": rules})

    def create(self, after):
        self._put(
            [*self.others, {"destinations": after["destinations"], "repositoryFilters": self._filters()}]
        )

    def update(self, before, after, changes):
        self.create(after)

    def delete(self, raw):
        self._put(self.others)

    def returned(self, raw):
        return snake(raw)

    def finish(self, raw, before, after, changes, **extra_result):
        super().finish(raw, before, after, changes, other_rules=len(self.others), **extra_result)


def main():
    argument_spec = {
        "repository": {"type": "str", "required": True},
        "destinations": {"type": "list", "elements": "dict"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    EcrReplicationRule(module).run()


if __name__ == "__main__":
    main()
