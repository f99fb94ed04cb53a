"""playbooks/awx.yml without an AWX server: syntax, option names, and bad settings refused first.

No controller exists here. CONTROLLER_HOST points at a socket on 127.0.0.1 that only counts the
connections made to it and closes them, so a run that got as far as the controller would fail
differently ("Connection refused"/"unknown error") and the count would show it. Bad settings must
fail naming the setting with the count still 0; good settings get past every check and fail at the
first controller call (the positive control).
"""

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "playbooks" / "awx.yml"
BIN = Path(sys.executable).parent
GOOD = {
    "awx_project_url": "https://git.example.com/ops/notejam.aws.git",
    "awx_execution_environment_image": "registry.example.com/notejam-ee:0.1.0",
}
SECRET = "not-a-real-secret-value-0123456789"


class CountingSocket:
    """A TCP listener on 127.0.0.1 that accepts, counts and closes every connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def stop(self):
        self.stopping.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def controller():
    listener = CountingSocket()
    yield listener
    listener.stop()


def _env(controller, **overrides):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CONTROLLER_", "TOWER_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        CONTROLLER_HOST=f"http://127.0.0.1:{controller.port if controller else 9}",
        CONTROLLER_OAUTH_TOKEN="not-a-real-token-for-tests",
        CONTROLLER_REQUEST_TIMEOUT="5",
    )
    for name in ("DEV", "TEST", "PROD"):
        env[f"NOTEJAM_{name}_AWS_ACCESS_KEY_ID"] = f"AKIATEST{name}"
        env[f"NOTEJAM_{name}_AWS_SECRET_ACCESS_KEY"] = SECRET
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def _command(extra_vars, *args):
    return [str(BIN / "ansible-playbook"), str(PLAYBOOK), "-e", json.dumps(extra_vars), *args]


def _run(controller, extra_vars, *args, **env):
    proc = subprocess.run(
        _command(extra_vars, *args),
        cwd=REPO,
        env=_env(controller, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_syntax_check_passes():
    code, out = _run(None, {}, "--syntax-check")
    assert code == 0, out


def _tasks():
    return yaml.safe_load(PLAYBOOK.read_text())[0]["tasks"]


def _module(task):
    return next(key for key in task if "." in key and key.split(".")[0] in ("ansible", "awx", "notejam"))


def test_every_check_comes_before_the_first_controller_call():
    modules = [_module(task) for task in _tasks()]
    first_call = next(i for i, m in enumerate(modules) if m.startswith("awx.awx."))
    assert modules[0] == "ansible.builtin.validate_argument_spec"
    assert all(m.startswith("ansible.builtin.") for m in modules[:first_call])
    assert all(m.startswith("awx.awx.") for m in modules[first_call:])


def test_every_controller_task_uses_only_options_the_module_documents():
    tasks = [t for t in _tasks() if _module(t).startswith("awx.awx.")]
    names = sorted({_module(t) for t in tasks})
    proc = subprocess.run(
        [str(BIN / "ansible-doc"), "-t", "module", "-j", *names],
        cwd=REPO,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    docs = json.loads(proc.stdout)
    for task in tasks:
        module = _module(task)
        documented = docs[module]["doc"]["options"]
        unknown = set(task[module]) - set(documented)
        assert not unknown, f"{task['name']}: {module} has no option(s) {sorted(unknown)}"
        for option, value in task[module].items():
            choices = documented[option].get("choices")
            if choices and isinstance(value, str) and "{{" not in value:
                assert value in choices, f"{task['name']}: {option}={value!r} not in {choices}"


def test_job_templates_point_at_playbooks_and_inventories_of_this_project():
    settings = yaml.safe_load((REPO / "awx" / "settings.yml").read_text())
    for task in _tasks():
        args = task.get("awx.awx.job_template")
        if args:
            assert (REPO / args["playbook"]).is_file(), args["playbook"]
    for env in settings["awx_environments"]:
        assert (REPO / "inventories" / env / "hosts.yml").is_file()
    drill = next(t for t in _tasks() if t["name"].startswith("Restore drill"))["awx.awx.job_template"]
    assert drill == {**drill, "playbook": "playbooks/restore.yml", "extra_vars": {"restore_latest": True}}
    drift = next(t for t in _tasks() if t["name"].startswith("Drift check"))["awx.awx.job_template"]
    assert drift["job_type"] == "check"


def test_good_settings_pass_every_check_and_reach_the_controller(controller):
    code, out = _run(controller, GOOD)
    assert code != 0
    assert "TASK [Execution environment notejam-ee]" in out
    assert "127.0.0.1" in out and "/api/" in out
    assert controller.connections >= 1
    assert SECRET not in out


SCHEDULE = {"job": "drift_check", "environment": "prod", "cron": "0 2 * * *"}


BAD_SETTINGS = {
    "no-project-url": (
        {"awx_execution_environment_image": "r/ee:1"},
        {},
        "missing required arguments: awx_project_url",
    ),
    "bad-project-url": (
        {**GOOD, "awx_project_url": "notejam.aws"},
        {},
        'awx_project_url="notejam.aws": not a git URL',
    ),
    "unknown-environment": (
        {**GOOD, "awx_environments": ["dev", "staging"]},
        {},
        "value of awx_environments must be one or more of: dev, test, prod. Got no match for: staging",
    ),
    "bad-cron": (
        {**GOOD, "awx_schedules": {"drift_prod": {**SCHEDULE, "cron": "61 2 * * *"}}},
        {},
        "awx_schedules.drift_prod.cron='61 2 * * *': minute 61 is out of 0-59",
    ),
    "bad-timezone": (
        {**GOOD, "awx_schedules": {"drift_prod": {**SCHEDULE, "timezone": "Mars/Olympus"}}},
        {},
        "awx_schedules.drift_prod.timezone='Mars/Olympus': not an IANA time zone name",
    ),
    "schedule-of-unknown-environment": (
        {**GOOD, "awx_schedules": {"drift_qa": {**SCHEDULE, "environment": "qa"}}},
        {},
        'awx_schedules.drift_qa.environment="qa": one of awx_environments (dev, test, prod)',
    ),
    "restore-drill-outside-test": (
        {**GOOD, "awx_schedules": {"drill": {**SCHEDULE, "job": "restore_drill"}}},
        {},
        'awx_schedules.drill.environment="prod": restore_drill runs only in awx_restore_drill_environments',
    ),
    "missing-secret": (
        GOOD,
        {"NOTEJAM_PROD_AWS_SECRET_ACCESS_KEY": None},
        "awx_aws_credentials.prod.secret_key is empty: export NOTEJAM_PROD_AWS_SECRET_ACCESS_KEY",
    ),
}


@pytest.fixture(scope="module")
def bad_runs():
    """Every bad-settings run at once (each with its own listener): the suite stays fast."""
    started = {}
    for case, (extra_vars, env, _) in BAD_SETTINGS.items():
        listener = CountingSocket()
        proc = subprocess.Popen(
            _command(extra_vars),
            cwd=REPO,
            env=_env(listener, **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started[case] = (listener, proc)
    results = {}
    for case, (listener, proc) in started.items():
        out, _ = proc.communicate(timeout=120)
        listener.stop()
        results[case] = (proc.returncode, out, listener.connections)
    return results


@pytest.mark.parametrize("case", list(BAD_SETTINGS))
def test_bad_settings_fail_before_any_controller_call_naming_the_setting(bad_runs, case):
    code, out, connections = bad_runs[case]
    assert code != 0
    assert BAD_SETTINGS[case][2] in " ".join(out.split()), out[-3000:]
    assert connections == 0
    assert "/api/" not in out
    assert SECRET not in out
