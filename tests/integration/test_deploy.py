"""playbooks/deploy.yml and playbooks/scale_event.yml against a private emulator.

One emulator for the module: the local inventory's network, data tier and app tier are converged
once (tests/integration/playbooks/app_tier.yml, a stand-in for the alb role), then images are
shipped. The harness's knob file (NOTEJAM_EMULATOR_KNOBS_FILE, tests/emulator/fixes/ecs.py) makes
the migration exit non-zero or the new tasks fail while the server keeps what it holds.
"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.emulator.ctl import REPO, Emulator, apply_client_env
from tests.emulator.fixes.ecr import OCI_MANIFEST, minimal_manifest
from tests.emulator.fixes.ecs import KNOBS_FILE_ENV, TASK_EXIT_CODE_ENV
from tests.integration.conftest import PlaybookRun

# One converged environment serves the module: under xdist its tests stay on one worker.
pytestmark = [pytest.mark.emulator, pytest.mark.xdist_group("deploy")]

INVENTORY = "local"
REGION = "us-east-1"
CLUSTER = "notejam-local-cluster"
SERVICE = "notejam-local-app"
IMAGE_PARAMETER = "/notejam-local/app/image"
REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/notejam-local-app"
APP_TIER = "tests/integration/playbooks/app_tier.yml"
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

# The facts of the other tiers, as if their roles had run (--tags ecs_service skips them).
FACTS = json.dumps(
    {
        "notejam_network": {
            "vpc_id": "vpc-0",
            "subnets": {"public": ["subnet-p1", "subnet-p2"], "app": ["subnet-a1", "subnet-a2"], "data": []},
            "security_groups": {"alb": "sg-0", "app": "sg-1", "migrate": "sg-2", "db": "sg-3"},
        },
        "notejam_database": {
            "host": "db.example",
            "port": 3306,
            "name": "notejam",
            "user": "notejam",
            "secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds-x",
            "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/k",
        },
        "notejam_alb": {
            "arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/lb/1",
            "target_group_arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/2",
            "deregistration_delay": 20,
        },
    }
)


class Harness:
    def __init__(self, tmp):
        self.knobs = tmp / "knobs.json"
        self.knobs.write_text("{}")
        self.server = Emulator.spawn(
            port=0, log_path=tmp / "emulator.log", extra_env={KNOBS_FILE_ENV: str(self.knobs)}
        )
        self.env = apply_client_env(dict(os.environ), self.server.url)
        self.env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
        self.env["ANSIBLE_LOCAL_TEMP"] = str(tmp / "ansible-tmp")

    def run(self, path, *extra, inventory=INVENTORY):
        cmd = [ANSIBLE_PLAYBOOK, path, "-i", f"inventories/{inventory}", *extra]
        proc = subprocess.run(
            cmd, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=1500, check=False
        )
        return PlaybookRun(proc.returncode, proc.stdout + proc.stderr)

    def push(self, tag):
        """What the pipeline's build stage leaves in ECR: an image with ``tag``; its digest."""
        image = self.client("ecr").put_image(
            repositoryName=REPOSITORY.split("/")[-1],
            imageManifest=minimal_manifest(tag),
            imageManifestMediaType=OCI_MANIFEST,
            imageTag=tag,
        )["image"]
        return image["imageId"]["imageDigest"]

    def knob(self, **values):
        """Set the emulator's knobs (an empty call puts them back to normal)."""
        self.knobs.write_text(json.dumps(values))

    def client(self, service):
        return self.server.client(service, REGION)

    def service(self):
        return self.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]

    def running_image(self):
        arn = self.service()["taskDefinition"]
        td = self.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
        return td["containerDefinitions"][0]["image"]

    def recorded_image(self):
        return self.client("ssm").get_parameter(Name=IMAGE_PARAMETER)["Parameter"]["Value"]

    def migrations(self):
        """The images the migration tasks ran (tasks started by the role's migration step)."""
        ecs = self.client("ecs")
        started_by = f"{SERVICE}-migrate"
        arns = set(ecs.list_tasks(cluster=CLUSTER, startedBy=started_by, desiredStatus="STOPPED")["taskArns"])
        arns |= set(ecs.list_tasks(cluster=CLUSTER, startedBy=started_by)["taskArns"])
        tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=sorted(arns))["tasks"] if arns else []
        return {
            ecs.describe_task_definition(taskDefinition=t["taskDefinitionArn"])["taskDefinition"][
                "containerDefinitions"
            ][0]["image"]
            for t in tasks
        }


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    h = Harness(tmp_path_factory.mktemp("deploy"))
    yield h
    h.server.stop()


