"""backup_plan: create, no-op, check mode (tags included), diff, recovery point tag keys kept,
rule update (botocore Stubber: moto lacks UpdateBackupPlan), tag-only update, bad input, delete
with selections."""

import datetime

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.notejam.aws.plugins.modules.backup_plan import main
from botocore.stub import ANY, Stubber

DR_VAULT = "arn:aws:backup:us-west-2:123456789012:backup-vault:notejam-test-vault-dr"
TAGS = {"Project": "notejam", "Environment": "test", "ManagedBy": "ansible"}
RULE = {
    "rule_name": "daily",
    "target_backup_vault_name": "notejam-test-vault",
    "schedule_expression": "cron(0 3 ? * * *)",
    "start_window_minutes": 60,
    "completion_window_minutes": 480,
    "lifecycle": {"delete_after_days": 35},
    "recovery_point_tags": TAGS,
    "copy_actions": [{"destination_backup_vault_arn": DR_VAULT, "lifecycle": {"delete_after_days": 35}}],
}
ARGS = {"name": "notejam-test-plan", "rules": [RULE], "tags": TAGS}


@pytest.fixture
def created(aws, run_module):
    boto3.client("backup").create_backup_vault(BackupVaultName="notejam-test-vault")
    result = run_module(main, ARGS)
    assert result["changed"] is True, result
    return result


def plan_document():
    backup = boto3.client("backup")
    plan_id = backup.list_backup_plans()["BackupPlansList"][0]["BackupPlanId"]
    return backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]


def test_create_keeps_tag_keys_as_written(created):
    rule = plan_document()["Rules"][0]
    assert rule["RecoveryPointTags"] == TAGS  # not "Managedby"
    assert rule["CopyActions"][0]["DestinationBackupVaultArn"] == DR_VAULT
    assert created["backup_plan"]["tags"] == TAGS
    assert created["diff"]["before"] == {}


def test_second_run_changes_nothing_and_makes_no_write(created, run_module, api_calls):
    result = run_module(main, ARGS)
    assert result["changed"] is False, result["changes"]
    assert api_calls.writes == []


def test_check_mode_on_a_converged_plan_reports_no_change(created, run_module, api_calls):
    result = run_module(main, ARGS, check=True)
    assert result["changed"] is False
    assert api_calls.writes == []


def test_check_mode_create_writes_nothing(aws, run_module, api_calls):
    result = run_module(main, ARGS, check=True)
    assert result["changed"] is True and api_calls.writes == []
    assert boto3.client("backup").list_backup_plans()["BackupPlansList"] == []


def test_tag_change_only_tags(created, run_module, api_calls):
    result = run_module(main, dict(ARGS, tags=dict(TAGS, Owner="data")))
    assert result["changes"] == ["Tags.Owner"]
    assert api_calls.writes == ["TagResource"]


