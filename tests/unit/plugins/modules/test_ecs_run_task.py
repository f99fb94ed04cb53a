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


# --- a new task role that IAM has not propagated yet (issue 14, defect 2) --------------------------
NOT_ASSUMABLE = (
    "ECS was unable to assume the role 'arn:aws:iam::123456789012:role/notejam-test-task' that was "
    "provided for this task. Please verify that the role being passed has the proper trust "
    "relationship and permissions and that your IAM user has permissions to pass this role."
)
TASK_DEFINITION_ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/notejam-test-app:1"
TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/notejam-test/0123456789abcdef"


@pytest.fixture
def stubbed_ecs(monkeypatch):
    """ECS stubbed from botocore's model: describe the definition and cluster, then RunTask as the
    test queues it (moto never refuses a role)."""
    from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
    from botocore.stub import ANY, Stubber

    client = boto3.client("ecs", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "taskDefinitionArn": TASK_DEFINITION_ARN,
                "taskRoleArn": "arn:aws:iam::123456789012:role/notejam-test-task",
                "containerDefinitions": [{"name": "app", "image": "notejam:1"}],
            }
        },
        {"taskDefinition": "notejam-test-app"},
    )
    stub.add_response(
        "describe_clusters",
        {"clusters": [{"clusterName": "notejam-test", "status": "ACTIVE"}]},
        {"clusters": ["notejam-test"]},
    )
    stub.activate()
    monkeypatch.setattr(AnsibleAWSModule, "client", lambda self, service, **kw: client)
    stub.run_task_params = {
        "cluster": "notejam-test",
        "taskDefinition": TASK_DEFINITION_ARN,
        "count": 1,
        "launchType": "FARGATE",
        "startedBy": "notejam.aws",
        "clientToken": ANY,
        "networkConfiguration": ANY,
        "overrides": ANY,
    }
    return stub


STUBBED_ARGS = {
    "cluster": "notejam-test",
    "task_definition": "notejam-test-app",
    "subnets": ["subnet-0123456789abcdef0"],
    "security_groups": ["sg-0123456789abcdef0"],
    "container_name": "app",
    "command": ["flask", "--app", "notejam", "db", "upgrade"],
    "wait": False,
    "log_lines": 0,
}


@pytest.mark.parametrize("code", ["ClientException", "InvalidParameterException"])
def test_a_role_ecs_cannot_assume_yet_is_waited_for_and_the_wait_reported(
    stubbed_ecs, run_module, api_calls, code
):
    for _ in range(2):
        stubbed_ecs.add_client_error(
            "run_task", code, NOT_ASSUMABLE, 400, expected_params=stubbed_ecs.run_task_params
        )
    stubbed_ecs.add_response(
        "run_task",
        {"tasks": [{"taskArn": TASK_ARN, "lastStatus": "PROVISIONING"}], "failures": []},
        stubbed_ecs.run_task_params,
    )
    result = run_module(main, STUBBED_ARGS)
    assert result.get("failed") is not True, result.get("msg")
    assert result["task"]["task_arn"] == TASK_ARN
    (warning,) = [w for w in result.get("warnings", []) if "assume the roles" in w]
    assert f"ECS to be able to assume the roles of {TASK_DEFINITION_ARN}" in warning
    assert "refused 2 time(s)" in warning and code in warning
    tokens = [call["clientToken"] for call in api_calls.of("RunTask")]
    assert len(tokens) == 3 and len(set(tokens)) == 3, "each attempt after a refusal carries its own token"
    stubbed_ecs.assert_no_pending_responses()


def test_the_wait_for_a_role_is_bounded_and_names_the_role(stubbed_ecs, run_module):
    for _ in range(20):
        stubbed_ecs.add_client_error("run_task", "ClientException", NOT_ASSUMABLE, 400)
    result = run_module(main, dict(STUBBED_ARGS, role_propagation_timeout=0))
    assert result["failed"] is True
    assert (
        f"Gave up after 0s waiting for ECS to be able to assume the roles of {TASK_DEFINITION_ARN}"
        in (result["msg"])
    )
    assert "role/notejam-test-task" in result["msg"]


def test_other_refusals_of_run_task_fail_at_once(stubbed_ecs, run_module):
    stubbed_ecs.add_client_error(
        "run_task",
        "InvalidParameterException",
        "Unable to assume the service linked role. Please verify that the ECS service linked role exists.",
        400,
    )
    result = run_module(main, STUBBED_ARGS)
    assert result["failed"] is True and "service linked role" in result["msg"]
    stubbed_ecs.assert_no_pending_responses()
