#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: ecs_taskdefinition
short_description: Register an ECS task definition only when it really changed
version_added: 0.1.0
description:
  - Ensures the newest wanted revision of an ECS task definition family is registered, compares
    the B(whole) definition (task size, roles, network mode, runtime platform, volumes and every
    container field, including environment, secrets, port mappings and health check) with what
    AWS holds, and registers a new revision only when something differs.
  - AWS fills in defaults (port mapping C(protocol=tcp) and C(hostPort) in awsvpc mode,
    C(essential=true), C(cpu=0), empty lists, health check timings); both sides are normalised
    with those defaults and unordered lists are sorted, so a re-run never registers a copy.
  - When an ACTIVE revision identical to the wanted definition exists (the latest one, or an older
    one after a roll-back), it is re-used and nothing is registered.
  - Tag changes alone are applied to the re-used revision without registering a new one.
  - Container definitions, volumes and values are checked against the ECS API model before any
    call, and numbers or booleans that arrive as strings (from Jinja) are converted.
author:
  - Notejam maintainers (@notejam)
options:
  family:
    description: Name of the task definition family.
    type: str
    required: true
  state:
    description:
      - V(present) ensures a revision matching the options is ACTIVE.
      - V(absent) deregisters O(revision), or every ACTIVE revision of the family without it.
    type: str
    choices: [present, absent]
    default: present
  revision:
    description: With O(state=absent), the one revision to deregister.
    type: int
  containers:
    description:
      - Container definitions, each a dict in the ECS API's own camelCase, exactly as
        C(RegisterTaskDefinition) takes them (V(name), V(image), V(portMappings), V(environment),
        V(secrets), V(healthCheck), V(logConfiguration), V(readonlyRootFilesystem), V(user), ...).
      - Required with O(state=present).
    type: list
    elements: dict
  network_mode:
    description: Docker networking mode; Fargate requires V(awsvpc).
    type: str
    choices: [awsvpc, bridge, host, none]
    default: awsvpc
  requires_compatibilities:
    description: Launch types the definition must be valid for.
    type: list
    elements: str
    choices: [EC2, FARGATE, EXTERNAL]
    default: [FARGATE]
  cpu:
    description:
      - Task CPU, in units (V(256), V(1024)) or vCPU (V(1 vCPU)). Required for Fargate, where only
        valid Fargate CPU and memory pairs are accepted.
    type: str
  memory:
    description: Task memory, in MiB (V(512)) or GB (V(2 GB)). Required for Fargate.
    type: str
  task_role_arn:
    description: IAM role the containers assume (what the app may do).
    type: str
  execution_role_arn:
    description: IAM role ECS uses to pull the image, write logs and read the containers' V(secrets).
    type: str
  runtime_platform:
    description: CPU architecture and operating system family.
    type: dict
    suboptions:
      cpu_architecture:
        description: CPU architecture.
        type: str
        choices: [X86_64, ARM64]
      operating_system_family:
        description: Operating system family, for example V(LINUX).
        type: str
  volumes:
    description: Volumes, each a dict in the ECS API's camelCase (V(name), V(efsVolumeConfiguration), ...).
    type: list
    elements: dict
  ephemeral_storage_gib:
    description: Fargate ephemeral storage in GiB (21 to 200).
    type: int
  pid_mode:
    description: Process namespace; Fargate accepts only V(task).
    type: str
    choices: [host, task]
  keep_revisions:
    description:
      - Keep at most this many ACTIVE revisions of the family (the one in use always among them);
        deregister older ones. Unset keeps them all.
    type: int
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Notejam web task, Fargate, 0.5 vCPU / 1 GB
  notejam.aws.ecs_taskdefinition:
    family: notejam-dev-app
    cpu: "512"
    memory: "1024"
    execution_role_arn: "{{ execution_role.arn }}"
    task_role_arn: "{{ task_role.arn }}"
    runtime_platform:
      cpu_architecture: X86_64
      operating_system_family: LINUX
    containers:
      - name: app
        image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/notejam-dev-app:1.4.2"
        user: "1000"
        readonlyRootFilesystem: true
        stopTimeout: 30
        portMappings:
          - containerPort: 8000
        environment:
          - {name: DB_HOST, value: "{{ db_endpoint }}"}
        secrets:
          - {name: DB_PASSWORD, valueFrom: "{{ db_secret_arn }}:password::"}
        healthCheck:
          command: [CMD, python, -c, "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"]
        logConfiguration:
          logDriver: awslogs
          options:
            awslogs-group: /notejam/dev/app
            awslogs-region: eu-west-1
            awslogs-stream-prefix: app
    keep_revisions: 10
    tags:
      Project: notejam
      Environment: dev
      ManagedBy: ansible
  register: taskdef

