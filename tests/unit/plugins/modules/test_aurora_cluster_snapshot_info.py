"""aurora_cluster_snapshot_info: the environment's snapshots in a region, newest first, others ignored."""

import time

import boto3
from ansible_collections.notejam.aws.plugins.modules.aurora_cluster_snapshot_info import main


def make_cluster(rds, name):
    rds.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-mysql",
        MasterUsername="notejam",
        ManageMasterUserPassword=True,
    )


def test_newest_matching_snapshot_is_latest(aws, run_module, api_calls):
    rds = boto3.client("rds")
    make_cluster(rds, "notejam-test-aurora")
    make_cluster(rds, "other-app")
    rds.create_db_cluster_snapshot(
        DBClusterIdentifier="notejam-test-aurora", DBClusterSnapshotIdentifier="old"
    )
    time.sleep(1.1)
    rds.create_db_cluster_snapshot(
        DBClusterIdentifier="notejam-test-aurora", DBClusterSnapshotIdentifier="new"
    )
    rds.create_db_cluster_snapshot(DBClusterIdentifier="other-app", DBClusterSnapshotIdentifier="theirs")
    api_calls.clear_calls()
    result = run_module(main, {"db_cluster_identifier_regex": "^notejam-test-aurora"})
    assert result["changed"] is False
    names = [s["db_cluster_snapshot_identifier"] for s in result["snapshots"]]
    assert "theirs" not in names
    assert names.index("new") < names.index("old")
    assert result["latest"]["db_cluster_snapshot_identifier"] == "new"
    assert api_calls.writes == []


def test_nothing_found_is_an_empty_latest(aws, run_module):
    result = run_module(main, {"db_cluster_identifier_regex": "^notejam-test-aurora"})
    assert result["snapshots"] == [] and result["latest"] == {}


def test_bad_regex_fails_before_any_call(aws, run_module, api_calls):
    result = run_module(main, {"db_cluster_identifier_regex": "("})
    assert result["failed"] is True and "regular expression" in result["msg"]
    assert api_calls == []
