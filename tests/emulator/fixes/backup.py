"""AWS Backup: the operations moto 5.2.5 lacks, and where its plans differ from AWS.

Stand-ins (shaped by botocore's ``backup`` model, AWS Backup API reference):

- CreateBackupSelection, GetBackupSelection, ListBackupSelections, DeleteBackupSelection: moto has
  no selections. A selection belongs to an existing plan (else ResourceNotFoundException); a
  repeated ``CreatorRequestId`` returns the first selection instead of a duplicate, as AWS does.
- UpdateBackupPlan: moto lacks it. The plan's rules are replaced, defaults filled in as moto's
  CreateBackupPlan does, rule ids and the version id renewed.
- DeleteBackupPlan: AWS refuses while the plan still has selections (InvalidRequestException);
  moto, knowing no selections, deleted it. The stand-in checks, then lets moto's backend delete.

Patches (``apply``):

- CreateBackupPlan may reuse the name of a deleted plan in AWS; moto refused.
- DescribeBackupVault of a vault that does not exist answers AccessDeniedException (HTTP 403,
  "Insufficient privileges to perform this action.") in AWS, not ResourceNotFoundException; the
  modules that look vaults up (amazon.aws.backup_vault) rely on that. For a vault that exists it
  reports ``NumberOfRecoveryPoints`` (destroy keeps vaults that hold any); moto left it out.
- PutBackupVaultLockConfiguration (moto has it) follows the AWS Backup API reference
  (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_PutBackupVaultLockConfiguration.html):
  MinRetentionDays and MaxRetentionDays each 1 to 36500 days, Min <= Max, ChangeableForDays 3 (the
  72-hour cooling-off period) to 36500, each refused with InvalidParameterValueException; moto accepted
  a ChangeableForDays over 36500 and retention days out of range on the other side. A put without
  ChangeableForDays makes a governance lock, which has no lock date ("If this parameter is not
  specified, you can delete Vault Lock ... or change the Vault Lock configuration ... at any time"):
  moto kept the lock date of an earlier compliance put. A lock whose lock date has passed is immutable:
  put and DeleteBackupVaultLockConfiguration answer InvalidRequestException
  (https://docs.aws.amazon.com/aws-backup/latest/devguide/API_DeleteBackupVaultLockConfiguration.html);
  moto already does.
- Every account has the AWS managed policies; moto server knows them only with
  MOTO_IAM_LOAD_MANAGED_POLICIES (slow: about a thousand). The ones the data tier attaches (AWS
  Backup's service-role policies, RDS enhanced monitoring) are always there, from moto's own copy.
"""

import json
import threading
import time
import uuid

from moto.backup import exceptions as backup_exceptions
from moto.backup import models as backup_models
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time
from moto.iam import aws_managed_policies
from moto.iam import models as iam_models

from tests.emulator.standins import StandinError

_lock = threading.Lock()
# (region, plan id) -> {selection id: record}
_selections = {}

_SELECTION_FIELDS = ("SelectionName", "IamRoleArn", "Resources", "ListOfTags", "NotResources", "Conditions")


def _backend(region):
    return backup_models.backup_backends[DEFAULT_ACCOUNT_ID][region]


def _plan(call):
    params = call.params()
    plan_id = params.get("backupPlanId") or params.get("BackupPlanId")
    plan = _backend(call.region).plans.get(plan_id)
    if plan is None or plan.deletion_date is not None:
        raise StandinError("ResourceNotFoundException", f"Failed reading Backup plan {plan_id}", 400)
    return plan_id, plan


def _selection(call, plan_id):
    params = call.params()
    selection_id = params.get("selectionId") or params.get("SelectionId")
    record = _selections.get((call.region, plan_id), {}).get(selection_id)
    if record is None:
        raise StandinError(
            "ResourceNotFoundException", f"Failed reading Backup selection {selection_id}", 400
        )
    return record


