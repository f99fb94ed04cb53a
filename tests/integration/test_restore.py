"""playbooks/restore.yml end to end against the emulator: a converged local environment is
restored from a cluster snapshot into a new cluster, checked with a query, and the environment is
repointed to it; --check lists the restore and writes nothing; the old cluster is kept until
retired; identity and tags survive.

The emulator does not run SQL: the check query's answer is queued through moto's rds-data API, so
the test shows the query is made against the restored cluster with its managed secret, not that
rows came back from storage (real AWS only)."""

import json
import urllib.request

import pytest

CLUSTER = "notejam-local-aurora"
REGION = "us-east-1"
POINTER = "/notejam-local/aurora/active-cluster"


def cluster(rds, name):
    found = rds.describe_db_clusters(Filters=[{"Name": "db-cluster-id", "Values": [name]}])["DBClusters"]
    return found[0] if found else None


def identity(c):
    """What must survive a restore: who the database is and how it is tagged, secured and placed."""
    tags = {t["Key"]: t["Value"] for t in c["TagList"] if t["Key"] != "Name"}
    return {
        "engine": c["Engine"],
        "database": c["DatabaseName"],
        "user": c["MasterUsername"],
        "encrypted": c["StorageEncrypted"],
        "kms": c["KmsKeyId"],
        "subnet_group": c["DBSubnetGroup"],
        "security_groups": sorted(g["VpcSecurityGroupId"] for g in c["VpcSecurityGroups"]),
        "tags": tags,
    }


def queue_check_query_answer(url, rows):
    body = json.dumps({"region": REGION, "results": [{"records": rows}]}).encode()
    request = urllib.request.Request(
        f"{url}/moto-api/static/rds-data/statement-results", data=body, method="POST"
    )
    urllib.request.urlopen(request, timeout=10).close()


@pytest.mark.slow
@pytest.mark.emulator
def test_restore_from_snapshot_repoints_the_environment_and_keeps_the_old_cluster(
    fresh_emulator, playbook, aws_client
):
    converge = playbook("site.yml", "local")
    assert converge.returncode == 0, converge.tail()
    rds, ssm = aws_client("rds", REGION), aws_client("ssm", REGION)
    before = cluster(rds, CLUSTER)
    rds.create_db_cluster_snapshot(DBClusterIdentifier=CLUSTER, DBClusterSnapshotIdentifier="before-restore")

    # --check lists what it would do and writes nothing.
    fresh_emulator.reset_calls()
    dry = playbook("playbooks/restore.yml", "local", "-e", "restore_snapshot=before-restore", "--check")
    assert dry.returncode == 0, dry.tail()
    assert "Restoring" in dry.output and "before-restore" in dry.output
    assert fresh_emulator.calls()["writes"] == 0, fresh_emulator.calls()["write_calls"]
    assert [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]] == [CLUSTER]

    queue_check_query_answer(fresh_emulator.url, [[{"longValue": 3}]])
    run = playbook("playbooks/restore.yml", "local", "-e", "restore_snapshot=before-restore")
    assert run.returncode == 0, run.tail()
    assert "check query returned 1 rows" in run.output

    new_name = ssm.get_parameter(Name=POINTER)["Parameter"]["Value"]
    assert new_name.startswith(CLUSTER + "-r") and new_name != CLUSTER
    restored = cluster(rds, new_name)
    assert identity(restored) == identity(before)
    assert {t["Key"]: t["Value"] for t in restored["TagList"]}["Name"] == new_name
    assert restored["MasterUserSecret"]["SecretArn"]
    assert restored["HttpEndpointEnabled"] is False  # on only for the check; site.yml turned it off
    writers = [m for m in restored["DBClusterMembers"] if m["IsClusterWriter"]]
    assert writers, "the restored cluster has a writer"
    assert cluster(rds, CLUSTER) is not None, "the old cluster is kept until retired"

    # The environment now converges around the restored cluster, with nothing left to change.
    again = playbook("site.yml", "local")
    assert again.returncode == 0, again.tail()
    assert again.changed == 0, again.changed_tasks()

    # Re-running the same restore continues, it does not restore twice.
    repeat = playbook("playbooks/restore.yml", "local", "-e", "restore_snapshot=before-restore")
    assert repeat.returncode == 0, repeat.tail()
    assert len(rds.describe_db_clusters()["DBClusters"]) == 2

    # Retiring the active cluster is refused; retiring the old one deletes it.
    refused = playbook("playbooks/restore.yml", "local", "-e", f"restore_retire={new_name}")
    assert refused.returncode != 0 and "active cluster" in refused.output
    retire = playbook("playbooks/restore.yml", "local", "-e", f"restore_retire={CLUSTER}")
    assert retire.returncode == 0, retire.tail()
    assert cluster(rds, CLUSTER) is None and cluster(rds, new_name) is not None


@pytest.mark.emulator
def test_restore_needs_exactly_one_source(playbook):
    run = playbook(
        "playbooks/restore.yml",
        "local",
        "-e",
        "restore_snapshot=a",
        "-e",
        "restore_to_time=2026-01-01T00:00:00Z",
    )
    assert run.returncode != 0
    assert "exactly one of restore_snapshot" in run.output
