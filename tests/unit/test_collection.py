"""The collection as users get it: a tarball without test data, venvs or caches, and inventories
that ansible-inventory reads."""

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_built_collection_holds_no_tests_venvs_or_caches(tmp_path):
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", str(REPO), "--output-path", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (tarball,) = tmp_path.glob("notejam-aws-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = archive.getnames()

    assert "plugins/modules/vpc_network.py" in names
    assert "roles/network/tasks/main.yml" in names
    unwanted = [
        n
        for n in names
        if n.split("/")[0] in {"tests", ".venv", ".run", ".collections", "notejam", "bench", ".git"}
        or "__pycache__" in n
        or "/molecule/" in n
        or n.endswith((".pyc", ".tar.gz"))
    ]
    assert unwanted == []


@pytest.mark.parametrize("env", ["local", "dev", "test", "prod"])
def test_inventory_graph_lists_the_controller(env):
    proc = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", f"inventories/{env}", "--graph"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "@aws:" in proc.stdout
    assert "localhost" in proc.stdout
