"""application_autoscaling: target, target-tracking policies and scheduled actions in one cycle."""

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules.application_autoscaling import main

RESOURCE = "service/notejam-test/notejam-test-app"


@pytest.fixture
def service(aws):
    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName="notejam-test")
    ecs.register_task_definition(
        family="app", containerDefinitions=[{"name": "a", "image": "i", "memory": 128}]
    )
    ecs.create_service(
        cluster="notejam-test", serviceName="notejam-test-app", taskDefinition="app", desiredCount=2
    )


ARGS = {
    "resource_id": RESOURCE,
    "min_capacity": 2,
    "max_capacity": 8,
    "target_tracking_policies": [
        {
            "name": "cpu",
            "predefined_metric_type": "ECSServiceAverageCPUUtilization",
            "target_value": 60,
            "scale_out_cooldown": 60,
            "scale_in_cooldown": 300,
        },
        {
            "name": "requests",
            "predefined_metric_type": "ALBRequestCountPerTarget",
            "resource_label": "app/notejam/123/targetgroup/notejam/456",
            "target_value": 500,
        },
    ],
    "scheduled_actions": [
        {
            "name": "business-hours",
            "schedule": "cron(0 7 ? * MON-FRI *)",
            "timezone": "Europe/London",
            "min_capacity": 4,
            "max_capacity": 8,
        },
        {
            "name": "night",
            "schedule": "cron(0 20 ? * MON-FRI *)",
            "timezone": "Europe/London",
            "min_capacity": 2,
        },
    ],
    "tags": {"Project": "notejam"},
}


def aas():
    return boto3.client("application-autoscaling")


@pytest.fixture
def created(service, run_module):
    result = run_module(main, ARGS)
    assert result["changed"] is True, result
    return result


def test_create_registers_target_policies_and_actions(created):
    target = created["scalable_target"]
    assert (target["min_capacity"], target["max_capacity"]) == (2, 8)
    assert set(target["policies"]) == {"cpu", "requests"}
    assert target["policies"]["cpu"]["target_value"] == 60
    assert target["scheduled_actions"]["night"] == {
        "schedule": "cron(0 20 ? * MON-FRI *)",
        "timezone": "Europe/London",
        "min_capacity": 2,
    }
    assert target["tags"] == {"Project": "notejam"}


def test_second_run_changes_nothing_and_makes_no_write(created, run_module, api_calls):
    result = run_module(main, ARGS)
    assert result["changed"] is False, result["changes"]
    assert api_calls and api_calls.writes == []


def test_check_mode_makes_no_write_at_all(service, run_module, api_calls):
    result = run_module(main, ARGS, check=True)
    assert result["changed"] is True
    assert api_calls.writes == []
    assert aas().describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
    assert set(result["diff"]["after"]["policies"]) == {"cpu", "requests"}


def test_check_mode_on_existing_target_makes_no_write(created, run_module, api_calls):
    result = run_module(main, dict(ARGS, max_capacity=20), check=True)
    assert result["changed"] is True and result["changes"] == ["max_capacity"]
    assert api_calls.writes == []
    assert aas().describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0]["MaxCapacity"] == 8


def test_single_policy_change_puts_only_that_policy(created, run_module, api_calls):
    policies = [
        dict(ARGS["target_tracking_policies"][0], target_value=50),
        ARGS["target_tracking_policies"][1],
    ]
    result = run_module(main, dict(ARGS, target_tracking_policies=policies))
    assert result["changes"] == ["policies.cpu.target_value"]
    assert api_calls.writes == ["PutScalingPolicy"]
    assert api_calls.of("PutScalingPolicy")[0]["PolicyName"] == "cpu"


def test_capacity_change_registers_target_only(created, run_module, api_calls):
    result = run_module(main, dict(ARGS, max_capacity=20))
    assert result["diff"]["before"]["max_capacity"] == 8 and result["diff"]["after"]["max_capacity"] == 20
    assert api_calls.writes == ["RegisterScalableTarget"]


def test_unlisted_children_are_purged_or_kept(created, run_module, api_calls):
    kept = run_module(
        main,
        dict(
            ARGS,
            scheduled_actions=[],
            target_tracking_policies=[],
            purge_policies=False,
            purge_scheduled_actions=False,
        ),
    )
    assert kept["changed"] is False and api_calls.writes == []
    purged = run_module(main, dict(ARGS, scheduled_actions=ARGS["scheduled_actions"][:1]))
    assert purged["changes"] == ["scheduled_actions.night"]
    assert api_calls.writes == ["DeleteScheduledAction"]


def test_options_left_out_keep_aws_values(created, run_module, api_calls):
    # cooldowns left out of a policy keep what AWS holds; lists left out are not managed
    cpu = {k: v for k, v in ARGS["target_tracking_policies"][0].items() if "cooldown" not in k}
    result = run_module(
        main,
        {"resource_id": RESOURCE, "target_tracking_policies": [cpu, ARGS["target_tracking_policies"][1]]},
    )
    assert result["changed"] is False, result["changes"]
    assert api_calls.writes == []


