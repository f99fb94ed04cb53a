"""ECR repository creation templates: moto 5.2.5 has none (the four operations answer HTTP 500); the
stand-ins below serve them, shaped by botocore's ``ecr`` model (2015-09-21) and the Amazon ECR API
reference:

- CreateRepositoryCreationTemplate
  (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepositoryCreationTemplate.html):
  ``prefix`` and ``appliedFor`` are required. The prefix is ``ROOT`` or a repository namespace
  matching the model's pattern (lower case, ``/``-separated parts); anything else answers
  ValidationException. ``appliedFor`` holds REPLICATION, PULL_THROUGH_CACHE or CREATE_ON_PUSH, at
  least one; ``imageTagMutability`` one of the model's enum (MUTABLE when left out, as the page
  says); ``encryptionConfiguration.encryptionType`` AES256, KMS or KMS_DSSE, and a ``kmsKey`` only
  with a KMS type, as a full key ARN ("The full ARN of the AWS KMS key must be specified",
  API_EncryptionConfigurationForRepositoryCreationTemplate.html) in the registry's own region ("The
  key must exist in the same Region as the repository"); ``customRoleArn`` a role of the same account
  ("This role must be in the same account as the registry that you are configuring"); the
  description at most 256 characters; at most 50 resource tags. A second template for a prefix
  answers TemplateAlreadyExistsException.
- DescribeRepositoryCreationTemplates
  (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeRepositoryCreationTemplates.html):
  every template, or those of ``prefixes``; ``maxResults`` 1 to 1000 (100 when left out) with
  ``nextToken`` paging. An unknown prefix is simply not listed.
- UpdateRepositoryCreationTemplate
  (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_UpdateRepositoryCreationTemplate.html):
  the fields given replace the template's; an unknown prefix answers TemplateNotFoundException.
- DeleteRepositoryCreationTemplate
  (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DeleteRepositoryCreationTemplate.html):
  returns the deleted template; an unknown prefix answers TemplateNotFoundException.

Every answer carries ``registryId``. Templates belong to a registry (account and region) and live on
moto's ECR backend of that region, so they go when moto's state is reset.

Not built: applying a template. This moto's ECR stores a replication configuration but never copies
an image, so no repository is ever created by replication (or pull through cache) here, and there is
nothing to apply a REPLICATION template to; what ECR would create can only be checked on AWS.
"""

import re
import threading
import time

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecr.models import ecr_backends

from tests.emulator.standins import StandinError

SERVICE = "ecr"
_lock = threading.Lock()

_PREFIX = re.compile(r"^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$")
_APPLIED_FOR = ("REPLICATION", "PULL_THROUGH_CACHE", "CREATE_ON_PUSH")
_MUTABILITY = ("MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
_ENCRYPTION = ("AES256", "KMS", "KMS_DSSE")
_KMS_ARN = re.compile(r"^arn:aws[a-z0-9-]*:kms:([a-z0-9-]+):([0-9]{12}):key/[a-z0-9-]+$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z0-9-]*:iam::([0-9]{12}):role/[\w+=,.@/-]{1,512}$")
_MAX_TAGS = 50


def _templates(region):
    """The registry's templates by prefix, kept on moto's ECR backend of ``region``."""
    backend = ecr_backends[DEFAULT_ACCOUNT_ID][region]
    if not hasattr(backend, "notejam_creation_templates"):
        backend.notejam_creation_templates = {}
    return backend.notejam_creation_templates


def _invalid(field, value, constraint):
    return StandinError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{field}' "
        f"failed to satisfy constraint: {constraint}",
    )


def _check_prefix(prefix):
    if not isinstance(prefix, str) or not 1 <= len(prefix) <= 256 or not _PREFIX.match(prefix):
        raise _invalid(
            "prefix", prefix, "Member must satisfy regular expression pattern: ROOT or a namespace"
        )
    return prefix


