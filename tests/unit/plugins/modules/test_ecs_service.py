"""ecs_service: every compared field, smallest update, autoscaling-owned count, bounded wait."""

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules.ecs_service import main


@pytest.fixture
def world(aws):
    ec2, ecs = boto3.client("ec2"), boto3.client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)
    ]
    sg = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="notejam-test")
    arns = []
    for image in ("notejam:1", "notejam:2"):
        arns.append(
            ecs.register_task_definition(
                family="notejam-test-app",
                requiresCompatibilities=["FARGATE"],
                networkMode="awsvpc",
                cpu="256",
                memory="512",
                containerDefinitions=[
                    {"name": "app", "image": image, "portMappings": [{"containerPort": 8000}]}
                ],
            )["taskDefinition"]["taskDefinitionArn"]
        )
    return {"subnets": subnets, "sg": sg, "td1": arns[0], "td2": arns[1]}


@pytest.fixture
def args(world):
    return {
        "name": "notejam-test-app",
        "cluster": "notejam-test",
        "task_definition": "notejam-test-app:1",
        "desired_count": 2,
        "launch_type": "FARGATE",
        "network_configuration": {"subnets": world["subnets"], "security_groups": [world["sg"]]},
        "deployment_configuration": {
            "maximum_percent": 200,
            "minimum_healthy_percent": 100,
            "circuit_breaker": {"enable": True, "rollback": True},
        },
        "propagate_tags": "SERVICE",
        "tags": {"Project": "notejam"},
    }


@pytest.fixture
def created(args, run_module):
    result = run_module(main, args)
    assert result["changed"] is True, result
    return result


def test_create_keeps_every_setting(created, world):
    service = created["service"]
    assert service["task_definition"] == world["td1"]
    assert service["desired_count"] == 2
    assert service["deployment_configuration"]["deployment_circuit_breaker"] == {
        "enable": True,
        "rollback": True,
    }
    assert service["network_configuration"]["awsvpc_configuration"]["assign_public_ip"] == "DISABLED"
    assert service["tags"] == {"Project": "notejam"}
    assert service["platform_version"] == "LATEST"


def test_create_uses_a_client_token(args, world, run_module, api_calls):
    run_module(main, args)
    (create,) = api_calls.of("CreateService")
    assert create["clientToken"]
    assert "desiredCount" in create and "deploymentConfiguration" in create


def test_second_run_changes_nothing_and_makes_no_write(created, args, run_module, api_calls):
    reordered = dict(args, network_configuration=dict(args["network_configuration"]))
    reordered["network_configuration"]["subnets"] = list(reversed(args["network_configuration"]["subnets"]))
    result = run_module(main, reordered)
    assert result["changed"] is False, result["changes"]
    assert api_calls and api_calls.writes == []


def test_check_mode_makes_no_write(args, world, run_module, api_calls):
    result = run_module(main, args, check=True)
    assert result["changed"] is True and api_calls.writes == []
    assert result["diff"]["after"]["task_definition"] == world["td1"]
    services = boto3.client("ecs").describe_services(cluster="notejam-test", services=["notejam-test-app"])
    assert services["services"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"health_check_grace_period_seconds": 90}, "healthCheckGracePeriodSeconds"),
        ({"platform_version": "1.4.0"}, "platformVersion"),
        ({"enable_execute_command": True}, "enableExecuteCommand"),
        ({"propagate_tags": "TASK_DEFINITION"}, "propagateTags"),
    ],
)
def test_single_field_update_sends_only_that_field(created, args, run_module, api_calls, change, field):
    result = run_module(main, dict(args, **change))
    assert result["changes"] == [field]
    assert api_calls.writes == ["UpdateService"]
    (update,) = api_calls.of("UpdateService")
    assert set(update) == {"cluster", "service", field}
    api_calls.clear_calls()
    assert run_module(main, dict(args, **change))["changed"] is False
    assert api_calls.writes == []


