#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: ecr_repository
short_description: Manage an ECR repository with immutable tags, scan on push, lifecycle policy and encryption
version_added: 0.1.0
description:
  - Ensures an Amazon ECR repository exists with the given tag mutability, scan-on-push setting,
    lifecycle policy, encryption and tags, or that it is gone.
  - The lifecycle policy is compared as JSON (key order, whitespace and rule order do not count),
    so re-running with the same policy makes no call.
  - Encryption is fixed when a repository is created; asking for a different one fails before any
    write instead of silently keeping the old one.
author:
  - Notejam maintainers (@notejam)
options:
  name:
    description: Name of the repository.
    type: str
    required: true
  state:
    description: Whether the repository should exist.
    type: str
    choices: [present, absent]
    default: present
  image_tag_mutability:
    description:
      - V(IMMUTABLE) refuses to overwrite an existing tag, so a deployed tag always names the same image.
    type: str
    choices: [MUTABLE, IMMUTABLE]
    default: IMMUTABLE
  scan_on_push:
    description: Scan each image for vulnerabilities when it is pushed.
    type: bool
    default: true
  lifecycle_policy:
    description:
      - The lifecycle policy, as a dict or a JSON string (the ECR lifecycle policy document).
      - Left as it is when not given, unless O(purge_lifecycle_policy=true).
    type: raw
  purge_lifecycle_policy:
    description: Remove the lifecycle policy when O(lifecycle_policy) is not given.
    type: bool
    default: false
  encryption_type:
    description:
      - Encryption at rest. Only applies when the repository is created; a repository that exists
        with a different setting makes the module fail.
      - Left as it is when not given (AWS creates repositories with V(AES256)).
    type: str
    choices: [AES256, KMS]
  kms_key:
    description:
      - KMS key (ID, ARN, alias name or alias ARN) for O(encryption_type=KMS). Without it AWS uses
        the C(aws/ecr) managed key.
    type: str
  force_delete:
    description: With O(state=absent), delete the repository even if it still holds images.
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Repository for the app image
  notejam.aws.ecr_repository:
    name: notejam-dev-app
    image_tag_mutability: IMMUTABLE
    scan_on_push: true
    encryption_type: KMS
    kms_key: alias/notejam-dev
    lifecycle_policy:
      rules:
        - rulePriority: 1
          description: Expire untagged images after 14 days
          selection:
            tagStatus: untagged
            countType: sinceImagePushed
            countUnit: days
            countNumber: 14
          action:
            type: expire
    tags:
      Project: notejam
      Environment: dev
      ManagedBy: ansible
"""

RETURN = r"""
repository:
  description:
    - The repository as ECR describes it after the run, with its lifecycle policy and tags.
    - Empty when absent; in check mode, the predicted managed fields.
  returned: always
  type: dict
  contains:
    repository_arn:
      description: ARN of the repository.
      type: str
    repository_uri:
      description: URI to push images to and to name in task definitions.
      type: str
      sample: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/notejam-dev-app
    image_tag_mutability:
      description: C(MUTABLE) or C(IMMUTABLE).
      type: str
    image_scanning_configuration:
      description: Scan-on-push setting.
      type: dict
    encryption_configuration:
      description: Encryption type and KMS key.
      type: dict
    lifecycle_policy:
      description: The lifecycle policy document, or null.
      type: dict
    tags:
      description: Tags of the repository.
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

import json

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.notejam.aws.plugins.module_utils.resource import (
    ABSENT,
    AwsResource,
    retrying_client,
    tag_delta,
    tags_after,
    whole,
)


def normalise_lifecycle_policy(policy):
    """A lifecycle policy as a dict with rules in priority order, whatever its spelling."""
    if policy is None or policy == "":
        return None
    document = json.loads(policy) if isinstance(policy, str) else json.loads(json.dumps(policy))
    rules = document.get("rules")
    if isinstance(rules, list):
        document["rules"] = sorted(rules, key=lambda r: r.get("rulePriority", 0))
    return document