@pytest.fixture(scope="module")
def converged(harness):
    first = harness.run(APP_TIER)
    assert first.returncode == 0, first.tail()
    assert harness.running_image() == f"{REPOSITORY}:0.1.0"
    assert harness.recorded_image() == "0.1.0"
    return harness


@pytest.mark.parametrize(
    ("path", "extra_vars", "expected"),
    [
        (APP_TIER, {"ecs_service_cpu": 256, "ecs_service_memory": 4096}, "ecs_service_memory=4096"),
        (APP_TIER, {"ecs_service_cpu": 300}, "ecs_service_cpu"),
        (
            APP_TIER,
            {"ecs_service_business_min": 5, "ecs_service_max_capacity": 3},
            "ecs_service_max_capacity=3",
        ),
        (APP_TIER, {"ecs_service_image_tag": "latest"}, "ecs_service_image_tag='latest'"),
        (APP_TIER, {"ecs_service_image_tag": ""}, "ecs_service_image_tag=''"),
        (APP_TIER, {"ecs_service_stop_timeout": 20}, "ecs_service_stop_timeout=20"),
        (
            APP_TIER,
            {
                "ecs_service_stop_timeout": 30,
                "notejam_alb": {"arn": "a", "target_group_arn": "t", "deregistration_delay": 45},
            },
            "deregistration",
        ),
        (APP_TIER + " (whole play)", {"ecs_service_night_min": 3}, "ecs_service_night_min=3"),
        ("playbooks/deploy.yml", {"image_tag": "latest"}, "ecs_service_image_tag='latest'"),
        ("playbooks/deploy.yml", {}, "image_tag is required"),
        (
            "playbooks/scale_event.yml",
            {
                "event_name": "launch",
                "event_start": "2099-01-02T10:00",
                "event_end": "2099-01-02T09:00",
                "event_min": 4,
            },
            "event_end after event_start",
        ),
        (
            "playbooks/scale_event.yml",
            {
                "event_name": "launch",
                "event_start": "2001-01-02T10:00",
                "event_end": "2001-01-02T12:00",
                "event_min": 4,
            },
            "must be in the future",
        ),
        (
            "playbooks/scale_event.yml",
            {
                "event_name": "launch",
                "event_start": "2099-01-02T10:00",
                "event_end": "2099-01-02T12:00",
                "event_min": 9,
            },
            "event_min=9",
        ),
        (
            "playbooks/scale_event.yml",
            {"event_name": "Big Launch", "event_state": "absent"},
            "event_name='Big Launch'",
        ),
    ],
    ids=[
        "fargate-pair",
        "fargate-cpu",
        "min-above-max",
        "image-latest",
        "image-empty",
        "stop-timeout-below-graceful",
        "stop-timeout-below-deregistration-delay",
        "whole-play-checks-the-app-tier-first",
        "deploy-latest",
        "deploy-without-tag",
        "event-ends-before-start",
        "event-in-the-past",
        "event-min-above-max",
        "event-name",
    ],
)
def test_bad_input_fails_before_any_aws_call(harness, path, extra_vars, expected):
    harness.server.reset_calls()
    extra = ["-e", json.dumps(extra_vars)] if extra_vars else []
    if path == APP_TIER:
        extra = ["--tags", "ecs_service", "-e", FACTS, *extra]
    path = path.split(" ")[0]
    run = harness.run(path, *extra)
    assert run.returncode != 0
    assert expected in run.output, run.tail()
    assert harness.server.calls()["total"] == 0, harness.server.calls()["calls"]


def test_prod_needs_four_times_the_business_hours_minimum_as_maximum(harness):
    harness.server.reset_calls()
    run = harness.run(
        APP_TIER, "--tags", "ecs_service", "-e", FACTS, "-e", "ecs_service_max_capacity=15", inventory="prod"
    )
    assert run.returncode != 0
    assert "ecs_service_max_capacity=15 is below" in run.output, run.tail()
    assert harness.server.calls()["total"] == 0


