"""ecs_cluster: create, no-op, check mode, diff, single-field update, tags, bad input, delete."""

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules.ecs_cluster import main

ARGS = {
    "name": "notejam-test-cluster",
    "container_insights": "enabled",
    "capacity_providers": ["FARGATE_SPOT", "FARGATE"],
    "default_capacity_provider_strategy": [{"capacity_provider": "FARGATE", "weight": 1, "base": 1}],
    "tags": {"Project": "notejam", "Environment": "test"},
}


@pytest.fixture
def created(aws, run_module):
    result = run_module(main, ARGS)
    assert result["changed"] is True
    return result


def test_create_reports_the_cluster(created):
    cluster = created["cluster"]
    assert cluster["cluster_name"] == "notejam-test-cluster"
    assert cluster["tags"] == {"Project": "notejam", "Environment": "test"}
    assert {"name": "containerInsights", "value": "enabled"} in cluster["settings"]
    assert created["diff"]["before"] == {}
    assert created["diff"]["after"]["settings"] == {"container_insights": "enabled"}


def test_second_run_changes_nothing_and_makes_no_write(created, run_module, api_calls):
    result = run_module(main, ARGS)
    assert result["changed"] is False
    assert result["changes"] == []
    assert api_calls and api_calls.writes == []


def test_check_mode_makes_no_write_and_reports_the_change(aws, run_module, api_calls):
    result = run_module(main, ARGS, check=True)
    assert result["changed"] is True
    assert api_calls.writes == []
    assert boto3.client("ecs").describe_clusters(clusters=["notejam-test-cluster"])["clusters"] == []


def test_single_field_update_makes_only_that_call(created, run_module, api_calls):
    result = run_module(main, dict(ARGS, container_insights="disabled"))
    assert result["changed"] is True
    assert result["changes"] == ["settings.containerInsights"]
    assert api_calls.writes == ["UpdateCluster"]
    assert result["diff"]["before"]["settings"] == {"container_insights": "enabled"}
    assert result["diff"]["after"]["settings"] == {"container_insights": "disabled"}
    assert run_module(main, dict(ARGS, container_insights="disabled"))["changed"] is False


def test_check_mode_update_changes_nothing_in_aws(created, run_module, api_calls):
    result = run_module(main, dict(ARGS, container_insights="disabled"), check=True)
    assert result["changed"] is True and api_calls.writes == []
    cluster = boto3.client("ecs").describe_clusters(clusters=["notejam-test-cluster"])["clusters"][0]
    settings = cluster["settings"]
    assert {"name": "containerInsights", "value": "enabled"} in settings


def test_options_left_out_are_left_alone(created, run_module, api_calls):
    result = run_module(main, {"name": "notejam-test-cluster"})
    assert result["changed"] is False and api_calls.writes == []


def test_tags_are_purged_only_when_asked(created, run_module, api_calls):
    kept = run_module(main, dict(ARGS, tags={"Owner": "ops"}, purge_tags=False))
    assert kept["cluster"]["tags"] == {"Project": "notejam", "Environment": "test", "Owner": "ops"}
    assert api_calls.writes == ["TagResource"]
    api_calls.clear_calls()
    purged = run_module(main, dict(ARGS, tags={"Owner": "ops"}))
    assert purged["cluster"]["tags"] == {"Owner": "ops"}
    assert api_calls.writes == ["UntagResource"]


def test_strategy_naming_an_unlisted_provider_fails_before_any_call(aws, run_module, api_calls):
    args = dict(ARGS, default_capacity_provider_strategy=[{"capacity_provider": "MY_ASG"}])
    result = run_module(main, args)
    assert result["failed"] is True
    assert "default_capacity_provider_strategy names MY_ASG" in result["msg"]
    assert "accepted: FARGATE_SPOT, FARGATE" in result["msg"]
    assert api_calls == []


def test_absent_deletes_then_is_quiet(created, run_module, api_calls):
    assert run_module(main, {"name": ARGS["name"], "state": "absent"})["changed"] is True
    assert api_calls.writes == ["DeleteCluster"]
    api_calls.clear_calls()
    assert run_module(main, {"name": ARGS["name"], "state": "absent"})["changed"] is False
    assert api_calls.writes == []
