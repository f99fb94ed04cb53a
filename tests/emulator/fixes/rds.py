"""RDS: make moto 5.2.5 behave as AWS where the aurora role relies on it.

Each patch names the AWS behaviour it restores (RDS API reference) and the moto difference seen:

- ModifyDBSubnetGroup updates the group in place; moto removed the group from its backend.
- ModifyDBCluster applies ``CloudwatchLogsExportConfiguration`` (EnableLogTypes/DisableLogTypes);
  moto looked for the request's parameter under another name and ignored it.
- A DB instance in a cluster reports the cluster's DB subnet group (``DBSubnetGroup``) and
  ``PubliclyAccessible`` (false for a private subnet group); moto reported neither.
- CreateDBInstance/ModifyDBInstance keep Performance Insights settings
  (``PerformanceInsightsEnabled``, ``PerformanceInsightsKMSKeyId``,
  ``PerformanceInsightsRetentionPeriod``) and ``MonitoringRoleArn``; moto dropped them.
"""

from moto.rds import models

_PI_KEYS = (
    "enable_performance_insights",
    "performance_insights_kms_key_id",
    "performance_insights_retention_period",
)


def _keep_performance_insights(database, kwargs):
    enabled = kwargs.get("enable_performance_insights")
    if enabled is not None:
        database.performance_insights_enabled = bool(enabled)
        if enabled:
            database.performance_insights_retention_period = int(
                kwargs.get("performance_insights_retention_period")
                or getattr(database, "performance_insights_retention_period", None)
                or 7
            )
            key = kwargs.get("performance_insights_kms_key_id") or getattr(
                database, "performance_insights_kms_key_id", None
            )
            if key:
                database.performance_insights_kms_key_id = key
    elif not hasattr(database, "performance_insights_enabled"):
        database.performance_insights_enabled = False
    if kwargs.get("monitoring_role_arn"):
        database.monitoring_role_arn = kwargs["monitoring_role_arn"]


def _inherit_cluster_network(backend, database):
    cluster = backend.clusters.get(getattr(database, "db_cluster_identifier", None) or "")
    if cluster is None:
        return
    group = cluster.db_subnet_group_name
    if group and group in backend.subnet_groups and getattr(database, "_db_subnet_group_name", None) is None:
        database.db_subnet_group_name = group
    if database.publicly_accessible is None:
        database.publicly_accessible = False


def apply():
    backend_cls = models.RDSBackend
    if getattr(backend_cls, "_notejam_fixed", False):
        return

    def modify_db_subnet_group(self, subnet_name, description, subnets):
        subnet_group = self.subnet_groups.get(subnet_name)
        if subnet_group is None:
            raise models.DBSubnetGroupNotFoundError(subnet_name)
        subnet_group.subnets = subnets
        if description is not None:
            subnet_group.description = description
        return subnet_group

    original_modify_cluster = backend_cls.modify_db_cluster

    def modify_db_cluster(self, kwargs):
        config = kwargs.pop("cloudwatch_logs_export_configuration", None)
        cluster = original_modify_cluster(self, kwargs)
        if config:
            stored = self.clusters[cluster.db_cluster_identifier]
            enabled = list(stored.enabled_cloudwatch_logs_exports or [])
            for log_type in config.get("DisableLogTypes") or []:
                if log_type in enabled:
                    enabled.remove(log_type)
            for log_type in config.get("EnableLogTypes") or []:
                if log_type not in enabled:
                    enabled.append(log_type)
            stored.enabled_cloudwatch_logs_exports = enabled
            cluster.enabled_cloudwatch_logs_exports = list(enabled)
        return cluster

    original_create_instance = backend_cls.create_db_instance

    def create_db_instance(self, db_kwargs):
        extra = {key: db_kwargs.pop(key) for key in _PI_KEYS if key in db_kwargs}
        database = original_create_instance(self, db_kwargs)
        _keep_performance_insights(database, {**extra, **db_kwargs})
        _inherit_cluster_network(self, database)
        return database

    original_modify_instance = backend_cls.modify_db_instance

    def modify_db_instance(self, db_instance_identifier, db_kwargs):
        extra = {key: db_kwargs.pop(key) for key in _PI_KEYS if key in db_kwargs}
        database = original_modify_instance(self, db_instance_identifier, db_kwargs)
        _keep_performance_insights(database, {**extra, **db_kwargs})
        return database

    backend_cls.modify_db_subnet_group = modify_db_subnet_group
    backend_cls.modify_db_cluster = modify_db_cluster
    backend_cls.create_db_instance = create_db_instance
    backend_cls.modify_db_instance = modify_db_instance
    backend_cls._notejam_fixed = True
