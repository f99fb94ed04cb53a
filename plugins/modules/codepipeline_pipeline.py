#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: codepipeline_pipeline
short_description: Manage a CodePipeline pipeline without an update call on every run
version_added: 0.2.0
description:
  - Ensures a pipeline with the given role, artifact store, stages, type, execution mode and tags,
    or that it is gone.
  - The stages are given as the CodePipeline API writes them (camelCase, as in C(GetPipeline)) and
    are checked against the API's model before any call (an unknown key or enum value fails naming
    its path). They are compared with AWS's defaults made explicit (C(runOrder) 1, empty
    C(configuration) and artifact lists) and the C(EnvironmentVariables) of CodeBuild actions compared
    as JSON, so re-running with the same pipeline makes no call; community.aws.codepipeline updates on
    every run.
  - A role made moments before may not be assumable yet; CodePipeline then answers
    C(InvalidStructureException) about C(AssumeRole), which is retried for up to O(role_wait_timeout) seconds.
author:
  - Notejam maintainers (@notejam)
options:
  name:
    description: Name of the pipeline.
    type: str
    required: true
  state:
    description: Whether the pipeline should exist.
    type: str
    choices: [present, absent]
    default: present
  role_arn:
    description: ARN of the role CodePipeline assumes. Required with O(state=present).
    type: str
  artifact_bucket:
    description: S3 bucket of the pipeline's artifacts. Required with O(state=present).
    type: str
  artifact_kms_key:
    description: KMS key ARN (or alias ARN) that encrypts the artifacts; AWS's C(aws/s3) key when not given.
    type: str
  stages:
    description:
      - The stages, in order, each C({name, actions}) as in the CodePipeline API (C(StageDeclaration)).
      - Required with O(state=present); at least two.
    type: list
    elements: dict
  pipeline_type:
    description: V(V2) (variables, triggers, execution modes) or V(V1).
    type: str
    choices: [V1, V2]
    default: V2
  execution_mode:
    description:
      - V(SUPERSEDED) lets a newer run replace an older one waiting at a stage (e.g. at an approval);
        V(QUEUED) runs them one after the other; V(PARALLEL) independently. V2 only for the last two.
    type: str
    choices: [QUEUED, SUPERSEDED, PARALLEL]
    default: SUPERSEDED
  role_wait_timeout:
    description: Seconds to wait for a new O(role_arn) to become assumable by CodePipeline.
    type: int
    default: 120
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Pipeline from GitHub to one CodeBuild project
  notejam.aws.codepipeline_pipeline:
    name: notejam-prod-delivery
    role_arn: arn:aws:iam::123456789012:role/notejam-prod-pipeline
    artifact_bucket: notejam-prod-pipeline-123456789012-eu-west-1
    stages:
      - name: Source
        actions:
          - name: GitHub
            actionTypeId: {category: Source, owner: AWS, provider: CodeStarSourceConnection, version: "1"}
            configuration:
              ConnectionArn: arn:aws:codestar-connections:eu-west-1:123456789012:connection/abc
              FullRepositoryId: example/notejam
              BranchName: main
            outputArtifacts: [{name: SourceArtifact}]
            namespace: SourceVariables
      - name: Test
        actions:
          - name: Test
            actionTypeId: {category: Test, owner: AWS, provider: CodeBuild, version: "1"}
            configuration: {ProjectName: notejam-prod-test}
            inputArtifacts: [{name: SourceArtifact}]
"""

RETURN = r"""
pipeline:
  description: The pipeline as GetPipeline returns it (declaration, metadata, tags); empty when absent.
  returned: always
  type: dict
  contains:
    pipeline_arn:
      description: ARN of the pipeline.
      type: str
    version:
      description: Version of the declaration (increases with every update).
      type: int
    stages:
      description: The stages, as declared.
      type: list
    tags:
      description: Tags of the pipeline.
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

import copy
import json

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.notejam.aws.plugins.module_utils.resource import (
    AwsResource,
    conform,
    refused_for,
    shown,
    tag_delta,
    tags_after,
    until_accepted,
)

_JSON_CONFIGURATION = ("EnvironmentVariables",)


def normalise_action(action):
    """An action with AWS's defaults explicit and JSON-valued configuration in a canonical spelling."""
    result = copy.deepcopy(action)
    result.setdefault("runOrder", 1)
    result.setdefault("inputArtifacts", [])
    result.setdefault("outputArtifacts", [])
    configuration = {str(k): str(v) for k, v in (result.get("configuration") or {}).items()}
    for key in _JSON_CONFIGURATION:
        if key in configuration:
            try:
                value = json.loads(configuration[key])
            except ValueError:
                continue
            if isinstance(value, list):
                value = sorted(value, key=lambda v: str(v.get("name")) if isinstance(v, dict) else str(v))
            configuration[key] = json.dumps(value, sort_keys=True, separators=(",", ":"))
    result["configuration"] = configuration
    return result


def normalise_stages(stages):
    return [
        dict(stage, actions=[normalise_action(a) for a in stage.get("actions") or []])
        for stage in stages or []
    ]


