"""The image is pinned: base images by digest, the CA bundle by checksum, Python packages by hash.

Also: notejam/requirements.lock covers exactly the pins of notejam/requirements.txt (the two cannot
drift), and scripts/refresh-pins.sh rewrites the pins it is given and refuses what is not a pin.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "notejam"
DOCKERFILE = APP / "Dockerfile"
REFRESH = APP / "scripts" / "refresh-pins.sh"
SHA256 = r"sha256:[0-9a-f]{64}"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.partition(" ")
        lines.append((keyword.upper(), rest.strip()))
        current = ""
    return lines


def test_the_dockerfile_syntax_supports_add_checksum():
    first = DOCKERFILE.read_text().splitlines()[0]
    match = re.fullmatch(r"# syntax=docker/dockerfile:(\d+)(?:\.(\d+))?(?:\.\d+)?", first)
    assert match, f"no pinned-enough syntax directive: {first!r}"
    major, minor = int(match[1]), match[2]
    # `1` is the newest 1.x; an explicit 1.x must be 1.6 or later (ADD --checksum left labs in 1.6.0).
    assert major == 1 and (minor is None or int(minor) >= 6), first


def test_every_base_image_is_pinned_by_digest():
    steps = instructions(DOCKERFILE.read_text())
    froms = [args.split()[0] for keyword, args in steps if keyword == "FROM"]
    stages = {args.split()[-1] for keyword, args in steps if keyword == "FROM" and " AS " in args.upper()}
    images = [ref for ref in froms if ref not in stages]
    assert images, "no FROM line"
    for ref in images:
        assert re.fullmatch(rf"[a-z0-9./-]+:[\w.-]+@{SHA256}", ref), f"FROM {ref} is not pinned by digest"
    # Both stages on the same image: the venv built in the first runs on the second's interpreter.
    assert len(set(images)) == 1, images


def test_every_remote_add_carries_a_checksum():
    remote = [
        args for keyword, args in instructions(DOCKERFILE.read_text()) if keyword == "ADD" and "://" in args
    ]
    assert remote, "the RDS CA bundle is no longer added from its URL"
    for args in remote:
        assert re.search(rf"(^|\s)--checksum={SHA256}\s", args), f"ADD without --checksum: {args}"
    assert any("truststore.pki.rds.amazonaws.com/global/global-bundle.pem" in args for args in remote)


def test_python_packages_are_installed_from_the_hash_lock_only():
    steps = instructions(DOCKERFILE.read_text())
    runs = [args for keyword, args in steps if keyword == "RUN" and "pip" in args and " install" in args]
    assert any("--require-hashes" in run and "-r requirements.lock" in run for run in runs), runs
    for run in runs:
        # Everything else pip installs is the app itself, with no dependency resolution.
        assert "--require-hashes" in run or ("--no-deps" in run and run.rstrip().endswith(" .")), run
        assert "requirements.txt" not in run, run
    copies = [args for keyword, args in steps if keyword == "COPY"]
    assert any(args.split()[0] == "requirements.lock" for args in copies), copies


def lock_entries(app: Path) -> dict[str, tuple[str, list[str], list[str]]]:
    """name -> (version, hashes, via) from requirements.lock (pip-compile --generate-hashes)."""
    entries, name = {}, None
    for line in (app / "requirements.lock").read_text().splitlines():
        pin = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if pin:
            name = canonical(pin[1])
            entries[name] = (pin[2], [], [])
        elif name and (digest := re.search(rf"--hash=({SHA256})", line)):
            entries[name][1].append(digest[1])
        elif name and (via := re.match(r"^\s+#\s+(?:via\s+)?(\S.*)$", line)) and via[1] != "via":
            entries[name][2].append(via[1].strip())
    return entries


def requirement_pins(app: Path) -> dict[str, str]:
    pins = {}
    for line in (app / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;]+)", line)
        assert match, f"notejam/requirements.txt: not an exact pin: {line!r}"
        pins[canonical(match[1])] = match[3]
    return pins


def check_lock(app: Path) -> None:
    pins, lock = requirement_pins(app), lock_entries(app)
    wrong = {name: (version, lock.get(name, ("missing",))[0]) for name, version in pins.items()
             if lock.get(name, ("missing",))[0] != version}  # fmt: skip
    assert not wrong, f"requirements.txt vs requirements.lock (run `make lock`): {wrong}"
    direct = {name for name, (_, _, via) in lock.items() if "-r requirements.txt" in via}
    assert direct == set(pins), f"the lock's direct requirements differ: {sorted(direct ^ set(pins))}"
    for name, (version, hashes, via) in lock.items():
        assert hashes, f"{name}=={version} has no hash"
        # Every other entry is there because a locked package needs it.
        assert via and all(v == "-r requirements.txt" or canonical(v) in lock for v in via), (name, via)


def test_the_hash_lock_covers_exactly_the_pins_of_requirements_txt():
    check_lock(APP)


def test_the_lock_check_catches_a_drifted_pin_and_a_new_one(tmp_path):
    """The check fails when requirements.txt moves or adds a pin without `make lock`."""
    copy = tmp_path / "notejam"
    copy.mkdir()
    shutil.copy(APP / "requirements.lock", copy / "requirements.lock")
    text = (APP / "requirements.txt").read_text()
    name, version = next(iter(requirement_pins(APP).items()))
    drifted = re.sub(
        rf"(?im)^({re.escape(name)}(\[[^\]]*\])?)=={re.escape(version)}", rf"\1=={version}.post99", text
    )
    assert drifted != text
    (copy / "requirements.txt").write_text(drifted)
    with pytest.raises(AssertionError, match="run `make lock`"):
        check_lock(copy)
    (copy / "requirements.txt").write_text(text + "left-pad-for-python==1.0\n")
    with pytest.raises(AssertionError, match="run `make lock`"):
        check_lock(copy)


# --- scripts/refresh-pins.sh --------------------------------------------------------------------------
def refresh(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(REFRESH), *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_refresh_pins_rewrites_both_from_lines_and_the_checksum(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    shutil.copy(DOCKERFILE, dockerfile)
    digest, checksum = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    result = refresh("--dockerfile", str(dockerfile), "--digest", digest, "--checksum", checksum)
    assert result.returncode == 0, result.stderr
    text = dockerfile.read_text()
    assert text.count(f"python:3.11-slim@{digest}") == 2
    assert f"ADD --checksum={checksum} " in text
    old, new = DOCKERFILE.read_text().splitlines(), text.splitlines()
    changed = [n for n, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
    assert len(changed) == 3, changed  # nothing else moved
    check = refresh("--dockerfile", str(dockerfile), "--digest", digest, "--checksum", checksum, "--check")
    assert check.returncode == 0 and "already carries these pins" in check.stdout


@pytest.mark.parametrize("bad", ["sha256:abc", "latest", "sha256:" + "A" * 64])
def test_refresh_pins_refuses_what_is_not_a_digest(tmp_path, bad):
    dockerfile = tmp_path / "Dockerfile"
    shutil.copy(DOCKERFILE, dockerfile)
    result = refresh("--dockerfile", str(dockerfile), "--digest", bad, "--checksum", "sha256:" + "b" * 64)
    assert result.returncode == 1 and "not a sha256 digest" in result.stderr
    assert dockerfile.read_text() == DOCKERFILE.read_text()


def fake_docker(tmp_path: Path, descriptor: dict) -> dict:
    """A `docker` on PATH that answers `buildx imagetools inspect` with this descriptor."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "docker").write_text(f"#!/bin/sh\ncat <<'EOF'\n{json.dumps(descriptor)}\nEOF\n")
    (bin_dir / "docker").chmod(0o755)
    return dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")


def test_refresh_pins_takes_the_index_digest_and_refuses_a_single_platform_image(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    shutil.copy(DOCKERFILE, dockerfile)
    index = {
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": "sha256:" + "c" * 64,
        "manifests": [{"platform": {"os": "linux", "architecture": arch}} for arch in ("amd64", "arm64")],
    }
    checksum = ["--checksum", "sha256:" + "b" * 64]
    result = refresh("--dockerfile", str(dockerfile), *checksum, env=fake_docker(tmp_path / "1", index))
    assert result.returncode == 0, result.stderr
    assert dockerfile.read_text().count("python:3.11-slim@sha256:" + "c" * 64) == 2

    single = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "d" * 64}
    result = refresh("--dockerfile", str(dockerfile), *checksum, env=fake_docker(tmp_path / "2", single))
    assert result.returncode == 1 and "not a multi-platform index" in result.stderr
    amd64_only = dict(index, manifests=index["manifests"][:1])
    result = refresh("--dockerfile", str(dockerfile), *checksum, env=fake_docker(tmp_path / "3", amd64_only))
    assert result.returncode == 1 and "lacks ['linux/arm64']" in result.stderr
    assert "d" * 64 not in dockerfile.read_text()
