"""playbooks/awx.yml against a stand-in for the AWX API (tests/integration/awx_stub.py), four runs.

No AWX server exists here. The stub keeps what the awx.awx modules send and answers in AWX's
generic shapes, validating nothing, so this shows the playbook's own side: every name a task
refers to resolves in the order the tasks run, the arguments reach the API as intended, and a
second run makes no write; a changed cron is reported by --check without a write, then updates
that one schedule in place. AWX's own validation, project syncs, inventory imports and schedule
next-run computation are not exercised.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.integration.awx_stub import AwxStub

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("awx_stub")]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCHEDULES = yaml.safe_load((REPO / "awx" / "settings.yml").read_text())["awx_schedules"]
ENVIRONMENTS = ("dev", "test", "prod")


def _secret(env):
    return f"stub-secret-{env}-0123456789"


@pytest.fixture(scope="module")
def awx():
    stub = AwxStub()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTROLLER_", "TOWER_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        CONTROLLER_HOST=stub.url,
        CONTROLLER_OAUTH_TOKEN="stub-token-not-real-0123456789",
    )
    for name in ENVIRONMENTS:
        env[f"NOTEJAM_{name.upper()}_AWS_ACCESS_KEY_ID"] = f"AKIASTUB{name.upper()}"
        env[f"NOTEJAM_{name.upper()}_AWS_SECRET_ACCESS_KEY"] = _secret(name)
    # Twice as configured, then the documented way to change a schedule (a new cron for drift_prod),
    # first with --check, then for real.
    changed = {**SCHEDULES, "drift_prod": {**SCHEDULES["drift_prod"], "cron": "45 3 * * 1-5"}}
    passes = [
        [],
        [],
        ["--check", "-e", json.dumps({"awx_schedules": changed})],
        ["-e", json.dumps({"awx_schedules": changed})],
    ]
    runs = []
    for extra in passes:
        proc = subprocess.run(
            [
                str(BIN / "ansible-playbook"),
                "playbooks/awx.yml",
                "-e",
                "awx_project_url=https://git.example.com/ops/notejam.aws.git",
                "-e",
                "awx_execution_environment_image=registry.example.com/notejam-ee:0.1.0",
                *extra,
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        runs.append((proc.returncode, proc.stdout + proc.stderr, list(stub.writes)))
        stub.writes.clear()
    yield stub, runs
    stub.stop()


def _one(stub, resource, name):
    found = stub.find(resource, name)
    assert len(found) == 1, (resource, name, [i["name"] for i in stub.items(resource)])
    return found[0]


def test_first_run_creates_everything_and_passes(awx):
    stub, runs = awx
    code, out, writes = runs[0]
    assert code == 0, out[-4000:]
    assert writes
    _one(stub, "execution_environments", "notejam-ee")
    assert _one(stub, "projects", "notejam.aws")["scm_update_on_launch"] is True
    for env in ENVIRONMENTS:
        source = _one(stub, "inventory_sources", f"notejam-{env} from notejam.aws")
        assert source["source"] == "scm"
        assert source["source_path"] == f"inventories/{env}/hosts.yml"
        for job in ("converge", "drift check", "deploy", "scale event"):
            _one(stub, "job_templates", f"notejam-{env} {job}")
    assert {s["name"] for s in stub.items("schedules")} == {
        "notejam drift_dev",
        "notejam drift_test",
        "notejam drift_prod",
        "notejam restore_drill_test",
    }


def test_second_run_makes_no_write(awx):
    _, runs = awx
    code, out, writes = runs[1]
    assert code == 0, out[-4000:]
    assert writes == []
    assert "changed=0" in out


def test_secrets_reach_the_credential_and_never_the_output(awx):
    stub, runs = awx
    for env in ENVIRONMENTS:
        credential = _one(stub, "credentials", f"notejam-{env} AWS")
        assert credential["credential_type"] == 1
        assert credential["inputs"] == {"username": f"AKIASTUB{env.upper()}", "password": _secret(env)}
        for _, out, _ in runs:
            assert _secret(env) not in out


def test_job_templates_run_their_playbooks_with_the_environment_credential(awx):
    stub, _ = awx
    drift = _one(stub, "job_templates", "notejam-prod drift check")
    assert (drift["playbook"], drift["job_type"]) == ("playbooks/drift.yml", "check")
    converge = _one(stub, "job_templates", "notejam-prod converge")
    assert (converge["playbook"], converge["job_type"]) == ("site.yml", "run")
    assert converge["inventory"] == _one(stub, "inventories", "notejam-prod")["id"]
    credential = _one(stub, "credentials", "notejam-prod AWS")["id"]
    assert stub.associations[("job_templates", converge["id"], "credentials")] == {credential}
    deploy = _one(stub, "job_templates", "notejam-prod deploy")
    survey = stub.surveys[("job_templates", deploy["id"], "survey_spec")]
    assert [(q["variable"], q["required"]) for q in survey["spec"]] == [("image_tag", True)]
    assert _one(stub, "job_templates", "notejam-prod scale event")["ask_variables_on_launch"] is True
    drill = _one(stub, "job_templates", "notejam-test restore drill")
    assert drill["playbook"] == "playbooks/restore.yml"
    assert "restore_latest" in str(drill["extra_vars"])
    assert not stub.find("job_templates", "notejam-prod restore drill")


def test_schedules_carry_the_rules_from_cron(awx):
    stub, _ = awx
    drill = _one(stub, "schedules", "notejam restore_drill_test")
    assert (
        drill["rrule"]
        == "DTSTART;TZID=UTC:20260101T000000 RRULE:FREQ=DAILY;BYDAY=SA;BYHOUR=5;BYMINUTE=0;INTERVAL=1"
    )
    assert drill["unified_job_template"] == _one(stub, "job_templates", "notejam-test restore drill")["id"]
    nightly = _one(stub, "schedules", "notejam drift_dev")
    assert nightly["rrule"].endswith("RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=0;INTERVAL=1")
    assert nightly["unified_job_template"] == _one(stub, "job_templates", "notejam-dev drift check")["id"]


def test_check_mode_reports_a_changed_schedule_and_writes_nothing(awx):
    _, runs = awx
    code, out, writes = runs[2]
    assert code == 0, out[-4000:]
    assert writes == []
    assert "changed=1" in out


def test_a_changed_cron_updates_only_that_schedule_in_place(awx):
    stub, runs = awx
    code, out, writes = runs[3]
    assert code == 0, out[-4000:]
    assert [write[:3] for write in writes] == [("PATCH", "schedules", "notejam drift_prod")], writes
    rule = _one(stub, "schedules", "notejam drift_prod")["rrule"]
    assert rule.endswith("RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=3;BYMINUTE=45;INTERVAL=1")