def create_backup_selection(call):
    plan_id, _ = _plan(call)
    params = call.params()
    selection = params.get("BackupSelection") or {}
    for required in ("SelectionName", "IamRoleArn"):
        if not selection.get(required):
            raise StandinError(
                "MissingParameterValueException", f"BackupSelection.{required} is required", 400
            )
    request_id = params.get("CreatorRequestId")
    with _lock:
        existing = _selections.setdefault((call.region, plan_id), {})
        if request_id:
            for record in existing.values():
                if record["CreatorRequestId"] == request_id:
                    return 200, {k: record[k] for k in ("SelectionId", "BackupPlanId", "CreationDate")}
        record = {
            "SelectionId": str(uuid.uuid4()),
            "BackupPlanId": plan_id,
            "CreationDate": time.time(),
            "CreatorRequestId": request_id or str(uuid.uuid4()),
            "BackupSelection": {k: selection[k] for k in _SELECTION_FIELDS if k in selection},
        }
        existing[record["SelectionId"]] = record
    return 200, {k: record[k] for k in ("SelectionId", "BackupPlanId", "CreationDate")}


# GetBackupSelection answers with every condition operator, empty ones included.
_CONDITION_KEYS = ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike")


def get_backup_selection(call):
    plan_id, _ = _plan(call)
    record = dict(_selection(call, plan_id))
    selection = dict(record["BackupSelection"])
    conditions = selection.get("Conditions") or {}
    selection["Conditions"] = {key: conditions.get(key, []) for key in _CONDITION_KEYS}
    record["BackupSelection"] = selection
    return 200, record


def list_backup_selections(call):
    plan_id, _ = _plan(call)
    with _lock:
        records = list(_selections.get((call.region, plan_id), {}).values())
    return 200, {
        "BackupSelectionsList": [
            {
                "SelectionId": r["SelectionId"],
                "SelectionName": r["BackupSelection"]["SelectionName"],
                "BackupPlanId": r["BackupPlanId"],
                "CreationDate": r["CreationDate"],
                "CreatorRequestId": r["CreatorRequestId"],
                "IamRoleArn": r["BackupSelection"]["IamRoleArn"],
            }
            for r in records
        ]
    }


def delete_backup_selection(call):
    plan_id, _ = _plan(call)
    record = _selection(call, plan_id)
    with _lock:
        _selections[(call.region, plan_id)].pop(record["SelectionId"], None)
    return 200, {}


def update_backup_plan(call):
    plan_id, plan = _plan(call)
    body = call.params().get("BackupPlan") or {}
    if not body.get("BackupPlanName") or not body.get("Rules"):
        raise StandinError(
            "MissingParameterValueException", "BackupPlan.BackupPlanName and Rules are required", 400
        )
    # Let moto's own Plan fill in rule defaults (schedule, windows, timezone) and rule ids.
    normalised = backup_models.Plan(backup_plan=body, creator_request_id=None, backend=_backend(call.region))
    plan.backup_plan = normalised.backup_plan
    plan.advanced_backup_settings = normalised.advanced_backup_settings
    plan.version_id = normalised.version_id
    result = {
        "BackupPlanId": plan_id,
        "BackupPlanArn": plan.backup_plan_arn,
        "CreationDate": plan.creation_date,
        "VersionId": plan.version_id,
    }
    if plan.advanced_backup_settings:
        result["AdvancedBackupSettings"] = plan.advanced_backup_settings
    return 200, result


def delete_backup_plan(call):
    plan_id, _ = _plan(call)
    with _lock:
        if _selections.get((call.region, plan_id)):
            raise StandinError(
                "InvalidRequestException",
                "Related backup plan selections must be deleted prior to backup plan",
                400,
            )
    backup_id, arn, deletion_date, version_id = _backend(call.region).delete_backup_plan(plan_id)
    return 200, {
        "BackupPlanId": backup_id,
        "BackupPlanArn": arn,
        "DeletionDate": deletion_date,
        "VersionId": version_id,
    }


STANDINS = {
    ("backup", "CreateBackupSelection"): create_backup_selection,
    ("backup", "GetBackupSelection"): get_backup_selection,
    ("backup", "ListBackupSelections"): list_backup_selections,
    ("backup", "DeleteBackupSelection"): delete_backup_selection,
    ("backup", "UpdateBackupPlan"): update_backup_plan,
    ("backup", "DeleteBackupPlan"): delete_backup_plan,
}


