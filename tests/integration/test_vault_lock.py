"""A compliance-mode Vault Lock past its cooling-off period: a converge that would change it fails
before any write, naming the lock date; destroy keeps the vaults (and the DR vault's key), says why,
and does not fail. The lock dates are moved back by the harness (real AWS gets there by waiting)."""

import pytest

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

VAULTS = (("notejam-local-vault", "us-east-1"), ("notejam-local-vault-dr", "us-west-2"))
TIERS = ("--tags", "network,aurora,backup", "-e", "backup_vault_lock_mode=compliance")


def test_an_immutable_compliance_lock_is_refused_and_kept_by_destroy(playbook, fresh_emulator, aws_client):
    first = playbook("site.yml", "local", *TIERS)
    assert first.returncode == 0, first.tail()
    for name, region in VAULTS:
        assert aws_client("backup", region).describe_backup_vault(BackupVaultName=name).get("LockDate")

    assert sorted(fresh_emulator.age_vault_locks(4)) == sorted(f"{r}:{n}" for n, r in VAULTS)

    unchanged = playbook("site.yml", "local", *TIERS)
    assert unchanged.returncode == 0, unchanged.tail()
    assert unchanged.changed == 0, "\n".join(unchanged.changed_tasks())

    fresh_emulator.reset_calls()
    change = playbook("site.yml", "local", *TIERS, "-e", "backup_vault_lock_max_retention_days=40")
    assert change.returncode != 0
    assert "compliance mode and immutable since" in " ".join(change.output.split()), change.tail()
    assert fresh_emulator.calls()["writes"] == 0, fresh_emulator.calls()["write_calls"]

    destroy = playbook("playbooks/destroy.yml", "local", "-e", "notejam_destroy_protected=true")
    assert destroy.returncode == 0, destroy.tail()
    said = " ".join(destroy.output.split())
    for name, region in VAULTS:
        assert f"Kept vault {name} in {region}: its Vault Lock is in compliance mode and immutable" in said, (
            destroy.tail()
        )
        vault = aws_client("backup", region).describe_backup_vault(BackupVaultName=name)
        assert vault["Locked"] and vault["MinRetentionDays"] == 1
    aliases = aws_client("kms", "us-west-2").list_aliases()["Aliases"]
    dr_key = next(a["TargetKeyId"] for a in aliases if a["AliasName"] == "alias/notejam-local-backup-dr")
    assert aws_client("kms", "us-west-2").describe_key(KeyId=dr_key)["KeyMetadata"]["KeyState"] == "Enabled"
