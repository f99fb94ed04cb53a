"""The AWS Backup Vault Lock behaviour the backup role relies on, as the AWS Backup API reference
states it (see tests/emulator/fixes/backup.py): bounds checked, a governance put has no lock date,
a compliance lock past its lock date can be neither changed nor deleted."""

import boto3
import pytest
from moto.backup import models as backup_models
from moto.core import DEFAULT_ACCOUNT_ID


@pytest.fixture
def backup(aws):
    client = boto3.client("backup")
    client.create_backup_vault(BackupVaultName="vault")
    return client


def lock(backup):
    vault = backup.describe_backup_vault(BackupVaultName="vault")
    return {k: vault.get(k) for k in ("Locked", "MinRetentionDays", "MaxRetentionDays", "LockDate")}


@pytest.mark.parametrize(
    "params",
    [
        {"MinRetentionDays": 0},
        {"MaxRetentionDays": 0},
        {"MinRetentionDays": 36501},
        {"MaxRetentionDays": 36501},
        {"MinRetentionDays": 30, "MaxRetentionDays": 7},
        {"MinRetentionDays": 7, "ChangeableForDays": 2},
        {"MinRetentionDays": 7, "ChangeableForDays": 36501},
    ],
)
def test_out_of_range_lock_values_are_refused(backup, params):
    with pytest.raises(backup.exceptions.InvalidParameterValueException):
        backup.put_backup_vault_lock_configuration(BackupVaultName="vault", **params)
    assert lock(backup)["Locked"] is False


def test_governance_put_after_compliance_has_no_lock_date(backup):
    backup.put_backup_vault_lock_configuration(
        BackupVaultName="vault", MinRetentionDays=7, MaxRetentionDays=35, ChangeableForDays=3
    )
    assert lock(backup)["LockDate"] is not None
    backup.put_backup_vault_lock_configuration(
        BackupVaultName="vault", MinRetentionDays=7, MaxRetentionDays=35
    )
    assert lock(backup) == {"Locked": True, "MinRetentionDays": 7, "MaxRetentionDays": 35, "LockDate": None}


def test_compliance_lock_in_its_cooling_off_period_can_still_be_deleted(backup):
    backup.put_backup_vault_lock_configuration(
        BackupVaultName="vault", MinRetentionDays=7, ChangeableForDays=3
    )
    backup.delete_backup_vault_lock_configuration(BackupVaultName="vault")
    assert lock(backup)["Locked"] is False


def test_compliance_lock_past_its_lock_date_is_immutable(backup):
    backup.put_backup_vault_lock_configuration(
        BackupVaultName="vault", MinRetentionDays=7, ChangeableForDays=3
    )
    vault = backup_models.backup_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].vaults["vault"]
    vault.lock_date -= 4 * 24 * 3600  # the cooling-off period is over
    with pytest.raises(backup.exceptions.InvalidRequestException):
        backup.put_backup_vault_lock_configuration(BackupVaultName="vault", MinRetentionDays=1)
    with pytest.raises(backup.exceptions.InvalidRequestException):
        backup.delete_backup_vault_lock_configuration(BackupVaultName="vault")
    assert lock(backup)["MinRetentionDays"] == 7
