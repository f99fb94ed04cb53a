#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: backup_vault_lock
short_description: Manage AWS Backup Vault Lock (governance or compliance mode) on an existing vault
version_added: 0.2.0
description:
  - Puts, changes or removes the Backup Vault Lock of a vault found by name
    (C(PutBackupVaultLockConfiguration), C(DeleteBackupVaultLockConfiguration)).
  - While a vault is locked, nobody can delete its recovery points or shorten their lifecycle, and every
    backup or copy job into the vault must keep its recovery points between O(min_retention_days) and
    O(max_retention_days) (AWS fails jobs outside that range).
  - O(mode=governance) puts the lock without a lock date; users with
    C(backup:DeleteBackupVaultLockConfiguration) can change or remove it at any time.
  - O(mode=compliance) puts it with C(ChangeableForDays=)O(changeable_for_days) (3 or more, AWS's 72-hour
    cooling-off period). Until the lock date it can still be changed or removed; on and after it the lock
    is immutable, for everyone including the account's root user and AWS. The module then refuses any
    change or removal before the first write, naming the lock date, instead of letting AWS answer
    C(InvalidRequestException).
  - AWS does not report C(ChangeableForDays); a lock with a lock date is compliance mode, one without
    is governance mode. O(changeable_for_days) is sent only when the lock is put (created, its mode or
    retention changed); putting a compliance lock again during its cooling-off period restarts it.
  - amazon.aws 10.1 ships no module for Vault Lock.
author:
  - notejam.aws maintainers (@notejam)
options:
  backup_vault_name:
    description:
      - Name of the vault. It must exist; in check mode a missing vault reports the lock it would get.
    type: str
    required: true
  mode:
    description:
      - C(governance) (no lock date, removable) or C(compliance) (immutable after O(changeable_for_days)).
    type: str
    choices: [governance, compliance]
    default: governance
  min_retention_days:
    description: Shortest retention a job into the vault may ask for (1 to 36500). Left out, no minimum.
    type: int
  max_retention_days:
    description:
      - Longest retention a job into the vault may ask for (1 to 36500, at least O(min_retention_days)).
      - Left out, no maximum.
    type: int
  changeable_for_days:
    description:
      - Days before the lock date (3 to 36500).
      - Required with O(mode=compliance), refused with O(mode=governance).
    type: int
  state:
    description: C(present) puts the lock, C(absent) removes it (refused for an immutable compliance lock).
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Prod keeps three years, immutably once 3 days have passed
  notejam.aws.backup_vault_lock:
    backup_vault_name: notejam-prod-vault
    mode: compliance
    changeable_for_days: 3
    min_retention_days: 1095
    max_retention_days: 1100

- name: Dev is locked in governance mode (removable by whoever may delete the lock)
  notejam.aws.backup_vault_lock:
    backup_vault_name: notejam-dev-vault
    mode: governance
    min_retention_days: 7
    max_retention_days: 35

- name: Remove a governance lock before deleting the vault
  notejam.aws.backup_vault_lock:
    backup_vault_name: notejam-dev-vault
    state: absent
"""

RETURN = r"""
backup_vault_lock:
  description: The vault's lock as DescribeBackupVault reports it (empty when the vault has none).
  returned: always
  type: dict
  contains:
    backup_vault_name:
      description: Name of the vault.
      type: str
    backup_vault_arn:
      description: ARN of the vault.
      type: str
    mode:
      description: C(compliance) when the lock has a lock date, else C(governance).
      type: str
    min_retention_days:
      description: Minimum retention enforced.
      type: int
    max_retention_days:
      description: Maximum retention enforced.
      type: int
    lock_date:
      description: When a compliance lock becomes immutable (ISO 8601), absent for governance.
      type: str
    immutable:
      description: Whether the lock date has passed (the lock can no longer be changed or removed).
      type: bool
changes:
  description: Dotted paths of the fields that differed.
  returned: always
  type: list
  elements: str
"""

import datetime  # noqa: E402

try:
    import botocore
except ImportError:  # AnsibleAWSModule reports the missing dependency
    botocore = None

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.notejam.aws.plugins.module_utils.resource import ABSENT, AwsResource  # noqa: E402

# AWS's bounds (PutBackupVaultLockConfiguration, AWS Backup API reference): retention 1 to 36500 days,
# ChangeableForDays 3 (the 72-hour cooling-off period) to 36500.
DAYS_MAX = 36500
CHANGEABLE_MIN = 3

# DescribeBackupVault answers AccessDeniedException for a vault that does not exist (see
# tests/emulator/fixes/backup.py); ResourceNotFoundException is listed in its model too.
_MISSING_VAULT = ("AccessDeniedException", "ResourceNotFoundException")


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _lock_of(raw):
    """The lock part of a DescribeBackupVault answer, ``None`` when the vault is not locked."""
    if not raw.get("Locked") and not any(
        raw.get(k) is not None for k in ("MinRetentionDays", "MaxRetentionDays", "LockDate")
    ):
        return None
    return raw


def immutable(raw):
    """Whether the lock's lock date has passed (AWS then refuses to change or delete it)."""
    lock_date = (raw or {}).get("LockDate")
    if lock_date is None:
        return False
    if lock_date.tzinfo is None:
        lock_date = lock_date.replace(tzinfo=datetime.timezone.utc)
    return lock_date <= _now()


