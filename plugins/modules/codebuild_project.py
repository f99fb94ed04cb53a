#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: codebuild_project
short_description: Manage a CodeBuild project that runs as an action of a CodePipeline pipeline
version_added: 0.2.0
description:
  - Ensures a CodeBuild project whose source and artifacts come from CodePipeline (type C(CODEPIPELINE)),
    with the buildspec at a path of the source, a Linux container environment, CloudWatch Logs to a
    given group, a KMS key for its artifacts, timeouts and tags; or that it is gone.
  - The project is compared field by field with AWS's defaults made explicit (environment variables
    in name order, type C(PLAINTEXT) by default), so a re-run makes no call; a change is one
    C(UpdateProject) call with the whole desired project.
  - A service role made moments before may not be assumable yet; CodeBuild then answers
    C(InvalidInputException) naming C(sts:AssumeRole), which is retried for up to
    O(role_wait_timeout) seconds.
author:
  - Notejam maintainers (@notejam)
options:
  name:
    description: Name of the project (2 to 255 characters, letters, digits, C(-) and C(_)).
    type: str
    required: true
  state:
    description: Whether the project should exist.
    type: str
    choices: [present, absent]
    default: present
  description:
    description: Description of the project.
    type: str
  service_role:
    description: ARN of the IAM role the builds run as. Required with O(state=present).
    type: str
  buildspec:
    description:
      - Path of the buildspec in the source (e.g. C(buildspecs/test.yml)).
      - Required with O(state=present).
    type: str
  image:
    description: Build image.
    type: str
    default: aws/codebuild/amazonlinux2-x86_64-standard:5.0
  compute_type:
    description: Compute size of the build container.
    type: str
    default: BUILD_GENERAL1_SMALL
    choices:
      - BUILD_GENERAL1_SMALL
      - BUILD_GENERAL1_MEDIUM
      - BUILD_GENERAL1_LARGE
      - BUILD_GENERAL1_XLARGE
      - BUILD_GENERAL1_2XLARGE
  environment_type:
    description: Container type.
    type: str
    default: LINUX_CONTAINER
    choices: [LINUX_CONTAINER, ARM_CONTAINER]
  privileged_mode:
    description: Run the Docker daemon in the build container (needed to build images).
    type: bool
    default: false
  environment_variables:
    description: Plain-text environment variables of every build (name to value); never secrets.
    type: dict
    default: {}
  log_group:
    description: CloudWatch Logs group of the builds (made beforehand, with its retention).
    type: str
  encryption_key:
    description: KMS key ARN that encrypts the build output artifacts.
    type: str
  timeout_in_minutes:
    description: Minutes after which a build is stopped (5 to 2160).
    type: int
    default: 60
  queued_timeout_in_minutes:
    description: Minutes a build may wait in the queue (5 to 480).
    type: int
    default: 480
  role_wait_timeout:
    description: Seconds to wait for a new O(service_role) to become assumable by CodeBuild.
    type: int
    default: 120
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The test project of the pipeline
  notejam.aws.codebuild_project:
    name: notejam-prod-test
    service_role: arn:aws:iam::123456789012:role/notejam-prod-codebuild-test
    buildspec: buildspecs/test.yml
    log_group: /codebuild/notejam-prod-test
    encryption_key: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    tags:
      Project: notejam
      Environment: prod
      ManagedBy: ansible
"""

RETURN = r"""
project:
  description:
    - The project as CodeBuild describes it; empty when absent.
    - In check mode, the predicted managed fields.
  returned: always
  type: dict
  contains:
    arn:
      description: ARN of the project.
      type: str
    name:
      description: Name of the project.
      type: str
    service_role:
      description: ARN of the role builds run as.
      type: str
    environment:
      description: Image, compute type, privileged mode and environment variables.
      type: dict
    source:
      description: C(CODEPIPELINE) source with the buildspec path.
      type: dict
    tags:
      description: Tags of the project, as a dict.
      type: dict
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

