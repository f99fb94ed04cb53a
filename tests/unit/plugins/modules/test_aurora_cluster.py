"""aurora_cluster: create with an RDS-managed secret, no-op, check mode, diff, single-field updates,
deferred and replacing changes, bad input before any call, restore from a snapshot, delete."""

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules.aurora_cluster import main

NAME = "notejam-test-aurora"


@pytest.fixture
def network(aws):
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
        for i, az in enumerate(["us-east-1a", "us-east-1b"])
    ]
    sg = ec2.create_security_group(VpcId=vpc, GroupName="db", Description="db")["GroupId"]
    rds = boto3.client("rds")
    rds.create_db_subnet_group(DBSubnetGroupName=NAME, DBSubnetGroupDescription="data", SubnetIds=subnets)
    for group in (NAME, NAME + "-2"):
        rds.create_db_cluster_parameter_group(
            DBClusterParameterGroupName=group, DBParameterGroupFamily="aurora-mysql8.0", Description="p"
        )
    key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
    return {"sg": sg, "key": key}


@pytest.fixture
def args(network):
    return {
        "db_cluster_identifier": NAME,
        "engine_version": "8.0.mysql_aurora.3.08.0",
        "database_name": "notejam",
        "master_username": "notejam",
        "master_user_secret_kms_key_id": network["key"],
        "db_subnet_group_name": NAME,
        "vpc_security_group_ids": [network["sg"]],
        "db_cluster_parameter_group_name": NAME,
        "port": 3306,
        "storage_encrypted": True,
        "kms_key_id": network["key"],
        "backup_retention_period": 7,
        "preferred_backup_window": "01:00-02:00",
        "preferred_maintenance_window": "Sun:02:30-Sun:03:30",
        "copy_tags_to_snapshot": True,
        "deletion_protection": False,
        "enable_cloudwatch_logs_exports": ["slowquery", "error"],
        "serverless_v2_scaling_configuration": {"min_capacity": 0.5, "max_capacity": 2},
        "tags": {"Project": "notejam", "Environment": "test", "ManagedBy": "ansible"},
    }


@pytest.fixture
def created(args, run_module):
    result = run_module(main, args)
    assert result["changed"] is True, result
    return result


def describe():
    return boto3.client("rds").describe_db_clusters(DBClusterIdentifier=NAME)["DBClusters"][0]


def test_create_makes_an_encrypted_cluster_whose_password_rds_manages(created, network):
    cluster = created["cluster"]
    assert cluster["db_cluster_identifier"] == NAME
    assert cluster["storage_encrypted"] is True and cluster["kms_key_id"] == network["key"]
    assert cluster["master_user_secret"]["secret_arn"].startswith("arn:aws:secretsmanager:")
    assert "master_user_password" not in cluster
    assert cluster["tags"] == {"Project": "notejam", "Environment": "test", "ManagedBy": "ansible"}
    assert created["diff"]["before"] == {}
    assert created["diff"]["after"]["backup_retention_period"] == 7


