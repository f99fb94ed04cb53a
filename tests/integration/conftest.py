"""Helpers for converging whole playbooks into a private emulator."""

import re
import subprocess
from dataclasses import dataclass

import pytest
import yaml

from tests.emulator.ctl import REPO, Emulator, apply_client_env

RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
SHARED_ZONE = "notejam.example.com"


@dataclass
class PlaybookRun:
    returncode: int
    output: str

    @property
    def changed(self):
        return sum(int(m.group(3)) for m in RECAP.finditer(self.output))

    @property
    def failed(self):
        return sum(int(m.group(5)) for m in RECAP.finditer(self.output))

    def changed_tasks(self):
        """The names of the tasks that reported a change (for assertion messages)."""
        names, current = [], None
        for line in self.output.splitlines():
            if line.startswith("TASK ["):
                current = line
            elif line.startswith("changed:") and current:
                names.append(f"{current} {line}")
        return names

    def tail(self, lines=60):
        return "\n".join(self.output.splitlines()[-lines:])


@pytest.fixture
def fresh_emulator(tmp_path):
    """A fresh, empty emulator for one test."""
    server = Emulator.spawn(port=0, log_path=tmp_path / "emulator.log")
    yield server
    server.stop()


@pytest.fixture
def playbook(fresh_emulator, tmp_path):
    """Run ansible-playbook from the checkout against the fresh emulator."""
    import os

    env = apply_client_env(dict(os.environ), fresh_emulator.url)
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_LOCAL_TEMP"] = str(tmp_path / "ansible-tmp")

    def run(path, inventory, *extra, timeout=1500):
        cmd = ["ansible-playbook", path, "-i", f"inventories/{inventory}", *extra]
        proc = subprocess.run(
            cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        return PlaybookRun(proc.returncode, proc.stdout + proc.stderr)

    return run


@pytest.fixture
def aws_client(fresh_emulator):
    return fresh_emulator.client


def create_shared_zone(aws_client, zone=SHARED_ZONE):
    """The public hosted zone a real account already holds for dev, test and prod."""
    route53 = aws_client("route53", "us-east-1")
    route53.create_hosted_zone(Name=zone, CallerReference=f"shared-{zone}")


def create_delivery_repository(aws_client, inventory):
    """The delivery repository an inventory pulls from when it owns no pipeline (dev and test pull
    from prod's notejam-prod-app): on a real account the owner's converge made it, and its pipeline
    pushed the images. Here it is created as the owner's ecs_service role would (the emulator's first
    build puts the inventories' first tag into it). Nothing for an inventory with its own repository."""
    group_vars = REPO / "inventories" / inventory / "group_vars" / "all"
    settings = yaml.safe_load((group_vars / "main.yml").read_text())
    delivery = yaml.safe_load((group_vars / "codepipeline.yml").read_text())
    delivery = delivery.get("notejam_delivery_repository")
    if not delivery or delivery == f"notejam-{inventory}-app":
        return None
    ecr = aws_client("ecr", settings["notejam_region"])
    ecr.create_repository(
        repositoryName=delivery,
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
    )
    return delivery


def create_shared_zone_with(emulator, inventory):
    """The same, for a running emulator and the zone an inventory names."""
    settings = yaml.safe_load(
        (REPO / "inventories" / inventory / "group_vars" / "all" / "main.yml").read_text()
    )
    route53 = emulator.client("route53", "us-east-1")
    zone = settings["notejam_dns_zone"]
    route53.create_hosted_zone(Name=zone, CallerReference=f"shared-{zone}")