import re

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.notejam.aws.plugins.module_utils.resource import (
    AwsResource,
    refused_for,
    tags_after,
    until_accepted,
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_]{1,254}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CodebuildProject(AwsResource):
    service = "codebuild"
    result_key = "project"

    def validate(self):
        p = self.params
        check = self.module.fail_json
        if not _NAME.match(p["name"]):
            check(
                msg=f"name={p['name']!r}: 2 to 255 characters, letters, digits, '-' and '_', "
                "starting with a letter or digit"
            )
        if p["state"] == "present":
            for option in ("service_role", "buildspec"):
                if not p[option]:
                    check(msg=f"{option} is required with state=present")
            if not str(p["service_role"]).startswith("arn:"):
                check(
                    msg=f"service_role={p['service_role']!r} must be the role's ARN "
                    "(arn:aws:iam::<account>:role/<name>)"
                )
        if not 5 <= p["timeout_in_minutes"] <= 2160:
            check(msg=f"timeout_in_minutes={p['timeout_in_minutes']}: accepted 5 to 2160")
        if not 5 <= p["queued_timeout_in_minutes"] <= 480:
            check(msg=f"queued_timeout_in_minutes={p['queued_timeout_in_minutes']}: accepted 5 to 480")
        for key in p["environment_variables"]:
            if not _ENV_NAME.match(str(key)) or str(key).startswith("CODEBUILD_"):
                check(
                    msg=f"environment_variables.{key}: a variable name (letters, digits, _), "
                    "not starting with CODEBUILD_"
                )

    def read(self):
        found = self.client.batch_get_projects(names=[self.params["name"]]).get("projects", [])
        if not found:
            return None
        project = dict(found[0])
        project["tags"] = boto3_tag_list_to_ansible_dict(project.get("tags") or [], "key", "value")
        return project

    def comparable(self, raw):
        environment = raw.get("environment") or {}
        source = raw.get("source") or {}
        logs = ((raw.get("logsConfig") or {}).get("cloudWatchLogs")) or {"status": "ENABLED"}
        return {
            "description": raw.get("description") or "",
            "serviceRole": raw.get("serviceRole"),
            "source": {"type": source.get("type"), "buildspec": source.get("buildspec") or ""},
            "artifacts": {"type": (raw.get("artifacts") or {}).get("type")},
            "environment": {
                "type": environment.get("type"),
                "image": environment.get("image"),
                "computeType": environment.get("computeType"),
                "privilegedMode": bool(environment.get("privilegedMode", False)),
                "imagePullCredentialsType": environment.get("imagePullCredentialsType") or "CODEBUILD",
                "environmentVariables": sorted(
                    (
                        {
                            "name": v["name"],
                            "value": str(v.get("value", "")),
                            "type": v.get("type") or "PLAINTEXT",
                        }
                        for v in environment.get("environmentVariables") or []
                    ),
                    key=lambda v: v["name"],
                ),
            },
            "logsConfig": {
                "cloudWatchLogs": {k: logs[k] for k in ("status", "groupName", "streamName") if logs.get(k)},
            },
            "encryptionKey": raw.get("encryptionKey"),
            "timeoutInMinutes": int(raw.get("timeoutInMinutes") or 60),
            "queuedTimeoutInMinutes": int(raw.get("queuedTimeoutInMinutes") or 480),
            "tags": raw.get("tags") or {},
        }

    def created_defaults(self):
        return {"tags": {}}

    def desired(self, before):
        p = self.params
        logs = {"status": "ENABLED"}
        if p["log_group"]:
            logs["groupName"] = p["log_group"]
        return {
            "description": p["description"] or "",
            "serviceRole": p["service_role"],
            "source": {"type": "CODEPIPELINE", "buildspec": p["buildspec"]},
            "artifacts": {"type": "CODEPIPELINE"},
            "environment": {
                "type": p["environment_type"],
                "image": p["image"],
                "computeType": p["compute_type"],
                "privilegedMode": p["privileged_mode"],
                "imagePullCredentialsType": "CODEBUILD",
                "environmentVariables": [
                    {"name": str(k), "value": str(v), "type": "PLAINTEXT"}
                    for k, v in sorted(p["environment_variables"].items())
                ],
            },
            "logsConfig": {"cloudWatchLogs": logs},
            "encryptionKey": p["encryption_key"],
            "timeoutInMinutes": p["timeout_in_minutes"],
            "queuedTimeoutInMinutes": p["queued_timeout_in_minutes"],
            "tags": tags_after((before or {}).get("tags") or {}, p["tags"], p["purge_tags"]),
        }

    def _request(self, after):
        request = {
            "name": self.params["name"],
            "description": after["description"],
            "serviceRole": after["serviceRole"],
            "source": after["source"],
            "artifacts": after["artifacts"],
            "environment": after["environment"],
            "logsConfig": after["logsConfig"],
            "timeoutInMinutes": after["timeoutInMinutes"],
            "queuedTimeoutInMinutes": after["queuedTimeoutInMinutes"],
            "tags": ansible_dict_to_boto3_tag_list(after.get("tags") or {}, "key", "value"),
        }
        if after.get("encryptionKey"):
            request["encryptionKey"] = after["encryptionKey"]
        return request

    def _call(self, operation, after):
        request = self._request(after)
        return until_accepted(
            self.module,
            f"CodeBuild to be allowed to assume {after['serviceRole']}",
            lambda: getattr(self.client, operation)(**request),
            refused_for("InvalidInputException", "sts:AssumeRole"),
            self.params["role_wait_timeout"],
        )

    def create(self, after):
        # Created by name: a retry after a lost response answers ResourceAlreadyExistsException,
        # which the next run's read turns into a no-op.
        self._call("create_project", after)

    def update(self, before, after, changes):
        self._call("update_project", after)

    def delete(self, raw):
        self.client.delete_project(name=self.params["name"])


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "description": {"type": "str"},
        "service_role": {"type": "str"},
        "buildspec": {"type": "str"},
        "image": {"type": "str", "default": "aws/codebuild/amazonlinux2-x86_64-standard:5.0"},
        "compute_type": {
            "type": "str",
            "default": "BUILD_GENERAL1_SMALL",
            "choices": [
                "BUILD_GENERAL1_SMALL",
                "BUILD_GENERAL1_MEDIUM",
                "BUILD_GENERAL1_LARGE",
                "BUILD_GENERAL1_XLARGE",
                "BUILD_GENERAL1_2XLARGE",
            ],
        },
        "environment_type": {
            "type": "str",
            "default": "LINUX_CONTAINER",
            "choices": ["LINUX_CONTAINER", "ARM_CONTAINER"],
        },
        "privileged_mode": {"type": "bool", "default": False},
        "environment_variables": {"type": "dict", "default": {}},
        "log_group": {"type": "str"},
        "encryption_key": {"type": "str", "no_log": False},
        "timeout_in_minutes": {"type": "int", "default": 60},
        "queued_timeout_in_minutes": {"type": "int", "default": 480},
        "role_wait_timeout": {"type": "int", "default": 120},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    CodebuildProject(module).run()


if __name__ == "__main__":
    main()
