"""ECS: make moto 5.2.5 keep and report what AWS keeps and reports, where the product relies on it.

Each patch below names the AWS behaviour it restores. They patch moto's classes (not instances),
so they hold for every account and region, in server mode and in-process alike, and ``apply()``
is safe to call more than once.
"""

import json
import os

from moto.ec2.models import elastic_network_interfaces as ec2_enis
from moto.ec2.utils import generate_dns_from_ip
from moto.ecs import models as ecs_models
from moto.ecs import responses as ecs_responses
from moto.moto_api._internal import mock_random

_PATCHED = "_notejam_patched"

# What AWS reports for a service created without these settings (ECS deployment controller).
_DEFAULT_DEPLOYMENT_CONFIGURATION = {
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
}

# Harness knob (like moto's MOTO_ECS_SERVICE_FAILED_TASKS): the exit code every container of a
# one-off task reports when the task stops. AWS reports the real process's code; moto runs none.
TASK_EXIT_CODE_ENV = "NOTEJAM_EMULATOR_ECS_TASK_EXIT_CODE"

# Harness knob: a JSON file ({"MOTO_ECS_SERVICE_FAILED_TASKS": "1", ...}) whose keys, while it
# holds them, win over the server's environment for the two knobs above. A test flips a running
# server between a deployment that succeeds and one whose tasks fail (or a migration that exits
# non-zero) without restarting it and losing what it holds.
KNOBS_FILE_ENV = "NOTEJAM_EMULATOR_KNOBS_FILE"


def _knob(name, default):
    """Knob ``name``: from the file NOTEJAM_EMULATOR_KNOBS_FILE names when it has the key, else
    from the environment, else ``default``."""
    path = os.environ.get(KNOBS_FILE_ENV)
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                knobs = json.load(handle)
            if name in knobs:
                return str(knobs[name])
        except (OSError, ValueError):
            pass
    return os.environ.get(name, default)


def _failed_tasks():
    try:
        return max(int(_knob("MOTO_ECS_SERVICE_FAILED_TASKS", "0")), 0)
    except ValueError:
        return 0


def _once(owner, name, replacement, static=False):
    current = getattr(owner, name)
    if getattr(current, _PATCHED, False):
        return
    replacement.__wrapped__ = current
    setattr(replacement, _PATCHED, True)
    setattr(owner, name, staticmethod(replacement) if static else replacement)


def _event(service, message):
    service.events.insert(
        0, {"id": str(mock_random.uuid4()), "createdAt": ecs_models.utcnow(), "message": message}
    )


