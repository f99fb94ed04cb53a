"""The execution environment AWX/Tower runs jobs in, and the collections a project sync installs.

ansible-builder generates the real build context here (no container engine is needed for that);
the tests read what the generated Containerfile would install and hold it to what `make test`
itself runs with, so the EE and the tests cannot drift apart unnoticed.
"""

import json
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SITE_COLLECTIONS = Path(yaml.__file__).resolve().parents[1] / "ansible_collections"
FQCN = re.compile(r"^\s*-?\s*(?:name:\s*)?([a-z0-9_]+)\.([a-z0-9_]+)\.[a-z0-9_]+:?\s*$")


def _requirements():
    return {
        c["name"]: c["version"]
        for c in yaml.safe_load((REPO / "collections/requirements.yml").read_text())["collections"]
    }


@pytest.fixture(scope="module")
def build_context(tmp_path_factory):
    context = tmp_path_factory.mktemp("ee-context")
    builder = Path(sys.executable).with_name("ansible-builder")
    proc = subprocess.run(
        [
            str(builder),
            "create",
            "-f",
            "execution-environment.yml",
            "-c",
            str(context),
            "--output-filename",
            "Containerfile",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return context


def test_builder_accepts_the_definition_and_installs_the_tested_ansible_core_and_runner(build_context):
    containerfile = (build_context / "Containerfile").read_text()
    refs = re.search(r'ARG ANSIBLE_INSTALL_REFS="([^"]+)"', containerfile).group(1).split()
    assert f"ansible-core=={version('ansible-core')}" in refs
    assert f"ansible-runner=={version('ansible-runner')}" in refs


def test_ee_installs_the_project_collections_and_the_tested_aws_sdk(build_context):
    galaxy = yaml.safe_load((build_context / "_build/requirements.yml").read_text())
    assert {c["name"] for c in galaxy["collections"]} == set(_requirements())
    pins = dict(
        line.split("==")
        for line in (build_context / "_build/requirements.txt").read_text().split()
        if "==" in line
    )
    assert pins == {"boto3": version("boto3"), "botocore": version("botocore")}


def _satisfies(installed, spec):
    def key(text):
        return tuple(int(part) for part in text.split("."))

    for clause in spec.split(","):
        op, wanted = re.match(r"\s*(>=|<=|==|<|>)\s*([\d.]+)", clause).groups()
        ok = {
            ">=": key(installed) >= key(wanted),
            "<": key(installed) < key(wanted),
            "<=": key(installed) <= key(wanted),
            ">": key(installed) > key(wanted),
            "==": key(installed) == key(wanted),
        }[op]
        if not ok:
            return False
    return True


def test_requirement_ranges_admit_the_collections_the_tests_run_with():
    for name, spec in _requirements().items():
        namespace, collection = name.split(".")
        manifest = json.loads((SITE_COLLECTIONS / namespace / collection / "MANIFEST.json").read_text())
        installed = manifest["collection_info"]["version"]
        assert _satisfies(installed, spec), (
            f"{name} {installed} (tested) is outside {spec} in collections/requirements.yml"
        )


def test_every_collection_the_playbooks_and_roles_use_is_required():
    used = set()
    for path in [
        *REPO.glob("*.yml"),
        *REPO.glob("playbooks/*.yml"),
        *REPO.glob("roles/*/tasks/*.yml"),
        *REPO.glob("roles/*/handlers/*.yml"),
    ]:
        for line in path.read_text().splitlines():
            match = FQCN.match(line)
            if match:
                used.add(f"{match.group(1)}.{match.group(2)}")
    for name in ("callbacks_enabled",):
        line = next(x for x in (REPO / "ansible.cfg").read_text().splitlines() if x.startswith(name))
        used.update(".".join(p.strip().split(".")[:2]) for p in line.split("=", 1)[1].split(","))
    used -= {"ansible.builtin", "notejam.aws"}
    assert used, "no collection use found: the scan is broken"
    missing = used - set(_requirements())
    assert not missing, f"used but not in collections/requirements.yml: {sorted(missing)}"


def test_the_project_finds_this_collection_whatever_collections_path_awx_sets():
    # AWX sets the collections path of a job itself; the playbook-adjacent collections/ folders
    # resolve notejam.aws for the root playbooks and for playbooks/ regardless.
    for adjacent in ("collections", "playbooks/collections"):
        link = REPO / adjacent / "ansible_collections/notejam/aws"
        assert (link / "galaxy.yml").resolve() == (REPO / "galaxy.yml").resolve()