def test_deployment_configuration_circuit_breaker_is_compared(created, args, run_module, api_calls):
    off = dict(args, deployment_configuration={"circuit_breaker": {"enable": False, "rollback": False}})
    result = run_module(main, off)
    assert result["changes"] == [
        "deploymentConfiguration.deploymentCircuitBreaker.enable",
        "deploymentConfiguration.deploymentCircuitBreaker.rollback",
    ]
    (update,) = api_calls.of("UpdateService")
    # the whole configuration is sent, with the parts left out kept as they are
    assert update["deploymentConfiguration"] == {
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
        "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    }


def test_network_configuration_is_compared(created, args, world, run_module, api_calls):
    one_subnet = dict(
        args, network_configuration={"subnets": world["subnets"][:1], "security_groups": [world["sg"]]}
    )
    result = run_module(main, one_subnet)
    assert result["changes"] == ["networkConfiguration.awsvpcConfiguration.subnets"]
    assert api_calls.writes == ["UpdateService"]


def test_desired_count_is_left_to_autoscaling_unless_forced(created, args, run_module, api_calls):
    boto3.client("ecs").update_service(cluster="notejam-test", service="notejam-test-app", desiredCount=6)
    api_calls.clear_calls()
    assert run_module(main, args)["changed"] is False
    assert api_calls.writes == []
    forced = run_module(main, dict(args, force_desired_count=True))
    assert forced["changes"] == ["desiredCount"]
    assert forced["service"]["desired_count"] == 2


def test_tags_change_through_tag_calls_only(created, args, run_module, api_calls):
    result = run_module(main, dict(args, tags={"Project": "notejam", "Environment": "test"}))
    assert result["changes"] == ["tags.Environment"]
    assert api_calls.writes == ["TagResource"]


def test_new_task_definition_rolls_out_and_waits(created, args, world, run_module, api_calls):
    result = run_module(main, dict(args, task_definition="notejam-test-app", wait=True, wait_timeout=30))
    assert result["changes"] == ["taskDefinition"]
    assert result["service"]["task_definition"] == world["td2"]
    primary = [d for d in result["service"]["deployments"] if d["status"] == "PRIMARY"]
    assert primary[0]["rollout_state"] == "COMPLETED"


def test_rolled_back_deployment_fails_with_the_service_events(created, args, world, run_module, monkeypatch):
    monkeypatch.setenv("MOTO_ECS_SERVICE_FAILED_TASKS", "1")
    result = run_module(main, dict(args, task_definition=world["td2"], wait=True, wait_timeout=30))
    assert result["failed"] is True
    assert f"Deployment of {world['td2']} to service notejam-test-app failed" in result["msg"]
    assert f"rolled back to {world['td1']}" in result["msg"]
    assert any("deployment failed" in e for e in result["events"])


def test_wait_is_bounded_and_names_what_it_waited_for(created, args, run_module, monkeypatch):
    from ansible_collections.notejam.aws.plugins.modules import ecs_service

    never = {"status": "PRIMARY", "id": "ecs-svc/1", "rolloutState": "IN_PROGRESS", "runningCount": 0}
    real_read = ecs_service.EcsService.read

    def stuck_read(self):
        service = real_read(self)
        if service:
            never.update(taskDefinition=service["taskDefinition"], desiredCount=2)
            service["deployments"] = [never]
        return service

    monkeypatch.setattr(ecs_service.EcsService, "read", stuck_read)
    result = run_module(main, dict(args, wait=True, wait_timeout=1))
    assert result["failed"] is True
    assert "Gave up after 1s waiting for service notejam-test-app to reach a steady state" in result["msg"]
    assert "IN_PROGRESS, 0/2 tasks running" in result["msg"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"capacity_provider_strategy": [{"capacity_provider": "FARGATE"}]},
            "launch_type and capacity_provider_strategy exclude each other",
        ),
        (
            {"deployment_configuration": {"minimum_healthy_percent": 150}},
            "minimum_healthy_percent=150 is out of range; accepted: 0 to 100",
        ),
        ({"desired_count": -1}, "desired_count=-1 is not accepted; accepted: 0 or more"),
        ({"launch_type": "SPOT"}, "launch_type must be one of: FARGATE, EC2, EXTERNAL"),
    ],
)
def test_bad_input_fails_before_any_call(args, run_module, api_calls, change, message):
    result = run_module(main, dict(args, **change))
    assert result["failed"] is True
    assert message in result["msg"]
    assert api_calls == []


def test_unknown_task_definition_fails_before_any_write(args, run_module, api_calls):
    result = run_module(main, dict(args, task_definition="nope:9"))
    assert result["failed"] is True and "task_definition=nope:9 was not found" in result["msg"]
    assert api_calls.writes == []


def test_check_mode_reports_a_create_into_a_cluster_and_family_not_made_yet(args, run_module, api_calls):
    """A dry run where earlier tasks would create the cluster and register the family: the service
    is reported as created and nothing is written; a real run still names what is missing."""
    missing = dict(args, cluster="not-made-yet", task_definition="new-family")
    dry = run_module(main, missing, check=True)
    assert dry["changed"] is True, dry
    assert api_calls.writes == []
    real = run_module(main, missing)
    assert real["failed"] is True and "cluster=not-made-yet was not found" in real["msg"]


def test_launch_type_cannot_change_in_place(created, args, run_module, api_calls):
    result = run_module(main, dict(args, launch_type="EC2"))
    assert result["failed"] is True and "launch_type cannot change" in result["msg"]
    assert api_calls.writes == []


def test_absent_deletes_then_is_quiet(created, args, run_module, api_calls):
    gone = {"name": args["name"], "cluster": args["cluster"], "state": "absent"}
    assert run_module(main, gone)["changed"] is True
    assert api_calls.writes == ["DeleteService"]
    api_calls.clear_calls()
    assert run_module(main, gone)["changed"] is False
    assert api_calls.writes == []


def test_check_mode_update_returns_the_service_as_it_would_become(
    created, args, world, run_module, api_calls
):
    result = run_module(main, dict(args, task_definition=world["td2"]), check=True)
    assert result["changed"] is True and api_calls.writes == []
    assert result["service"]["service_arn"] == created["service"]["service_arn"]
    assert result["service"]["task_definition"] == world["td2"]


