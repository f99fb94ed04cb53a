"""RDS: make moto 5.2.5 behave as AWS where the aurora role relies on it.

Each patch names the AWS behaviour it restores (RDS API reference) and the moto difference seen:

- ModifyDBSubnetGroup updates the group in place; moto removed the group from its backend.
- ModifyDBCluster without ApplyImmediately holds an engine version change in
  ``PendingModifiedValues`` (AWS applies it in the maintenance window); with ApplyImmediately it
  applies it and any held change at once.
- ModifyDBCluster applies ``CloudwatchLogsExportConfiguration`` (EnableLogTypes/DisableLogTypes);
  moto looked for the request's parameter under another name and ignored it.
- A DB instance in a cluster reports the cluster's DB subnet group (``DBSubnetGroup``) and
  ``PubliclyAccessible`` (false for a private subnet group); moto reported neither.
- DescribeDBClusterParameters lists the family's engine-default parameters (``Source:
  engine-default``, ``IsModifiable``, ``ApplyType``) besides the ones set by the user (``Source:
  user``); moto listed only the parameters set. The catalog below is the subset of Aurora MySQL 8.0
  cluster parameters this project (and its tests) touch, with AWS's apply types.
- RestoreDBClusterFromSnapshot takes the snapshot's ARN as well as its name (AWS Backup recovery
  points and cross-region copies are named by ARN); moto looked the ARN up as a name.
- RestoreDBClusterFromSnapshot / RestoreDBClusterToPointInTime work for a source cluster whose
  master password RDS manages; moto failed (HTTP 500) copying a password it never had.
- The RDS Data API (``EnableHttpEndpoint`` of CreateDBCluster) is available for Aurora MySQL 3.07
  and later (provisioned and Serverless v2) and Aurora PostgreSQL; moto allowed it only for
  Serverless v1 and silently kept it off. On an existing provisioned or Serverless v2 cluster it is
  turned on and off with the EnableHttpEndpoint and DisableHttpEndpoint operations, which moto
  lacks (served here); ModifyDBCluster's ``EnableHttpEndpoint`` "applies only to Aurora Serverless
  v1 DB clusters" (API_ModifyDBCluster.html), so for other clusters it changes nothing here.
- Application Auto Scaling's DescribeScalingPolicies(ResourceId=cluster:<id>) returns the policies
  of exactly that resource; moto matched ResourceId as a substring, so cluster:notejam-x-aurora
  also returned the policies of cluster:notejam-x-aurora-r1 (a restored cluster) and vice versa.
  (Kept here because Aurora cluster ids are where prefixes meet; the patch is service-agnostic.)
- CreateDBInstance/ModifyDBInstance keep Performance Insights settings
  (``PerformanceInsightsEnabled``, ``PerformanceInsightsKMSKeyId``,
  ``PerformanceInsightsRetentionPeriod``) and ``MonitoringRoleArn``; moto dropped them.
"""

from moto.applicationautoscaling import models as aas_models
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


# Aurora MySQL 8.0 cluster parameters (name: (apply type, data type, allowed values)), as AWS
# describes them; the real list is a few hundred long.
AURORA_MYSQL8_CLUSTER_PARAMETERS = {
    "binlog_format": ("static", "string", "ROW,STATEMENT,MIXED,OFF"),
    "character_set_client": ("dynamic", "string", "big5,dec8,cp850,hp8,koi8r,latin1,utf8mb3,utf8mb4"),
    "character_set_connection": ("dynamic", "string", "big5,dec8,cp850,hp8,koi8r,latin1,utf8mb3,utf8mb4"),
    "character_set_database": ("dynamic", "string", "big5,dec8,cp850,hp8,koi8r,latin1,utf8mb3,utf8mb4"),
    "character_set_results": ("dynamic", "string", "big5,dec8,cp850,hp8,koi8r,latin1,utf8mb3,utf8mb4"),
    "character_set_server": ("dynamic", "string", "big5,dec8,cp850,hp8,koi8r,latin1,utf8mb3,utf8mb4"),
    "collation_connection": ("dynamic", "string", None),
    "collation_server": ("dynamic", "string", None),
    "innodb_print_all_deadlocks": ("dynamic", "boolean", "0,1"),
    "log_output": ("dynamic", "string", "TABLE,FILE,NONE"),
    "long_query_time": ("dynamic", "float", "0-31536000"),
    "require_secure_transport": ("dynamic", "boolean", "ON,OFF"),
    "server_audit_logging": ("dynamic", "boolean", "0,1"),
    "slow_query_log": ("dynamic", "boolean", "0,1"),
    "time_zone": ("dynamic", "string", None),
    "tls_version": ("static", "string", "TLSv1.2,TLSv1.3,TLSv1.2,TLSv1.3"),
}