def test_rule_change_updates_the_plan_once(monkeypatch, run_module):
    """UpdateBackupPlan is not in moto: the whole exchange is stubbed from botocore's model."""
    client = boto3.client("backup", region_name="us-east-1")
    stub = Stubber(client)
    arn = "arn:aws:backup:us-east-1:123456789012:backup-plan:p-1"
    listed = {
        "BackupPlansList": [
            {"BackupPlanId": "p-1", "BackupPlanArn": arn, "BackupPlanName": "notejam-test-plan"}
        ]
    }
    current_rule = {
        "RuleName": "daily",
        "TargetBackupVaultName": "notejam-test-vault",
        "ScheduleExpression": "cron(0 3 ? * * *)",
        "StartWindowMinutes": 60,
        "CompletionWindowMinutes": 480,
        "ScheduleExpressionTimezone": "Etc/UTC",
        "Lifecycle": {"DeleteAfterDays": 35},
        "RecoveryPointTags": TAGS,
        "CopyActions": [{"DestinationBackupVaultArn": DR_VAULT, "Lifecycle": {"DeleteAfterDays": 35}}],
        "RuleId": "r-1",
    }
    got = {
        "BackupPlan": {"BackupPlanName": "notejam-test-plan", "Rules": [current_rule]},
        "BackupPlanId": "p-1",
        "BackupPlanArn": arn,
        "VersionId": "v1",
    }
    for _ in range(2):  # plan, then the read inside update
        stub.add_response("list_backup_plans", listed, {})
        stub.add_response("get_backup_plan", got, {"BackupPlanId": "p-1"})
        stub.add_response("list_tags", {"Tags": TAGS}, {"ResourceArn": arn})
    stub.add_response(
        "update_backup_plan",
        {
            "BackupPlanId": "p-1",
            "BackupPlanArn": arn,
            "VersionId": "v2",
            "CreationDate": datetime.datetime(2026, 1, 1),
        },
        {"BackupPlanId": "p-1", "BackupPlan": ANY},
    )
    changed_rule = dict(current_rule, Lifecycle={"DeleteAfterDays": 1095})
    changed_rule["CopyActions"] = [
        {"DestinationBackupVaultArn": DR_VAULT, "Lifecycle": {"DeleteAfterDays": 1095}}
    ]
    stub.add_response("list_backup_plans", listed, {})
    stub.add_response(
        "get_backup_plan",
        dict(got, BackupPlan={"BackupPlanName": "notejam-test-plan", "Rules": [changed_rule]}),
        {"BackupPlanId": "p-1"},
    )
    stub.add_response("list_tags", {"Tags": TAGS}, {"ResourceArn": arn})
    stub.activate()
    monkeypatch.setattr(AnsibleAWSModule, "client", lambda self, service, **kw: client)
    rule = dict(RULE, lifecycle={"delete_after_days": 1095})
    rule["copy_actions"] = [
        {"destination_backup_vault_arn": DR_VAULT, "lifecycle": {"delete_after_days": 1095}}
    ]
    result = run_module(main, dict(ARGS, rules=[rule]))
    assert result["changed"] is True
    assert result["changes"] == ["Rules"]
    assert result["diff"]["after"]["rules"][0]["lifecycle"] == {"delete_after_days": 1095}
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (dict(RULE, start_window_minutes=30), "start_window_minutes=30"),
        (dict(RULE, lifecycle={"move_to_cold_storage_after_days": 30, "delete_after_days": 60}), "at least"),
    ],
)
def test_bad_input_fails_before_any_call(aws, run_module, api_calls, rule, message):
    result = run_module(main, dict(ARGS, rules=[rule]))
    assert result["failed"] is True and message in result["msg"]
    assert api_calls == []


def test_duplicate_rule_names_are_bad_input(aws, run_module, api_calls):
    result = run_module(main, dict(ARGS, rules=[RULE, RULE]))
    assert result["failed"] is True and "unique" in result["msg"] and api_calls == []


def test_absent_deletes_the_selections_then_the_plan(monkeypatch, run_module):
    """AWS refuses to delete a plan that has selections; moto has none, so this exchange is stubbed."""
    client = boto3.client("backup", region_name="us-east-1")
    stub = Stubber(client)
    arn = "arn:aws:backup:us-east-1:123456789012:backup-plan:p-1"
    listed = {
        "BackupPlansList": [
            {"BackupPlanId": "p-1", "BackupPlanArn": arn, "BackupPlanName": "notejam-test-plan"}
        ]
    }
    rule = {"RuleName": "daily", "TargetBackupVaultName": "notejam-test-vault"}
    got = {
        "BackupPlan": {"BackupPlanName": "notejam-test-plan", "Rules": [rule]},
        "BackupPlanId": "p-1",
        "BackupPlanArn": arn,
    }
    stub.add_response("list_backup_plans", listed, {})
    stub.add_response("get_backup_plan", got, {"BackupPlanId": "p-1"})
    stub.add_response("list_tags", {"Tags": TAGS}, {"ResourceArn": arn})
    stub.add_response(
        "list_backup_selections",
        {"BackupSelectionsList": [{"SelectionId": "s-1", "SelectionName": "tagged", "BackupPlanId": "p-1"}]},
        {"BackupPlanId": "p-1"},
    )
    stub.add_response("delete_backup_selection", {}, {"BackupPlanId": "p-1", "SelectionId": "s-1"})
    stub.add_response("delete_backup_plan", {"BackupPlanId": "p-1"}, {"BackupPlanId": "p-1"})
    stub.activate()
    monkeypatch.setattr(AnsibleAWSModule, "client", lambda self, service, **kw: client)
    result = run_module(main, {"name": "notejam-test-plan", "state": "absent"})
    assert result["changed"] is True
    stub.assert_no_pending_responses()


def test_absent_when_gone_is_a_no_op(aws, run_module, api_calls):
    assert run_module(main, {"name": "notejam-test-plan", "state": "absent"})["changed"] is False
    assert api_calls.writes == []
