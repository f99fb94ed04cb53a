"""ecs_taskdefinition: whole-definition comparison with AWS's defaults, re-use, no-op, pruning."""

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules.ecs_taskdefinition import main, normalise_definition

ROLE = "arn:aws:iam::123456789012:role/notejam-test-exec"
CONTAINER = {
    "name": "app",
    "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/notejam:1.0.0",
    # Jinja hands numbers over as strings; the module converts them as AWS would store them
    "portMappings": [{"containerPort": "8000"}],
    "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
    "secrets": [
        {"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"}
    ],
    "healthCheck": {"command": ["CMD", "true"]},
    "readonlyRootFilesystem": True,
    "user": "1000",
    "stopTimeout": 30,
    "logConfiguration": {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": "/notejam/test",
            "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": "app",
        },
    },
}
ARGS = {
    "family": "notejam-test-app",
    "cpu": "512",
    "memory": "1 GB",
    "execution_role_arn": ROLE,
    "containers": [CONTAINER],
    "tags": {"Project": "notejam"},
}


def revisions():
    ecs = boto3.client("ecs")
    return ecs.list_task_definitions(familyPrefix="notejam-test-app", status="ACTIVE")["taskDefinitionArns"]


@pytest.fixture
def registered(aws, run_module):
    result = run_module(main, ARGS)
    assert result["changed"] is True, result
    return result


def test_register_reports_revision_one(registered):
    td = registered["task_definition"]
    assert td["task_definition_arn"].endswith("task-definition/notejam-test-app:1")
    assert td["revision"] == 1
    assert td["cpu"] == "512" and td["memory"] == "1024"
    assert td["tags"] == {"Project": "notejam"}
    assert registered["reused"] is False
    # user data keeps its spelling in the result
    assert td["container_definitions"][0]["log_configuration"]["options"]["awslogs-group"] == "/notejam/test"


def test_second_run_registers_nothing_despite_aws_defaults(registered, run_module, api_calls):
    stored = boto3.client("ecs").describe_task_definition(taskDefinition="notejam-test-app")["taskDefinition"]
    mapping = stored["containerDefinitions"][0]["portMappings"][0]
    # AWS (and the emulator, made faithful) fills in what we never sent
    assert mapping == {"containerPort": 8000, "hostPort": 8000, "protocol": "tcp"}
    result = run_module(main, ARGS)
    assert result["changed"] is False, result["changes"]
    assert result["reused"] is True
    assert api_calls and api_calls.writes == []
    assert len(revisions()) == 1


def test_explicit_defaults_are_the_same_definition(registered, run_module, api_calls):
    explicit = dict(
        CONTAINER,
        essential=True,
        cpu=0,
        portMappings=[{"containerPort": 8000, "hostPort": 8000, "protocol": "tcp"}],
        healthCheck={"command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 3},
        mountPoints=[],
        environment=list(reversed(CONTAINER["environment"])),
    )
    result = run_module(main, dict(ARGS, containers=[explicit], memory="1024", cpu="0.5 vCPU"))
    assert result["changed"] is False, result["changes"]
    assert api_calls.writes == []


def test_check_mode_registers_nothing(aws, run_module, api_calls):
    result = run_module(main, ARGS, check=True)
    assert result["changed"] is True
    assert api_calls.writes == []
    assert revisions() == []
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["container_definitions"][0]["port_mappings"] == [
        {"container_port": 8000, "host_port": 8000, "protocol": "tcp"}
    ]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]}, "containerDefinitions"),
        ({"secrets": []}, "containerDefinitions"),
        ({"portMappings": [{"containerPort": 8001}]}, "containerDefinitions"),
        ({"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/notejam:1.0.1"}, "containerDefinitions"),
    ],
)
def test_any_container_field_change_registers_one_revision(registered, run_module, api_calls, change, path):
    result = run_module(main, dict(ARGS, containers=[dict(CONTAINER, **change)]))
    assert result["changed"] is True
    assert path in result["changes"]
    assert api_calls.writes == ["RegisterTaskDefinition"]
    assert result["task_definition"]["revision"] == 2


def test_task_level_change_registers(registered, run_module, api_calls):
    result = run_module(main, dict(ARGS, memory="2048"))
    assert result["changes"] == ["memory"]
    assert result["diff"]["before"]["memory"] == "1024" and result["diff"]["after"]["memory"] == "2048"
    assert api_calls.writes == ["RegisterTaskDefinition"]


def test_tag_change_alone_tags_the_revision_without_registering(registered, run_module, api_calls):
    result = run_module(main, dict(ARGS, tags={"Project": "notejam", "Environment": "test"}))
    assert result["changes"] == ["tags.Environment"]
    assert api_calls.writes == ["TagResource"]
    assert result["task_definition"]["revision"] == 1


