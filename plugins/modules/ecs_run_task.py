#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: ecs_run_task
short_description: Run a one-off ECS task (a migration), wait, and report its exit code and logs
version_added: 0.1.0
description:
  - Runs one task of a task definition on Fargate in the given subnets and security groups, waits
    (at most O(wait_timeout) seconds) for it to stop and succeeds only when every essential
    container exited with code 0.
  - On failure, reports the container, its exit code, the task's stop reason and the last
    O(log_lines) lines the container wrote to CloudWatch Logs (through its C(awslogs)
    configuration).
  - Running a task is an action, not a state; the module always reports a change. Check mode
    checks that the cluster and the task definition exist and runs nothing.
  - The run carries a client token, so a retried call never starts a second task. While ECS
    answers that it cannot assume the task definition's roles yet (new IAM roles), the start is
    attempted again, each attempt with a new token, for at most O(role_propagation_timeout) seconds.
author:
  - Notejam maintainers (@notejam)
options:
  cluster:
    description: Name or ARN of the cluster.
    type: str
    required: true
  task_definition:
    description: V(family), V(family:revision) or ARN of the task definition to run.
    type: str
    required: true
  subnets:
    description: Subnet IDs for the task (private subnets for a migration).
    type: list
    elements: str
    required: true
  security_groups:
    description: Security group IDs for the task.
    type: list
    elements: str
    required: true
  assign_public_ip:
    description: Give the task a public IP.
    type: bool
    default: false
  launch_type:
    description: Launch type.
    type: str
    choices: [FARGATE, EC2]
    default: FARGATE
  platform_version:
    description: Fargate platform version.
    type: str
  container_name:
    description: Container whose command O(command) replaces; required with O(command).
    type: str
  command:
    description: Command to run instead of the image's, in O(container_name).
    type: list
    elements: str
  container_overrides:
    description:
      - Other container overrides, each a dict in the ECS API's camelCase, as in
        C(ContainerOverride) (V(name), V(command), V(environment), ...).
    type: list
    elements: dict
  started_by:
    description: Free text recorded on the task, to find it later.
    type: str
    default: notejam.aws
  wait:
    description: Wait for the task to stop and check its exit codes.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait at most.
    type: int
    default: 900
  log_lines:
    description: How many of the container's last log lines to return.
    type: int
    default: 20
  role_propagation_timeout:
    description:
      - Seconds to keep starting the task while ECS answers that it cannot assume the task
        definition's roles. IAM is eventually consistent, so roles created seconds before (by the
        same run) are often refused at first; any other refusal fails at once.
      - When the run had to wait, a warning says for what and how long.
    type: int
    default: 120
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Migrate the database before rolling out the new image
  notejam.aws.ecs_run_task:
    cluster: notejam-dev-cluster
    task_definition: "{{ taskdef.task_definition.task_definition_arn }}"
    subnets: "{{ app_subnet_ids }}"
    security_groups: ["{{ app_sg_id }}"]
    container_name: app
    command: [flask, --app, notejam, db, upgrade]
    started_by: deploy-migration
    wait_timeout: 600
"""

RETURN = r"""
task:
  description: The task as ECS describes it after it stopped (or after it started, without O(wait)).
  returned: success and when the task ran
  type: dict
  contains:
    task_arn:
      description: ARN of the task.
      type: str
    last_status:
      description: Last status, C(STOPPED) after a wait.
      type: str
    stopped_reason:
      description: Why the task stopped.
      type: str
exit_codes:
  description: Exit code of each container, by container name (null when a container never ran).
  returned: when waited
  type: dict
  sample: {"app": 0}
log_lines:
  description: The last log lines of each container that logs with C(awslogs), by container name.
  returned: when waited
  type: dict
