"""Jobs run exactly as AWX/Tower runs them: ansible-runner, a private data dir, no terminal.

AWX copies the project into ``<private_data_dir>/project``, writes the job's extra variables to
``env/extravars``, its environment to ``env/envvars`` (including a collections path of its own),
passes ``--check`` for a job template of type Check, and reads the job's events back from
``artifacts/``. This module does the same with ansible-runner against one emulator: converge,
a drift check with nothing drifted, a drift check after changes made by hand (a security group
rule, a scaling bound), and a deploy. The job events are what an AWX user watches as progress.
"""

import os
import sys
import time
from pathlib import Path

import ansible_runner
import pytest
import yaml

from tests.emulator.ctl import REPO, Emulator
from tests.emulator.fixes.ecr import OCI_MANIFEST, minimal_manifest

pytestmark = [pytest.mark.emulator, pytest.mark.xdist_group("awx_runner")]

INVENTORY = REPO / "inventories" / "local"
REGION = "us-east-1"


class AwxLikeJobs:
    """Runs playbooks the way an AWX job does and keeps each job's artifacts."""

    def __init__(self, emulator, root):
        self.emulator = emulator
        self.root = root
        self.count = 0

    def run(self, playbook, extravars=None, job_type="run"):
        self.count += 1
        private = self.root / f"job-{self.count}"
        (private / "env").mkdir(parents=True)
        (private / "project").symlink_to(REPO)
        requirements_collections = private / "requirements_collections"
        requirements_collections.mkdir()
        envvars = {
            **self.emulator.env(),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            # AWX points jobs at the collections its project sync installed; notejam.aws must
            # still resolve (playbook-adjacent collections/), and the rest comes from the EE.
            "ANSIBLE_COLLECTIONS_PATH": f"{requirements_collections}:/usr/share/ansible/collections",
            "ANSIBLE_NOCOLOR": "1",
        }
        (private / "env" / "envvars").write_text(yaml.safe_dump(envvars))
        (private / "env" / "extravars").write_text(yaml.safe_dump(extravars or {}))
        if job_type == "check":
            (private / "env" / "cmdline").write_text("--check")
        started = time.monotonic()
        with pytest.MonkeyPatch.context() as patch:
            # AWX sets no ANSIBLE_CONFIG: ansible-playbook finds the project's ansible.cfg in its cwd.
            patch.delenv("ANSIBLE_CONFIG", raising=False)
            result = ansible_runner.run(
                private_data_dir=str(private),
                playbook=playbook,
                inventory=str(INVENTORY),
                quiet=True,
                timeout=1200,
            )
        result.seconds = time.monotonic() - started
        return result


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    root = tmp_path_factory.mktemp("awx")
    server = Emulator.spawn(port=0, log_path=root / "emulator.log")
    try:
        yield AwxLikeJobs(server, root)
    finally:
        server.stop()


def _client(jobs, service):
    return jobs.emulator.client(service, REGION)


def _task_names(result):
    return [e["event_data"]["task"] for e in result.events if e["event"] == "playbook_on_task_start"]


def _output(result):
    return result.stdout.read()[-6000:]


def _failures(result):
    return [e["event_data"]["res"] for e in result.events if e["event"] == "runner_on_failed"]


def test_converge_runs_as_an_awx_job_with_readable_progress(jobs):
    result = jobs.run("site.yml")
    assert (result.status, result.rc) == ("successful", 0), _output(result)
    names = _task_names(result)
    assert len(names) > 50
    # Every task that ran carries a name a person reads as progress, never a bare module name.
    unnamed = [
        e["event_data"]
        for e in result.events
        if e["event"] == "playbook_on_task_start"
        and e["event_data"]["task"] in ("", e["event_data"]["task_action"])
    ]
    assert not unnamed, unnamed[:3]
    assert any("security groups" in name.lower() for name in names)
    # artifacts/ holds what AWX keeps of a job: the status, rc, stdout and one file per event.
    artifacts = Path(result.config.artifact_dir)
    assert (artifacts / "status").read_text() == "successful"
    assert len(list((artifacts / "job_events").glob("*.json"))) == len(list(result.events))


def test_drift_check_passes_when_nothing_drifted(jobs):
    result = jobs.run("playbooks/drift.yml", job_type="check")
    assert (result.status, result.rc) == ("successful", 0), _output(result)
    report = [
        e["event_data"]["res"]
        for e in result.events
        if e["event"] == "runner_on_ok" and e["event_data"]["task_action"] == "notejam.aws.drift_report"
    ]
    assert report and report[0]["drifted"] is False
    print(f"drift check, no drift: {result.seconds:.1f} s")


def test_drift_check_outside_check_mode_refuses_before_any_call(jobs):
    jobs.emulator.reset_calls()
    result = jobs.run("playbooks/drift.yml")
    assert result.status == "failed"
    assert "run it with --check" in _failures(result)[0]["msg"]
    assert jobs.emulator.calls()["total"] == 0


def test_drift_check_names_each_resource_changed_by_hand(jobs):
    ec2 = _client(jobs, "ec2")
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["notejam-local-app"]}])
    ec2.authorize_security_group_ingress(
        GroupId=groups["SecurityGroups"][0]["GroupId"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    scaling = _client(jobs, "application-autoscaling")
    target = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"][0]
    scaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=target["ResourceId"],
        ScalableDimension=target["ScalableDimension"],
        MaxCapacity=target["MaxCapacity"] + 3,
    )
    jobs.emulator.reset_calls()

    result = jobs.run("playbooks/drift.yml", job_type="check")

    assert result.status == "failed"
    report = _failures(result)[-1]
    assert set(report["drift"]) == {"network", "ecs_service"}, report["msg"]
    assert "groups.app.ingress" in report["drift"]["network"][0]
    assert "max_capacity" in report["drift"]["ecs_service"][0]
    assert jobs.emulator.calls()["writes"] == 0


def test_deploy_runs_as_an_awx_job_with_extra_vars_from_a_file(jobs):
    # What the pipeline's build stage leaves in ECR: deploy.yml ships only an image that is there.
    _client(jobs, "ecr").put_image(
        repositoryName="notejam-local-app",
        imageManifest=minimal_manifest("0.2.0"),
        imageManifestMediaType=OCI_MANIFEST,
        imageTag="0.2.0",
    )
    result = jobs.run("playbooks/deploy.yml", extravars={"image_tag": "0.2.0"})
    assert (result.status, result.rc) == ("successful", 0), _output(result)
    names = _task_names(result)
    assert any("0.2.0" in name for name in names), names
    service = _client(jobs, "ecs").describe_services(
        cluster="notejam-local-cluster", services=["notejam-local-app"]
    )
    definition = _client(jobs, "ecs").describe_task_definition(
        taskDefinition=service["services"][0]["taskDefinition"]
    )
    assert definition["taskDefinition"]["containerDefinitions"][0]["image"].endswith(":0.2.0")
