"""Every role's molecule scenario, each against a private emulator (converge, idempotence,
verify, cleanup: the sequence its molecule.yml names)."""

import os
import subprocess

import pytest

from tests.emulator.ctl import REPO

SCENARIOS = sorted(
    p.parent.parent.parent.name for p in (REPO / "roles").glob("*/molecule/default/molecule.yml")
)


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.parametrize("role", SCENARIOS)
def test_role_scenario_passes(role, emulator_env, emulator, tmp_path):
    env = dict(emulator_env)
    env["MOLECULE_EPHEMERAL_DIRECTORY"] = str(tmp_path / "molecule")
    env["ANSIBLE_NOCOLOR"] = "1"
    env.pop("ANSIBLE_CONFIG", None)  # molecule writes its own, from molecule.yml
    proc = subprocess.run(
        [os.path.join(os.path.dirname(os.sys.executable), "molecule"), "test", "-s", "default"],
        cwd=REPO / "roles" / role,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, "\n".join(output.splitlines()[-80:])


def test_every_role_has_a_scenario():
    roles = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir())
    assert roles == SCENARIOS, f"roles without a molecule scenario: {sorted(set(roles) - set(SCENARIOS))}"
