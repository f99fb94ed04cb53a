#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: codestar_connection
short_description: Manage a CodeStar Connections (CodeConnections) connection to a source provider
version_added: 0.2.0
description:
  - Ensures a connection named O(name) to a source provider (GitHub by default) exists with the given
    tags, or that it is gone. The connection is found by name (AWS does not look connections up by
    name, so every connection of the region is listed); more than one connection with that name fails
    the module rather than guess.
  - AWS creates a connection C(PENDING). Only a person can make it C(AVAILABLE), in the console
    (Developer Tools > Settings > Connections > the connection > Update pending connection), because
    the provider's app must be installed and authorised. The module returns RV(connection.connection_status)
    and RV(pending) so the caller can say so; it never waits for it.
  - The provider type is fixed when a connection is created; asking for another one fails before any
    write.
author:
  - Notejam maintainers (@notejam)
options:
  name:
    description: Name of the connection (1 to 32 characters).
    type: str
    required: true
  provider_type:
    description: The source provider.
    type: str
    choices: [GitHub, Bitbucket, GitLab]
    default: GitHub
  state:
    description: Whether the connection should exist.
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
- name: Connection to GitHub (approve it once in the console)
  notejam.aws.codestar_connection:
    name: notejam-prod-github
    tags:
      Project: notejam
      Environment: prod
      ManagedBy: ansible
  register: connection

- name: Say what a person must do
  ansible.builtin.debug:
    msg: "Approve {{ connection.connection.connection_arn }} in the console"
  when: connection.pending
"""

RETURN = r"""
connection:
  description: The connection as AWS describes it, with its tags; empty when absent.
  returned: always
  type: dict
  contains:
    connection_arn:
      description: ARN of the connection (the pipeline's source action names it).
      type: str
    connection_name:
      description: Name of the connection.
      type: str
    connection_status:
      description: C(PENDING) until a person approves it in the console, then C(AVAILABLE) (or C(ERROR)).
      type: str
    provider_type:
      description: The source provider.
      type: str
    tags:
      description: Tags of the connection.
      type: dict
pending:
  description: True while the connection waits for the console step (no pipeline can use it yet).
  returned: always
  type: bool
changes:
  description: Paths of the managed fields that differed.
  returned: always
  type: list
  elements: str
diff:
  description: Managed fields before and after.
  returned: always
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.notejam.aws.plugins.module_utils.resource import (
    AwsResource,
    tag_delta,
    tags_after,
)


class CodestarConnection(AwsResource):
    service = "codestar-connections"
    result_key = "connection"

    def validate(self):
        name = self.params["name"]
        if not 1 <= len(name) <= 32:
            self.module.fail_json(
                msg=f"name={name!r} must be 1 to 32 characters long (a CodeStar connection name)"
            )

    def _list(self):
        """Every connection of the region (ListConnections has no botocore paginator)."""
        found, token = [], None
        while True:
            params = {"MaxResults": 100}
            if token:
                params["NextToken"] = token
            page = self.client.list_connections(**params)
            found.extend(page.get("Connections", []))
            token = page.get("NextToken")
            if not token:
                return found

    def read(self):
        name = self.params["name"]
        matches = [c for c in self._list() if c["ConnectionName"] == name]
        if len(matches) > 1:
            arns = ", ".join(c["ConnectionArn"] for c in matches)
            self.module.fail_json(
                msg=f"{len(matches)} connections are named {name}: {arns}; "
                "delete the extra ones in the console "
                "(the one the pipeline names is in its Source action) and re-run"
            )
        if not matches:
            return None
        connection = dict(matches[0])
        try:
            tags = self.client.list_tags_for_resource(ResourceArn=connection["ConnectionArn"]).get("Tags", [])
        except is_boto3_error_code("ResourceNotFoundException"):
            return None  # deleted between the list and this call
        connection["Tags"] = boto3_tag_list_to_ansible_dict(tags)
        return connection

    def comparable(self, raw):
        return {"ProviderType": raw["ProviderType"], "Tags": raw.get("Tags") or {}}

    def created_defaults(self):
        return {"Tags": {}}

    def desired(self, before):
        p = self.params
        if before is not None and before["ProviderType"] != p["provider_type"]:
            self.module.fail_json(
                msg=f"Connection {p['name']} connects to {before['ProviderType']}; "
                f"provider_type={p['provider_type']} "
                "cannot be changed (delete the connection or use another name)"
            )
        return {
            "ProviderType": p["provider_type"],
            "Tags": tags_after((before or {}).get("Tags") or {}, p["tags"], p["purge_tags"]),
        }

    def create(self, after):
        # No client token in this API: a retried create could make a second connection with the
        # same name, which the next run's look-up reports instead of guessing between them.
        params = {"ConnectionName": self.params["name"], "ProviderType": after["ProviderType"]}
        if after.get("Tags"):
            params["Tags"] = ansible_dict_to_boto3_tag_list(after["Tags"], "Key", "Value")
        self.client.create_connection(**params)

    def update(self, before, after, changes):
        arn = self.raw_arn
        to_set, to_unset = tag_delta(before["Tags"], after["Tags"])
        if to_unset:
            self.client.untag_resource(ResourceArn=arn, TagKeys=list(to_unset))
        if to_set:
            self.client.tag_resource(
                ResourceArn=arn, Tags=ansible_dict_to_boto3_tag_list(to_set, "Key", "Value")
            )

    def delete(self, raw):
        try:
            self.client.delete_connection(ConnectionArn=raw["ConnectionArn"])
        except is_boto3_error_code("ResourceNotFoundException"):
            pass

    def finish(self, raw, before, after, changes, **extra_result):
        # A connection being made, or one still waiting for its console step, is not usable yet.
        status = (raw or {}).get("ConnectionStatus")
        pending = self.params["state"] == "present" and status != "AVAILABLE"
        super().finish(raw, before, after, changes, pending=pending, **extra_result)

    def plan(self):
        raw, before, after, changes = super().plan()
        self.raw_arn = raw and raw["ConnectionArn"]
        return raw, before, after, changes


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "provider_type": {"type": "str", "choices": ["GitHub", "Bitbucket", "GitLab"], "default": "GitHub"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    CodestarConnection(module).run()


if __name__ == "__main__":
    main()