def apply():
    backend_cls = backup_models.BackupBackend
    if getattr(backend_cls, "_notejam_fixed", False):
        return

    def create_backup_plan(self, backup_plan, backup_plan_tags, creator_request_id):
        live = [p for p in self.plans.values() if p.deletion_date is None]
        if backup_plan["BackupPlanName"] in [p.backup_plan["BackupPlanName"] for p in live]:
            raise backup_models.AlreadyExistsException(
                msg="Backup plan with the same plan document already exists"
            )
        plan = backup_models.Plan(
            backup_plan=backup_plan, creator_request_id=creator_request_id, backend=self
        )
        if backup_plan_tags:
            self.tag_resource(plan.backup_plan_arn, backup_plan_tags)
        self.plans[plan.backup_plan_id] = plan
        return plan

    def describe_backup_vault(self, backup_vault_name):
        if backup_vault_name not in self.vaults:
            error = JsonRESTError("AccessDeniedException", "Insufficient privileges to perform this action.")
            error.code = 403
            raise error
        return self.vaults[backup_vault_name]

    original_put_lock = backend_cls.put_backup_vault_lock_configuration

    def put_backup_vault_lock_configuration(
        self, backup_vault_name, min_retention_days, max_retention_days, changeable_for_days
    ):
        vault = self.vaults.get(backup_vault_name)
        if vault is not None and not (vault.lock_date is not None and unix_time() >= vault.lock_date):
            _check_lock_values(min_retention_days, max_retention_days, changeable_for_days)
        original_put_lock(
            self, backup_vault_name, min_retention_days, max_retention_days, changeable_for_days
        )
        if changeable_for_days is None:
            self.vaults[backup_vault_name].lock_date = None

    backend_cls.create_backup_plan = create_backup_plan
    backend_cls.put_backup_vault_lock_configuration = put_backup_vault_lock_configuration
    backend_cls.describe_backup_vault = describe_backup_vault
    backup_models.Vault.number_of_recovery_points = property(lambda vault: vault.num_of_recovery_points)
    backend_cls._notejam_fixed = True
    _always_have_managed_policies()


# PutBackupVaultLockConfiguration's bounds, AWS Backup API reference.
LOCK_DAYS_MAX = 36500
LOCK_CHANGEABLE_MIN = 3


def _check_lock_values(min_days, max_days, changeable_days):
    for name, value, low in (
        ("MinRetentionDays", min_days, 1),
        ("MaxRetentionDays", max_days, 1),
        ("ChangeableForDays", changeable_days, LOCK_CHANGEABLE_MIN),
    ):
        if value is not None and not low <= int(value) <= LOCK_DAYS_MAX:
            raise backup_exceptions.InvalidParameterValueException(
                msg=f"{name} must be between {low} and {LOCK_DAYS_MAX} days"
            )
    if min_days is not None and max_days is not None and int(min_days) > int(max_days):
        raise backup_exceptions.InvalidParameterValueException(
            msg="MinRetentionDays cannot be greater than MaxRetentionDays"
        )


# AWS managed policies the data tier attaches to its roles.
MANAGED_POLICIES = (
    "AWSBackupServiceRolePolicyForBackup",
    "AWSBackupServiceRolePolicyForRestores",
    "AmazonRDSEnhancedMonitoringRole",
)


def _always_have_managed_policies():
    original = iam_models.IAMBackend._init_aws_policies
    # moto's catalogue of managed policies is one large JSON string; parse it once per process,
    # keeping only the few documents needed (every IAM backend start would otherwise pay ~2 s).
    wanted = {}

    def managed_policy_documents():
        if not wanted:
            data = json.loads(aws_managed_policies.aws_managed_policies_data)
            wanted.update({name: data[name] for name in MANAGED_POLICIES if name in data})
        return wanted

    def init_aws_policies(self):
        policies = original(self)
        known = {p.name for p in policies}
        for name, document in managed_policy_documents().items():
            if name not in known:
                policies.append(
                    iam_models.AWSManagedPolicy.from_data(name, self.account_id, self.region_name, document)
                )
        return policies

    iam_models.IAMBackend._init_aws_policies = init_aws_policies


def age_vault_locks(days):
    """Move every vault's lock date ``days`` back, in every region of the account (the harness's
    ``/_harness/backup/age-vault-locks``): the names of the vaults whose lock date moved."""
    aged = []
    for region, backend in backup_models.backup_backends[DEFAULT_ACCOUNT_ID].items():
        for vault in backend.vaults.values():
            if vault.lock_date is not None:
                vault.lock_date -= days * 24 * 3600
                aged.append(f"{region}:{vault.backup_vault_name}")
    return sorted(aged)