"""

import re

try:
    import botocore
except ImportError:  # AnsibleAWSModule reports the missing dependency
    botocore = None

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.notejam.aws.plugins.module_utils.resource import (
    client_token,
    conform,
    error_code_and_message,
    retrying_client,
    snake,
    until_accepted,
    wait_for,
)

VERBATIM = ("tags", "environment", "overrides")

# How ECS refuses a task whose roles it cannot assume yet (IAM is eventually consistent:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency).
# RunTask's documented errors (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html)
# include ClientException and InvalidParameterException; the message ECS sends is "ECS was unable
# to assume the role '<arn>' that was provided for this task. Please verify that the role being
# passed has the proper trust relationship and permissions ..." (quoted in
# github.com/aws-samples/aws-modern-application-workshop/issues/88 and retried on by deployment
# tools when the role is new). "Unable to assume the service linked role" is a missing
# service-linked role, which time does not fix, and is not retried.
ROLE_NOT_READY_CODES = ("ClientException", "InvalidParameterException")
ROLE_NOT_READY = re.compile(r"unable to assume (the )?role", re.IGNORECASE)


def role_not_ready(error):
    """Whether a RunTask error says ECS cannot assume a role (yet)."""
    code, message = error_code_and_message(error)
    return code in ROLE_NOT_READY_CODES and bool(ROLE_NOT_READY.search(message))


class OneOffTask:
    """Run, wait, judge: the cycle of a task that is meant to stop."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.ecs = retrying_client(module, "ecs")

    def validate(self):
        p = self.params
        fail = self.module.fail_json
        for name in ("subnets", "security_groups"):
            if not p[name]:
                fail(msg=f"{name} must list at least one ID")
        if p["command"] is not None and not p["container_name"]:
            fail(msg="command needs container_name (the container whose command it replaces)")
        if p["wait_timeout"] <= 0:
            fail(msg=f"wait_timeout={p['wait_timeout']} must be more than 0 seconds")
        if p["role_propagation_timeout"] < 0:
            fail(
                msg=f"role_propagation_timeout={p['role_propagation_timeout']} is not accepted; "
                "accepted: 0 or more seconds"
            )
        if p["log_lines"] < 0:
            fail(msg=f"log_lines={p['log_lines']} is not accepted; accepted: 0 or more")
        try:
            self.overrides = [
                conform(self.ecs, "ContainerOverride", o, f"container_overrides[{i}]")
                for i, o in enumerate(p["container_overrides"] or [])
            ]
        except ValueError as e:
            fail(msg=str(e))
        if p["command"] is not None:
            named = [o for o in self.overrides if o.get("name") == p["container_name"]]
            if named:
                named[0]["command"] = p["command"]
            else:
                self.overrides.append({"name": p["container_name"], "command": p["command"]})

    def task_definition(self):
        try:
            return self.ecs.describe_task_definition(taskDefinition=self.params["task_definition"])[
                "taskDefinition"
            ]
        except is_boto3_error_code(["ClientException", "InvalidParameterException"]):
            self.module.fail_json(msg=f"task_definition={self.params['task_definition']} was not found")

    def check_cluster(self):
        clusters = self.ecs.describe_clusters(clusters=[self.params["cluster"]]).get("clusters", [])
        if not [c for c in clusters if c.get("status") == "ACTIVE"]:
            self.module.fail_json(msg=f"cluster={self.params['cluster']} was not found (or is not ACTIVE)")

    def run(self):
        self.validate()
        p = self.params
        definition = self.task_definition()
        names = [c["name"] for c in definition["containerDefinitions"]]
        for override in self.overrides:
            if override.get("name") not in names:
                self.module.fail_json(
                    msg=f"container {override.get('name')} is not in {definition['taskDefinitionArn']}; "
                    f"accepted: {', '.join(names)}"
                )
        self.check_cluster()
        if self.module.check_mode:
            self.module.exit_json(changed=True, task={}, msg=f"Would run {definition['taskDefinitionArn']}")

        params = {
            "cluster": p["cluster"],
            "taskDefinition": definition["taskDefinitionArn"],
            "count": 1,
            "launchType": p["launch_type"],
            "startedBy": p["started_by"],
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": p["subnets"],
                    "securityGroups": p["security_groups"],
                    "assignPublicIp": "ENABLED" if p["assign_public_ip"] else "DISABLED",
                }
            },
        }
        if p["platform_version"]:
            params["platformVersion"] = p["platform_version"]
        if self.overrides:
            params["overrides"] = {"containerOverrides": self.overrides}
        # A refused start started nothing, so each new attempt carries a new client token: whether
        # ECS would replay a refusal for a token it has seen is not documented. A transient error
        # inside one attempt is retried by the client with that attempt's token.
        response = until_accepted(
            self.module,
            f"ECS to be able to assume the roles of {definition['taskDefinitionArn']} "
            "(new IAM roles take a while to propagate)",
            lambda: self.ecs.run_task(**dict(params, clientToken=client_token())),
            role_not_ready,
            p["role_propagation_timeout"],
        )
        if response.get("failures") or not response.get("tasks"):
            reasons = "; ".join(
                f"{f.get('arn', '')} {f.get('reason')} {f.get('detail', '')}" for f in response["failures"]
            )
            self.module.fail_json(msg=f"ECS did not start the task: {reasons or 'no task returned'}")
        task = response["tasks"][0]
        if not p["wait"]:
            self.module.exit_json(changed=True, task=snake(task, VERBATIM))
        task = self.wait(task["taskArn"])
        self.judge(task, definition)

    def wait(self, arn):
        latest = {}

        def probe():
            tasks = self.ecs.describe_tasks(cluster=self.params["cluster"], tasks=[arn]).get("tasks", [])
            if not tasks:
                return False, "task not visible yet"
            latest["task"] = tasks[0]
            status = tasks[0].get("lastStatus")
            return status == "STOPPED", f"task {arn} is {status}"

        wait_for(self.module, f"task {arn} to stop (it keeps running)", probe, self.params["wait_timeout"])
        return latest["task"]

    def judge(self, task, definition):
        essential = {c["name"] for c in definition["containerDefinitions"] if c.get("essential", True)}
        exit_codes = {c["name"]: c.get("exitCode") for c in task.get("containers") or []}
        logs = self.last_log_lines(task, definition)
        failed = sorted(name for name in essential if exit_codes.get(name) != 0)
        result = {"task": snake(task, VERBATIM), "exit_codes": exit_codes, "log_lines": logs}
        if not failed:
            self.module.exit_json(changed=True, **result)
        name = failed[0]
        code = exit_codes.get(name)
        reason = task.get("stoppedReason") or "no reason given"
        container = next((c for c in task.get("containers") or [] if c["name"] == name), {})
        detail = container.get("reason")
        lines = logs.get(name) or []
        tail = "\n".join(lines) if lines else "(no log lines found)"
        self.module.fail_json(
            msg=(
                f"Task {task['taskArn']} failed: container {name} "
                + (f"exited with code {code}" if code is not None else "never exited normally (no exit code)")
                + f"; stopped reason: {reason}"
                + (f"; container reason: {detail}" if detail else "")
                + f"\nLast log lines of {name}:\n{tail}"
            ),
            exit_code=code,
            changed=True,
            **result,
        )

    def last_log_lines(self, task, definition):
        count = self.params["log_lines"]
        if not count:
            return {}
        task_id = task["taskArn"].rsplit("/", 1)[-1]
        found = {}
        for container in definition["containerDefinitions"]:
            config = container.get("logConfiguration") or {}
            options = config.get("options") or {}
            if config.get("logDriver") != "awslogs" or "awslogs-group" not in options:
                continue
            prefix = options.get("awslogs-stream-prefix")
            if not prefix:
                found[container["name"]] = ["(awslogs without a stream prefix: stream name unknown)"]
                continue
            logs = retrying_client(
                self.module, "logs", region=options.get("awslogs-region") or self.module.region
            )
            try:
                events = logs.get_log_events(
                    logGroupName=options["awslogs-group"],
                    logStreamName=f"{prefix}/{container['name']}/{task_id}",
                    limit=count,
                    startFromHead=False,
                ).get("events", [])
                found[container["name"]] = [e.get("message", "").rstrip("\n") for e in events][-count:]
            except is_boto3_error_code("ResourceNotFoundException"):
                found[container["name"]] = []
        return found


def main():
    argument_spec = {
        "cluster": {"type": "str", "required": True},
        "task_definition": {"type": "str", "required": True},
        "subnets": {"type": "list", "elements": "str", "required": True},
        "security_groups": {"type": "list", "elements": "str", "required": True},
        "assign_public_ip": {"type": "bool", "default": False},
        "launch_type": {"type": "str", "choices": ["FARGATE", "EC2"], "default": "FARGATE"},
        "platform_version": {"type": "str"},
        "container_name": {"type": "str"},
        "command": {"type": "list", "elements": "str"},
        "container_overrides": {"type": "list", "elements": "dict"},
        "started_by": {"type": "str", "default": "notejam.aws"},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 900},
        "log_lines": {"type": "int", "default": 20},
        "role_propagation_timeout": {"type": "int", "default": 120},
    }
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        OneOffTask(module).run()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="Running the task failed")


if __name__ == "__main__":
    main()
