"""The harness's Vault Lock clock: after /_harness/backup/age-vault-locks a compliance lock past its
lock date is immutable through the server, as AWS answers (InvalidRequestException)."""

import pytest


def test_aged_compliance_lock_is_immutable_through_the_server(emulator):
    backup = emulator.client("backup", "eu-north-1")
    backup.create_backup_vault(BackupVaultName="harness-lock")
    backup.put_backup_vault_lock_configuration(
        BackupVaultName="harness-lock", MinRetentionDays=7, ChangeableForDays=3
    )
    before = backup.describe_backup_vault(BackupVaultName="harness-lock")["LockDate"]

    assert "eu-north-1:harness-lock" in emulator.age_vault_locks(4)

    after = backup.describe_backup_vault(BackupVaultName="harness-lock")["LockDate"]
    assert abs((before - after).total_seconds() - 4 * 86400) < 1
    with pytest.raises(backup.exceptions.InvalidRequestException):
        backup.delete_backup_vault_lock_configuration(BackupVaultName="harness-lock")
    with pytest.raises(backup.exceptions.InvalidRequestException):
        backup.put_backup_vault_lock_configuration(BackupVaultName="harness-lock", MinRetentionDays=1)
