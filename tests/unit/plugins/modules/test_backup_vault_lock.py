"""backup_vault_lock: governance and compliance locks put, no-op (no write) on a second run, check
mode, retention change, mode change, removal, bad input before any call, an immutable compliance lock
refused before any write, a missing vault."""

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules.backup_vault_lock import main
from moto.backup import models as backup_models
from moto.core import DEFAULT_ACCOUNT_ID

GOVERNANCE = {"backup_vault_name": "notejam-test-vault", "min_retention_days": 7, "max_retention_days": 35}
COMPLIANCE = dict(GOVERNANCE, mode="compliance", changeable_for_days=3)


@pytest.fixture
def vault(aws):
    client = boto3.client("backup")
    client.create_backup_vault(BackupVaultName="notejam-test-vault")
    return client


def described(client):
    return client.describe_backup_vault(BackupVaultName="notejam-test-vault")


def test_governance_lock_is_put_without_a_lock_date(vault, run_module, api_calls):
    result = run_module(main, GOVERNANCE)
    assert result["changed"] is True
    assert api_calls.of("PutBackupVaultLockConfiguration") == [
        {"BackupVaultName": "notejam-test-vault", "MinRetentionDays": 7, "MaxRetentionDays": 35}
    ]
    got = described(vault)
    assert (got["Locked"], got["MinRetentionDays"], got["MaxRetentionDays"]) == (True, 7, 35)
    assert "LockDate" not in got
    assert result["backup_vault_lock"]["mode"] == "governance"
    assert result["backup_vault_lock"]["immutable"] is False


def test_compliance_lock_gets_a_lock_date(vault, run_module, api_calls):
    result = run_module(main, COMPLIANCE)
    assert result["changed"] is True
    assert api_calls.of("PutBackupVaultLockConfiguration")[0]["ChangeableForDays"] == 3
    assert described(vault)["LockDate"] is not None
    assert result["backup_vault_lock"]["mode"] == "compliance"
    assert "lock_date" in result["backup_vault_lock"]


@pytest.mark.parametrize("args", [GOVERNANCE, COMPLIANCE])
def test_second_run_and_check_mode_change_nothing_and_write_nothing(vault, run_module, api_calls, args):
    run_module(main, args)
    api_calls.clear_calls()
    assert run_module(main, args)["changed"] is False
    assert run_module(main, args, check=True)["changed"] is False
    assert api_calls.writes == []


def test_check_mode_reports_the_lock_it_would_put_and_writes_nothing(vault, run_module, api_calls):
    result = run_module(main, COMPLIANCE, check=True)
    assert result["changed"] is True and api_calls.writes == []
    assert result["backup_vault_lock"]["mode"] == "compliance"
    assert described(vault)["Locked"] is False


def test_check_mode_on_a_vault_not_made_yet_reports_the_lock(aws, run_module, api_calls):
    result = run_module(main, GOVERNANCE, check=True)
    assert result["changed"] is True and api_calls.writes == []


def test_missing_vault_fails_naming_it(aws, run_module, api_calls):
    result = run_module(main, GOVERNANCE)
    assert result["failed"] is True and "notejam-test-vault does not exist" in result["msg"]
    assert api_calls.writes == []


def test_retention_change_and_mode_change_put_again(vault, run_module):
    run_module(main, GOVERNANCE)
    result = run_module(main, dict(GOVERNANCE, max_retention_days=40))
    assert result["changes"] == ["MaxRetentionDays"]
    assert described(vault)["MaxRetentionDays"] == 40
    result = run_module(main, dict(COMPLIANCE, max_retention_days=40))
    assert result["changes"] == ["Mode"]
    assert described(vault)["LockDate"] is not None
    result = run_module(main, dict(GOVERNANCE, max_retention_days=40))
    assert result["changes"] == ["Mode"]
    assert "LockDate" not in described(vault)


def test_a_retention_left_out_is_removed(vault, run_module):
    run_module(main, GOVERNANCE)
    result = run_module(main, {"backup_vault_name": "notejam-test-vault", "min_retention_days": 7})
    assert result["changes"] == ["MaxRetentionDays"]
    assert "MaxRetentionDays" not in described(vault)


def test_absent_removes_a_governance_lock_then_is_a_no_op(vault, run_module, api_calls):
    run_module(main, GOVERNANCE)
    result = run_module(main, {"backup_vault_name": "notejam-test-vault", "state": "absent"})
    assert result["changed"] is True and described(vault)["Locked"] is False
    api_calls.clear_calls()
    assert (
        run_module(main, {"backup_vault_name": "notejam-test-vault", "state": "absent"})["changed"] is False
    )
    assert api_calls.writes == []


def test_absent_on_a_missing_vault_is_a_no_op(aws, run_module, api_calls):
    assert run_module(main, {"backup_vault_name": "gone", "state": "absent"})["changed"] is False
    assert api_calls.writes == []


def test_immutable_compliance_lock_is_refused_before_any_write(vault, run_module, api_calls):
    run_module(main, COMPLIANCE)
    backup_models.backup_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].vaults["notejam-test-vault"].lock_date -= (
        4 * 86400
    )
    api_calls.clear_calls()
    unchanged = run_module(main, COMPLIANCE)
    assert unchanged["changed"] is False and unchanged["backup_vault_lock"]["immutable"] is True
    for args in (
        dict(COMPLIANCE, min_retention_days=1),
        {"backup_vault_name": "notejam-test-vault", "state": "absent"},
    ):
        result = run_module(main, args)
        assert result["failed"] is True
        assert "compliance mode and immutable since" in result["msg"]
    assert api_calls.writes == []
    assert described(vault)["MinRetentionDays"] == 7


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (dict(GOVERNANCE, min_retention_days=0), "min_retention_days=0"),
        (dict(GOVERNANCE, max_retention_days=36501), "max_retention_days=36501"),
        (
            dict(GOVERNANCE, min_retention_days=40),
            "min_retention_days=40 is greater than max_retention_days=35",
        ),
        (dict(COMPLIANCE, changeable_for_days=2), "changeable_for_days=2"),
        (dict(GOVERNANCE, mode="compliance"), "changeable_for_days is required"),
        (dict(GOVERNANCE, changeable_for_days=3), "only accepted with mode=compliance"),
    ],
)
def test_bad_input_fails_before_any_call(aws, run_module, api_calls, args, message):
    result = run_module(main, args)
    assert result["failed"] is True and message in result["msg"]
    assert api_calls == []
