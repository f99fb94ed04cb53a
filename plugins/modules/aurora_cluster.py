#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: aurora_cluster
short_description: Manage an Aurora MySQL DB cluster with RDS-managed master credentials
version_added: 0.1.0
description:
  - Creates, updates and deletes an Amazon Aurora DB cluster, or creates it from a cluster
    snapshot (or an AWS Backup recovery point of a cluster) or a point in time of another cluster.
  - Why not M(amazon.aws.rds_cluster)? It cannot ask RDS to manage the master password in
    Secrets Manager (C(ManageMasterUserPassword)), so a password would have to be chosen, passed
    and stored by the playbook; and it does not say which changes wait for the maintenance window.
  - Changes that RDS can only make by replacing the cluster (engine, encryption, KMS key, master
    user name, database name, subnet group) are never made; the module fails before any write,
    naming each field with its current and desired value.
  - Changes that RDS defers to the maintenance window when O(apply_immediately=false) (the engine
    version) are reported in RV(pending_maintenance) and as a warning; while RDS holds one in
    C(PendingModifiedValues) it counts as made, so a re-run neither re-sends nor reports it; a new
    cluster parameter group reaches the instances only when they reboot, which is reported in
    RV(pending_reboot).
  - Only the options given are managed; an option left out keeps its current value.
author:
  - notejam.aws maintainers (@notejam)
