"""Fixtures shared by every suite: the emulator, one private server per test session on a free port.

Tests never touch port 5000, where `make demo` may be running.
"""

import os

import pytest

from tests.emulator.ctl import REPO, Emulator, apply_client_env


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """A private emulator for this test session (stopped at the end)."""
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    server = Emulator.spawn(port=0, log_path=log)
    server.log_path = log
    yield server
    server.stop()


@pytest.fixture
def strict_settings(emulator):
    """Change the session emulator's strict-mode settings for one test; restored afterwards."""
    saved = emulator.strict()
    yield emulator.strict
    emulator.strict(**saved)


@pytest.fixture
def emulator_env(emulator):
    """os.environ for a subprocess (ansible-playbook, molecule) that must reach the emulator."""
    env = apply_client_env(dict(os.environ), emulator.url)
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    return env