def _minor(version):
    """7 for 8.0.mysql_aurora.3.07.1."""
    try:
        return int(version.split(".")[4])
    except (IndexError, ValueError):
        return 0


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
        stored = self.clusters.get(kwargs.get("db_cluster_identifier"))
        if stored is not None and getattr(stored, "engine_mode", "provisioned") != "serverless":
            # "This parameter applies only to Aurora Serverless v1 DB clusters. To enable or disable
            # the HTTP endpoint for an Aurora Serverless v2 or provisioned DB cluster, use the
            # EnableHttpEndpoint and DisableHttpEndpoint operations." (API_ModifyDBCluster.html)
            kwargs.pop("enable_http_endpoint", None)
        pending = dict(getattr(stored, "pending_modified_values", None) or {}) if stored else {}
        if stored is not None and kwargs.get("apply_immediately"):
            # "the modifications in this request and any pending modifications are asynchronously
            # applied as soon as possible" (ModifyDBCluster, ApplyImmediately).
            if "EngineVersion" in pending and not kwargs.get("engine_version"):
                kwargs["engine_version"] = pending["EngineVersion"]
            pending = {}
        elif stored is not None and kwargs.get("engine_version") not in (None, stored.engine_version):
            # AWS defers an engine version change without ApplyImmediately to the maintenance
            # window and shows it in PendingModifiedValues: "The change is applied during the next
            # maintenance window unless ApplyImmediately is enabled."
            # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBCluster.html
            # moto applies it at once. Always on: this is how AWS works, not a delay.
            pending["EngineVersion"] = kwargs.pop("engine_version")
        cluster = original_modify_cluster(self, kwargs)
        cluster.pending_modified_values = pending or None
        self.clusters[cluster.db_cluster_identifier].pending_modified_values = pending or None
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

    original_describe_cluster_parameters = backend_cls.describe_db_cluster_parameters

    def describe_db_cluster_parameters(self, db_cluster_parameter_group_name):
        user_set = {
            p["ParameterName"]: p
            for p in original_describe_cluster_parameters(self, db_cluster_parameter_group_name)
        }
        group = self.db_cluster_parameter_groups[db_cluster_parameter_group_name]
        catalog = (
            AURORA_MYSQL8_CLUSTER_PARAMETERS
            if str(group.db_parameter_group_family).startswith("aurora-mysql8")
            else {}
        )
        listed = []
        for name in sorted(set(catalog) | set(user_set)):
            apply_type, data_type, allowed = catalog.get(name, ("dynamic", "string", None))
            entry = {
                "ParameterName": name,
                "Description": name,
                "Source": "engine-default",
                "ApplyType": apply_type,
                "DataType": data_type,
                "IsModifiable": True,
                "ApplyMethod": "pending-reboot",
            }
            if allowed:
                entry["AllowedValues"] = allowed
            if name in user_set:
                entry.update(user_set[name])
                entry["Source"] = "user"
            listed.append(entry)
        return listed

    def get_cfg(cluster):
        cfg = cluster.__dict__.copy()
        cfg.pop("backend")
        cfg["master_user_password"] = cfg.pop("_master_user_password", None)
        cfg["enable_http_endpoint"] = cfg.pop("_enable_http_endpoint", None)
        cfg["vpc_security_group_ids"] = cfg.pop("_vpc_security_group_ids", None)
        return cfg

    models.DBCluster.get_cfg = get_cfg

    original_restore = backend_cls.restore_db_cluster_from_snapshot

    def restore_db_cluster_from_snapshot(self, from_snapshot_id, overrides):
        if from_snapshot_id.startswith("arn:") and ":cluster-snapshot:" in from_snapshot_id:
            from_snapshot_id = from_snapshot_id.split(":cluster-snapshot:", 1)[1]
        return original_restore(self, from_snapshot_id, overrides)

    backend_cls.restore_db_cluster_from_snapshot = restore_db_cluster_from_snapshot

    def _set_http_endpoint(cluster, value):
        version = str(getattr(cluster, "engine_version", "") or "")
        mysql3 = version.startswith("8.0.mysql_aurora.3.") and _minor(version) >= 7
        supported = cluster.engine == "aurora-postgresql" or (cluster.engine == "aurora-mysql" and mysql3)
        cluster._enable_http_endpoint = bool(value) if supported else False

    models.DBCluster.enable_http_endpoint = property(
        lambda cluster: getattr(cluster, "_enable_http_endpoint", False), _set_http_endpoint
    )
    # DescribeDBClusters answers it as HttpEndpointEnabled.
    models.DBCluster.http_endpoint_enabled = property(
        lambda cluster: getattr(cluster, "_enable_http_endpoint", False)
    )
    _http_endpoint_operations()
    backend_cls.describe_db_cluster_parameters = describe_db_cluster_parameters
    backend_cls.modify_db_subnet_group = modify_db_subnet_group
    _exact_scaling_policy_filter()
    backend_cls.modify_db_cluster = modify_db_cluster
    backend_cls.create_db_instance = create_db_instance
    backend_cls.modify_db_instance = modify_db_instance
    backend_cls._notejam_fixed = True