options:
  db_cluster_identifier:
    description: The cluster's identifier (C(notejam-<env>-aurora) by convention).
    type: str
    required: true
    aliases: [id, name]
  state:
    description: C(present) creates or updates the cluster, C(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  engine:
    description: Aurora engine. Cannot change once created.
    type: str
    default: aurora-mysql
    choices: [aurora-mysql]
  engine_version:
    description:
      - Engine version, for example C(8.0.mysql_aurora.3.08.0). When the cluster already runs a
        newer version (auto minor version upgrade), no downgrade is attempted and a warning says so.
    type: str
  database_name:
    description: Name of the database created in the cluster. Cannot change once created.
    type: str
  master_username:
    description: Master user name. Cannot change once created.
    type: str
  manage_master_user_password:
    description:
      - Let RDS generate the master password and keep (and rotate) it in Secrets Manager. The
        secret's ARN is returned as RV(cluster.master_user_secret) (C(secret_arn)).
      - C(false) is refused, before any write, for a cluster that has a managed secret and for a
        new cluster that is not restored, because RDS then needs a master password (C(MasterUserPassword)),
        and this module never chooses, takes or stores one.
    type: bool
    default: true
  master_user_secret_kms_key_id:
    description: KMS key (ARN) that encrypts the managed master user secret.
    type: str
  db_subnet_group_name:
    description: DB subnet group. Cannot change once created.
    type: str
  vpc_security_group_ids:
    description: Security groups of the cluster (the whole list).
    type: list
    elements: str
  db_cluster_parameter_group_name:
    description: Cluster parameter group. A change reaches the instances after their reboot.
    type: str
  port:
    description: Port the cluster listens on.
    type: int
  storage_encrypted:
    description: Encrypt storage. Cannot change once created.
    type: bool
  kms_key_id:
    description: KMS key ARN for storage encryption. Cannot change once created.
    type: str
  backup_retention_period:
    description: Days of automated backups (point-in-time recovery), 1 to 35.
    type: int
  preferred_backup_window:
    description: Daily backup window, UTC, C(hh24:mi-hh24:mi), at least 30 minutes.
    type: str
  preferred_maintenance_window:
    description: Weekly maintenance window, UTC, C(ddd:hh24:mi-ddd:hh24:mi).
    type: str
  copy_tags_to_snapshot:
    description: Copy the cluster's tags to its snapshots.
    type: bool
  deletion_protection:
    description: Refuse deletion while true. O(state=absent) turns it off only with O(force_delete).
    type: bool
  enable_cloudwatch_logs_exports:
    description: Log types exported to CloudWatch Logs (the whole list), e.g. C(error), C(slowquery).
    type: list
    elements: str
  serverless_v2_scaling_configuration:
    description: Aurora Serverless v2 capacity range in ACUs.
    type: dict
    suboptions:
      min_capacity:
        description: Minimum ACUs (0 to 256, in steps of 0.5).
        type: float
        required: true
      max_capacity:
        description:
          - Maximum ACUs (1 to 256, in steps of 0.5), at least
            O(serverless_v2_scaling_configuration.min_capacity).
        type: float
        required: true
  enable_http_endpoint:
    description:
      - Turn the RDS Data API (HTTP endpoint) on or off. On an existing (provisioned or Serverless
        v2) cluster this is done with the C(EnableHttpEndpoint) and C(DisableHttpEndpoint)
        operations; ModifyDBCluster's parameter of that name applies only to Aurora Serverless v1.
      - The Data API is not available on T DB instance classes; turning it on for a cluster with a
        C(db.t*) instance fails before any write.
    type: bool
  restore_from:
    description:
      - Create the cluster from a snapshot or a point in time instead of empty. Used only when the
        cluster does not exist yet; ignored afterwards.
    type: dict
    suboptions:
      snapshot_identifier:
        description:
          - Cluster snapshot identifier or ARN; an AWS Backup recovery point ARN of an Aurora
            cluster works too.
        type: str
      source_db_cluster_identifier:
        description: Cluster to restore to a point in time.
        type: str
      restore_to_time:
        description: Point in time (ISO 8601, UTC) to restore O(restore_from.source_db_cluster_identifier) to.
        type: str
      use_latest_restorable_time:
        description: Restore O(restore_from.source_db_cluster_identifier) to its latest restorable time.
        type: bool
        default: false
  apply_immediately:
    description: Apply deferred changes now instead of in the next maintenance window.
    type: bool
    default: false
  skip_final_snapshot:
    description: With O(state=absent), delete without a final snapshot.
    type: bool
    default: false
  final_snapshot_identifier:
    description:
      - With O(state=absent), the final snapshot's identifier (required unless O(skip_final_snapshot)).
    type: str
  force_delete:
    description: With O(state=absent), turn deletion protection off first.
    type: bool
    default: false
  wait:
    description: Wait until the cluster is available (or deleted).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait at most.
    type: int
    default: 1800
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Aurora MySQL 3 cluster with RDS-managed master credentials
  notejam.aws.aurora_cluster:
    db_cluster_identifier: notejam-prod-aurora
    engine_version: 8.0.mysql_aurora.3.08.0
    database_name: notejam
    master_username: notejam
    master_user_secret_kms_key_id: "{{ key_arn }}"
    db_subnet_group_name: notejam-prod-aurora
    vpc_security_group_ids: ["{{ db_sg }}"]
    storage_encrypted: true
    kms_key_id: "{{ key_arn }}"
    backup_retention_period: 35
    deletion_protection: true
    tags: {Project: notejam, Environment: prod, ManagedBy: ansible}

- name: Restore a snapshot into a new cluster
  notejam.aws.aurora_cluster:
    db_cluster_identifier: notejam-prod-aurora-r1
    restore_from:
      snapshot_identifier: arn:aws:rds:eu-west-1:123456789012:cluster-snapshot:awsbackup:job-1234
    db_subnet_group_name: notejam-prod-aurora
    vpc_security_group_ids: ["{{ db_sg }}"]
"""

RETURN = r"""
cluster:
  description: The cluster as DescribeDBClusters returns it (snake_case; tags as a dict).
  returned: success
  type: dict
  contains:
    db_cluster_arn:
      description: The cluster's ARN.
      type: str
    endpoint:
      description: Writer endpoint.
      type: str
    reader_endpoint:
      description: Reader endpoint.
      type: str
    master_user_secret:
      description: The RDS-managed secret (ARN, status, KMS key), no secret value.
      type: dict
changes:
  description: Dotted paths of the managed fields that differed.
  returned: always
  type: list
  elements: str
pending_maintenance:
  description: Changes that RDS applies in the next maintenance window.
  returned: always
  type: list
  elements: str
pending_reboot:
  description: Changes that reach the instances only after they reboot.
  returned: always
  type: list
  elements: str
"""

import re  # noqa: E402 - Ansible wants the documentation first

try:  # noqa: SIM105
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports it

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (  # noqa: E402
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.notejam.aws.plugins.module_utils.resource import (  # noqa: E402
    AwsResource,
    paginate,
    tag_delta,
    tags_after,
    wait_with_waiter,
)

# Fields RDS cannot change on an existing cluster: a different value means a new cluster.
REPLACEMENT_FIELDS = (
    "Engine",
    "DatabaseName",
    "MasterUsername",
    "DBSubnetGroup",
    "StorageEncrypted",
    "KmsKeyId",
)
# Fields RDS defers to the maintenance window unless ApplyImmediately is set.
DEFERRED_FIELDS = ("EngineVersion",)

_WINDOW_BACKUP = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
_WINDOW_MAINT = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$"
)


def version_tuple(version):
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"[._]", version or ""))


def _minutes(hhmm):
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def validate(module):
    """Reject bad input before any AWS call, naming the option and what it accepts."""
    p = module.params
    if p["state"] == "absent":
        if not p["skip_final_snapshot"] and not p["final_snapshot_identifier"]:
            module.fail_json(
                msg="final_snapshot_identifier is required with state=absent unless skip_final_snapshot=true"
            )
        return
    retention = p["backup_retention_period"]
    if retention is not None and not 1 <= retention <= 35:
        module.fail_json(msg=f"backup_retention_period={retention} is out of range; accepted: 1 to 35 days")
    window = p["preferred_backup_window"]
    if window is not None:
        if not _WINDOW_BACKUP.match(window):
            module.fail_json(msg=f"preferred_backup_window={window!r} is not hh24:mi-hh24:mi (UTC)")
        start, end = (_minutes(t) for t in window.split("-"))
        if (end - start) % 1440 < 30:
            module.fail_json(msg=f"preferred_backup_window={window!r} must last at least 30 minutes")
    maint = p["preferred_maintenance_window"]
    if maint is not None and not _WINDOW_MAINT.match(maint.lower()):
        module.fail_json(msg=f"preferred_maintenance_window={maint!r} is not ddd:hh24:mi-ddd:hh24:mi (UTC)")
    scaling = p["serverless_v2_scaling_configuration"]
    if scaling:
        low, high = scaling["min_capacity"], scaling["max_capacity"]
        for name, value, floor in (("min_capacity", low, 0), ("max_capacity", high, 1)):
            if not floor <= value <= 256 or (value * 2) != int(value * 2):
                module.fail_json(
                    msg=f"serverless_v2_scaling_configuration.{name}={value} is not valid; "
                    f"accepted: {floor} to 256 ACUs in steps of 0.5"
                )
        if low > high:
            module.fail_json(
                msg=f"serverless_v2_scaling_configuration.min_capacity={low} is above max_capacity={high}"
            )
    if p["storage_encrypted"] is False and p["kms_key_id"]:
        module.fail_json(msg="kms_key_id needs storage_encrypted=true")
    restore = p["restore_from"] or {}
    if restore:
        by_snapshot = bool(restore.get("snapshot_identifier"))
        by_time = bool(restore.get("source_db_cluster_identifier"))
        if by_snapshot == by_time:
            module.fail_json(
                msg="restore_from needs exactly one of snapshot_identifier or source_db_cluster_identifier"
            )
        if by_time and bool(restore.get("restore_to_time")) == bool(
            restore.get("use_latest_restorable_time")
        ):
            module.fail_json(
                msg="restore_from.source_db_cluster_identifier needs exactly one of restore_to_time "
                "or use_latest_restorable_time=true"
            )


class AuroraCluster(AwsResource):
    service = "rds"
    result_key = "cluster"
    # EnableHttpEndpoint/DisableHttpEndpoint answer InvalidResourceStateFault while "another
    # operation is in progress" (e.g. the modify just sent).
    extra_retry_codes = ("InvalidDBClusterStateFault", "InvalidResourceStateFault")

    def __init__(self, module):
        super().__init__(module)
        self.identifier = self.params["db_cluster_identifier"]
        self.pending_maintenance = []
        self.pending_reboot = []
        self.raw_arn = None

    # --- read ---------------------------------------------------------------------------------
    def read(self):
        try:
            clusters = self.client.describe_db_clusters(DBClusterIdentifier=self.identifier)["DBClusters"]
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] == "DBClusterNotFoundFault":
                return None
            self.module.fail_json_aws(e, msg=f"Could not describe DB cluster {self.identifier}")
        if not clusters or clusters[0].get("Status") == "deleting":
            return None
        self.raw_arn = clusters[0]["DBClusterArn"]
        return clusters[0]

    def comparable(self, raw):
        scaling = raw.get("ServerlessV2ScalingConfiguration") or None
        if scaling:
            scaling = {
                "MinCapacity": float(scaling["MinCapacity"]),
                "MaxCapacity": float(scaling["MaxCapacity"]),
            }
        # A change RDS holds for the maintenance window (PendingModifiedValues) counts as made:
        # comparing with the running value would re-send it, and report it, on every run.
        pending = raw.get("PendingModifiedValues") or {}
        return {
            "Engine": raw.get("Engine"),
            "EngineVersion": pending.get("EngineVersion") or raw.get("EngineVersion"),
            "DatabaseName": raw.get("DatabaseName"),
            "MasterUsername": raw.get("MasterUsername"),
            "ManageMasterUserPassword": bool(raw.get("MasterUserSecret")),
            "MasterUserSecretKmsKeyId": (raw.get("MasterUserSecret") or {}).get("KmsKeyId"),
            "DBSubnetGroup": raw.get("DBSubnetGroup"),
            "VpcSecurityGroupIds": sorted(g["VpcSecurityGroupId"] for g in raw.get("VpcSecurityGroups", [])),
            "DBClusterParameterGroup": raw.get("DBClusterParameterGroup"),
            "Port": raw.get("Port"),
            "StorageEncrypted": bool(raw.get("StorageEncrypted")),
            "KmsKeyId": raw.get("KmsKeyId"),
            "BackupRetentionPeriod": raw.get("BackupRetentionPeriod"),
            "PreferredBackupWindow": raw.get("PreferredBackupWindow"),
            "PreferredMaintenanceWindow": (raw.get("PreferredMaintenanceWindow") or "").lower() or None,
            "CopyTagsToSnapshot": bool(raw.get("CopyTagsToSnapshot")),
            "DeletionProtection": bool(raw.get("DeletionProtection")),
            "EnabledCloudwatchLogsExports": sorted(raw.get("EnabledCloudwatchLogsExports") or []),
            "ServerlessV2ScalingConfiguration": scaling,
            "HttpEndpointEnabled": bool(raw.get("HttpEndpointEnabled")),
            "Tags": boto3_tag_list_to_ansible_dict(raw.get("TagList", [])),
        }

    # --- desire -------------------------------------------------------------------------------
    def desired(self, before):
        p = self.params
        before = before or {}
        scaling = p["serverless_v2_scaling_configuration"]
        version = p["engine_version"]
        if (
            version
            and before.get("EngineVersion")
            and version_tuple(before["EngineVersion"]) > version_tuple(version)
        ):
            self.module.warn(
                f"{self.identifier} runs engine version {before['EngineVersion']}, newer than "
                f"engine_version={version}; RDS does not downgrade, keeping it"
            )
            version = None
        secret_key = p["master_user_secret_kms_key_id"] if p["manage_master_user_password"] else None
        current_key = before.get("MasterUserSecretKmsKeyId")
        if (
            before.get("ManageMasterUserPassword")
            and secret_key
            and current_key
            and secret_key != current_key
        ):
            # RDS takes MasterUserSecretKmsKeyId only while turning ManageMasterUserPassword on.
            self.module.warn(
                f"{self.identifier}: its managed master secret is encrypted with {current_key}; RDS cannot "
                "re-encrypt an existing managed secret, keeping it (turn manage_master_user_password off "
                "and on to get a new secret under the new key)"
            )
            secret_key = None
        return {
            "Engine": p["engine"],
            "EngineVersion": version,
            "DatabaseName": p["database_name"],
            "MasterUsername": p["master_username"],
            "ManageMasterUserPassword": p["manage_master_user_password"],
            "MasterUserSecretKmsKeyId": secret_key,
            "DBSubnetGroup": p["db_subnet_group_name"],
            "VpcSecurityGroupIds": sorted(p["vpc_security_group_ids"])
            if p["vpc_security_group_ids"] is not None
            else None,
            "DBClusterParameterGroup": p["db_cluster_parameter_group_name"],
            "Port": p["port"],
            "StorageEncrypted": p["storage_encrypted"],
            "KmsKeyId": p["kms_key_id"],
            "BackupRetentionPeriod": p["backup_retention_period"],
            "PreferredBackupWindow": p["preferred_backup_window"],
            "PreferredMaintenanceWindow": p["preferred_maintenance_window"].lower()
            if p["preferred_maintenance_window"]
            else None,
            "CopyTagsToSnapshot": p["copy_tags_to_snapshot"],
            "DeletionProtection": p["deletion_protection"],
            "EnabledCloudwatchLogsExports": sorted(p["enable_cloudwatch_logs_exports"])
            if p["enable_cloudwatch_logs_exports"] is not None
            else None,
            "ServerlessV2ScalingConfiguration": {
                "MinCapacity": float(scaling["min_capacity"]),
                "MaxCapacity": float(scaling["max_capacity"]),
            }
            if scaling
            else None,
            "HttpEndpointEnabled": p["enable_http_endpoint"],
            "Tags": tags_after(before.get("Tags"), p["tags"], p["purge_tags"]),
        }

    def plan(self):
        raw, before, after, changes = super().plan()
        creating = before is None and after is not None and not self.params["restore_from"]
        if creating and not after.get("ManageMasterUserPassword"):
            self.module.fail_json(
                msg=f"Refusing to create {self.identifier} with manage_master_user_password=false: RDS "
                "then needs a master password, which this module does not take. Nothing was changed."
            )
        if (
            before is not None
            and after is not None
            and "HttpEndpointEnabled" in changes
            and after["HttpEndpointEnabled"]
        ):
            self._refuse_data_api_on_t_classes(raw)
        if before is not None and after is not None:
            replacing = [f for f in REPLACEMENT_FIELDS if f in changes]
            if replacing:
                detail = "; ".join(f"{f}: {before.get(f)!r} -> {after.get(f)!r}" for f in replacing)
                self.module.fail_json(
                    msg=f"Refusing to change {self.identifier}: RDS can only make these changes by replacing "
                    f"the cluster ({detail}). Nothing was changed. Restore into a new cluster with "
                    "playbooks/restore.yml instead, or put the old values back.",
                    changes=changes,
                )
            if "ManageMasterUserPassword" in changes and not after.get("ManageMasterUserPassword"):
                # RDS needs MasterUserPassword to turn ManageMasterUserPassword off, and this
                # module never chooses, takes or stores a password (the project's secrets are
                # generated once, in AWS): refuse before any write rather than send an invalid call.
                self.module.fail_json(
                    msg=f"Refusing to turn manage_master_user_password off for {self.identifier}: RDS then "
                    "needs a new master password (MasterUserPassword), which this module does not take. "
                    "Nothing was changed. Keep manage_master_user_password=true (RDS rotates the secret and "
                    "the app re-reads it), or change the password yourself with ModifyDBCluster.",
                )
            # Filled in place: run() handed these lists to exit_json's arguments already.
            held = sorted((raw or {}).get("PendingModifiedValues") or {})
            self.pending_maintenance.extend(f for f in held if f in DEFERRED_FIELDS)
            if not self.params["apply_immediately"]:
                self.pending_maintenance.extend(
                    f for f in DEFERRED_FIELDS if f in changes and f not in self.pending_maintenance
                )
            if "DBClusterParameterGroup" in changes:
                self.pending_reboot.append("DBClusterParameterGroup")
            for field in self.pending_maintenance:
                self.module.warn(
                    f"{self.identifier}: the change of {field} waits for the maintenance window "
                    f"{before.get('PreferredMaintenanceWindow')} (set apply_immediately=true to apply it now)"
                )
            for field in self.pending_reboot:
                self.module.warn(
                    f"{self.identifier}: the new {field} reaches the instances only after they reboot"
                )
        return raw, before, after, changes

    # --- apply --------------------------------------------------------------------------------
    def _settings(self, after, changes=None):
        """ModifyDBCluster/CreateDBCluster parameters for the changed (or all) mutable fields."""
        wanted = changes if changes is not None else list(after)
        mapping = {
            "EngineVersion": "EngineVersion",
            "VpcSecurityGroupIds": "VpcSecurityGroupIds",
            "DBClusterParameterGroup": "DBClusterParameterGroupName",
            "Port": "Port",
            "BackupRetentionPeriod": "BackupRetentionPeriod",
            "PreferredBackupWindow": "PreferredBackupWindow",
            "PreferredMaintenanceWindow": "PreferredMaintenanceWindow",
            "CopyTagsToSnapshot": "CopyTagsToSnapshot",
            "DeletionProtection": "DeletionProtection",
            "ServerlessV2ScalingConfiguration": "ServerlessV2ScalingConfiguration",
            # Not HttpEndpointEnabled: ModifyDBCluster's EnableHttpEndpoint "applies only to Aurora
            # Serverless v1 DB clusters" (API_ModifyDBCluster.html); see _set_data_api().
        }
        params = {}
        for field, api_name in mapping.items():
            if any(c == field or c.startswith(field + ".") for c in wanted) and after.get(field) is not None:
                params[api_name] = after[field]
        return params

    def create(self, after):
        p = self.params
        restore = p["restore_from"] or {}
        tags = ansible_dict_to_boto3_tag_list(after.get("Tags") or {})
        common = {
            "DBClusterIdentifier": self.identifier,
            "DBSubnetGroupName": after.get("DBSubnetGroup"),
            "VpcSecurityGroupIds": after.get("VpcSecurityGroupIds"),
            "DBClusterParameterGroupName": after.get("DBClusterParameterGroup"),
            "Port": after.get("Port"),
            "KmsKeyId": after.get("KmsKeyId"),
            "CopyTagsToSnapshot": after.get("CopyTagsToSnapshot"),
            "DeletionProtection": after.get("DeletionProtection"),
            "EnableCloudwatchLogsExports": after.get("EnabledCloudwatchLogsExports"),
            "ServerlessV2ScalingConfiguration": after.get("ServerlessV2ScalingConfiguration"),
            "Tags": tags,
        }
        common = {k: v for k, v in common.items() if v is not None}
        if restore.get("snapshot_identifier"):
            self.client.restore_db_cluster_from_snapshot(
                SnapshotIdentifier=restore["snapshot_identifier"],
                Engine=after["Engine"],
                **({"EngineVersion": after["EngineVersion"]} if after.get("EngineVersion") else {}),
                **common,
            )
        elif restore.get("source_db_cluster_identifier"):
            when = (
                {"UseLatestRestorableTime": True}
                if restore.get("use_latest_restorable_time")
                else {"RestoreToTime": restore["restore_to_time"]}
            )
            self.client.restore_db_cluster_to_point_in_time(
                SourceDBClusterIdentifier=restore["source_db_cluster_identifier"], **when, **common
            )
        else:
            extra = {
                "Engine": after["Engine"],
                "EngineVersion": after.get("EngineVersion"),
                "DatabaseName": after.get("DatabaseName"),
                "MasterUsername": after.get("MasterUsername"),
                "StorageEncrypted": after.get("StorageEncrypted"),
                "BackupRetentionPeriod": after.get("BackupRetentionPeriod"),
                "PreferredBackupWindow": after.get("PreferredBackupWindow"),
                "PreferredMaintenanceWindow": after.get("PreferredMaintenanceWindow"),
            }
            if after.get("HttpEndpointEnabled"):
                extra["EnableHttpEndpoint"] = True
            if after.get("ManageMasterUserPassword"):
                extra["ManageMasterUserPassword"] = True
                extra["MasterUserSecretKmsKeyId"] = after.get("MasterUserSecretKmsKeyId")
            self.client.create_db_cluster(**common, **{k: v for k, v in extra.items() if v is not None})
            return
        # A restored cluster takes some settings only through a modify once it exists.
        self._wait_available()
        current = self.comparable(self.read())
        rest = self._settings(after, [f for f in after if current.get(f) != after.get(f)])
        secret = {}
        if after.get("ManageMasterUserPassword") and not current.get("ManageMasterUserPassword"):
            secret = {"ManageMasterUserPassword": True}
            if after.get("MasterUserSecretKmsKeyId"):
                secret["MasterUserSecretKmsKeyId"] = after["MasterUserSecretKmsKeyId"]
        if rest or secret:
            self.client.modify_db_cluster(
                DBClusterIdentifier=self.identifier, ApplyImmediately=True, **rest, **secret
            )
        if after.get("HttpEndpointEnabled") is not None and after["HttpEndpointEnabled"] != current.get(
            "HttpEndpointEnabled"
        ):
            self._set_data_api(after["HttpEndpointEnabled"])

    def _set_data_api(self, enabled):
        """Turn the Data API on or off on a provisioned or Serverless v2 cluster: "This operation
        applies only to Aurora Serverless v2 and provisioned DB clusters. To enable the HTTP endpoint
        for Aurora Serverless v1 DB clusters, use the EnableHttpEndpoint parameter of the
        ModifyDBCluster operation" (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_EnableHttpEndpoint.html,
        API_DisableHttpEndpoint.html)."""
        arn = self.raw_arn or self.read()["DBClusterArn"]
        if enabled:
            self.client.enable_http_endpoint(ResourceArn=arn)
        else:
            self.client.disable_http_endpoint(ResourceArn=arn)

    def update(self, before, after, changes):
        params = self._settings(after, changes)
        if any(c.startswith("EnabledCloudwatchLogsExports") for c in changes):
            old, new = set(before["EnabledCloudwatchLogsExports"]), set(after["EnabledCloudwatchLogsExports"])
            params["CloudwatchLogsExportConfiguration"] = {
                "EnableLogTypes": sorted(new - old),
                "DisableLogTypes": sorted(old - new),
            }
        if "ManageMasterUserPassword" in changes or "MasterUserSecretKmsKeyId" in changes:
            params["ManageMasterUserPassword"] = bool(after["ManageMasterUserPassword"])
            if after["ManageMasterUserPassword"] and after.get("MasterUserSecretKmsKeyId"):
                params["MasterUserSecretKmsKeyId"] = after["MasterUserSecretKmsKeyId"]
        if params:
            self.client.modify_db_cluster(
                DBClusterIdentifier=self.identifier,
                ApplyImmediately=self.params["apply_immediately"],
                **params,
            )
        if "HttpEndpointEnabled" in changes:
            self._set_data_api(after["HttpEndpointEnabled"])
        if any(c == "Tags" or c.startswith("Tags.") for c in changes):
            arn = self.raw_arn
            to_set, to_unset = tag_delta(before.get("Tags"), after.get("Tags"))
            if to_unset:
                self.client.remove_tags_from_resource(ResourceName=arn, TagKeys=list(to_unset))
            if to_set:
                self.client.add_tags_to_resource(
                    ResourceName=arn, Tags=ansible_dict_to_boto3_tag_list(to_set)
                )

    def _refuse_data_api_on_t_classes(self, raw):
        """ "Data API isn't supported on T DB instance classes"
        (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api.limitations.html):
        refuse before any write rather than turn on an endpoint that cannot serve."""
        members = [m["DBInstanceIdentifier"] for m in raw.get("DBClusterMembers", [])]
        if not members:
            return
        instances = paginate(
            self.client,
            "describe_db_instances",
            "DBInstances",
            Filters=[{"Name": "db-cluster-id", "Values": [self.identifier]}],
        )
        burstable = sorted(
            f"{i['DBInstanceIdentifier']} ({i['DBInstanceClass']})"
            for i in instances
            if str(i.get("DBInstanceClass", "")).startswith("db.t")
        )
        if burstable:
            self.module.fail_json(
                msg=f"enable_http_endpoint=true is not accepted for {self.identifier}: the RDS Data API "
                f"is not available on T instance classes, and {', '.join(burstable)} use one; accepted: "
                "enable_http_endpoint=false, or instances of another class (e.g. db.r6g, db.serverless). "
                "Nothing was changed."
            )

    def run(self, **extra):
        super().run(pending_maintenance=self.pending_maintenance, pending_reboot=self.pending_reboot, **extra)

    def delete(self, raw):
        p = self.params
        # Members first: a refusal must leave the cluster as it was, protection included.
        members = [m["DBInstanceIdentifier"] for m in raw.get("DBClusterMembers", [])]
        if members:
            self.module.fail_json(
                msg=f"{self.identifier} still has instances {', '.join(sorted(members))}; delete its "
                "instances first (nothing was changed)"
            )
        if raw.get("DeletionProtection"):
            if not p["force_delete"]:
                self.module.fail_json(
                    msg=f"{self.identifier} has deletion protection; "
                    "set force_delete=true to turn it off and delete"
                )
            self.client.modify_db_cluster(
                DBClusterIdentifier=self.identifier, DeletionProtection=False, ApplyImmediately=True
            )
        final = (
            {"SkipFinalSnapshot": True}
            if p["skip_final_snapshot"]
            else {"SkipFinalSnapshot": False, "FinalDBSnapshotIdentifier": p["final_snapshot_identifier"]}
        )
        self.client.delete_db_cluster(DBClusterIdentifier=self.identifier, **final)
        if p["wait"]:
            wait_with_waiter(
                self.module,
                self.client,
                "db_cluster_deleted",
                f"DB cluster {self.identifier} to be deleted",
                p["wait_timeout"],
                DBClusterIdentifier=self.identifier,
            )

    def _wait_available(self):
        wait_with_waiter(
            self.module,
            self.client,
            "db_cluster_available",
            f"DB cluster {self.identifier} to be available",
            self.params["wait_timeout"],
            DBClusterIdentifier=self.identifier,
        )

    def returned(self, raw):
        result = {k: v for k, v in raw.items() if k != "TagList"}
        result["Tags"] = boto3_tag_list_to_ansible_dict(raw.get("TagList", []))
        return super().returned(result)

    def settle(self, raw, changed):
        if changed and self.params["wait"] and raw.get("Status") != "available":
            self._wait_available()
            raw = self.read()
        return raw


def main():
    argument_spec = {
        "db_cluster_identifier": {"type": "str", "required": True, "aliases": ["id", "name"]},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "engine": {"type": "str", "default": "aurora-mysql", "choices": ["aurora-mysql"]},
        "engine_version": {"type": "str"},
        "database_name": {"type": "str"},
        "master_username": {"type": "str"},
        "manage_master_user_password": {"type": "bool", "default": True, "no_log": False},
        "master_user_secret_kms_key_id": {"type": "str"},
        "db_subnet_group_name": {"type": "str"},
        "vpc_security_group_ids": {"type": "list", "elements": "str"},
        "db_cluster_parameter_group_name": {"type": "str"},
        "port": {"type": "int"},
        "storage_encrypted": {"type": "bool"},
        "kms_key_id": {"type": "str"},
        "backup_retention_period": {"type": "int"},
        "preferred_backup_window": {"type": "str"},
        "preferred_maintenance_window": {"type": "str"},
        "copy_tags_to_snapshot": {"type": "bool"},
        "deletion_protection": {"type": "bool"},
        "enable_cloudwatch_logs_exports": {"type": "list", "elements": "str"},
        "serverless_v2_scaling_configuration": {
            "type": "dict",
            "options": {
                "min_capacity": {"type": "float", "required": True},
                "max_capacity": {"type": "float", "required": True},
            },
        },
        "enable_http_endpoint": {"type": "bool"},
        "restore_from": {
            "type": "dict",
            "options": {
                "snapshot_identifier": {"type": "str"},
                "source_db_cluster_identifier": {"type": "str"},
                "restore_to_time": {"type": "str"},
                "use_latest_restorable_time": {"type": "bool", "default": False},
            },
        },
        "apply_immediately": {"type": "bool", "default": False},
        "skip_final_snapshot": {"type": "bool", "default": False},
        "final_snapshot_identifier": {"type": "str"},
        "force_delete": {"type": "bool", "default": False},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 1800},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    validate(module)
    AuroraCluster(module).run()


if __name__ == "__main__":
    main()