def test_rollback_reuses_the_older_identical_revision(registered, run_module, api_calls):
    run_module(main, dict(ARGS, memory="2048"))
    api_calls.clear_calls()
    result = run_module(main, ARGS)
    assert result["changed"] is False
    assert result["reused"] is True
    assert result["task_definition"]["revision"] == 1
    assert api_calls.writes == []


def test_keep_revisions_deregisters_the_oldest(registered, run_module, api_calls):
    for memory in ("2048", "3072"):
        run_module(main, dict(ARGS, memory=memory))
    api_calls.clear_calls()
    check = run_module(main, dict(ARGS, memory="4096", keep_revisions=2), check=True)
    assert check["changed"] is True and api_calls.writes == []
    assert [a.rsplit(":", 1)[-1] for a in check["deregistered"]] == ["2", "1"]
    result = run_module(main, dict(ARGS, memory="4096", keep_revisions=2))
    assert sorted(a.rsplit(":", 1)[-1] for a in revisions()) == ["3", "4"]
    assert result["task_definition"]["revision"] == 4
    api_calls.clear_calls()
    again = run_module(main, dict(ARGS, memory="4096", keep_revisions=2))
    assert again["changed"] is False and api_calls.writes == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"memory": "4096", "cpu": "256"},
            "memory=4096 is not valid with cpu=256 on Fargate; accepted: 512, 1024, 2048",
        ),
        ({"cpu": "300"}, "cpu=300 is not a Fargate CPU size"),
        ({"network_mode": "bridge"}, "network_mode=bridge is not valid on Fargate; accepted: awsvpc"),
        (
            {"containers": [dict(CONTAINER, port_mappings=[])]},
            "containers[0].port_mappings is not a known field",
        ),
        ({"containers": [dict(CONTAINER, essential="maybe")]}, "containers[0].essential must be a boolean"),
        ({"containers": [CONTAINER, CONTAINER]}, "names must be unique; repeated: app"),
        ({"containers": [{"name": "x"}]}, "containers[0].image is required"),
        ({"memory": "lots"}, "memory: 'lots' is neither MiB"),
        ({"ephemeral_storage_gib": 10}, "ephemeral_storage_gib=10 is out of range; accepted: 21 to 200"),
    ],
)
def test_bad_input_fails_before_any_call(aws, run_module, api_calls, args, message):
    result = run_module(main, dict(ARGS, **args))
    assert result["failed"] is True
    assert message in result["msg"]
    assert api_calls == []


def test_absent_deregisters_a_revision_then_is_quiet(registered, run_module, api_calls):
    args = {"family": "notejam-test-app", "state": "absent", "revision": 1}
    result = run_module(main, args)
    assert result["changed"] is True and api_calls.writes == ["DeregisterTaskDefinition"]
    api_calls.clear_calls()
    assert run_module(main, args)["changed"] is False
    assert api_calls.writes == []


def test_family_prefix_does_not_capture_other_families(registered, run_module):
    other = dict(ARGS, family="notejam-test-app-migrate")
    run_module(main, other)
    result = run_module(main, {"family": "notejam-test-app", "state": "absent"})
    assert [a.rsplit("/", 1)[-1] for a in result["deregistered"]] == ["notejam-test-app:1"]


def test_normalise_ignores_aws_bookkeeping():
    stored = {
        "family": "f",
        "networkMode": "awsvpc",
        "revision": 3,
        "status": "ACTIVE",
        "compatibilities": ["EC2", "FARGATE"],
        "registeredAt": "now",
        "containerDefinitions": [{"name": "a", "image": "i", "cpu": 0, "essential": True, "mountPoints": []}],
    }
    assert normalise_definition(stored) == normalise_definition(
        {"family": "f", "networkMode": "awsvpc", "containerDefinitions": [{"name": "a", "image": "i"}]}
    )


def test_check_mode_predicts_the_next_revision_arn(registered, run_module, api_calls):
    result = run_module(main, dict(ARGS, memory="2048"), check=True)
    assert result["changed"] is True and api_calls.writes == []
    assert result["task_definition"]["task_definition_arn"].endswith("task-definition/notejam-test-app:2")
    assert result["task_definition"]["memory"] == "2048"


def test_check_mode_without_change_returns_the_reused_revision(registered, run_module):
    result = run_module(main, ARGS, check=True)
    assert result["changed"] is False
    assert result["task_definition"]["task_definition_arn"].endswith("task-definition/notejam-test-app:1")


def test_defaults_newer_apis_report_do_not_count_as_changes():
    bare = {"family": "f", "networkMode": "awsvpc", "containerDefinitions": [{"name": "a", "image": "i"}]}
    reported = dict(
        bare,
        enableFaultInjection=False,
        containerDefinitions=[
            {"name": "a", "image": "i", "versionConsistency": "enabled", "systemControls": []}
        ],
    )
    assert normalise_definition(reported) == normalise_definition(bare)
    assert "versionConsistency" not in normalise_definition(bare, comparing=False)["containerDefinitions"][0]