def _http_endpoint_operations():
    """EnableHttpEndpoint / DisableHttpEndpoint, which moto lacks, as the API reference describes
    them (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_EnableHttpEndpoint.html,
    API_DisableHttpEndpoint.html): the cluster named by ``ResourceArn``; answers ``ResourceArn`` and
    ``HttpEndpointEnabled``; an unknown ARN is ``ResourceNotFoundFault`` ("The specified resource ID
    was not found"). They apply "only to Aurora Serverless v2 and provisioned DB clusters" (what AWS
    answers for a Serverless v1 cluster is not documented, so not copied); where the engine version
    has no Data API the endpoint stays off, as CreateDBCluster's does here."""
    from moto.core.responses import ActionResult
    from moto.rds.exceptions import RDSClientError
    from moto.rds.responses import RDSResponse

    def switch(response, enabled):
        arn = response._get_param("ResourceArn")
        clusters = [c for c in response.backend.clusters.values() if c.db_cluster_arn == arn]
        if not clusters:
            raise RDSClientError("ResourceNotFoundFault", f"The specified resource ID {arn} was not found.")
        cluster = clusters[0]
        cluster.enable_http_endpoint = enabled
        return ActionResult({"ResourceArn": arn, "HttpEndpointEnabled": cluster.enable_http_endpoint})

    RDSResponse.enable_http_endpoint = lambda response: switch(response, True)
    RDSResponse.disable_http_endpoint = lambda response: switch(response, False)


def _exact_scaling_policy_filter():
    aas_backend = aas_models.ApplicationAutoscalingBackend
    if getattr(aas_backend, "_notejam_exact_policy_filter", False):
        return
    original = aas_backend.describe_scaling_policies

    def describe_scaling_policies(
        self, service_namespace, resource_id, scalable_dimension, max_results, next_token
    ):
        token, policies = original(
            self, service_namespace, resource_id, scalable_dimension, max_results, next_token
        )
        if resource_id:
            policies = [p for p in policies if p.resource_id == resource_id]
        if scalable_dimension:
            policies = [p for p in policies if p.scalable_dimension == scalable_dimension]
        return token, policies

    aas_backend.describe_scaling_policies = describe_scaling_policies
    aas_backend._notejam_exact_policy_filter = True