- name: Deregister one revision
  notejam.aws.ecs_taskdefinition:
    family: notejam-dev-app
    revision: 3
    state: absent
"""

RETURN = r"""
task_definition:
  description:
    - The ACTIVE revision that matches the options (re-used or newly registered), as ECS describes it.
    - In check mode, the predicted definition. Empty with O(state=absent).
  returned: always
  type: dict
  contains:
    task_definition_arn:
      description: ARN of the revision, to give to a service or a one-off task.
      type: str
      sample: arn:aws:ecs:eu-west-1:123456789012:task-definition/notejam-dev-app:7
    revision:
      description: Revision number.
      type: int
    container_definitions:
      description: Container definitions as ECS holds them.
      type: list
      elements: dict
    tags:
      description: Tags of the revision.
      type: dict
reused:
  description: True when an existing ACTIVE revision matched and none was registered.
  returned: always
  type: bool
deregistered:
  description: ARNs of the revisions deregistered (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
changes:
  description: Paths of the fields that differed from the latest ACTIVE revision.
  returned: always
  type: list
  elements: str
diff:
  description: The normalised definition before (latest ACTIVE revision) and after.
  returned: always
  type: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.notejam.aws.plugins.module_utils.ecs import (
    apply_ecs_tags,
    dict_to_ecs_tags,
    ecs_tags_to_dict,
)
from ansible_collections.notejam.aws.plugins.module_utils.resource import (
    AwsResource,
    conform,
    paginate,
    snake,
    tags_after,
    whole,
)
from ansible_collections.notejam.aws.plugins.module_utils.validation import (
    cpu_units,
    fargate_size_error,
    memory_mib,
)

# How many ACTIVE revisions (newest first) are searched for one identical to the wanted definition.
SEARCH_DEPTH = 50
# Health check timings AWS fills in when they are not given.
HEALTH_CHECK_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3}
# Keys of container definitions whose values are user data, returned as they are.
VERBATIM = ("tags", "dockerLabels", "options", "environment", "secrets", "secretOptions")


