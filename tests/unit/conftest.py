"""Fixtures for the module unit tests: moto in-process, a module runner and an API call recorder.

Modules are imported as ``ansible_collections.notejam.aws.plugins...`` through the checkout's
``.collections`` link, the same path ansible-playbook uses from a checkout.
"""

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
for entry in (str(REPO), str(REPO / ".collections")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import botocore.client  # noqa: E402
from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402

# One definition of "a write" for the unit tests and the emulator's call counter.
from tests.emulator.standins import is_write  # noqa: E402


class ModuleExit(Exception):
    def __init__(self, result):
        super().__init__(result)
        self.result = result


class ModuleFail(ModuleExit):
    pass


@pytest.fixture
def aws(monkeypatch):
    """moto in-process with the shared emulator fixes applied, in a fixed region."""
    from moto import mock_aws

    from tests.emulator.fixes import apply_all

    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "2")
    apply_all()
    with mock_aws():
        yield


class CallLog(list):
    """Names of the AWS operations made, in order; ``params`` holds (name, parameters) pairs."""

    def __init__(self):
        super().__init__()
        self.params = []

    def of(self, name):
        """The parameters of every call of operation ``name``."""
        return [params for op, params in self.params if op == name]

    @property
    def writes(self):
        return [name for name in self if is_write(name)]

    def clear_calls(self):
        del self[:]
        del self.params[:]


@pytest.fixture
def api_calls(monkeypatch):
    """Every botocore API call made by the code under test (operation names)."""
    log = CallLog()
    original = botocore.client.BaseClient._make_api_call

    def recording(self, operation_name, api_params):
        log.append(operation_name)
        log.params.append((operation_name, api_params))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return log


@pytest.fixture
def run_module(monkeypatch):
    """run_module(main, args, check=False, diff=False) -> result dict (``failed`` set on failure)."""

    def exit_json(self, **kwargs):
        kwargs.setdefault("changed", False)
        raise ModuleExit(json.loads(json.dumps(kwargs, default=str)))

    def fail_json(self, msg, **kwargs):
        kwargs.update(failed=True, msg=msg)
        raise ModuleFail(json.loads(json.dumps(kwargs, default=str)))

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    # Bounded waits poll quickly in tests.
    from ansible_collections.notejam.aws.plugins.module_utils import resource

    monkeypatch.setattr(resource, "POLL_DELAY", 0)
    monkeypatch.setattr(resource, "RETRY_DELAY", 0)

    def run(main, args, check=False, diff=True):
        full = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
        with patch_module_args(full):
            try:
                main()
            except ModuleExit as e:
                return e.result
        raise AssertionError("module returned without exit_json or fail_json")

    return run


# A region no in-process test uses, so the session emulator's resources stay apart per test file.
STRICT_REGION = "ap-southeast-2"


@pytest.fixture
def strict_aws(monkeypatch, emulator, strict_settings):
    """Modules run against the session emulator in strict mode (tests/emulator/strict.py), without
    throttling unless a test turns it on: AWS's eventual consistency, as real accounts show it."""
    strict_settings(enabled=True, throttle_every=0, time_scale=0.1)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", STRICT_REGION)
    monkeypatch.setenv("AWS_REGION", STRICT_REGION)
    return strict_settings
