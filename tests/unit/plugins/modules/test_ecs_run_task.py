"""ecs_run_task: run, bounded wait, exit codes and the container's last log lines."""

import time

import boto3
import botocore.client
import pytest
from ansible_collections.notejam.aws.plugins.modules.ecs_run_task import main

from tests.emulator.fixes.ecs import TASK_EXIT_CODE_ENV

LOG = {
    "logDriver": "awslogs",
    "options": {
        "awslogs-group": "/notejam/test",
        "awslogs-region": "us-east-1",
        "awslogs-stream-prefix": "migrate",
    },
}


@pytest.fixture
def world(aws):
    ec2, ecs, logs = boto3.client("ec2"), boto3.client("ecs"), boto3.client("logs")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="notejam-test")
    ecs.register_task_definition(
        family="notejam-test-app",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "app", "image": "notejam:1", "logConfiguration": LOG}],
    )
    logs.create_log_group(logGroupName="/notejam/test")
    return {"subnet": subnet, "sg": sg}


@pytest.fixture
def container_logs(monkeypatch):
    """The container writes these lines to its awslogs stream once the task runs."""
    lines = []
    original = botocore.client.BaseClient._make_api_call

    def run_and_log(self, operation_name, api_params):
        response = original(self, operation_name, api_params)
        if operation_name == "RunTask" and lines:
            task_id = response["tasks"][0]["taskArn"].rsplit("/", 1)[-1]
            logs = boto3.client("logs")
            stream = f"migrate/app/{task_id}"
            logs.create_log_stream(logGroupName="/notejam/test", logStreamName=stream)
            now = int(time.time() * 1000)  # AWS rejects events older than 14 days
            events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
            logs.put_log_events(logGroupName="/notejam/test", logStreamName=stream, logEvents=events)
        return response

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", run_and_log)
    return lines


@pytest.fixture
def args(world):
    return {
        "cluster": "notejam-test",
        "task_definition": "notejam-test-app",
        "subnets": [world["subnet"]],
        "security_groups": [world["sg"]],
        "container_name": "app",
        "command": ["flask", "--app", "notejam", "db", "upgrade"],
        "log_lines": 2,
    }


def test_successful_task_reports_exit_code_zero_and_logs(args, container_logs, run_module, api_calls):
    container_logs.extend(["INFO  [alembic] Running upgrade", "INFO  [alembic] done"])
    result = run_module(main, args)
    assert result["changed"] is True
    assert result["exit_codes"] == {"app": 0}
    assert result["log_lines"] == {"app": ["INFO  [alembic] Running upgrade", "INFO  [alembic] done"]}
    assert result["task"]["last_status"] == "STOPPED"
    (run,) = api_calls.of("RunTask")
    assert run["clientToken"]
    assert run["overrides"] == {"containerOverrides": [{"name": "app", "command": args["command"]}]}
    assert run["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"


def test_failed_task_fails_with_exit_code_and_last_log_lines(args, container_logs, run_module, monkeypatch):
    monkeypatch.setenv(TASK_EXIT_CODE_ENV, "3")
    container_logs.extend(["line 1", "sqlalchemy.exc.OperationalError: no such table", "migration aborted"])
    result = run_module(main, args)
    assert result["failed"] is True
    assert "container app exited with code 3" in result["msg"]
    assert result["msg"].endswith("sqlalchemy.exc.OperationalError: no such table\nmigration aborted")
    assert "line 1" not in result["msg"]
    assert result["exit_code"] == 3


def test_check_mode_runs_nothing(args, run_module, api_calls):
    result = run_module(main, args, check=True)
    assert result["changed"] is True
    assert api_calls.writes == []


def test_wait_is_bounded_and_names_the_task(args, run_module, monkeypatch):
    from ansible_collections.notejam.aws.plugins.modules import ecs_run_task

    monkeypatch.setattr(
        ecs_run_task.OneOffTask,
        "wait",
        lambda self, arn: ecs_run_task.wait_for(
            self.module, f"task {arn} to stop (it keeps running)", lambda: (False, "RUNNING"), 0.01, 0.001
        ),
    )
    result = run_module(main, args)
    assert result["failed"] is True
    assert "Gave up after 0.01s waiting for task arn:aws:ecs:" in result["msg"]
    assert "to stop (it keeps running); last seen: RUNNING" in result["msg"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"security_groups": []}, "security_groups must list at least one ID"),
        ({"container_name": None}, "command needs container_name"),
        (
            {"container_overrides": [{"name": "app", "cmd": ["x"]}]},
            "container_overrides[0].cmd is not a known field",
        ),
        ({"wait_timeout": 0}, "wait_timeout=0 must be more than 0 seconds"),
    ],
)
def test_bad_input_fails_before_any_call(args, run_module, api_calls, change, message):
    result = run_module(main, dict(args, **change))
    assert result["failed"] is True and message in result["msg"]
    assert api_calls == []


def test_unknown_container_fails_before_running(args, run_module, api_calls):
    result = run_module(main, dict(args, container_name="web"))
    assert (
        result["failed"] is True
        and "container web is not in" in result["msg"]
        and "accepted: app" in result["msg"]
    )
    assert api_calls.writes == []