def _drop_empty(value):
    """Without None, empty lists and empty dicts (AWS reports ``[]`` for lists never given)."""
    if isinstance(value, dict):
        cleaned = {k: _drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def _sorted(items, *keys):
    return sorted(items or [], key=lambda i: tuple(str(i.get(k, "")) for k in keys))


def _role(value):
    """Roles compare by name: AWS accepts a name or an ARN and may report either."""
    if not value:
        return None
    return value.split(":role/")[-1] if value.startswith("arn:") else value


def normalise_container(container, network_mode):
    c = dict(container)
    c.setdefault("essential", True)
    c.setdefault("cpu", 0)
    mappings = []
    for mapping in c.get("portMappings") or []:
        m = dict(mapping)
        m.setdefault("protocol", "tcp")
        if network_mode in ("awsvpc", "host") and "containerPort" in m:
            m.setdefault("hostPort", m["containerPort"])
        mappings.append(m)
    c["portMappings"] = _sorted(mappings, "containerPort", "protocol", "hostPort")
    c["environment"] = _sorted(c.get("environment"), "name")
    c["secrets"] = _sorted(c.get("secrets"), "name")
    c["mountPoints"] = _sorted(c.get("mountPoints"), "sourceVolume", "containerPath")
    c["volumesFrom"] = _sorted(c.get("volumesFrom"), "sourceContainer")
    c["ulimits"] = _sorted(c.get("ulimits"), "name")
    c["dependsOn"] = _sorted(c.get("dependsOn"), "containerName")
    c["systemControls"] = _sorted(c.get("systemControls"), "namespace")
    c["extraHosts"] = _sorted(c.get("extraHosts"), "hostname", "ipAddress")
    if c.get("healthCheck"):
        c["healthCheck"] = dict(HEALTH_CHECK_DEFAULTS, **c["healthCheck"])
    if c.get("logConfiguration"):
        log = dict(c["logConfiguration"])
        log["secretOptions"] = _sorted(log.get("secretOptions"), "name")
        c["logConfiguration"] = log
    return c


def normalise_definition(td, comparing=True):
    """A task definition, from the API or from the options, in one comparable shape.

    With ``comparing=False`` it is the shape to register: roles as given, and without the
    defaults that newer API versions report (``versionConsistency``, ``enableFaultInjection``),
    which are only filled in on both sides so that whether AWS reports them does not matter."""
    role = _role if comparing else (lambda value: value)
    network_mode = td.get("networkMode") or "bridge"
    cpu = td.get("cpu")
    memory = td.get("memory")
    normalised = {
        "family": td.get("family"),
        "taskRoleArn": role(td.get("taskRoleArn")),
        "executionRoleArn": role(td.get("executionRoleArn")),
        "networkMode": network_mode,
        "requiresCompatibilities": sorted(td.get("requiresCompatibilities") or []),
        "cpu": None if cpu is None else str(cpu_units(cpu)),
        "memory": None if memory is None else str(memory_mib(memory)),
        "runtimePlatform": td.get("runtimePlatform"),
        "volumes": _sorted(td.get("volumes"), "name"),
        "placementConstraints": _sorted(td.get("placementConstraints"), "type", "expression"),
        "ephemeralStorage": td.get("ephemeralStorage"),
        "pidMode": td.get("pidMode"),
        "ipcMode": td.get("ipcMode"),
        "proxyConfiguration": td.get("proxyConfiguration"),
        "containerDefinitions": _sorted(
            [normalise_container(c, network_mode) for c in td.get("containerDefinitions") or []], "name"
        ),
    }
    if comparing:
        normalised["enableFaultInjection"] = bool(td.get("enableFaultInjection", False))
        for container in normalised["containerDefinitions"]:
            container.setdefault("versionConsistency", "enabled")
    return _drop_empty(normalised)


def _family_of(arn):
    return arn.split(":task-definition/")[-1].rsplit(":", 1)[0]


def _revision_of(arn):
    return int(arn.rsplit(":", 1)[-1])


class TaskDefinition(AwsResource):
    service = "ecs"
    result_key = "task_definition"
    verbatim_keys = VERBATIM

    def __init__(self, module):
        super().__init__(module)
        self.registered_arn = None
        self.active_arns = []
        self.reused = False

    # --- input --------------------------------------------------------------------------------
    def validate(self):
        p = self.params
        if p["state"] == "absent":
            return
        fail = self.module.fail_json
        if not p["containers"]:
            fail(msg="containers is required with state=present (a list of container definitions)")
        try:
            containers = [
                conform(self.client, "ContainerDefinition", c, f"containers[{i}]")
                for i, c in enumerate(p["containers"])
            ]
            volumes = [
                conform(self.client, "Volume", v, f"volumes[{i}]") for i, v in enumerate(p["volumes"] or [])
            ]
        except ValueError as e:
            fail(msg=str(e))
        names = [c.get("name") for c in containers]
        for i, c in enumerate(containers):
            for key in ("name", "image"):
                if not c.get(key):
                    fail(msg=f"containers[{i}].{key} is required")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            fail(msg=f"containers: names must be unique; repeated: {', '.join(duplicates)}")
        try:
            cpu = cpu_units(p["cpu"])
        except ValueError as e:
            fail(msg=f"cpu: {e}")
        try:
            memory = memory_mib(p["memory"])
        except ValueError as e:
            fail(msg=f"memory: {e}")
        if "FARGATE" in p["requires_compatibilities"]:
            if p["network_mode"] != "awsvpc":
                fail(msg=f"network_mode={p['network_mode']} is not valid on Fargate; accepted: awsvpc")
            if cpu is None or memory is None:
                fail(msg="cpu and memory are required on Fargate (for example cpu=256 memory=512)")
            error = fargate_size_error(cpu, memory)
            if error:
                fail(msg=error)
            if p["pid_mode"] == "host":
                fail(msg="pid_mode=host is not valid on Fargate; accepted: task")
        elif memory is None and not all(c.get("memory") or c.get("memoryReservation") for c in containers):
            fail(msg="memory is required at task level or in every container (memory or memoryReservation)")
        storage = p["ephemeral_storage_gib"]
        if storage is not None and not 21 <= storage <= 200:
            fail(msg=f"ephemeral_storage_gib={storage} is out of range; accepted: 21 to 200")
        if p["keep_revisions"] is not None and p["keep_revisions"] < 1:
            fail(msg=f"keep_revisions={p['keep_revisions']} is not accepted; accepted: 1 or more")
        platform = p["runtime_platform"] or {}
        options = {
            "family": p["family"],
            "taskRoleArn": p["task_role_arn"],
            "executionRoleArn": p["execution_role_arn"],
            "networkMode": p["network_mode"],
            "requiresCompatibilities": p["requires_compatibilities"],
            "cpu": cpu,
            "memory": memory,
            "runtimePlatform": {
                "cpuArchitecture": platform.get("cpu_architecture"),
                "operatingSystemFamily": platform.get("operating_system_family"),
            },
            "volumes": volumes,
            "ephemeralStorage": {"sizeInGiB": storage} if storage else None,
            "pidMode": p["pid_mode"],
            "containerDefinitions": containers,
        }
        self.wanted = normalise_definition(options)
        self.registration = normalise_definition(options, comparing=False)

    # --- the cycle hooks ----------------------------------------------------------------------
    def _describe(self, arn):
        response = self.client.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        td = response["taskDefinition"]
        td["tags"] = ecs_tags_to_dict(response.get("tags"))
        return td

    def _active_arns(self):
        arns = paginate(
            self.client,
            "list_task_definitions",
            "taskDefinitionArns",
            familyPrefix=self.params["family"],
            status="ACTIVE",
            sort="DESC",
        )
        # familyPrefix is a prefix: "app" also lists "app-migrate".
        exact = [a for a in arns if _family_of(a) == self.params["family"]]
        return sorted(exact, key=_revision_of, reverse=True)

    def read(self):
        if self.registered_arn:
            return self._describe(self.registered_arn)
        self.active_arns = self._active_arns()
        if not self.active_arns:
            return None
        latest = None
        for arn in self.active_arns[:SEARCH_DEPTH]:
            td = self._describe(arn)
            latest = latest or td
            if normalise_definition(td) == self.wanted:
                self.reused = True
                return td
        return latest

    def comparable(self, raw):
        return dict(normalise_definition(raw), tags=raw["tags"])

    def created_defaults(self):
        return {"tags": {}}

    def desired(self, before):
        tags = tags_after((before or {}).get("tags") or {}, self.params["tags"], self.params["purge_tags"])
        if tags is None:
            tags = (before or {}).get("tags") or {}
        return whole(dict(self.wanted, tags=tags))

    def create(self, after):
        self._register(after)

    def update(self, before, after, changes):
        if any(not c.startswith("tags") for c in changes):
            self._register(after)
        else:
            apply_ecs_tags(self.client, self.current_arn, before["tags"], after["tags"])

    def _register(self, after):
        definition = dict(self.registration)
        if after["tags"]:
            definition["tags"] = dict_to_ecs_tags(after["tags"])
        self.registered_arn = self.client.register_task_definition(**definition)["taskDefinition"][
            "taskDefinitionArn"
        ]
        self.reused = False

    def plan(self):
        raw, before, after, changes = super().plan()
        self.current_arn = raw and raw["taskDefinitionArn"]
        return raw, before, after, changes

    def predicted(self, raw, after):
        """The definition to be registered, with the ARN and revision it will get (when a
        revision of the family exists to tell the ARN's account and region)."""
        predicted = snake(after, self.verbatim_keys)
        if any(not c.startswith("tags") for c in self.changes):
            if self.active_arns:
                revision = _revision_of(self.active_arns[0]) + 1
                predicted["task_definition_arn"] = f"{self.active_arns[0].rsplit(':', 1)[0]}:{revision}"
                predicted["revision"] = revision
        elif raw is not None:
            predicted = dict(self.returned(raw), tags=after.get("tags"))
        return predicted

    def finish(self, raw, before, after, changes, **extra):
        self.changes = changes
        registers = any(not c.startswith("tags") for c in changes)
        stale = []
        keep = self.params["keep_revisions"]
        if keep is not None:
            # The revision in use (new, or re-used) always stays and takes one of the kept places.
            in_use = None if registers else self.current_arn
            older = [a for a in self.active_arns if a != in_use]
            stale = older[keep - 1 :]
            if not self.module.check_mode:
                for arn in stale:
                    self.client.deregister_task_definition(taskDefinition=arn)
        super().finish(
            raw,
            before,
            after,
            changes + (["deregistered"] if stale else []),
            reused=not registers,
            deregistered=stale,
            **extra,
        )

    # --- absent ------------------------------------------------------------------------------
    def remove(self):
        revision = self.params["revision"]
        family = self.params["family"]
        if revision is not None:
            try:
                td = self._describe(f"{family}:{revision}")
                targets = [td["taskDefinitionArn"]] if td.get("status") == "ACTIVE" else []
            except is_boto3_error_code(["ClientException", "InvalidParameterException"]):
                targets = []
        else:
            targets = self._active_arns()
        if not self.module.check_mode:
            for arn in targets:
                self.client.deregister_task_definition(taskDefinition=arn)
        self.module.exit_json(
            changed=bool(targets),
            changes=["deregistered"] if targets else [],
            deregistered=targets,
            reused=False,
            diff={"before": {"active_revisions": targets}, "after": {"active_revisions": []}},
            task_definition={},
        )

    def run(self, **extra):
        if self.params["state"] == "absent":
            self.validate()
            self.remove()
        super().run(**extra)


def main():
    argument_spec = {
        "family": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "revision": {"type": "int"},
        "containers": {"type": "list", "elements": "dict"},
        "network_mode": {"type": "str", "choices": ["awsvpc", "bridge", "host", "none"], "default": "awsvpc"},
        "requires_compatibilities": {
            "type": "list",
            "elements": "str",
            "choices": ["EC2", "FARGATE", "EXTERNAL"],
            "default": ["FARGATE"],
        },
        "cpu": {"type": "str"},
        "memory": {"type": "str"},
        "task_role_arn": {"type": "str"},
        "execution_role_arn": {"type": "str"},
        "runtime_platform": {
            "type": "dict",
            "options": {
                "cpu_architecture": {"type": "str", "choices": ["X86_64", "ARM64"]},
                "operating_system_family": {"type": "str"},
            },
        },
        "volumes": {"type": "list", "elements": "dict"},
        "ephemeral_storage_gib": {"type": "int"},
        "pid_mode": {"type": "str", "choices": ["host", "task"]},
        "keep_revisions": {"type": "int"},
        "tags": {"type": "dict", "aliases": ["resource_tags"]},
        "purge_tags": {"type": "bool", "default": True},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    TaskDefinition(module).run()


if __name__ == "__main__":
    main()