def test_create_call_never_carries_a_password(args, run_module, api_calls, monkeypatch):
    import botocore.client

    seen = {}
    original = botocore.client.BaseClient._make_api_call

    def spy(self, name, params):
        if name == "CreateDBCluster":
            seen.update(params)
        return original(self, name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    run_module(main, args)
    assert seen["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in seen


def test_second_run_changes_nothing_and_makes_no_write(created, args, run_module, api_calls):
    result = run_module(main, args)
    assert result["changed"] is False, result["changes"]
    assert api_calls.writes == []
    assert api_calls == ["DescribeDBClusters"]


def test_check_mode_creates_nothing(args, run_module, api_calls):
    result = run_module(main, args, check=True)
    assert result["changed"] is True
    assert api_calls.writes == []
    assert boto3.client("rds").describe_db_clusters()["DBClusters"] == []


def test_single_field_update_makes_one_modify_call(created, args, run_module, api_calls):
    result = run_module(main, dict(args, backup_retention_period=14))
    assert result["changes"] == ["BackupRetentionPeriod"]
    assert api_calls.writes == ["ModifyDBCluster"]
    assert result["diff"]["before"]["backup_retention_period"] == 7
    assert result["diff"]["after"]["backup_retention_period"] == 14
    assert describe()["BackupRetentionPeriod"] == 14


def test_check_mode_update_writes_nothing(created, args, run_module, api_calls):
    result = run_module(main, dict(args, backup_retention_period=14), check=True)
    assert result["changed"] is True and api_calls.writes == []
    assert describe()["BackupRetentionPeriod"] == 7


def test_log_exports_change_enables_and_disables_only_the_difference(created, args, run_module, api_calls):
    new = dict(args, enable_cloudwatch_logs_exports=["error", "audit"])
    result = run_module(main, new)
    assert result["changes"] == ["EnabledCloudwatchLogsExports"]
    assert sorted(describe()["EnabledCloudwatchLogsExports"]) == ["audit", "error"]
    api_calls.clear_calls()
    assert run_module(main, new)["changed"] is False and api_calls.writes == []


def test_tags_change_touches_only_tags(created, args, run_module, api_calls):
    tags = dict(args["tags"], Owner="data")
    result = run_module(main, dict(args, tags=tags))
    assert result["changes"] == ["Tags.Owner"]
    assert api_calls.writes == ["AddTagsToResource"]


def test_parameter_group_change_is_reported_as_waiting_for_a_reboot(created, args, run_module):
    result = run_module(main, dict(args, db_cluster_parameter_group_name=NAME + "-2"))
    assert result["changed"] is True
    assert result["pending_reboot"] == ["DBClusterParameterGroup"]
    assert any("reboot" in w for w in result.get("warnings", []))


def test_engine_upgrade_waits_for_the_maintenance_window_and_says_so(created, args, run_module):
    result = run_module(main, dict(args, engine_version="8.0.mysql_aurora.3.09.0"))
    assert result["pending_maintenance"] == ["EngineVersion"]
    assert any("maintenance window" in w for w in result.get("warnings", []))


def test_older_engine_version_is_not_a_downgrade(created, args, run_module, api_calls):
    result = run_module(main, dict(args, engine_version="8.0.mysql_aurora.3.05.2"))
    assert result["changed"] is False and api_calls.writes == []
    assert any("does not downgrade" in w for w in result.get("warnings", []))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("master_username", "admin"),
        ("kms_key_id", "arn:aws:kms:us-east-1:123456789012:key/other"),
        ("database_name", "x"),
    ],
)
def test_change_that_needs_a_new_cluster_is_refused_without_any_write(
    created, args, run_module, api_calls, field, value
):
    result = run_module(main, dict(args, **{field: value}))
    assert result["failed"] is True
    assert "replacing the cluster" in result["msg"] and "Nothing was changed" in result["msg"]
    assert api_calls.writes == []


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"backup_retention_period": 40}, "backup_retention_period=40"),
        ({"serverless_v2_scaling_configuration": {"min_capacity": 8, "max_capacity": 2}}, "min_capacity=8"),
        ({"serverless_v2_scaling_configuration": {"min_capacity": 0.3, "max_capacity": 2}}, "steps of 0.5"),
        ({"preferred_backup_window": "1:00-2:00"}, "preferred_backup_window"),
        ({"preferred_backup_window": "01:00-01:10"}, "at least 30 minutes"),
        ({"preferred_maintenance_window": "sunday 3am"}, "preferred_maintenance_window"),
        ({"restore_from": {"snapshot_identifier": "s", "source_db_cluster_identifier": "c"}}, "exactly one"),
    ],
)
def test_bad_input_fails_before_any_call(args, run_module, api_calls, override, message):
    result = run_module(main, dict(args, **override))
    assert result["failed"] is True and message in result["msg"]
    assert api_calls == []


def test_restore_from_snapshot_keeps_identity_and_takes_the_given_settings(created, args, run_module):
    rds = boto3.client("rds")
    rds.create_db_cluster_snapshot(DBClusterIdentifier=NAME, DBClusterSnapshotIdentifier="before")
    restored = dict(args, db_cluster_identifier=NAME + "-r1", restore_from={"snapshot_identifier": "before"})
    result = run_module(main, restored)
    assert result["changed"] is True
    cluster = rds.describe_db_clusters(DBClusterIdentifier=NAME + "-r1")["DBClusters"][0]
    assert cluster["DatabaseName"] == "notejam" and cluster["MasterUsername"] == "notejam"
    assert cluster["BackupRetentionPeriod"] == 7
    assert cluster["MasterUserSecret"]["SecretArn"]
    assert {t["Key"]: t["Value"] for t in cluster["TagList"]}["Environment"] == "test"
    assert run_module(main, restored)["changed"] is False


def test_protected_cluster_is_deleted_only_when_forced(created, args, run_module):
    run_module(main, dict(args, deletion_protection=True))
    absent = {"db_cluster_identifier": NAME, "state": "absent", "skip_final_snapshot": True}
    refused = run_module(main, absent)
    assert refused["failed"] is True and "deletion protection" in refused["msg"]
    assert run_module(main, dict(absent, force_delete=True))["changed"] is True
    assert boto3.client("rds").describe_db_clusters()["DBClusters"] == []
    assert run_module(main, absent)["changed"] is False


