#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: ecr_repository_creation_template
short_description: Manage an ECR repository creation template
version_added: 0.3.0
description:
  - A repository creation template holds the settings ECR gives the repositories it creates on your
    behalf in one registry (account and region) for replication, pull through cache or create on
    push. It applies to repositories created after it exists; repositories already there keep theirs.
  - Without a template that applies, a repository ECR creates by replication gets ECR's defaults,
    AES-256 encryption and mutable tags, whatever the source repository has.
  - The template is found by O(prefix); its fields are compared with what AWS returns, AWS's defaults
    made explicit, so a re-run makes no write call. A change is one C(UpdateRepositoryCreationTemplate)
    carrying the whole template.
author:
  - Notejam maintainers (@notejam)
options:
  prefix:
    description:
      - The repository namespace the template applies to, or C(ROOT) for every repository that no
        other template's prefix matches.
      - ECR appends an assumed C(/) to a prefix, so C(prod) matches C(prod/...) names only, never a
        repository named C(prod) or C(prod-app); repositories without a C(/) in their name are covered
        by C(ROOT) only (Amazon ECR API reference, C(CreateRepositoryCreationTemplate), C(prefix)).
    type: str
    required: true
  applied_for:
    description:
      - When ECR uses the template. Required with O(state=present) when the template does not exist.
    type: list
    elements: str
    choices: [REPLICATION, PULL_THROUGH_CACHE, CREATE_ON_PUSH]
  image_tag_mutability:
    description:
      - Tag mutability of the repositories created. Left out, kept (C(MUTABLE) for a new template).
      - The C(*_WITH_EXCLUSION) settings need exclusion filters, which this module does not manage.
    type: str
    choices: [MUTABLE, IMMUTABLE]
  encryption_type:
    description:
      - Encryption at rest of the repositories created. Left out, kept (C(AES256) for a new template).
      - C(KMS) without O(kms_key) uses the AWS managed key for ECR (C(aws/ecr)) of the region.
    type: str
    choices: [AES256, KMS, KMS_DSSE]
  kms_key:
    description:
      - Full ARN of a KMS key in the template's region (ECR accepts no alias or key ID here). Only with
        O(encryption_type=KMS) or C(KMS_DSSE), and only with O(custom_role_arn).
    type: str
  custom_role_arn:
    description:
      - Role of this account that ECR assumes to create the repositories. The Amazon ECR User Guide
        ("Creating a repository creation template") requires one for a template with a KMS key or
        resource tags; it must trust C(ecr.amazonaws.com) and may use the key and tag repositories.
      - Left out, kept; an empty string removes it (ECR then uses its service-linked role).
    type: str
  resource_tags:
    description:
      - Tags given to every repository created. Left out, kept; given, they replace the template's tags.
    type: dict
  description:
    description: Description of the template (at most 256 characters). Left out, kept.
    type: str
  lifecycle_policy:
    description: Lifecycle policy of the repositories created (a dict). Left out, kept; C({}) removes it.
    type: json
  state:
    description: Whether the template should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Replicated repositories in the DR region get immutable tags and a KMS key
  notejam.aws.ecr_repository_creation_template:
    prefix: ROOT
    applied_for: [REPLICATION]
    image_tag_mutability: IMMUTABLE
    encryption_type: KMS
    kms_key: arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    custom_role_arn: arn:aws:iam::123456789012:role/notejam-prod-ecr-template
    resource_tags: {Project: notejam}
    region: eu-central-1