def _checked_fields(params, region, creating):
    """The template fields of a Create or Update request, validated as the API reference says."""
    fields = {}
    if "appliedFor" in params or creating:
        applied = params.get("appliedFor") or []
        if not applied:
            raise _invalid("appliedFor", applied, "Member must have length greater than or equal to 1")
        for item in applied:
            if item not in _APPLIED_FOR:
                raise _invalid(
                    "appliedFor", item, f"Member must satisfy enum value set: {list(_APPLIED_FOR)}"
                )
        fields["appliedFor"] = list(dict.fromkeys(applied))
    if "imageTagMutability" in params:
        mutability = params["imageTagMutability"]
        if mutability not in _MUTABILITY:
            raise _invalid(
                "imageTagMutability", mutability, f"Member must satisfy enum value set: {list(_MUTABILITY)}"
            )
        fields["imageTagMutability"] = mutability
    if "encryptionConfiguration" in params:
        encryption = dict(params["encryptionConfiguration"] or {})
        kind, key = encryption.get("encryptionType"), encryption.get("kmsKey")
        if kind not in _ENCRYPTION:
            raise _invalid(
                "encryptionConfiguration.encryptionType",
                kind,
                f"Member must satisfy enum value set: {list(_ENCRYPTION)}",
            )
        if key:
            match = _KMS_ARN.match(key)
            if kind == "AES256":
                raise StandinError(
                    "InvalidParameterException", "kmsKey is only accepted with a KMS encryption type"
                )
            if not match:
                raise _invalid(
                    "encryptionConfiguration.kmsKey", key, "Member must be the full ARN of a KMS key"
                )
            if match.group(1) != region:
                raise StandinError(
                    "InvalidParameterException", f"KMS key {key} must be in the registry's region {region}"
                )
        fields["encryptionConfiguration"] = {k: v for k, v in encryption.items() if v}
    if "customRoleArn" in params:
        role = params["customRoleArn"] or ""
        match = _ROLE_ARN.match(role)
        if role and (not match or match.group(1) != DEFAULT_ACCOUNT_ID):
            raise StandinError(
                "InvalidParameterException",
                f"customRoleArn {role} must be an IAM role of the registry's account {DEFAULT_ACCOUNT_ID}",
            )
        fields["customRoleArn"] = role
    if "description" in params:
        description = params["description"] or ""
        if len(description) > 256:
            raise _invalid("description", description, "Member must have length less than or equal to 256")
        fields["description"] = description
    if "resourceTags" in params:
        tags = params["resourceTags"] or []
        if len(tags) > _MAX_TAGS or any("Key" not in t or "Value" not in t for t in tags):
            raise StandinError(
                "InvalidParameterException", f"resourceTags: at most {_MAX_TAGS} tags, each a Key and a Value"
            )
        fields["resourceTags"] = [{"Key": t["Key"], "Value": t["Value"]} for t in tags]
    for name in ("repositoryPolicy", "lifecyclePolicy"):
        if name in params:
            fields[name] = params[name] or ""
    return fields


def _shown(template):
    return {k: v for k, v in template.items() if v not in ("", None, [])}


def create_repository_creation_template(call):
    params = call.params()
    prefix = _check_prefix(params.get("prefix"))
    fields = _checked_fields(params, call.region, creating=True)
    now = time.time()
    template = {
        "prefix": prefix,
        "imageTagMutability": "MUTABLE",
        "encryptionConfiguration": {"encryptionType": "AES256"},
        **fields,
        "createdAt": now,
        "updatedAt": now,
    }
    with _lock:
        templates = _templates(call.region)
        if prefix in templates:
            raise StandinError(
                "TemplateAlreadyExistsException",
                f"A repository creation template with prefix '{prefix}' already exists",
            )
        templates[prefix] = template
    return 200, {"registryId": DEFAULT_ACCOUNT_ID, "repositoryCreationTemplate": _shown(template)}


def describe_repository_creation_templates(call):
    params = call.params()
    max_results = params.get("maxResults", 100)
    if not isinstance(max_results, int) or not 1 <= max_results <= 1000:
        raise _invalid("maxResults", max_results, "Member must have value between 1 and 1000")
    wanted = params.get("prefixes")
    for prefix in wanted or []:
        _check_prefix(prefix)
    with _lock:
        templates = _templates(call.region)
        found = [_shown(t) for p, t in sorted(templates.items()) if wanted is None or p in wanted]
    token = params.get("nextToken")
    try:
        start = int(token) if token else 0
    except ValueError:
        raise StandinError("InvalidParameterException", "Invalid nextToken") from None
    payload = {
        "registryId": DEFAULT_ACCOUNT_ID,
        "repositoryCreationTemplates": found[start : start + max_results],
    }
    if start + max_results < len(found):
        payload["nextToken"] = str(start + max_results)
    return 200, payload


def _not_found(prefix):
    return StandinError(
        "TemplateNotFoundException", f"The repository creation template with prefix '{prefix}' does not exist"
    )


def update_repository_creation_template(call):
    params = call.params()
    prefix = _check_prefix(params.get("prefix"))
    fields = _checked_fields(params, call.region, creating=False)
    with _lock:
        templates = _templates(call.region)
        if prefix not in templates:
            raise _not_found(prefix)
        templates[prefix].update(fields, updatedAt=time.time())
        template = dict(templates[prefix])
    return 200, {"registryId": DEFAULT_ACCOUNT_ID, "repositoryCreationTemplate": _shown(template)}


def delete_repository_creation_template(call):
    prefix = _check_prefix(call.params().get("prefix"))
    with _lock:
        templates = _templates(call.region)
        if prefix not in templates:
            raise _not_found(prefix)
        template = templates.pop(prefix)
    return 200, {"registryId": DEFAULT_ACCOUNT_ID, "repositoryCreationTemplate": _shown(template)}


STANDINS = {
    (SERVICE, "CreateRepositoryCreationTemplate"): create_repository_creation_template,
    (SERVICE, "DescribeRepositoryCreationTemplates"): describe_repository_creation_templates,
    (SERVICE, "UpdateRepositoryCreationTemplate"): update_repository_creation_template,
    (SERVICE, "DeleteRepositoryCreationTemplate"): delete_repository_creation_template,
}


def apply():
    """Nothing to patch in moto: the operations are served by the stand-ins alone."""
