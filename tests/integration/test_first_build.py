"""The first build of an environment, and the image checks of deploy.yml's and migrate_region.yml.

A fresh AWS account has an empty repository after site.yml created it: these tests start their
emulator without the harness's first build (tests/emulator/fixes/ecr.py), so ECR holds what AWS
would hold. The app tier runs alone on the stand-in facts of the other tiers (as test_deploy.py's
bad-input tests do): the check comes before anything that uses them.
"""

import json
import os
import subprocess
import sys

import pytest

from tests.emulator.ctl import REPO, Emulator, apply_client_env
from tests.emulator.fixes.ecr import OCI_MANIFEST, minimal_manifest
from tests.integration.conftest import PlaybookRun
from tests.integration.test_deploy import APP_TIER, FACTS

pytestmark = pytest.mark.emulator

REGION, TARGET = "us-east-1", "us-west-2"
REPOSITORY = "notejam-local-app"
URI = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}"
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


@pytest.fixture
def empty_account(tmp_path):
    """An emulator whose repositories start empty, as on AWS; run(playbook, *args) and client()."""
    server = Emulator.spawn(port=0, log_path=tmp_path / "emulator.log", first_build=())
    env = apply_client_env(dict(os.environ), server.url)
    env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env["ANSIBLE_LOCAL_TEMP"] = str(tmp_path / "ansible-tmp")

    def run(path, *extra):
        cmd = [ANSIBLE_PLAYBOOK, path, "-i", "inventories/local", *extra]
        proc = subprocess.run(
            cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False
        )
        return PlaybookRun(proc.returncode, proc.stdout + proc.stderr)

    def client(service, region=REGION):
        return server.client(service, region)

    run.client, run.server = client, server
    yield run
    server.stop()


def test_first_converge_stops_before_the_task_definition_migration_and_service(empty_account):
    run = empty_account
    first = run(APP_TIER, "--tags", "ecs_service", "-e", FACTS)
    assert first.returncode != 0
    assert f"Image 0.1.0 is not in ECR repository {URI}" in first.output, first.tail()
    assert "First build of this environment" in first.output
    assert "-e ecs_service_image_tag=<tag>" in first.output
    # The repository is there to push to; nothing that would run the image was made.
    ecr = run.client("ecr")
    assert ecr.describe_repositories(repositoryNames=[REPOSITORY])["repositories"]
    writes = run.server.calls()["write_calls"]
    assert not [op for op in writes if op.startswith("ecs:")], writes
    assert run.client("ecs").list_task_definitions()["taskDefinitionArns"] == []


def test_deploy_and_migrate_region_check_the_image_before_any_write(empty_account):
    run = empty_account
    run.server.reset_calls()
    # deploy.yml on an environment whose repository lacks the tag (no service either: the service
    # look-up fails first there, also before any write).
    deploy = run("playbooks/deploy.yml", "-e", "image_tag=abc1234")
    assert deploy.returncode != 0
    assert run.server.calls()["writes"] == 0, run.server.calls()["write_calls"]

    # migrate_region.yml: the running image (the inventory's first tag here: nothing recorded) is not
    # in the target region; then it is not replicated yet (the repository exists, the tag does not).
    migrate = run(
        "playbooks/migrate_region.yml", "-e", f"target_region={TARGET}", "-e", "migrate_snapshot=arn:x"
    )
    assert migrate.returncode != 0
    assert f"Image 0.1.0 (the one notejam-local runs) is not in ECR repository {REPOSITORY} in {TARGET}" in (
        migrate.output
    ), migrate.tail()
    assert "(no such repository there)" in migrate.output
    assert run.server.calls()["writes"] == 0, run.server.calls()["write_calls"]

    run.client("ecr", TARGET).create_repository(repositoryName=REPOSITORY)
    run.client("ecr", TARGET).put_image(
        repositoryName=REPOSITORY,
        imageManifest=minimal_manifest("other"),
        imageManifestMediaType=OCI_MANIFEST,
        imageTag="other",
    )
    run.server.reset_calls()
    pinned = run(
        "playbooks/migrate_region.yml",
        "-e",
        json.dumps({"target_region": TARGET, "migrate_snapshot": "arn:x", "migrate_image": "1.2.3"}),
    )
    assert pinned.returncode != 0
    assert f"Image 1.2.3 (the one notejam-local runs) is not in ECR repository {REPOSITORY} in {TARGET};" in (
        pinned.output
    ), pinned.tail()
    assert run.server.calls()["writes"] == 0, run.server.calls()["write_calls"]
