"""CloudWatch Logs: KMS on log groups as AWS does it, where moto 5.2.5 differs.

- AssociateKmsKey and DisassociateKmsKey: moto lacks them (HTTP 500). Shaped by botocore's ``logs``
  model and the API reference
  (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_AssociateKmsKey.html,
  .../API_DisassociateKmsKey.html): the group must exist (ResourceNotFoundException), the key is named
  by its ARN, and the association replaces the group's ``kmsKeyId``; disassociating clears it.
- CreateLogGroup with ``kmsKeyId`` and AssociateKmsKey check the key as AWS does
  (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/logs/encrypt-log-data-kms.html): the value
  must be a key ARN (an alias is refused, InvalidParameterException), the key must exist in the group's
  region, and its key policy must let ``logs.<region>.amazonaws.com`` use it (Encrypt, Decrypt,
  GenerateDataKey) for this group (a ``kms:EncryptionContext:aws:logs:arn`` condition, if any, must
  match the group's ARN); otherwise AWS answers AccessDeniedException ("The specified KMS key does not
  exist or is not allowed to be used with Arn ..."). moto stored any string without a check.
"""

import fnmatch
import json

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.kms import models as kms_models
from moto.logs import exceptions as logs_exceptions
from moto.logs import models as logs_models
from moto.logs import responses as logs_responses

# What CloudWatch Logs does with the key (encrypt-log-data-kms.html, key policy example).
_NEEDED_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")
_CONTEXT_KEY = "kms:encryptioncontext:aws:logs:arn"


def _denied(key_id, group_arn):
    error = JsonRESTError(
        "AccessDeniedException",
        f"The specified KMS key does not exist or is not allowed to be used with Arn '{group_arn}'",
    )
    error.code = 400
    return error


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _statement_allows(statement, region, group_arn):
    if statement.get("Effect") != "Allow":
        return False
    principal = statement.get("Principal") or {}
    services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
    if f"logs.{region}.amazonaws.com" not in services:
        return False
    actions = [a.lower() for a in _as_list(statement.get("Action", []))]
    if not all(any(fnmatch.fnmatchcase(needed.lower(), a) for a in actions) for needed in _NEEDED_ACTIONS):
        return False
    for operator, conditions in (statement.get("Condition") or {}).items():
        for key, values in conditions.items():
            if key.lower() != _CONTEXT_KEY:
                continue
            if operator in ("ArnEquals", "StringEquals"):
                if group_arn not in _as_list(values):
                    return False
            elif operator in ("ArnLike", "StringLike"):
                if not any(fnmatch.fnmatchcase(group_arn, v) for v in _as_list(values)):
                    return False
            else:  # an operator this check does not know: refuse rather than be kinder than AWS
                return False
    return True


def check_key(key_id, region, group_arn, account_id=DEFAULT_ACCOUNT_ID):
    """Raise as AWS does unless ``key_id`` is a key ARN of ``region`` whose policy lets CloudWatch
    Logs use it for the group ``group_arn``."""
    if not (key_id.startswith("arn:") and ":key/" in key_id):
        raise logs_exceptions.InvalidParameterException(
            msg=f"Invalid KMS key ARN {key_id}: CloudWatch Logs takes the key's ARN"
        )
    key_region = key_id.split(":")[3]
    backend = kms_models.kms_backends[account_id][key_region]
    key = backend.keys.get(backend.get_key_id(key_id))
    if key_region != region or key is None or key.key_state != "Enabled":
        raise _denied(key_id, group_arn)
    policy = json.loads(key.policy) if isinstance(key.policy, str) else key.policy
    if not any(_statement_allows(s, region, group_arn) for s in _as_list(policy.get("Statement", []))):
        raise _denied(key_id, group_arn)


def apply():
    backend_cls = logs_models.LogsBackend
    if getattr(backend_cls, "_notejam_fixed", False):
        return
    original_create = backend_cls.create_log_group

    def create_log_group(self, log_group_name, tags, **kwargs):
        if kwargs.get("kmsKeyId"):
            arn = f"arn:aws:logs:{self.region_name}:{self.account_id}:log-group:{log_group_name}"
            check_key(kwargs["kmsKeyId"], self.region_name, arn, self.account_id)
        return original_create(self, log_group_name, tags, **kwargs)

    def _group(self, name):
        if name not in self.groups:
            raise logs_exceptions.ResourceNotFoundException()
        return self.groups[name]

    def associate_kms_key(self, log_group_name, kms_key_id):
        group = _group(self, log_group_name)
        check_key(kms_key_id, self.region_name, group.arn, self.account_id)
        group.kms_key_id = kms_key_id

    def disassociate_kms_key(self, log_group_name):
        _group(self, log_group_name).kms_key_id = None

    backend_cls.create_log_group = create_log_group
    backend_cls.associate_kms_key = associate_kms_key
    backend_cls.disassociate_kms_key = disassociate_kms_key

    def associate_response(self):
        self.logs_backend.associate_kms_key(self._get_param("logGroupName"), self._get_param("kmsKeyId"))
        return ""

    def disassociate_response(self):
        self.logs_backend.disassociate_kms_key(self._get_param("logGroupName"))
        return ""

    logs_responses.LogsResponse.associate_kms_key = associate_response
    logs_responses.LogsResponse.disassociate_kms_key = disassociate_response
    backend_cls._notejam_fixed = True