@pytest.mark.slow
def test_deploy_migrates_rolls_records_and_survives_a_site_rerun(converged):
    h = converged
    h.push("1.1.0")
    deploy = h.run("playbooks/deploy.yml", "-e", "image_tag=1.1.0")
    assert deploy.returncode == 0, deploy.tail()
    assert h.running_image() == f"{REPOSITORY}:1.1.0"
    assert h.recorded_image() == "1.1.0"
    assert f"{REPOSITORY}:1.1.0" in h.migrations(), "the migration ran with the new image"
    deployment = h.service()["deployments"][0]
    assert deployment["rolloutState"] == "COMPLETED"

    # site.yml again: the deployed image stays, nothing changes, nothing is written.
    h.server.reset_calls()
    rerun = h.run(APP_TIER)
    assert rerun.returncode == 0, rerun.tail()
    assert rerun.changed == 0, "\n".join(rerun.changed_tasks())
    assert h.server.calls()["writes"] == 0, h.server.calls()["write_calls"]
    assert h.running_image() == f"{REPOSITORY}:1.1.0"

    # A digest pins the image as well as a tag.
    digest = h.push("1.1.0-by-digest")
    by_digest = h.run("playbooks/deploy.yml", "-e", f"image_tag={digest}")
    assert by_digest.returncode == 0, by_digest.tail()
    assert h.running_image() == f"{REPOSITORY}@{digest}"
    back = h.run("playbooks/deploy.yml", "-e", "image_tag=1.1.0")
    assert back.returncode == 0, back.tail()


@pytest.mark.slow
def test_failing_migration_leaves_the_service_untouched(converged):
    h = converged
    before = h.service()["taskDefinition"]
    recorded = h.recorded_image()
    h.push("1.2.0")
    h.knob(**{TASK_EXIT_CODE_ENV: 3})
    try:
        run = h.run("playbooks/deploy.yml", "-e", "image_tag=1.2.0")
    finally:
        h.knob()
    assert run.returncode != 0
    assert "exited with code 3" in run.output, run.tail()
    assert h.service()["taskDefinition"] == before
    assert h.recorded_image() == recorded


@pytest.mark.slow
def test_failed_deployment_rolls_back_and_fails_with_the_reason(converged):
    h = converged
    before = h.service()["taskDefinition"]
    recorded = h.recorded_image()
    h.push("1.3.0")
    h.knob(MOTO_ECS_SERVICE_FAILED_TASKS=1)
    try:
        run = h.run("playbooks/deploy.yml", "-e", "image_tag=1.3.0")
    finally:
        h.knob()
    assert run.returncode != 0
    assert "circuit breaker" in run.output and f"rolled back to {before}" in run.output, run.tail()
    assert h.service()["taskDefinition"] == before, "the previous version keeps serving"
    assert h.recorded_image() == recorded

    # site.yml after the failures: the previous revision is re-used, nothing changes.
    h.server.reset_calls()
    rerun = h.run(APP_TIER)
    assert rerun.returncode == 0, rerun.tail()
    assert rerun.changed == 0, "\n".join(rerun.changed_tasks())
    assert h.server.calls()["writes"] == 0, h.server.calls()["write_calls"]


@pytest.mark.slow
def test_deploy_of_a_tag_not_in_ecr_fails_before_any_write(converged):
    h = converged
    before = h.service()["taskDefinition"]
    h.server.reset_calls()
    run = h.run("playbooks/deploy.yml", "-e", "image_tag=0.0.404")
    assert run.returncode != 0
    assert f"Image 0.0.404 is not in ECR repository {REPOSITORY}" in run.output, run.tail()
    assert h.server.calls()["writes"] == 0, h.server.calls()["write_calls"]
    assert h.service()["taskDefinition"] == before


def _actions(h):
    found = h.client("application-autoscaling").describe_scheduled_actions(
        ServiceNamespace="ecs", ResourceId=f"service/{CLUSTER}/{SERVICE}"
    )["ScheduledActions"]
    return {a["ScheduledActionName"]: a for a in found}