def test_delete_takes_the_final_snapshot(created, run_module):
    result = run_module(
        main, {"db_cluster_identifier": NAME, "state": "absent", "final_snapshot_identifier": "last"}
    )
    assert result["changed"] is True
    snapshots = boto3.client("rds").describe_db_cluster_snapshots()["DBClusterSnapshots"]
    assert "last" in [s["DBClusterSnapshotIdentifier"] for s in snapshots]


def test_delete_without_final_snapshot_choice_is_bad_input(aws, run_module, api_calls):
    result = run_module(main, {"db_cluster_identifier": NAME, "state": "absent"})
    assert result["failed"] is True and "final_snapshot_identifier" in result["msg"]
    assert api_calls == []


def test_deferred_engine_upgrade_is_sent_once_then_shown_as_pending(created, args, run_module, api_calls):
    upgrade = dict(args, engine_version="8.0.mysql_aurora.3.09.0")
    first = run_module(main, upgrade)
    assert first["changed"] is True and api_calls.writes == ["ModifyDBCluster"]
    cluster = describe()
    assert cluster["EngineVersion"] == "8.0.mysql_aurora.3.08.0"  # RDS holds it for the window
    assert cluster["PendingModifiedValues"] == {"EngineVersion": "8.0.mysql_aurora.3.09.0"}
    api_calls.clear_calls()
    again = run_module(main, upgrade)
    assert again["changed"] is False, again["changes"]
    assert api_calls.writes == []
    assert again["pending_maintenance"] == ["EngineVersion"]


def test_turning_the_managed_password_off_is_refused_before_any_write(created, args, run_module, api_calls):
    result = run_module(main, dict(args, manage_master_user_password=False))
    assert result["failed"] is True and "MasterUserPassword" in result["msg"]
    assert api_calls.writes == []
    assert describe()["MasterUserSecret"]["SecretArn"]


def test_creating_without_a_managed_password_is_refused_before_any_write(aws, args, run_module, api_calls):
    result = run_module(main, dict(args, manage_master_user_password=False))
    assert result["failed"] is True and "manage_master_user_password=false" in result["msg"]
    assert api_calls.writes == []


def test_delete_refused_for_members_leaves_the_cluster_protected(created, args, run_module, api_calls):
    run_module(main, dict(args, deletion_protection=True))
    boto3.client("rds").create_db_instance(
        DBInstanceIdentifier=NAME + "-1",
        DBClusterIdentifier=NAME,
        Engine="aurora-mysql",
        DBInstanceClass="db.serverless",
    )
    api_calls.clear_calls()
    absent = {
        "db_cluster_identifier": NAME,
        "state": "absent",
        "skip_final_snapshot": True,
        "force_delete": True,
    }
    result = run_module(main, absent)
    assert result["failed"] is True and "delete its instances first" in result["msg"]
    assert api_calls.writes == []
    assert describe()["DeletionProtection"] is True


# --- the RDS Data API (issue 14, defect 1) ---------------------------------------------------------
def test_data_api_is_switched_with_its_own_operations_not_modify_db_cluster(
    created, args, run_module, api_calls
):
    """ModifyDBCluster's EnableHttpEndpoint applies only to Aurora Serverless v1; a provisioned or
    Serverless v2 cluster is switched with EnableHttpEndpoint / DisableHttpEndpoint."""
    on = run_module(main, dict(args, enable_http_endpoint=True))
    assert on["changes"] == ["HttpEndpointEnabled"]
    assert describe()["HttpEndpointEnabled"] is True
    assert api_calls.writes == ["EnableHttpEndpoint"]
    (call,) = api_calls.of("EnableHttpEndpoint")
    assert call == {"ResourceArn": describe()["DBClusterArn"]}

    api_calls.clear_calls()
    assert run_module(main, dict(args, enable_http_endpoint=True))["changed"] is False
    assert api_calls.writes == []

    off = run_module(main, dict(args, enable_http_endpoint=False))
    assert off["changes"] == ["HttpEndpointEnabled"]
    assert describe()["HttpEndpointEnabled"] is False
    assert api_calls.writes == ["DisableHttpEndpoint"]


def test_data_api_on_a_cluster_with_t_class_instances_fails_before_any_write(
    created, args, run_module, api_calls
):
    """ "Data API isn't supported on T DB instance classes" (AuroraUserGuide/data-api.limitations.html)."""
    boto3.client("rds").create_db_instance(
        DBInstanceIdentifier=NAME + "-1",
        DBClusterIdentifier=NAME,
        DBInstanceClass="db.t4g.medium",
        Engine="aurora-mysql",
    )
    api_calls.clear_calls()
    result = run_module(main, dict(args, enable_http_endpoint=True))
    assert result["failed"] is True
    assert "enable_http_endpoint=true is not accepted" in result["msg"]
    assert f"{NAME}-1 (db.t4g.medium)" in result["msg"]
    assert api_calls.writes == []
    assert describe()["HttpEndpointEnabled"] is False