class CodepipelinePipeline(AwsResource):
    service = "codepipeline"
    result_key = "pipeline"
    verbatim_keys = ("tags", "configuration")

    def validate(self):
        p = self.params
        if p["state"] != "present":
            return
        for option in ("role_arn", "artifact_bucket", "stages"):
            if not p[option]:
                self.module.fail_json(msg=f"{option} is required with state=present")
        try:
            self.stages = normalise_stages(
                conform(self.client, "PipelineStageDeclarationList", p["stages"], "stages")
            )
        except ValueError as e:
            self.module.fail_json(msg=str(e))
        if len(self.stages) < 2:
            self.module.fail_json(msg=f"stages: a pipeline needs at least 2 stages, {len(self.stages)} given")
        names = [s["name"] for s in self.stages]
        if len(set(names)) != len(names):
            self.module.fail_json(msg=f"stages: stage names must be unique, got {names}")
        if p["pipeline_type"] == "V1" and p["execution_mode"] != "SUPERSEDED":
            self.module.fail_json(
                msg=f"execution_mode={p['execution_mode']} needs pipeline_type=V2 (V1 accepts SUPERSEDED)"
            )

    def read(self):
        try:
            answer = self.client.get_pipeline(name=self.params["name"])
        except is_boto3_error_code("PipelineNotFoundException"):
            return None
        raw = dict(answer["pipeline"])
        raw["pipelineArn"] = answer.get("metadata", {}).get("pipelineArn")
        tags = self.client.list_tags_for_resource(resourceArn=raw["pipelineArn"]).get("tags", [])
        raw["tags"] = boto3_tag_list_to_ansible_dict(tags, "key", "value")
        return raw

    def comparable(self, raw):
        store = raw.get("artifactStore") or {}
        comparable_store = {"type": store.get("type", "S3"), "location": store.get("location")}
        if store.get("encryptionKey"):
            comparable_store["encryptionKey"] = {
                "id": store["encryptionKey"]["id"],
                "type": store["encryptionKey"].get("type", "KMS"),
            }
        return {
            "roleArn": raw.get("roleArn"),
            "artifactStore": comparable_store,
            "stages": normalise_stages(raw.get("stages")),
            "pipelineType": raw.get("pipelineType") or "V1",
            "executionMode": raw.get("executionMode") or "SUPERSEDED",
            "tags": raw.get("tags") or {},
        }

    def created_defaults(self):
        return {"tags": {}}

    def desired(self, before):
        p = self.params
        store = {"type": "S3", "location": p["artifact_bucket"]}
        if p["artifact_kms_key"]:
            store["encryptionKey"] = {"id": p["artifact_kms_key"], "type": "KMS"}
        return {
            "roleArn": p["role_arn"],
            "artifactStore": store,
            "stages": self.stages,
            "pipelineType": p["pipeline_type"],
            "executionMode": p["execution_mode"],
            "tags": tags_after((before or {}).get("tags") or {}, p["tags"], p["purge_tags"]),
        }

    def _declaration(self, after):
        return {
            "name": self.params["name"],
            "roleArn": after["roleArn"],
            "artifactStore": after["artifactStore"],
            "stages": after["stages"],
            "pipelineType": after["pipelineType"],
            "executionMode": after["executionMode"],
        }

    def _call(self, operation, after, **params):
        params["pipeline"] = self._declaration(after)
        return until_accepted(
            self.module,
            f"CodePipeline to be allowed to assume {after['roleArn']}",
            lambda: getattr(self.client, operation)(**params),
            refused_for("InvalidStructureException", "AssumeRole"),
            self.params["role_wait_timeout"],
        )

    def create(self, after):
        params = {}
        if after.get("tags"):
            params["tags"] = ansible_dict_to_boto3_tag_list(after["tags"], "key", "value")
        self._call("create_pipeline", after, **params)

    def update(self, before, after, changes):
        if any(not c.startswith("tags") for c in changes):
            self._call("update_pipeline", after)
        to_set, to_unset = tag_delta(before["tags"], after["tags"])
        if to_unset:
            self.client.untag_resource(resourceArn=self.arn, tagKeys=list(to_unset))
        if to_set:
            self.client.tag_resource(
                resourceArn=self.arn, tags=ansible_dict_to_boto3_tag_list(to_set, "key", "value")
            )

    def delete(self, raw):
        self.client.delete_pipeline(name=self.params["name"])

    def plan(self):
        raw, before, after, changes = super().plan()
        self.arn = raw and raw["pipelineArn"]
        return raw, before, after, changes

    # camel_dict_to_snake_dict forgets its ignore list inside lists (stages[].actions[].configuration):
    # shown() keeps user data such as the actions' configuration keys as they are, at any depth.
    def returned(self, raw):
        return shown(raw, verbatim=("tags", "configuration"))

    def presented(self, state):
        return shown(state, verbatim=("tags", "configuration"))


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "role_arn": {"type": "str"},
        "artifact_bucket": {"type": "str"},
        "artifact_kms_key": {"type": "str", "no_log": False},
        "stages": {"type": "list", "elements": "dict"},
        "pipeline_type": {"type": "str", "choices": ["V1", "V2"], "default": "V2"},
        "execution_mode": {
            "type": "str",
            "choices": ["QUEUED", "SUPERSEDED", "PARALLEL"],
            "default": "SUPERSEDED",
        },
        "role_wait_timeout": {"type": "int", "default": 120},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    CodepipelinePipeline(module).run()


if __name__ == "__main__":
    main()