@pytest.mark.slow
def test_scale_event_raises_then_restores_and_can_be_cancelled(converged):
    h = converged
    # A Wednesday at 10:00 to 16:00 (local inventory: UTC, business hours 7-20): the floor restored
    # at the end is the business-hours minimum (2 here, the night's is 1).
    day = datetime.now(UTC).date() + timedelta(days=14)
    day += timedelta(days=(2 - day.weekday()) % 7)
    event = [
        "-e",
        json.dumps(
            {
                "event_name": "launch",
                "event_start": f"{day}T10:00",
                "event_end": f"{day}T16:00",
                "event_min": 3,
                "ecs_service_business_min": 2,
            }
        ),
    ]
    first = h.run("playbooks/scale_event.yml", *event)
    assert first.returncode == 0, first.tail()
    actions = _actions(h)
    start, end = actions["event-launch-start"], actions["event-launch-end"]
    assert start["Schedule"] == f"at({day}T10:00:00)"
    assert start["ScalableTargetAction"] == {"MinCapacity": 3, "MaxCapacity": 4}
    assert end["Schedule"] == f"at({day}T16:00:00)"
    assert end["ScalableTargetAction"] == {"MinCapacity": 2, "MaxCapacity": 4}
    assert {"business-hours", "night"} <= set(actions)

    h.server.reset_calls()
    again = h.run("playbooks/scale_event.yml", *event)
    assert again.returncode == 0 and again.changed == 0, again.tail()
    assert h.server.calls()["writes"] == 0

    # The role's own run keeps the event's actions.
    site = h.run(APP_TIER)
    assert site.returncode == 0 and site.changed == 0, "\n".join(site.changed_tasks()) or site.tail()
    assert "event-launch-start" in _actions(h)

    cancel = h.run("playbooks/scale_event.yml", "-e", "event_name=launch", "-e", "event_state=absent")
    assert cancel.returncode == 0, cancel.tail()
    assert not {"event-launch-start", "event-launch-end"} & set(_actions(h))
    assert {"business-hours", "night"} <= set(_actions(h))


def _lock_holder(h):
    found = h.client("dynamodb").get_item(
        TableName="notejam-locks", Key={"lock_id": {"S": "notejam-local"}}, ConsistentRead=True
    )
    return found.get("Item", {}).get("owner", {}).get("S")


def _start(h, path, *extra):
    cmd = [ANSIBLE_PLAYBOOK, path, "-i", f"inventories/{INVENTORY}", *extra]
    return subprocess.Popen(
        cmd,
        cwd=REPO,
        env=h.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _wait_for_holder(h, process, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = _lock_holder(h)
        if holder:
            return holder
        assert process.poll() is None, process.communicate()[0][-3000:]
        time.sleep(0.5)
    raise AssertionError("the deploy never took the lock")


@pytest.mark.slow
def test_a_converge_started_during_a_deploy_waits_and_keeps_the_deployed_image(converged):
    """The race the lock exists for: a scheduled converge that starts while a deployment runs puts
    back the image recorded by the last *finished* deployment unless it waits for that deployment."""
    h = converged
    h.push("2.0.0")
    deploy = _start(h, "playbooks/deploy.yml", "-e", "image_tag=2.0.0")
    holder = _wait_for_holder(h, deploy)
    assert holder.startswith("Deploy an image of the app by ")
    converge = h.run(APP_TIER, "-e", "lock_poll_interval=1")
    deployed = deploy.communicate(timeout=1500)[0]
    assert deploy.returncode == 0, deployed[-3000:]
    assert converge.returncode == 0, converge.tail()
    said = " ".join(converge.output.split())
    assert "Waited " in said and "for the lock held by Deploy an image of the app by" in said, converge.tail()
    assert h.running_image() == f"{REPOSITORY}:2.0.0"
    assert h.recorded_image() == "2.0.0"
    assert _lock_holder(h) is None, "both runs released the lock"


@pytest.mark.slow
def test_a_lock_left_by_a_killed_run_names_its_holder_then_expires(converged):
    h = converged
    h.push("2.1.0")
    h.push("2.2.0")
    killed = _start(h, "playbooks/deploy.yml", "-e", "image_tag=2.1.0", "-e", "lock_ttl=20")
    _wait_for_holder(h, killed)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=60)
    assert _lock_holder(h), "a killed run cannot release its lock"

    h.server.reset_calls()
    refused = h.run("playbooks/deploy.yml", "-e", "image_tag=2.2.0", "-e", "lock_wait_timeout=0")
    assert refused.returncode != 0
    message = " ".join(refused.output.split())
    holder = "The environment lock notejam-local is held by Deploy an image of the app by"
    assert holder in message, refused.tail()
    assert "gave up after waiting 0s (wait_timeout)" in message
    assert h.server.calls()["writes"] == 0, h.server.calls()["write_calls"]

    # Within its 20 s TTL the lock expires and the next run takes it.
    redeploy = h.run("playbooks/deploy.yml", "-e", "image_tag=2.2.0", "-e", "lock_poll_interval=1")
    assert redeploy.returncode == 0, redeploy.tail()
    assert "Waited " in redeploy.output, redeploy.tail()
    assert h.running_image() == f"{REPOSITORY}:2.2.0"
    assert _lock_holder(h) is None