class EcrRepository(AwsResource):
    service = "ecr"
    result_key = "repository"
    verbatim_keys = ("tags", "lifecyclePolicy")

    def validate(self):
        p = self.params
        if p["kms_key"] and p["encryption_type"] != "KMS":
            self.module.fail_json(msg="kms_key needs encryption_type=KMS (accepted: AES256, KMS)")
        policy = p["lifecycle_policy"]
        if policy is not None:
            try:
                document = normalise_lifecycle_policy(policy)
            except (TypeError, ValueError) as e:
                self.module.fail_json(msg=f"lifecycle_policy is not valid JSON: {e}")
            if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
                self.module.fail_json(msg="lifecycle_policy must be a document with a 'rules' list")

    def _kms_arn(self, key):
        """The key ARN for an ID, alias or ARN, as ECR records it (AWS stores the key's ARN)."""
        if not key or (key.startswith("arn:") and ":key/" in key):
            return key
        if not hasattr(self, "_kms"):
            self._kms = retrying_client(self.module, "kms")
        try:
            return self._kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
        except is_boto3_error_code("NotFoundException"):
            if self.module.check_mode:
                # A key an earlier task of the same dry run would create: compared as given, so
                # the repository is reported as changing, and nothing is written.
                return key
            self.module.fail_json(msg=f"kms_key={key} was not found")

    def read(self):
        name = self.params["name"]
        try:
            repo = self.client.describe_repositories(repositoryNames=[name])["repositories"][0]
        except is_boto3_error_code("RepositoryNotFoundException"):
            return None
        try:
            text = self.client.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"]
            repo["lifecyclePolicy"] = normalise_lifecycle_policy(text)
        except is_boto3_error_code("LifecyclePolicyNotFoundException"):
            repo["lifecyclePolicy"] = None
        tags = self.client.list_tags_for_resource(resourceArn=repo["repositoryArn"]).get("tags", [])
        repo["tags"] = boto3_tag_list_to_ansible_dict(tags)
        return repo

    def comparable(self, raw):
        encryption = raw.get("encryptionConfiguration") or {"encryptionType": "AES256"}
        comparable_encryption = {"encryptionType": encryption["encryptionType"]}
        if encryption["encryptionType"] == "KMS":
            comparable_encryption["kmsKey"] = encryption.get("kmsKey")  # AWS reports the key's ARN
        return {
            "imageTagMutability": raw.get("imageTagMutability", "MUTABLE"),
            "imageScanningConfiguration": {
                "scanOnPush": bool((raw.get("imageScanningConfiguration") or {}).get("scanOnPush"))
            },
            "encryptionConfiguration": comparable_encryption,
            "lifecyclePolicy": raw.get("lifecyclePolicy"),
            "tags": raw["tags"],
        }

    def created_defaults(self):
        return {
            "imageTagMutability": "MUTABLE",
            "imageScanningConfiguration": {"scanOnPush": False},
            "encryptionConfiguration": {"encryptionType": "AES256"},
            "tags": {},
        }

    def desired(self, before):
        p = self.params
        encryption = None
        if p["encryption_type"]:
            encryption = {"encryptionType": p["encryption_type"]}
            if p["kms_key"]:
                encryption["kmsKey"] = self._kms_arn(p["kms_key"])
            if before is not None:
                current = before["encryptionConfiguration"]
                if current["encryptionType"] != encryption["encryptionType"] or (
                    "kmsKey" in encryption and current.get("kmsKey") != encryption["kmsKey"]
                ):
                    self.module.fail_json(
                        msg=f"Repository {p['name']} is encrypted with {current}; encryption is fixed at "
                        f"creation, so encryption_type={p['encryption_type']} kms_key={p['kms_key']} cannot "
                        "be applied (delete and recreate the repository, or match the current setting)"
                    )
            encryption = whole(encryption)
        policy = normalise_lifecycle_policy(p["lifecycle_policy"])
        if policy is not None:
            policy = whole(policy)
        elif p["purge_lifecycle_policy"]:
            policy = ABSENT
        return {
            "imageTagMutability": p["image_tag_mutability"],
            "imageScanningConfiguration": {"scanOnPush": p["scan_on_push"]},
            "encryptionConfiguration": encryption,
            "lifecyclePolicy": policy,
            "tags": tags_after((before or {}).get("tags") or {}, p["tags"], p["purge_tags"]),
        }

    def plan(self):
        raw, before, after, changes = super().plan()
        self.arn = raw and raw["repositoryArn"]
        return raw, before, after, changes

    def create(self, after):
        name = self.params["name"]
        params = {
            "repositoryName": name,
            "imageTagMutability": after["imageTagMutability"],
            "imageScanningConfiguration": after["imageScanningConfiguration"],
            "encryptionConfiguration": after["encryptionConfiguration"],
        }
        if after.get("tags"):
            params["tags"] = ansible_dict_to_boto3_tag_list(after["tags"])
        try:
            self.client.create_repository(**params)
        except is_boto3_error_code("RepositoryAlreadyExistsException"):
            # A retried create whose first response was lost: the repository is ours; carry on.
            pass
        if after.get("lifecyclePolicy"):
            self.client.put_lifecycle_policy(
                repositoryName=name, lifecyclePolicyText=json.dumps(after["lifecyclePolicy"])
            )

    def update(self, before, after, changes):
        name = self.params["name"]
        if "imageTagMutability" in changes:
            self.client.put_image_tag_mutability(
                repositoryName=name, imageTagMutability=after["imageTagMutability"]
            )
        if "imageScanningConfiguration.scanOnPush" in changes:
            self.client.put_image_scanning_configuration(
                repositoryName=name, imageScanningConfiguration=after["imageScanningConfiguration"]
            )
        if any(c.startswith("lifecyclePolicy") for c in changes):
            if after.get("lifecyclePolicy"):
                self.client.put_lifecycle_policy(
                    repositoryName=name, lifecyclePolicyText=json.dumps(after["lifecyclePolicy"])
                )
            else:
                self.client.delete_lifecycle_policy(repositoryName=name)
        to_set, to_unset = tag_delta(before["tags"], after["tags"])
        if to_unset:
            self.client.untag_resource(resourceArn=self.arn, tagKeys=list(to_unset))
        if to_set:
            self.client.tag_resource(resourceArn=self.arn, tags=ansible_dict_to_boto3_tag_list(to_set))

    def delete(self, raw):
        name = self.params["name"]
        try:
            self.client.delete_repository(repositoryName=name, force=self.params["force_delete"])
        except is_boto3_error_code("RepositoryNotEmptyException"):
            self.module.fail_json(msg=f"Repository {name} holds images; force_delete=true deletes them too")


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "image_tag_mutability": {"type": "str", "choices": ["MUTABLE", "IMMUTABLE"], "default": "IMMUTABLE"},
        "scan_on_push": {"type": "bool", "default": True},
        "lifecycle_policy": {"type": "raw"},
        "purge_lifecycle_policy": {"type": "bool", "default": False},
        "encryption_type": {"type": "str", "choices": ["AES256", "KMS"]},
        "kms_key": {"type": "str", "no_log": False},
        "force_delete": {"type": "bool", "default": False},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    EcrRepository(module).run()


if __name__ == "__main__":
    main()