"""

RETURN = r"""
template:
  description: The template after the run (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    prefix:
      description: The template's prefix.
      type: str
    applied_for:
      description: When ECR uses it.
      type: list
    image_tag_mutability:
      description: Tag mutability of the repositories created.
      type: str
    encryption_configuration:
      description: C(encryption_type) and, for a customer managed key, C(kms_key).
      type: dict
    resource_tags:
      description: Tags of the repositories created, as a dict.
      type: dict
    custom_role_arn:
      description: The role ECR assumes ('' for its service-linked role).
      type: str
changes:
  description: Paths of the managed fields that differed.
  returned: always
  type: list
  elements: str
diff:
  description: The template before and after.
  returned: always
  type: dict
"""

import json
import re

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.notejam.aws.plugins.module_utils.resource import (
    AwsResource,
    paginate,
    snake,
    whole,
)

try:
    import botocore
except ImportError:  # AnsibleAWSModule reports the missing dependency
    botocore = None

# The patterns of botocore's ecr model (Prefix, KmsKeyForRepositoryCreationTemplate).
_PREFIX = re.compile(r"^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*/?|ROOT)$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z0-9-]*:kms:([a-z0-9-]+):[0-9]{12}:key/[a-z0-9-]+$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z0-9-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$")


class EcrRepositoryCreationTemplate(AwsResource):
    service = "ecr"
    result_key = "template"

    def validate(self):
        p = self.params
        prefix = p["prefix"]
        if not (1 <= len(prefix) <= 256 and _PREFIX.match(prefix)):
            self.module.fail_json(
                msg=f"prefix={prefix!r} is not accepted: ROOT, or a repository namespace in lower case "
                "(letters, digits, '.', '_', '-', parts separated by '/'), e.g. notejam or team/notejam"
            )
        if p["state"] != "present":
            return
        if p["applied_for"] is not None and not p["applied_for"]:
            self.module.fail_json(
                msg="applied_for is empty; accepted: one or more of "
                "REPLICATION, PULL_THROUGH_CACHE, CREATE_ON_PUSH"
            )
        key = p["kms_key"]
        if key is not None:
            if key == "":
                self.module.fail_json(
                    msg="kms_key is empty: give the full ARN of a KMS key, or leave kms_key out to use the "
                    "AWS managed key for ECR (aws/ecr)"
                )
            if p["encryption_type"] not in ("KMS", "KMS_DSSE"):
                self.module.fail_json(
                    msg=f"kms_key is given with encryption_type={p['encryption_type']}; "
                    "a key is used only with encryption_type KMS or KMS_DSSE"
                )
            match = _KMS_KEY_ARN.match(key)
            if not match:
                self.module.fail_json(
                    msg=f"kms_key={key!r} is not accepted: ECR wants the key's full ARN "
                    "(arn:aws:kms:<region>:<account>:key/<key id>), not an alias or key ID"
                )
            if match.group(1) != self.module.region:
                self.module.fail_json(
                    msg=f"kms_key is a key of {match.group(1)}; the template's repositories are in "
                    f"{self.module.region} and ECR needs a key of that region"
                )
        role = p["custom_role_arn"]
        if role and not _ROLE_ARN.match(role):
            self.module.fail_json(
                msg=f"custom_role_arn={role!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
            )
        if (key or p["resource_tags"]) and role == "":
            self.module.fail_json(
                msg="custom_role_arn is empty, but ECR needs a role of yours to create repositories with a "
                "KMS key (kms_key) or resource tags (resource_tags)"
            )
        if p["description"] is not None and len(p["description"]) > 256:
            self.module.fail_json(msg=f"description is {len(p['description'])} characters long; at most 256")
        if p["lifecycle_policy"] is not None:
            try:
                json.loads(p["lifecycle_policy"])
            except ValueError as e:
                self.module.fail_json(msg=f"lifecycle_policy is not JSON: {e}")

    def read(self):
        try:
            found = paginate(
                self.client,
                "describe_repository_creation_templates",
                "repositoryCreationTemplates",
                prefixes=[self.params["prefix"]],
            )
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") == "TemplateNotFoundException":
                return None
            raise
        ours = [t for t in found if t.get("prefix") == self.params["prefix"]]
        return ours[0] if ours else None

    def comparable(self, raw):
        encryption = raw.get("encryptionConfiguration") or {"encryptionType": "AES256"}
        lifecycle = raw.get("lifecyclePolicy") or ""
        return {
            "appliedFor": sorted(raw.get("appliedFor") or []),
            "imageTagMutability": raw.get("imageTagMutability") or "MUTABLE",
            "encryptionConfiguration": {k: v for k, v in encryption.items() if v},
            "customRoleArn": raw.get("customRoleArn") or "",
            "description": raw.get("description") or "",
            "resourceTags": {t["Key"]: t["Value"] for t in raw.get("resourceTags") or []},
            "lifecyclePolicy": json.loads(lifecycle) if lifecycle else {},
        }

    def created_defaults(self):
        return {
            "appliedFor": [],
            "imageTagMutability": "MUTABLE",
            "encryptionConfiguration": {"encryptionType": "AES256"},
            "customRoleArn": "",
            "description": "",
            "resourceTags": {},
            "lifecyclePolicy": {},
        }

    def desired(self, before):
        p = self.params
        if before is None and not p["applied_for"]:
            self.module.fail_json(
                msg=f"applied_for is required to create the template {p['prefix']}; accepted: one or more of "
                "REPLICATION, PULL_THROUGH_CACHE, CREATE_ON_PUSH"
            )
        encryption = None
        if p["encryption_type"] is not None:
            encryption = {"encryptionType": p["encryption_type"]}
            if p["kms_key"]:
                encryption["kmsKey"] = p["kms_key"]
        tags = p["resource_tags"]
        lifecycle = p["lifecycle_policy"]
        after_role = (
            p["custom_role_arn"] if p["custom_role_arn"] is not None else (before or {}).get("customRoleArn")
        )
        after_tags = tags if tags is not None else (before or {}).get("resourceTags")
        after_key = (encryption or (before or {}).get("encryptionConfiguration") or {}).get("kmsKey")
        if (after_key or after_tags) and not after_role:
            self.module.fail_json(
                msg="custom_role_arn is required: ECR creates repositories with a KMS key or resource tags "
                "only with a role of yours (Amazon ECR User Guide, 'Creating a repository creation template')"
            )
        return {
            "appliedFor": sorted(set(p["applied_for"])) if p["applied_for"] else None,
            "imageTagMutability": p["image_tag_mutability"],
            "encryptionConfiguration": whole(encryption),
            "customRoleArn": p["custom_role_arn"],
            "description": p["description"],
            "resourceTags": whole({str(k): str(v) for k, v in tags.items()}) if tags is not None else None,
            "lifecyclePolicy": whole(json.loads(lifecycle)) if lifecycle is not None else None,
        }

    def _request(self, after):
        request = {
            "prefix": self.params["prefix"],
            "appliedFor": after["appliedFor"],
            "imageTagMutability": after["imageTagMutability"],
            "encryptionConfiguration": after["encryptionConfiguration"],
            "customRoleArn": after["customRoleArn"],
            "description": after["description"],
            "resourceTags": [{"Key": k, "Value": v} for k, v in sorted(after["resourceTags"].items())],
            "lifecyclePolicy": json.dumps(after["lifecyclePolicy"], sort_keys=True)
            if after["lifecyclePolicy"]
            else "",
        }
        return request

    def create(self, after):
        request = self._request(after)
        # An empty optional field is left out of a create (it is the default).
        for name in ("customRoleArn", "description", "resourceTags", "lifecyclePolicy"):
            if not request[name]:
                request.pop(name)
        try:
            self.client.create_repository_creation_template(**request)
        except botocore.exceptions.ClientError as e:
            # The create has no client token: when a retry follows an attempt that AWS carried out
            # (its answer lost), the template is there already, so it is updated to the same state.
            if e.response.get("Error", {}).get("Code") != "TemplateAlreadyExistsException":
                raise
            self.client.update_repository_creation_template(**self._request(after))

    def update(self, before, after, changes):
        self.client.update_repository_creation_template(**self._request(after))

    def delete(self, raw):
        try:
            self.client.delete_repository_creation_template(prefix=self.params["prefix"])
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") != "TemplateNotFoundException":
                raise

    def presented(self, state):
        shown = snake({k: v for k, v in state.items() if k not in ("resourceTags", "lifecyclePolicy")})
        shown["resource_tags"] = dict(state.get("resourceTags") or {})
        shown["lifecycle_policy"] = dict(state.get("lifecyclePolicy") or {})
        return shown

    def returned(self, raw):
        shown = self.presented(self.comparable(raw))
        shown["prefix"] = raw["prefix"]
        for stamp, name in (("createdAt", "created_at"), ("updatedAt", "updated_at")):
            if raw.get(stamp) is not None:
                shown[name] = str(raw[stamp])
        return shown


def main():
    argument_spec = {
        "prefix": {"type": "str", "required": True},
        "applied_for": {
            "type": "list",
            "elements": "str",
            "choices": ["REPLICATION", "PULL_THROUGH_CACHE", "CREATE_ON_PUSH"],
        },
        "image_tag_mutability": {
            "type": "str",
            "choices": ["MUTABLE", "IMMUTABLE"],
        },
        "encryption_type": {"type": "str", "choices": ["AES256", "KMS", "KMS_DSSE"]},
        "kms_key": {"type": "str", "no_log": False},
        "custom_role_arn": {"type": "str"},
        "resource_tags": {"type": "dict"},
        "description": {"type": "str"},
        "lifecycle_policy": {"type": "json"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_by={"kms_key": "encryption_type"},
    )
    EcrRepositoryCreationTemplate(module).run()


if __name__ == "__main__":
    main()