def _settle_deployment(service, deployment, previous_task_definition):
    """Finish ``deployment`` the way AWS would with the harness's task counts: COMPLETED when
    tasks start, else FAILED by the circuit breaker and, with rollback, a new PRIMARY deployment
    of the previous task definition (AWS: "deployment circuit breaker ... rolling back")."""
    failed = _failed_tasks()
    breaker = (getattr(service, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker") or {}
    if not failed or not breaker.get("enable"):
        return
    deployment["failedTasks"] = failed
    deployment["rolloutState"] = "FAILED"
    deployment["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
    _event(
        service,
        f"(service {service.name}) (deployment {deployment['id']}) deployment failed: tasks failed to start.",
    )
    if breaker.get("rollback") and previous_task_definition:
        deployment["status"] = "ACTIVE"
        rollback = dict(
            deployment,
            id=f"ecs-svc/{mock_random.randint(0, 32**12)}",
            status="PRIMARY",
            taskDefinition=previous_task_definition,
            failedTasks=0,
            rolloutState="COMPLETED",
            rolloutStateReason="ECS deployment completed (rollback).",
        )
        service.deployments.insert(0, rollback)
        service.task_definition = previous_task_definition
        _event(service, f"(service {service.name}) rolling back to deployment {rollback['id']}.")


def _create_service(self):
    """AWS CreateService keeps deploymentConfiguration (with AWS's defaults filled in),
    healthCheckGracePeriodSeconds, capacityProviderStrategy (no launchType is reported then),
    enableECSManagedTags, enableExecuteCommand and reports platformVersion LATEST for Fargate;
    a circuit breaker fails the first deployment when its tasks fail to start."""
    strategy = self._get_param("capacityProviderStrategy")
    result = _create_service.__wrapped__(self)
    service = result.result["service"]
    config = dict(_DEFAULT_DEPLOYMENT_CONFIGURATION)
    config.update(self._get_param("deploymentConfiguration") or {})
    service.deployment_configuration = config
    service.health_check_grace_period_seconds = self._get_param("healthCheckGracePeriodSeconds") or 0
    service.enable_ecs_managed_tags = bool(self._get_param("enableECSManagedTags"))
    service.enable_execute_command = bool(self._get_param("enableExecuteCommand"))
    if strategy:
        service.capacity_provider_strategy = strategy
        service.launch_type = None
        for deployment in service.deployments:
            deployment.pop("launchType", None)
            deployment["capacityProviderStrategy"] = strategy
    if service.platform_version is None and (strategy or service.launch_type == "FARGATE"):
        service.platform_version = "LATEST"
        for deployment in service.deployments:
            deployment["platformVersion"] = "LATEST"
    if service.deployments:
        _settle_deployment(service, service.deployments[0], None)
    return result


def _update_service(self, service_properties):
    """AWS UpdateService stores the task definition as its full ARN and starts a new PRIMARY
    deployment when the task definition or network configuration changes or a new deployment is
    forced (moto changes neither the ARN nor the deployments)."""
    cluster = service_properties.get("cluster", "default")
    name = service_properties.get("service", "").split("/")[-1]
    service = self._get_service(cluster, name)
    previous_td = service.task_definition
    previous_network = getattr(service, "network_configuration", None)
    task_definition = service_properties.get("task_definition")
    force = service_properties.get("force_new_deployment")
    if task_definition:
        service_properties["task_definition"] = self.describe_task_definition(task_definition).arn
    if "capacity_provider_strategy" in service_properties:
        service.launch_type = None
    updated = _update_service.__wrapped__(self, service_properties)
    changed = updated.task_definition != previous_td or (updated.network_configuration or None) != (
        previous_network or None
    )
    if (changed or force) and updated.deployment_controller.get("type", "ECS") == "ECS":
        for deployment in updated.deployments:
            deployment["status"] = "ACTIVE"
        now = ecs_models.utcnow()
        deployment = {
            "id": f"ecs-svc/{mock_random.randint(0, 32**12)}",
            "status": "PRIMARY",
            "taskDefinition": updated.task_definition,
            "desiredCount": updated.desired_count,
            "pendingCount": 0,
            "runningCount": updated.desired_count,
            "failedTasks": 0,
            "createdAt": now,
            "updatedAt": now,
            "networkConfiguration": updated.network_configuration or None,
            "platformVersion": updated.platform_version,
            "rolloutState": "COMPLETED",
            "rolloutStateReason": "ECS deployment completed.",
        }
        if updated.launch_type:
            deployment["launchType"] = updated.launch_type
        # A completed rolling deployment drains the older ones (AWS keeps only the PRIMARY).
        updated.deployments = [deployment]
        _settle_deployment(updated, deployment, previous_td)
    return updated


# What AWS reports for a container health check registered without its timings (the HealthCheck
# API reference's defaults; DescribeTaskDefinition returns them, startPeriod stays unset).
_HEALTH_CHECK_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3}


def _register_task_definition(self, *args, **kwargs):
    """AWS fills in each port mapping's protocol (tcp) and, in awsvpc mode, its hostPort (equal to
    the containerPort), and a health check's interval (30), timeout (5) and retries (3) when they
    are not given; moto echoes the request."""
    task_definition = _register_task_definition.__wrapped__(self, *args, **kwargs)
    for container in task_definition.container_definitions:
        if container.get("healthCheck"):
            for key, value in _HEALTH_CHECK_DEFAULTS.items():
                container["healthCheck"].setdefault(key, value)
        for mapping in container.get("portMappings") or []:
            mapping.setdefault("protocol", "tcp")
            if task_definition.network_mode == "awsvpc" and "containerPort" in mapping:
                mapping.setdefault("hostPort", mapping["containerPort"])
    return task_definition


def _calculate_task_resource_requirements(task_definition):
    """AWS runs Fargate tasks whose memory is set at task level only (containers without their
    own ``memory``); moto adds ``None`` to an int and fails with HTTP 500."""
    containers = task_definition.container_definitions
    if any(c.get("memory") is None and c.get("memoryReservation") is None for c in containers):
        patched = [dict(c, memoryReservation=c.get("memoryReservation") or 0) for c in containers]

        class _View:
            container_definitions = patched

        requirements = _calculate_task_resource_requirements.__wrapped__(_View)
        requirements["MEMORY"] = max(requirements["MEMORY"], int(task_definition.memory or 0))
        return requirements
    return _calculate_task_resource_requirements.__wrapped__(task_definition)


def _describe_tasks(self, cluster_str, tasks):
    """AWS reports, for a stopped task, each container as STOPPED with its exit code and the task
    with stopCode EssentialContainerExited; moto leaves containers PENDING without an exit code.
    The harness takes the code from NOTEJAM_EMULATOR_ECS_TASK_EXIT_CODE (default 0)."""
    found = _describe_tasks.__wrapped__(self, cluster_str, tasks)
    exit_code = int(_knob(TASK_EXIT_CODE_ENV, "0"))
    for task in found:
        if task.last_status == "STOPPED":
            for container in task.containers:
                if container.last_status != "STOPPED":
                    container.last_status = "STOPPED"
                    container.exit_code = exit_code
                    container.exitCode = exit_code
            if not task.stopped_reason:
                task.stop_code = "EssentialContainerExited"
                task.stopped_reason = "Essential container in task exited"
        elif task.last_status == "RUNNING":
            for container in task.containers:
                container.last_status = "RUNNING"
    return found


def _validate_network(self, nc):
    """AWS accepts an awsvpcConfiguration without securityGroups (the VPC's default group is
    used); moto fails with HTTP 500 (KeyError)."""
    config = nc.get("awsvpcConfiguration") or {}
    if "securityGroups" not in config:
        _validate_network.__wrapped__(self, {"awsvpcConfiguration": dict(config, securityGroups=[])})
        return nc
    return _validate_network.__wrapped__(self, nc)


def _eni_private_dns_name():
    """AWS gives every network interface a private DNS name (ip-a-b-c-d.ec2.internal); moto sets
    one only in VPCs with DNS hostnames enabled, and RunTask for an awsvpc (Fargate) task then
    fails with HTTP 500 (AttributeError) while building the task's ENI attachment."""

    def get(self):
        return self.__dict__.get("_private_dns_name") or generate_dns_from_ip(self.private_ip_address)

    def set_(self, value):
        self.__dict__["_private_dns_name"] = value

    prop = property(get, set_)
    setattr(prop.fget, _PATCHED, True)
    return prop


def apply():
    current = ec2_enis.NetworkInterface.__dict__.get("private_dns_name")
    if not (isinstance(current, property) and getattr(current.fget, _PATCHED, False)):
        ec2_enis.NetworkInterface.private_dns_name = _eni_private_dns_name()
    _once(ecs_responses.EC2ContainerServiceResponse, "create_service", _create_service)
    _once(ecs_models.EC2ContainerServiceBackend, "update_service", _update_service)
    _once(ecs_models.EC2ContainerServiceBackend, "register_task_definition", _register_task_definition)
    _once(
        ecs_models.EC2ContainerServiceBackend,
        "_calculate_task_resource_requirements",
        _calculate_task_resource_requirements,
        static=True,
    )
    _once(ecs_models.EC2ContainerServiceBackend, "describe_tasks", _describe_tasks)
    _once(ecs_models.Service, "_validate_network", _validate_network)