class BackupVaultLock(AwsResource):
    service = "backup"
    result_key = "backup_vault_lock"

    def __init__(self, module):
        super().__init__(module)
        self.vault = None

    def validate(self):
        p = self.params
        if p["state"] == "absent":
            return
        for name in ("min_retention_days", "max_retention_days"):
            value = p[name]
            if value is not None and not 1 <= value <= DAYS_MAX:
                self.module.fail_json(msg=f"{name}={value}; accepted: 1 to {DAYS_MAX} days")
        low, high = p["min_retention_days"], p["max_retention_days"]
        if low is not None and high is not None and low > high:
            self.module.fail_json(
                msg=f"min_retention_days={low} is greater than max_retention_days={high}; "
                "accepted: min <= max"
            )
        changeable = p["changeable_for_days"]
        if p["mode"] == "compliance":
            if changeable is None:
                self.module.fail_json(
                    msg="changeable_for_days is required with mode=compliance; "
                    f"accepted: {CHANGEABLE_MIN} to {DAYS_MAX}"
                )
            if not CHANGEABLE_MIN <= changeable <= DAYS_MAX:
                self.module.fail_json(
                    msg=f"changeable_for_days={changeable}; "
                    f"accepted: {CHANGEABLE_MIN} (AWS's 72-hour cooling-off) to {DAYS_MAX}"
                )
        elif changeable is not None:
            self.module.fail_json(
                msg="changeable_for_days is only accepted with mode=compliance "
                "(a governance lock has no lock date)"
            )

    def read(self):
        try:
            raw = self.client.describe_backup_vault(BackupVaultName=self.params["backup_vault_name"])
        except botocore.exceptions.ClientError as e:
            if e.response.get("Error", {}).get("Code") in _MISSING_VAULT:
                self.vault = None
                return None
            raise
        raw.pop("ResponseMetadata", None)
        self.vault = raw
        return _lock_of(raw)

    def comparable(self, raw):
        return {
            "Mode": "compliance" if raw.get("LockDate") is not None else "governance",
            "MinRetentionDays": raw.get("MinRetentionDays"),
            "MaxRetentionDays": raw.get("MaxRetentionDays"),
        }

    def desired(self, before):
        p = self.params
        return {
            "Mode": p["mode"],
            "MinRetentionDays": ABSENT if p["min_retention_days"] is None else p["min_retention_days"],
            "MaxRetentionDays": ABSENT if p["max_retention_days"] is None else p["max_retention_days"],
        }

    def plan(self):
        raw, before, after, changes = super().plan()
        name = self.params["backup_vault_name"]
        if self.vault is None and self.params["state"] == "present" and not self.module.check_mode:
            self.module.fail_json(msg=f"Backup vault {name} does not exist in this region: create it first")
        if changes and immutable(raw):
            what = "removed" if after is None else f"changed ({', '.join(changes)})"
            self.module.fail_json(
                msg=(
                    f"The Vault Lock of {name} is in compliance mode and immutable since "
                    f"{raw['LockDate'].isoformat()}: it cannot be {what} by anyone, and AWS answers "
                    "InvalidRequestException. Its recovery points stay until their lifecycle expires them."
                ),
                backup_vault_lock=self.returned(raw),
                changes=changes,
            )
        return raw, before, after, changes

    def _put(self, after):
        params = {"BackupVaultName": self.params["backup_vault_name"]}
        for key in ("MinRetentionDays", "MaxRetentionDays"):
            if after.get(key) is not None:
                params[key] = after[key]
        if after["Mode"] == "compliance":
            params["ChangeableForDays"] = self.params["changeable_for_days"]
        self.client.put_backup_vault_lock_configuration(**params)

    def create(self, after):
        self._put(after)

    def update(self, before, after, changes):
        self._put(after)

    def delete(self, raw):
        self.client.delete_backup_vault_lock_configuration(BackupVaultName=self.params["backup_vault_name"])

    def returned(self, raw):
        if raw is None:
            return {}
        lock_date = raw.get("LockDate")
        result = {
            "backup_vault_name": raw.get("BackupVaultName"),
            "backup_vault_arn": raw.get("BackupVaultArn"),
            "mode": "compliance" if lock_date is not None else "governance",
            "immutable": immutable(raw),
        }
        for key, name in (
            ("MinRetentionDays", "min_retention_days"),
            ("MaxRetentionDays", "max_retention_days"),
        ):
            if raw.get(key) is not None:
                result[name] = raw[key]
        if lock_date is not None:
            result["lock_date"] = lock_date.isoformat()
        return result

    def predicted(self, raw, after):
        if after is None:
            return {}
        current = (
            self.returned(raw) if raw is not None else {"backup_vault_name": self.params["backup_vault_name"]}
        )
        current = {k: v for k, v in current.items() if k not in ("min_retention_days", "max_retention_days")}
        current.update(
            mode=after["Mode"],
            **{
                name: after[key]
                for key, name in (
                    ("MinRetentionDays", "min_retention_days"),
                    ("MaxRetentionDays", "max_retention_days"),
                )
                if after.get(key) is not None
            },
        )
        return current


def main():
    argument_spec = {
        "backup_vault_name": {"type": "str", "required": True},
        "mode": {"type": "str", "default": "governance", "choices": ["governance", "compliance"]},
        "min_retention_days": {"type": "int"},
        "max_retention_days": {"type": "int"},
        "changeable_for_days": {"type": "int"},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    BackupVaultLock(module).run()


if __name__ == "__main__":
    main()