def test_deployment_alarms_set_elsewhere_are_kept_on_update(created, args, run_module, api_calls):
    alarms = {"alarmNames": ["notejam-test-5xx"], "enable": True, "rollback": True}
    boto3.client("ecs").update_service(
        cluster="notejam-test",
        service="notejam-test-app",
        deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100, "alarms": alarms},
    )
    api_calls.clear_calls()
    run_module(main, args)
    (update,) = api_calls.of("UpdateService")
    assert update["deploymentConfiguration"]["alarms"] == alarms
    assert update["deploymentConfiguration"]["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}


def test_capacity_provider_strategy_is_compared_and_switched_with_a_new_deployment(
    args, run_module, api_calls
):
    spot = {k: v for k, v in args.items() if k != "launch_type"}
    spot["capacity_provider_strategy"] = [{"capacity_provider": "FARGATE_SPOT", "weight": 1}]
    created = run_module(main, spot)
    assert created.get("changed") is True, created
    assert "launch_type" not in created["service"]
    api_calls.clear_calls()
    assert run_module(main, spot)["changed"] is False
    assert api_calls.writes == []
    mixed = dict(
        spot,
        capacity_provider_strategy=[
            {"capacity_provider": "FARGATE", "weight": 1, "base": 1},
            {"capacity_provider": "FARGATE_SPOT", "weight": 3},
        ],
    )
    result = run_module(main, mixed)
    assert result["changes"] == ["capacityProviderStrategy"]
    (update,) = api_calls.of("UpdateService")
    assert update["forceNewDeployment"] is True
    assert update["capacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE", "weight": 1, "base": 1},
        {"capacityProvider": "FARGATE_SPOT", "weight": 3, "base": 0},
    ]


def test_absent_with_wait_waits_for_inactive(created, args, run_module, api_calls):
    result = run_module(
        main, {"name": args["name"], "cluster": args["cluster"], "state": "absent", "wait": True}
    )
    assert result["changed"] is True
    assert api_calls.writes == ["DeleteService"]
    assert api_calls[-1] == "DescribeServices"


def test_load_balancers_are_compared_in_any_order(created, args, run_module, api_calls):
    tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/notejam-{}/0123456789abcdef"
    lbs = [
        {"target_group_arn": tg.format("b"), "container_name": "app", "container_port": 8000},
        {"target_group_arn": tg.format("a"), "container_name": "app", "container_port": 8000},
    ]
    result = run_module(main, dict(args, load_balancers=lbs))
    assert result["changes"] == ["loadBalancers"]
    (update,) = api_calls.of("UpdateService")
    assert set(update) == {"cluster", "service", "loadBalancers"}
    api_calls.clear_calls()
    assert run_module(main, dict(args, load_balancers=list(reversed(lbs))))["changed"] is False
    assert api_calls.writes == []


def test_deployment_alarms_are_set_compared_in_any_order_and_kept_when_left_out(
    created, args, run_module, api_calls
):
    names = ["notejam-test-target-p99-latency", "notejam-test-alb-5xx-rate"]
    with_alarms = dict(
        args,
        deployment_configuration=dict(
            args["deployment_configuration"], alarms={"names": names, "enable": True, "rollback": True}
        ),
    )
    api_calls.clear_calls()
    result = run_module(main, with_alarms)
    assert result["changed"] is True
    (update,) = api_calls.of("UpdateService")
    assert update["deploymentConfiguration"]["alarms"] == {
        "alarmNames": sorted(names),
        "enable": True,
        "rollback": True,
    }
    api_calls.clear_calls()
    reordered = dict(
        with_alarms,
        deployment_configuration=dict(
            args["deployment_configuration"],
            alarms={"names": list(reversed(names)), "enable": True, "rollback": True},
        ),
    )
    assert run_module(main, reordered)["changed"] is False
    assert run_module(main, args)["changed"] is False  # left out: kept
    assert api_calls.writes == []
    off = dict(
        args,
        deployment_configuration=dict(
            args["deployment_configuration"], alarms={"names": [], "enable": False, "rollback": False}
        ),
    )
    result = run_module(main, off)
    assert "deploymentConfiguration.alarms.enable" in result["changes"]
    service = boto3.client("ecs").describe_services(cluster="notejam-test", services=["notejam-test-app"])
    assert service["services"][0]["deploymentConfiguration"]["alarms"]["enable"] is False


def test_deployment_alarms_never_set_are_not_written_to_turn_them_off(created, args, run_module, api_calls):
    off = dict(
        args,
        deployment_configuration=dict(
            args["deployment_configuration"], alarms={"names": [], "enable": False, "rollback": False}
        ),
    )
    api_calls.clear_calls()
    assert run_module(main, off)["changed"] is False
    assert api_calls.writes == []


def test_deployment_alarms_enabled_without_names_fail_before_any_call(args, run_module, api_calls):
    bad = dict(
        args,
        deployment_configuration=dict(
            args["deployment_configuration"], alarms={"names": [], "enable": True, "rollback": True}
        ),
    )
    result = run_module(main, bad)
    assert result.get("failed") and "deployment_configuration.alarms.enable=true" in result["msg"]
    assert api_calls == []