def test_tags_update(created, run_module, api_calls):
    result = run_module(main, dict(ARGS, tags={"Project": "notejam", "Environment": "test"}))
    assert result["changes"] == ["tags.Environment"]
    assert api_calls.writes == ["TagResource"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"min_capacity": 9}, "min_capacity=9 is greater than max_capacity=8"),
        ({"max_capacity": -1}, "max_capacity=-1 is not accepted; accepted: 0 or more"),
        (
            {"target_tracking_policies": [{"name": "x", "predefined_metric_type": "CPU", "target_value": 1}]},
            "predefined_metric_type='CPU' is not accepted; accepted: DynamoDBReadCapacityUtilization",
        ),
        (
            {
                "target_tracking_policies": [
                    {"name": "x", "predefined_metric_type": "ALBRequestCountPerTarget", "target_value": 1}
                ]
            },
            "target_tracking_policies[0].resource_label is required for ALBRequestCountPerTarget",
        ),
        (
            {"scheduled_actions": [{"name": "x", "schedule": "0 7 * * *", "min_capacity": 1}]},
            "scheduled_actions[0].schedule='0 7 * * *' is not accepted",
        ),
        (
            {"scheduled_actions": [{"name": "x", "schedule": "cron(0 7 * * ? *)", "timezone": "Mars/Base"}]},
            "scheduled_actions[0] needs min_capacity, max_capacity or both",
        ),
        (
            {
                "scheduled_actions": [
                    {"name": "x", "schedule": "rate(1 day)", "min_capacity": 1, "timezone": "Mars/Base"}
                ]
            },
            "scheduled_actions[0].timezone=Mars/Base is not an IANA time zone",
        ),
        (
            {
                "scheduled_actions": [
                    {"name": "x", "schedule": "rate(1 day)", "min_capacity": 5, "max_capacity": 1}
                ]
            },
            "scheduled_actions[0].min_capacity=5 is greater than scheduled_actions[0].max_capacity=1",
        ),
        ({"resource_id": "notejam-test-app"}, "resource_id=notejam-test-app is not an ECS service"),
        (
            {"scalable_dimension": "ecs:service:Count"},
            "scalable_dimension='ecs:service:Count' is not accepted",
        ),
    ],
)
def test_bad_input_fails_before_any_call(service, run_module, api_calls, change, message):
    result = run_module(main, dict(ARGS, **change))
    assert result["failed"] is True
    assert message in result["msg"]
    assert api_calls == []


def test_raising_min_above_current_max_fails_before_any_write(created, run_module, api_calls):
    result = run_module(main, {"resource_id": RESOURCE, "min_capacity": 10})
    assert (
        result["failed"] is True and "min_capacity=10 would be greater than max_capacity=8" in result["msg"]
    )
    assert api_calls.writes == []


def test_absent_removes_target_with_its_policies(created, run_module, api_calls):
    gone = {"resource_id": RESOURCE, "state": "absent"}
    assert run_module(main, gone)["changed"] is True
    assert api_calls.writes == ["DeregisterScalableTarget"]
    assert (
        aas().describe_scaling_policies(ServiceNamespace="ecs", ResourceId=RESOURCE)["ScalingPolicies"] == []
    )
    api_calls.clear_calls()
    assert run_module(main, gone)["changed"] is False and api_calls.writes == []


def test_keep_min_capacity_leaves_a_scheduled_minimum_alone(created, run_module, api_calls):
    # A scheduled action raised the minimum for business hours; a re-run must not lower it again.
    aas().register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=RESOURCE,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=4,
    )
    api_calls.clear_calls()
    kept = run_module(main, dict(ARGS, keep_min_capacity=True))
    assert kept["changed"] is False, kept["changes"]
    assert api_calls.writes == []
    moved = run_module(main, dict(ARGS, keep_min_capacity=True, max_capacity=12))
    assert moved["changes"] == ["max_capacity"]
    target = aas().describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (4, 12)


def test_keep_min_capacity_still_creates_with_the_minimum(service, run_module):
    result = run_module(main, dict(ARGS, keep_min_capacity=True))
    assert result["scalable_target"]["min_capacity"] == 2


def test_absent_action_is_deleted_without_purging_the_others(created, run_module, api_calls):
    event = {
        "name": "event-launch-start",
        "schedule": "at(2030-01-01T09:00:00)",
        "min_capacity": 8,
        "max_capacity": 16,
    }
    added = run_module(
        main,
        {"resource_id": RESOURCE, "scheduled_actions": [event], "purge_scheduled_actions": False},
    )
    assert added["changes"] == ["scheduled_actions.event-launch-start"]
    assert api_calls.writes == ["PutScheduledAction"]
    api_calls.clear_calls()
    cancel = {"resource_id": RESOURCE, "purge_scheduled_actions": False}
    cancel["scheduled_actions"] = [{"name": "event-launch-start", "state": "absent"}]
    removed = run_module(main, cancel)
    assert removed["changes"] == ["scheduled_actions.event-launch-start"]
    assert api_calls.writes == ["DeleteScheduledAction"]
    assert set(removed["scalable_target"]["scheduled_actions"]) == {"business-hours", "night"}
    again = run_module(main, cancel)
    assert again["changed"] is False


def test_present_action_without_schedule_fails_before_any_call(service, run_module, api_calls):
    result = run_module(main, dict(ARGS, scheduled_actions=[{"name": "x", "min_capacity": 1}]))
    assert "scheduled_actions[0].schedule is required" in result["msg"]
    assert api_calls.writes == []
