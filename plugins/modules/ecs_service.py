#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: ecs_service
short_description: Create, update or delete an ECS service and wait for its deployment
version_added: 0.1.0
description:
  - Ensures an Amazon ECS service exists with the given task definition, deployment configuration
    (including the deployment circuit breaker), network configuration, load balancers, platform
    version, launch type or capacity providers, health check grace period and tags.
  - Every one of those is compared with what ECS reports (subnets and security groups in any
    order, AWS's defaults filled in), and one C(UpdateService) call carries only the fields that
    differ; tags change through their own calls. A second run makes no write call.
  - The desired count is set when the service is created and then left to autoscaling, unless
    O(force_desired_count=true).
  - With O(wait=true), waits (at most O(wait_timeout) seconds) for the service's primary
    deployment to complete, and fails with the service's recent events when the deployment
    failed or the circuit breaker rolled it back.
author:
  - Notejam maintainers (@notejam)
options:
  name:
    description: Name of the service.
    type: str
    required: true
  cluster:
    description: Name or ARN of the cluster.
    type: str
    required: true
  state:
    description: Whether the service should exist. V(absent) deletes it even with tasks running.
    type: str
    choices: [present, absent]
    default: present
  task_definition:
    description:
      - Task definition to run, as V(family) (its latest ACTIVE revision), V(family:revision) or
        an ARN. Required to create the service.
    type: str
  desired_count:
    description:
      - Number of tasks when the service is created (default 1).
      - Ignored for an existing service, where autoscaling owns it, unless O(force_desired_count=true).
    type: int
  force_desired_count:
    description: Also apply O(desired_count) to an existing service.
    type: bool
    default: false
  launch_type:
    description:
      - Launch type; the default for a new service without O(capacity_provider_strategy) is V(FARGATE).
      - Cannot be changed on an existing service except by switching to O(capacity_provider_strategy).
    type: str
    choices: [FARGATE, EC2, EXTERNAL]
  capacity_provider_strategy:
    description: Capacity provider strategy, used instead of O(launch_type).
    type: list
    elements: dict
    suboptions:
      capacity_provider:
        description: Capacity provider name, for example V(FARGATE) or V(FARGATE_SPOT).
        type: str
        required: true
      weight:
        description: Relative share of tasks.
        type: int
        default: 0
      base:
        description: Tasks placed with this provider first.
        type: int
        default: 0
  platform_version:
    description: Fargate platform version (AWS uses V(LATEST) when not given).
    type: str
  network_configuration:
    description: The awsvpc network configuration; compared as a whole, lists in any order.
    type: dict
    suboptions:
      subnets:
        description: Subnet IDs the tasks run in.
        type: list
        elements: str
        required: true
      security_groups:
        description: Security group IDs of the tasks.
        type: list
        elements: str
      assign_public_ip:
        description: Give tasks a public IP.
        type: bool
        default: false
  load_balancers:
    description: Target groups the service registers its tasks with; compared in any order.
    type: list
    elements: dict
    suboptions:
      target_group_arn:
        description: ARN of the target group.
        type: str
        required: true
      container_name:
        description: Container that receives the traffic.
        type: str
        required: true
      container_port:
        description: Port of that container.
        type: int
        required: true
  deployment_configuration:
    description: Rolling deployment settings; options left out keep their current value.
    type: dict
    suboptions:
      maximum_percent:
        description: Upper limit of running tasks during a deployment, in percent of the desired count.
        type: int
      minimum_healthy_percent:
        description: Lower limit of healthy tasks during a deployment, in percent of the desired count.
        type: int
      circuit_breaker:
        description: Deployment circuit breaker.
        type: dict
        suboptions:
          enable:
            description: Stop a deployment whose tasks fail to reach a steady state.
            type: bool
            required: true
          rollback:
            description: Roll back to the last completed deployment when the breaker trips.
            type: bool
            required: true
      alarms:
        description:
          - CloudWatch alarms that fail a deployment while they are in ALARM
            (C(deploymentConfiguration.alarms)), so a deployment whose tasks pass their health checks
            but hurt users (5xx, latency) is stopped.
          - Left out, the service's current alarms are kept. The alarms must exist.
        type: dict
        suboptions:
          names:
            description:
              - Names of the alarms; an empty list with
                O(deployment_configuration.alarms.enable=false) turns them off.
            type: list
            elements: str
            required: true
          enable:
            description: Watch the alarms during deployments.
            type: bool
            required: true
          rollback:
            description: Roll back to the last completed deployment when one of them goes into ALARM.
            type: bool
            required: true
  health_check_grace_period_seconds:
    description: Seconds to ignore load balancer health checks after a task starts.
    type: int
  enable_execute_command:
    description: Allow ECS Exec into the tasks.
    type: bool
  propagate_tags:
    description: Copy tags to tasks from the service or the task definition.
    type: str
    choices: [SERVICE, TASK_DEFINITION, NONE]
  enable_ecs_managed_tags:
    description: Let ECS tag tasks with the cluster and service names.
    type: bool
  force_new_deployment:
    description: Start a new deployment even when nothing changed (always reports a change).
    type: bool
    default: false
  wait:
    description:
      - Wait for the primary deployment to complete.
      - With O(state=absent), wait for the service to be gone.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait at most.
    type: int
    default: 900
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Notejam web service behind the ALB, rolling with circuit breaker
  notejam.aws.ecs_service:
    name: notejam-dev-app
    cluster: notejam-dev-cluster
    task_definition: "{{ taskdef.task_definition.task_definition_arn }}"
    desired_count: 2
    launch_type: FARGATE
    network_configuration:
      subnets: "{{ app_subnet_ids }}"
      security_groups: ["{{ app_sg_id }}"]
      assign_public_ip: false
    load_balancers:
      - target_group_arn: "{{ tg_arn }}"
        container_name: app
        container_port: 8000
    deployment_configuration:
      maximum_percent: 200
      minimum_healthy_percent: 100
      circuit_breaker:
        enable: true
        rollback: true
    health_check_grace_period_seconds: 60
    propagate_tags: SERVICE
    wait: true
    wait_timeout: 900
    tags:
      Project: notejam
      Environment: dev
      ManagedBy: ansible
"""

RETURN = r"""
service:
  description:
    - The service as ECS describes it after the run (and after the wait); empty when absent.
    - In check mode, the predicted managed fields.
  returned: always
  type: dict
  contains:
    service_arn:
      description: ARN of the service.
      type: str
    task_definition:
      description: ARN of the task definition the service runs.
      type: str
    desired_count:
      description: Desired number of tasks.
      type: int
    deployments:
      description: The service's deployments, with C(rollout_state).
      type: list
      elements: dict
    events:
      description: The service's most recent events.
      type: list
      elements: dict
    tags:
      description: Tags of the service.
      type: dict
changes:
  description: Paths of the managed fields that differed.
  returned: always
  type: list
  elements: str
  sample: ["taskDefinition", "deploymentConfiguration.deploymentCircuitBreaker.enable"]
diff:
  description: Managed fields before and after.
  returned: always
  type: dict
events:
  description: Recent service event messages, newest first, when a deployment failed.
  returned: failure
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.notejam.aws.plugins.module_utils.ecs import (
    apply_ecs_tags,
    capacity_provider_strategy,
    dict_to_ecs_tags,
    ecs_tags_to_dict,
)
from ansible_collections.notejam.aws.plugins.module_utils.resource import (
    ABSENT,
    AwsResource,
    client_token,
    drop_none,
    tags_after,
    wait_for,
    wait_with_waiter,
    whole,
)

# Top-level fields UpdateService takes as they are.
UPDATABLE = (
    "taskDefinition",
    "desiredCount",
    "capacityProviderStrategy",
    "platformVersion",
    "networkConfiguration",
    "loadBalancers",
    "deploymentConfiguration",
    "healthCheckGracePeriodSeconds",
    "enableExecuteCommand",
    "propagateTags",
    "enableECSManagedTags",
)
EVENTS_SHOWN = 10


def _strategy(items):
    """A service's strategy; an empty one means "none" (the cluster's default applies)."""
    return capacity_provider_strategy(items) if items else None


def _network(config):
    vpc = (config or {}).get("awsvpcConfiguration")
    if not vpc:
        return None
    normalised = {
        "subnets": sorted(vpc.get("subnets") or []),
        "securityGroups": sorted(vpc.get("securityGroups") or []),
        "assignPublicIp": vpc.get("assignPublicIp") or "DISABLED",
    }
    if not normalised["securityGroups"]:
        del normalised["securityGroups"]
    return {"awsvpcConfiguration": normalised}


def _load_balancers(items):
    return sorted(
        (drop_none(dict(lb)) for lb in items or []),
        key=lambda lb: (
            lb.get("targetGroupArn") or lb.get("loadBalancerName") or "",
            lb.get("containerName", ""),
        ),
    )


def _deployment_configuration(config):
    """The deployment configuration with AWS's defaults filled in. Fields this module does not
    manage (alarms, strategy, ...) are kept, so the configuration sent back carries them."""
    config = dict(config or {})
    breaker = config.get("deploymentCircuitBreaker") or {}
    if config.get("alarms"):
        alarms = config["alarms"]
        config["alarms"] = dict(alarms, alarmNames=sorted(alarms.get("alarmNames") or []))
    config.update(
        maximumPercent=config.get("maximumPercent", 200),
        minimumHealthyPercent=config.get("minimumHealthyPercent", 100),
        deploymentCircuitBreaker={
            "enable": bool(breaker.get("enable", False)),
            "rollback": bool(breaker.get("rollback", False)),
        },
    )
    return config


class EcsService(AwsResource):
    service = "ecs"
    result_key = "service"

    def validate(self):
        p = self.params
        if p["state"] == "absent":
            return
        if p["launch_type"] and p["capacity_provider_strategy"]:
            self.module.fail_json(
                msg="launch_type and capacity_provider_strategy exclude each other; give one"
            )
        if p["desired_count"] is not None and p["desired_count"] < 0:
            self.module.fail_json(
                msg=f"desired_count={p['desired_count']} is not accepted; accepted: 0 or more"
            )
        config = p["deployment_configuration"] or {}
        maximum, minimum = config.get("maximum_percent"), config.get("minimum_healthy_percent")
        if maximum is not None and maximum < 100:
            self.module.fail_json(
                msg=f"deployment_configuration.maximum_percent={maximum} is below 100; accepted: 100 or more"
            )
        if minimum is not None and not 0 <= minimum <= 100:
            self.module.fail_json(
                msg=f"deployment_configuration.minimum_healthy_percent={minimum} is out of range; "
                "accepted: 0 to 100"
            )
        alarms = config.get("alarms")
        if alarms and alarms["enable"] and not [n for n in alarms["names"] if n]:
            self.module.fail_json(
                msg="deployment_configuration.alarms.enable=true needs at least one alarm name in names"
            )
        grace = p["health_check_grace_period_seconds"]
        if grace is not None and not 0 <= grace <= 2147483647:
            self.module.fail_json(msg=f"health_check_grace_period_seconds={grace} must be 0 or more")
        network = p["network_configuration"]
        if network is not None and not network["subnets"]:
            self.module.fail_json(msg="network_configuration.subnets must list at least one subnet")
        if p["wait_timeout"] <= 0:
            self.module.fail_json(msg=f"wait_timeout={p['wait_timeout']} must be more than 0 seconds")

    # --- read ---------------------------------------------------------------------------------
    def read(self):
        try:
            found = self.client.describe_services(
                cluster=self.params["cluster"], services=[self.params["name"]], include=["TAGS"]
            )["services"]
        except is_boto3_error_code("ClusterNotFoundException"):
            # In check mode the cluster may be one an earlier task of the same dry run would create.
            if self.params["state"] == "absent" or self.module.check_mode:
                return None
            self.module.fail_json(msg=f"cluster={self.params['cluster']} was not found")
        active = [s for s in found if s.get("status") == "ACTIVE"]
        if not active:
            return None
        service = active[0]
        service["tags"] = ecs_tags_to_dict(service.get("tags"))
        return service

    def comparable(self, raw):
        strategy = _strategy(raw.get("capacityProviderStrategy"))
        return drop_none(
            {
                "taskDefinition": raw.get("taskDefinition"),
                "desiredCount": raw.get("desiredCount"),
                "launchType": None if strategy else raw.get("launchType"),
                "capacityProviderStrategy": strategy,
                "platformVersion": raw.get("platformVersion"),
                "networkConfiguration": _network(raw.get("networkConfiguration")),
                "loadBalancers": _load_balancers(raw.get("loadBalancers")),
                "deploymentConfiguration": _deployment_configuration(raw.get("deploymentConfiguration")),
                "healthCheckGracePeriodSeconds": raw.get("healthCheckGracePeriodSeconds") or 0,
                "enableExecuteCommand": bool(raw.get("enableExecuteCommand")),
                "propagateTags": raw.get("propagateTags") or "NONE",
                "enableECSManagedTags": bool(raw.get("enableECSManagedTags")),
                "tags": raw["tags"],
            }
        )

    # --- desire -------------------------------------------------------------------------------
    def _task_definition_arn(self, value):
        if value is None or value.startswith("arn:"):
            return value
        try:
            return self.client.describe_task_definition(taskDefinition=value)["taskDefinition"][
                "taskDefinitionArn"
            ]
        except is_boto3_error_code(["ClientException", "InvalidParameterException"]):
            if self.module.check_mode:  # registered by an earlier task of the same dry run
                return value
            self.module.fail_json(msg=f"task_definition={value} was not found (no ACTIVE revision)")

    def created_defaults(self):
        p = self.params
        fargate = p["capacity_provider_strategy"] or (p["launch_type"] or "FARGATE") == "FARGATE"
        return drop_none(
            {
                "desiredCount": 1 if p["desired_count"] is None else p["desired_count"],
                "launchType": None if p["capacity_provider_strategy"] else "FARGATE",
                "platformVersion": "LATEST" if fargate else None,
                "loadBalancers": [],
                "deploymentConfiguration": _deployment_configuration({}),
                "healthCheckGracePeriodSeconds": 0,
                "enableExecuteCommand": False,
                "propagateTags": "NONE",
                "enableECSManagedTags": False,
                "tags": {},
            }
        )

    def desired(self, before):
        p = self.params
        if before is None and not p["task_definition"]:
            self.module.fail_json(msg=f"task_definition is required to create service {p['name']}")
        strategy = _strategy(p["capacity_provider_strategy"])
        launch_type = p["launch_type"]
        if before is not None and launch_type and launch_type != before.get("launchType"):
            current = before.get("launchType") or "capacity providers"
            self.module.fail_json(
                msg=f"launch_type cannot change on an existing service ({current} -> {launch_type}); "
                "use capacity_provider_strategy or recreate the service"
            )
        network = p["network_configuration"]
        config = p["deployment_configuration"]
        deployment = None
        if config is not None:
            breaker = config.get("circuit_breaker")
            deployment = {
                "maximumPercent": config.get("maximum_percent"),
                "minimumHealthyPercent": config.get("minimum_healthy_percent"),
                "deploymentCircuitBreaker": None if breaker is None else whole(breaker),
            }
            deployment["alarms"] = self._deployment_alarms(before, config.get("alarms"))
        load_balancers = None
        if p["load_balancers"] is not None:
            load_balancers = _load_balancers(
                {
                    "targetGroupArn": lb["target_group_arn"],
                    "containerName": lb["container_name"],
                    "containerPort": lb["container_port"],
                }
                for lb in p["load_balancers"]
            )
        desired_count = p["desired_count"] if (before is None or p["force_desired_count"]) else None
        return {
            "taskDefinition": self._task_definition_arn(p["task_definition"]),
            "desiredCount": desired_count,
            "launchType": ABSENT if strategy else launch_type,
            "capacityProviderStrategy": strategy,
            "platformVersion": p["platform_version"],
            "networkConfiguration": None
            if network is None
            else whole(
                _network(
                    {
                        "awsvpcConfiguration": {
                            "subnets": network["subnets"],
                            "securityGroups": network["security_groups"],
                            "assignPublicIp": "ENABLED" if network["assign_public_ip"] else "DISABLED",
                        }
                    }
                )
            ),
            "loadBalancers": load_balancers,
            "deploymentConfiguration": deployment,
            "healthCheckGracePeriodSeconds": p["health_check_grace_period_seconds"],
            "enableExecuteCommand": p["enable_execute_command"],
            "propagateTags": p["propagate_tags"],
            "enableECSManagedTags": p["enable_ecs_managed_tags"],
            "tags": tags_after((before or {}).get("tags") or {}, p["tags"], p["purge_tags"]),
        }

    @staticmethod
    def _deployment_alarms(before, alarms):
        """The desired deploymentConfiguration.alarms, or None to keep what is there."""
        if alarms is None:
            return None
        wanted = {
            "alarmNames": sorted(alarms["names"]),
            "enable": alarms["enable"],
            "rollback": alarms["rollback"],
        }
        current = ((before or {}).get("deploymentConfiguration") or {}).get("alarms")
        if not current and not wanted["alarmNames"] and not wanted["enable"]:
            return None  # nothing to turn off: no call just to write an empty configuration
        return whole(wanted)

    def plan(self):
        raw, before, after, changes = super().plan()
        self.arn = raw and raw["serviceArn"]
        self.known_deployments = {d["id"] for d in (raw or {}).get("deployments") or []}
        if after is not None and before is not None and self.params["force_new_deployment"]:
            changes = [*changes, "forceNewDeployment"]
        return raw, before, after, changes

    # --- apply --------------------------------------------------------------------------------
    def create(self, after):
        params = {k: after[k] for k in UPDATABLE if after.get(k) not in (None, [], {})}
        params.update(
            cluster=self.params["cluster"],
            serviceName=self.params["name"],
            clientToken=client_token(),
        )
        if after.get("launchType"):
            params["launchType"] = after["launchType"]
        if not after.get("loadBalancers") and not after.get("healthCheckGracePeriodSeconds"):
            # AWS takes a grace period only with load balancers; 0 is what it reports otherwise.
            params.pop("healthCheckGracePeriodSeconds", None)
        if after.get("tags"):
            params["tags"] = dict_to_ecs_tags(after["tags"])
        self.client.create_service(**params)

    def update(self, before, after, changes):
        fields = {c.split(".")[0] for c in changes}
        params = {k: after.get(k) for k in UPDATABLE if k in fields}
        if "capacityProviderStrategy" in params:
            params["forceNewDeployment"] = True  # AWS requires it to switch capacity providers
        if "forceNewDeployment" in fields:
            params["forceNewDeployment"] = True
        if params:
            self.client.update_service(cluster=self.params["cluster"], service=self.params["name"], **params)
        if "tags" in fields:
            apply_ecs_tags(self.client, self.arn, before.get("tags"), after.get("tags"))

    def apply(self, raw, before, after, changes):
        # What a wait must see deployed: the circuit breaker may already have rolled it back.
        self.expected_task_definition = (after or {}).get("taskDefinition")
        return super().apply(raw, before, after, changes)

    def delete(self, raw):
        self.client.delete_service(cluster=self.params["cluster"], service=self.params["name"], force=True)
        if self.params["wait"]:
            wait_with_waiter(
                self.module,
                self.client,
                "services_inactive",
                f"service {self.params['name']} to become INACTIVE",
                self.params["wait_timeout"],
                cluster=self.params["cluster"],
                services=[self.params["name"]],
            )

    # --- wait ---------------------------------------------------------------------------------
    def settle(self, raw, changed):
        if not self.params["wait"]:
            return raw
        expected = getattr(self, "expected_task_definition", None) or raw.get("taskDefinition")
        latest = {"service": raw}

        def probe():
            service = self.read()
            if service is None:
                self.module.fail_json(msg=f"Service {self.params['name']} disappeared while waiting for it")
            latest["service"] = service
            deployments = service.get("deployments") or []
            primary = next((d for d in deployments if d.get("status") == "PRIMARY"), {})
            failed = [
                d
                for d in deployments
                if d.get("rolloutState") == "FAILED" and d.get("id") not in self.known_deployments
            ]
            if failed or (primary and primary.get("taskDefinition") != expected):
                self._fail_deployment(service, failed, primary, expected)
            state = primary.get("rolloutState")
            running, desired = primary.get("runningCount"), primary.get("desiredCount")
            done = state == "COMPLETED" if state else (len(deployments) == 1 and running == desired)
            return (
                done,
                f"primary deployment {primary.get('id')} {state or ''}, {running}/{desired} tasks running",
            )

        wait_for(
            self.module,
            f"service {self.params['name']} to reach a steady state",
            probe,
            self.params["wait_timeout"],
        )
        return latest["service"]

    def _fail_deployment(self, service, failed, primary, expected):
        events = [e.get("message") for e in (service.get("events") or [])[:EVENTS_SHOWN]]
        reason = (
            failed[0].get("rolloutStateReason") if failed else None
        ) or "the circuit breaker rolled it back"
        rolled_back = primary.get("taskDefinition") != expected
        self.module.fail_json(
            msg=(
                f"Deployment of {expected} to service {self.params['name']} failed: {reason}"
                + (f"; rolled back to {primary.get('taskDefinition')}" if rolled_back else "")
                + (f". Recent events: {' | '.join(events)}" if events else "")
            ),
            events=events,
            service=self.returned(service),
        )


def main():
    argument_spec = {
        "name": {"type": "str", "required": True},
        "cluster": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "task_definition": {"type": "str"},
        "desired_count": {"type": "int"},
        "force_desired_count": {"type": "bool", "default": False},
        "launch_type": {"type": "str", "choices": ["FARGATE", "EC2", "EXTERNAL"]},
        "capacity_provider_strategy": {
            "type": "list",
            "elements": "dict",
            "options": {
                "capacity_provider": {"type": "str", "required": True},
                "weight": {"type": "int", "default": 0},
                "base": {"type": "int", "default": 0},
            },
        },
        "platform_version": {"type": "str"},
        "network_configuration": {
            "type": "dict",
            "options": {
                "subnets": {"type": "list", "elements": "str", "required": True},
                "security_groups": {"type": "list", "elements": "str"},
                "assign_public_ip": {"type": "bool", "default": False},
            },
        },
        "load_balancers": {
            "type": "list",
            "elements": "dict",
            "options": {
                "target_group_arn": {"type": "str", "required": True},
                "container_name": {"type": "str", "required": True},
                "container_port": {"type": "int", "required": True},
            },
        },
        "deployment_configuration": {
            "type": "dict",
            "options": {
                "maximum_percent": {"type": "int"},
                "minimum_healthy_percent": {"type": "int"},
                "circuit_breaker": {
                    "type": "dict",
                    "options": {
                        "enable": {"type": "bool", "required": True},
                        "rollback": {"type": "bool", "required": True},
                    },
                },
                "alarms": {
                    "type": "dict",
                    "options": {
                        "names": {"type": "list", "elements": "str", "required": True},
                        "enable": {"type": "bool", "required": True},
                        "rollback": {"type": "bool", "required": True},
                    },
                },
            },
        },
        "health_check_grace_period_seconds": {"type": "int"},
        "enable_execute_command": {"type": "bool"},
        "propagate_tags": {"type": "str", "choices": ["SERVICE", "TASK_DEFINITION", "NONE"]},
        "enable_ecs_managed_tags": {"type": "bool"},
        "force_new_deployment": {"type": "bool", "default": False},
        "wait": {"type": "bool", "default": False},
        "wait_timeout": {"type": "int", "default": 900},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    EcsService(module).run()


if __name__ == "__main__":
    main()
