"""codestar_connection, codebuild_project, codepipeline_pipeline, ecr_replication_rule: create, no-op
with no write, check mode, a single change, bad input before any call. They run against the emulator
server (tests/emulator): CodeStar connections and CodeBuild UpdateProject exist there only as the
harness's stand-ins."""

import json
import uuid

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules import codebuild_project as codebuild_module
from ansible_collections.notejam.aws.plugins.modules import codepipeline_pipeline as pipeline_module
from ansible_collections.notejam.aws.plugins.modules import codestar_connection as connection_module
from ansible_collections.notejam.aws.plugins.modules import ecr_replication_rule as replication_module

from tests.emulator.ctl import client_env

REGION = "eu-west-3"


@pytest.fixture
def emulated(emulator, monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for key, value in client_env(emulator.url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    return emulator


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def role(service):
    iam = boto3.client("iam")
    name = unique("nj-role")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


# --- codestar_connection ------------------------------------------------------------------------


def test_connection_is_created_pending_and_found_by_name(emulated, run_module, api_calls):
    name = unique("nj-gh")
    created = run_module(connection_module.main, {"name": name, "tags": {"Project": "notejam"}})
    assert created["changed"] is True and created["pending"] is True
    assert created["connection"]["connection_status"] == "PENDING"
    assert created["connection"]["tags"] == {"Project": "notejam"}
    api_calls.clear_calls()
    again = run_module(connection_module.main, {"name": name, "tags": {"Project": "notejam"}})
    assert again["changed"] is False and api_calls.writes == []
    assert again["connection"]["connection_arn"] == created["connection"]["connection_arn"]
    assert again["pending"] is True


def test_connection_check_mode_and_tag_change_and_delete(emulated, run_module, api_calls):
    name = unique("nj-gh")
    checked = run_module(connection_module.main, {"name": name}, check=True)
    assert checked["changed"] is True and api_calls.writes == []
    run_module(connection_module.main, {"name": name, "tags": {"A": "1"}})
    api_calls.clear_calls()
    tagged = run_module(connection_module.main, {"name": name, "tags": {"B": "2"}})
    assert tagged["changes"] == ["Tags.A", "Tags.B"]
    assert sorted(api_calls.writes) == ["TagResource", "UntagResource"]
    gone = run_module(connection_module.main, {"name": name, "state": "absent"})
    assert gone["changed"] is True and gone["connection"] == {}


def test_connection_name_too_long_fails_before_any_call(emulated, run_module, api_calls):
    result = run_module(connection_module.main, {"name": "x" * 33})
    assert result["failed"] and "1 to 32" in result["msg"]
    assert api_calls == []


# --- codebuild_project --------------------------------------------------------------------------


def project_args(name, role_arn, **extra):
    return dict(
        {
            "name": name,
            "service_role": role_arn,
            "buildspec": "buildspecs/build.yml",
            "privileged_mode": True,
            "environment_variables": {"NOTEJAM_ECR_REPOSITORY_URI": "1.dkr.ecr/x", "AWS_REGION": REGION},
            "log_group": f"/codebuild/{name}",
            "tags": {"Project": "notejam"},
        },
        **extra,
    )


def test_project_create_then_no_op_then_one_update(emulated, run_module, api_calls):
    name, role_arn = unique("nj-build"), role("codebuild.amazonaws.com")
    created = run_module(codebuild_module.main, project_args(name, role_arn))
    assert created["changed"] is True, created
    assert created["project"]["source"] == {"type": "CODEPIPELINE", "buildspec": "buildspecs/build.yml"}
    assert created["project"]["environment"]["privileged_mode"] is True
    api_calls.clear_calls()
    again = run_module(codebuild_module.main, project_args(name, role_arn))
    assert again["changed"] is False, again["changes"]
    assert api_calls.writes == []
    changed = run_module(codebuild_module.main, project_args(name, role_arn, timeout_in_minutes=30))
    assert changed["changes"] == ["timeoutInMinutes"]
    assert api_calls.writes == ["UpdateProject"]
    assert changed["project"]["timeout_in_minutes"] == 30


def test_project_check_mode_writes_nothing(emulated, run_module, api_calls):
    name, role_arn = unique("nj-build"), role("codebuild.amazonaws.com")
    api_calls.clear_calls()
    result = run_module(codebuild_module.main, project_args(name, role_arn), check=True)
    assert result["changed"] is True and api_calls.writes == []
    assert boto3.client("codebuild").batch_get_projects(names=[name])["projects"] == []


@pytest.mark.parametrize(
    "bad, needle",
    [
        ({"service_role": "my-role"}, "service_role="),
        ({"timeout_in_minutes": 3}, "timeout_in_minutes=3"),
        ({"environment_variables": {"CODEBUILD_X": "1"}}, "environment_variables.CODEBUILD_X"),
        ({"name": "-bad name"}, "name="),
    ],
)
def test_project_bad_input_fails_before_any_call(emulated, run_module, api_calls, bad, needle):
    result = run_module(codebuild_module.main, dict(project_args("nj-bad", "arn:aws:iam::1:role/x"), **bad))
    assert result["failed"] and needle in result["msg"], result["msg"]
    assert api_calls == []


# --- codepipeline_pipeline ----------------------------------------------------------------------


def stages(branch="main"):
    env = json.dumps(
        [{"name": "NOTEJAM_IMAGE_TAG", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT"}]
    )
    return [
        {
            "name": "Source",
            "actions": [
                {
                    "name": "GitHub",
                    "actionTypeId": {
                        "category": "Source",
                        "owner": "AWS",
                        "provider": "CodeStarSourceConnection",
                        "version": "1",
                    },
                    "configuration": {
                        "ConnectionArn": "arn:aws:codestar-connections:x",
                        "FullRepositoryId": "o/r",
                        "BranchName": branch,
                    },
                    "outputArtifacts": [{"name": "SourceArtifact"}],
                    "namespace": "SourceVariables",
                }
            ],
        },
        {
            "name": "Test",
            "actions": [
                {
                    "name": "Test",
                    "actionTypeId": {
                        "category": "Test",
                        "owner": "AWS",
                        "provider": "CodeBuild",
                        "version": "1",
                    },
                    "configuration": {"ProjectName": "p", "EnvironmentVariables": env},
                    "inputArtifacts": [{"name": "SourceArtifact"}],
                }
            ],
        },
    ]


def pipeline_args(name, role_arn, **extra):
    return dict(
        {
            "name": name,
            "role_arn": role_arn,
            "artifact_bucket": "bucket",
            "stages": stages(),
            "tags": {"Project": "notejam"},
        },
        **extra,
    )


def test_pipeline_create_no_op_and_branch_change(emulated, run_module, api_calls):
    name, role_arn = unique("nj-pipe"), role("codepipeline.amazonaws.com")
    created = run_module(pipeline_module.main, pipeline_args(name, role_arn))
    assert created["changed"] is True, created
    assert [s["name"] for s in created["pipeline"]["stages"]] == ["Source", "Test"]
    api_calls.clear_calls()
    # The same pipeline written with the defaults AWS fills in, and env vars spelled differently.
    spelled = stages()
    spelled[1]["actions"][0]["runOrder"] = 1
    spelled[1]["actions"][0]["configuration"]["EnvironmentVariables"] = json.dumps(
        json.loads(spelled[1]["actions"][0]["configuration"]["EnvironmentVariables"]), indent=2
    )
    again = run_module(pipeline_module.main, pipeline_args(name, role_arn, stages=spelled))
    assert again["changed"] is False, again["changes"]
    assert api_calls.writes == []
    moved = run_module(pipeline_module.main, pipeline_args(name, role_arn, stages=stages("release")))
    assert moved["changes"] == ["stages"] and api_calls.writes == ["UpdatePipeline"]
    assert moved["pipeline"]["version"] == 2


def test_pipeline_check_mode_and_bad_stage_key(emulated, run_module, api_calls):
    name, role_arn = unique("nj-pipe"), role("codepipeline.amazonaws.com")
    api_calls.clear_calls()
    checked = run_module(pipeline_module.main, pipeline_args(name, role_arn), check=True)
    assert checked["changed"] is True and api_calls.writes == []
    api_calls.clear_calls()
    bad = stages()
    bad[0]["actions"][0]["run_order"] = 1
    result = run_module(pipeline_module.main, pipeline_args(name, "arn:aws:iam::1:role/x", stages=bad))
    assert result["failed"] and "stages[0].actions[0].run_order is not a known field" in result["msg"]
    assert api_calls == []


def test_pipeline_role_not_trusting_codepipeline_is_waited_for_then_reported(emulated, run_module):
    result = run_module(
        pipeline_module.main, pipeline_args(unique("nj-pipe"), role("ec2.amazonaws.com"), role_wait_timeout=1)
    )
    assert (
        result["failed"]
        and "Gave up after 1s waiting for CodePipeline to be allowed to assume" in result["msg"]
    )


# --- ecr_replication_rule -----------------------------------------------------------------------


def test_replication_rule_merges_with_other_rules(emulated, run_module, api_calls):
    ecr = boto3.client("ecr")
    account = ecr.describe_registry()["registryId"]
    other = {
        "destinations": [{"region": "us-east-2", "registryId": account}],
        "repositoryFilters": [{"filter": "other-team", "filterType": "PREFIX_MATCH"}],
    }
    ecr.put_replication_configuration(replicationConfiguration={"rules": [other]})
    args = {"repository": "notejam-x-app", "destinations": [{"region": "eu-central-1"}]}
    created = run_module(replication_module.main, args)
    assert created["changed"] is True and created["other_rules"] == 1
    rules = ecr.describe_registry()["replicationConfiguration"]["rules"]
    assert other in rules and len(rules) == 2
    api_calls.clear_calls()
    assert run_module(replication_module.main, args)["changed"] is False
    assert api_calls.writes == []
    removed = run_module(replication_module.main, {"repository": "notejam-x-app", "state": "absent"})
    assert removed["changed"] is True
    assert ecr.describe_registry()["replicationConfiguration"]["rules"] == [other]


def test_replication_to_own_region_is_refused_before_a_write(emulated, run_module, api_calls):
    result = run_module(replication_module.main, {"repository": "r", "destinations": [{"region": REGION}]})
    assert result["failed"] and "own region" in result["msg"]
    assert api_calls.writes == []
