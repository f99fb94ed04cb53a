"""playbooks/migrate_region.yml end to end against the emulator: a converged local environment
(us-east-1) has a snapshot copied to us-west-2, as AWS Backup's copy action does; the migration
brings network, database and backups up in us-west-2 from that copy, the database keeps its
identity and tags, and the source region is left exactly as it was."""

import pytest

CLUSTER = "notejam-local-aurora"
SOURCE, TARGET, NEW_DR = "us-east-1", "us-west-2", "eu-west-1"


def converge_and_copy(playbook, aws_client):
    """A converged local environment and one snapshot copied to TARGET, as the copy action does."""
    converge = playbook("site.yml", "local")
    assert converge.returncode == 0, converge.tail()
    rds = aws_client("rds", SOURCE)
    snapshot = rds.create_db_cluster_snapshot(
        DBClusterIdentifier=CLUSTER, DBClusterSnapshotIdentifier="daily-1"
    )["DBClusterSnapshot"]
    dr_key = aws_client("kms", TARGET).create_key(Description="backup copies")["KeyMetadata"]["Arn"]
    aws_client("rds", TARGET).copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=snapshot["DBClusterSnapshotArn"],
        TargetDBClusterSnapshotIdentifier="daily-1-copy",
        KmsKeyId=dr_key,
        SourceRegion=SOURCE,
        CopyTags=True,
    )
    replicate_image(aws_client)
    return rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]


def replicate_image(aws_client, repository="notejam-local-app", tag="0.1.0"):
    """The running image in TARGET, as ECR replication leaves it there: the repository made by
    replication with the settings of a repository creation template that names the app tier's
    key there (alias notejam-local-app, which the role then adopts), and the image's manifest."""
    source = aws_client("ecr", SOURCE)
    (image,) = source.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])["images"]
    key = aws_client("kms", TARGET).create_key(Description="notejam-local: app logs, SECRET_KEY and images")
    key_arn = key["KeyMetadata"]["Arn"]
    aws_client("kms", TARGET).create_alias(AliasName="alias/notejam-local-app", TargetKeyId=key_arn)
    target = aws_client("ecr", TARGET)
    target.create_repository(
        repositoryName=repository,
        imageTagMutability="IMMUTABLE",
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": key_arn},
    )
    # The harness's first build (tests/emulator/fixes/ecr.py) may have put the same manifest there
    # already, as it does in every new repository: then it must be the same image.
    held = target.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])["images"]
    if held:
        assert held[0]["imageId"]["imageDigest"] == image["imageId"]["imageDigest"]
        return
    target.put_image(
        repositoryName=repository,
        imageManifest=image["imageManifest"],
        imageManifestMediaType=image["imageManifestMediaType"],
        imageTag=tag,
    )


def region_state(aws_client, region):
    """What a migration must not touch in the source region."""
    rds, ec2 = aws_client("rds", region), aws_client("ec2", region)
    return {
        "clusters": sorted(
            (c["DBClusterIdentifier"], c["Status"], c.get("EngineVersion"), c["BackupRetentionPeriod"])
            for c in rds.describe_db_clusters()["DBClusters"]
        ),
        "instances": sorted(i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]),
        "vpcs": sorted(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]),
        "subnets": sorted(s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]),
        "vaults": sorted(
            v["BackupVaultName"] for v in aws_client("backup", region).list_backup_vaults()["BackupVaultList"]
        ),
    }


@pytest.mark.slow
@pytest.mark.emulator
def test_migration_rebuilds_the_environment_from_the_copied_backup(fresh_emulator, playbook, aws_client):
    source = converge_and_copy(playbook, aws_client)
    target_rds = aws_client("rds", TARGET)
    untouched = region_state(aws_client, SOURCE)

    def migrate(*extra):
        return playbook(
            "playbooks/migrate_region.yml",
            "local",
            "-e",
            f"target_region={TARGET}",
            "-e",
            f"migrate_dr_region={NEW_DR}",
            *extra,
        )

    # --check first (on the same converged environment): it lists the copy and what it would
    # build, and writes nothing.
    fresh_emulator.reset_calls()
    dry = migrate("--check")
    assert dry.returncode == 0, dry.tail()
    assert "daily-1-copy" in dry.output
    assert fresh_emulator.calls()["writes"] == 0, fresh_emulator.calls()["write_calls"]
    assert target_rds.describe_db_clusters()["DBClusters"] == []
    # It says what it would build there: the restored cluster and the backup selection with its plan.
    assert "Would create selection" in dry.output

    run = migrate()
    assert run.returncode == 0, run.tail()

    migrated = target_rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]
    assert migrated["DatabaseName"] == source["DatabaseName"]
    assert migrated["MasterUsername"] == source["MasterUsername"]
    assert migrated["StorageEncrypted"] is True and migrated["KmsKeyId"].startswith(f"arn:aws:kms:{TARGET}:")
    assert {t["Key"]: t["Value"] for t in migrated["TagList"]} == {
        t["Key"]: t["Value"] for t in source["TagList"]
    }
    assert migrated["MasterUserSecret"]["SecretArn"]
    vpcs = aws_client("ec2", TARGET).describe_vpcs(
        Filters=[{"Name": "tag:Environment", "Values": ["local"]}]
    )["Vpcs"]
    assert len(vpcs) == 1
    plans = aws_client("backup", TARGET).list_backup_plans()["BackupPlansList"]
    assert [p["BackupPlanName"] for p in plans] == ["notejam-local-plan"]
    assert "notejam-local-vault-dr" in [
        v["BackupVaultName"] for v in aws_client("backup", NEW_DR).list_backup_vaults()["BackupVaultList"]
    ]
    assert region_state(aws_client, SOURCE) == untouched

    again = migrate()
    assert again.returncode == 0, again.tail()
    assert again.changed == 0, again.changed_tasks()

    # The old region is cleaned up as the runbook says: its regional resources go, the global IAM
    # roles the migrated environment uses stay, and the migrated environment is untouched.
    iam = aws_client("iam", SOURCE)

    def env_roles():
        return sorted(
            r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("notejam-local-")
        )

    roles = env_roles()
    assert "notejam-local-flow-logs" in roles and "notejam-local-backup" in roles
    cleanup = playbook("playbooks/destroy.yml", "local", "-e", "notejam_destroy_global=false")
    assert cleanup.returncode == 0, cleanup.tail()
    assert aws_client("rds", SOURCE).describe_db_clusters()["DBClusters"] == []
    assert not aws_client("ec2", SOURCE).describe_vpcs(
        Filters=[{"Name": "tag:Environment", "Values": ["local"]}]
    )["Vpcs"]
    # Roles named for the old region (the app's task roles) go with it; the global ones stay.
    assert env_roles() == [r for r in roles if not r.endswith(f"-{SOURCE}")]
    assert f"notejam-local-app-execution-{TARGET}" in env_roles()
    (kept,) = target_rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"]
    assert kept["Status"] == "available"


@pytest.mark.emulator
def test_migration_refuses_the_current_region(playbook):
    run = playbook("playbooks/migrate_region.yml", "local", "-e", f"target_region={SOURCE}")
    assert run.returncode != 0 and "different from the current region" in run.output
