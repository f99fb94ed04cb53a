"""Run a CodeBuild buildspec (version 0.2) on this machine, as CodeBuild would run it.

    python -m tests.pipeline.buildspec buildspecs/test.yml [-e NAME=VALUE ...]

What it copies from CodeBuild (https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html
and .../view-build-details-phases.html):

- phases in order: install, pre_build, build, post_build; each phase's commands in order;
- every command runs in the same shell session (bash here, or env/shell): what one command
  exports, or the directory it changes to, the next command and phase see;
- a command that exits non-zero fails its phase; the phase's ``finally`` commands run whether the
  phase failed or not, and a failing ``finally`` fails the phase too;
- a failed install or pre_build phase ends the build; a failed build phase still runs post_build
  (with CODEBUILD_BUILD_SUCCEEDING=0), unless the phase says ``on-failure: ABORT``, which ends the
  build at once; ``on-failure: CONTINUE`` goes on to the next phase as if it had not failed;
- ``env: variables`` (plain values) set before install; ``env: exported-variables`` are read from
  the session at the end of the build and returned; the CODEBUILD_* variables a build reads;
- ``reports``: the report files are looked for after the build and listed (not uploaded).

What it does not do, and refuses when a buildspec asks for it (so a buildspec that needs them
fails here first): ``env: parameter-store`` and ``secrets-manager``, ``git-credential-helper``,
``batch``, ``on-failure`` values other than ABORT and CONTINUE. ``runtime-versions`` and
``artifacts`` are noted and ignored (the machine's Python runs; nothing is uploaded).
"""

import argparse
import dataclasses
import glob
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

PHASES = ("install", "pre_build", "build", "post_build")
ON_FAILURE = ("ABORT", "CONTINUE")
PHASE_KEYS = {"commands", "finally", "on-failure", "runtime-versions", "run-as"}
ENV_KEYS = {"variables", "exported-variables", "shell"}
UNSUPPORTED_ENV = {"parameter-store", "secrets-manager", "git-credential-helper"}
TOP_KEYS = {"version", "env", "phases", "reports", "artifacts", "cache", "run-as", "proxy"}
SHELLS = {"bash": "bash", "/bin/bash": "bash", "sh": "sh", "/bin/sh": "sh"}


class BuildspecError(Exception):
    """The buildspec is not one this runner (or CodeBuild) accepts."""


@dataclasses.dataclass
class Phase:
    name: str
    commands: list
    finally_: list
    on_failure: str | None


@dataclasses.dataclass
class Buildspec:
    path: Path
    variables: dict
    exported: list
    shell: str
    phases: list
    reports: dict


@dataclasses.dataclass
class PhaseResult:
    name: str
    status: str  # SUCCEEDED, FAILED, SKIPPED
    seconds: float = 0.0
    failed_command: str | None = None


@dataclasses.dataclass
class BuildResult:
    succeeded: bool
    phases: list
    exported: dict
    reports: dict

    def phase(self, name):
        return next(p for p in self.phases if p.name == name)


def _commands(value, where):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(c, (str, int, float)) for c in value):
        raise BuildspecError(f"{where} must be a list of commands (strings)")
    return [str(c) for c in value]


def parse(path):
    """The buildspec at ``path``, checked; BuildspecError names what is wrong."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise BuildspecError(f"{path}: not YAML: {err}") from None
    if not isinstance(doc, dict):
        raise BuildspecError(f"{path}: a buildspec is a mapping")
    if str(doc.get("version")) != "0.2":
        raise BuildspecError(f"{path}: version={doc.get('version')!r}: this runner runs version 0.2")
    unknown = set(doc) - TOP_KEYS
    if unknown:
        raise BuildspecError(
            f"{path}: unknown top-level keys {sorted(unknown)} (accepted: {sorted(TOP_KEYS)})"
        )
    if "batch" in doc:
        raise BuildspecError(f"{path}: batch builds are not run here")
    env = doc.get("env") or {}
    if not isinstance(env, dict):
        raise BuildspecError(f"{path}: env must be a mapping")
    refused = set(env) & UNSUPPORTED_ENV
    if refused:
        raise BuildspecError(f"{path}: env {sorted(refused)} is not run here (accepted: {sorted(ENV_KEYS)})")
    unknown = set(env) - ENV_KEYS
    if unknown:
        raise BuildspecError(f"{path}: unknown env keys {sorted(unknown)} (accepted: {sorted(ENV_KEYS)})")
    variables = env.get("variables") or {}
    if not isinstance(variables, dict):
        raise BuildspecError(f"{path}: env.variables must be a mapping of names to values")
    variables = {str(k): "" if v is None else str(v) for k, v in variables.items()}
    exported = env.get("exported-variables") or []
    if not isinstance(exported, list):
        raise BuildspecError(f"{path}: env.exported-variables must be a list of names")
    shell = SHELLS.get(str(env.get("shell", "bash")))
    if shell is None:
        raise BuildspecError(f"{path}: env.shell={env.get('shell')!r}: accepted {sorted(SHELLS)}")
    phases_doc = doc.get("phases") or {}
    if not isinstance(phases_doc, dict) or not phases_doc:
        raise BuildspecError(f"{path}: phases must name at least one of {', '.join(PHASES)}")
    unknown = set(phases_doc) - set(PHASES)
    if unknown:
        raise BuildspecError(f"{path}: unknown phases {sorted(unknown)} (accepted: {', '.join(PHASES)})")
    phases = []
    for name in PHASES:
        if name not in phases_doc:
            continue
        body = phases_doc[name] or {}
        if not isinstance(body, dict):
            raise BuildspecError(f"{path}: phases.{name} must be a mapping")
        unknown = set(body) - PHASE_KEYS
        if unknown:
            raise BuildspecError(f"{path}: phases.{name}: unknown keys {sorted(unknown)}")
        on_failure = body.get("on-failure")
        if on_failure is not None and on_failure not in ON_FAILURE:
            raise BuildspecError(
                f"{path}: phases.{name}.on-failure={on_failure!r}: accepted {', '.join(ON_FAILURE)}"
            )
        phases.append(
            Phase(
                name,
                _commands(body.get("commands"), f"phases.{name}.commands"),
                _commands(body.get("finally"), f"phases.{name}.finally"),
                on_failure,
            )
        )
    reports = doc.get("reports") or {}
    if not isinstance(reports, dict):
        raise BuildspecError(f"{path}: reports must be a mapping of report group names")
    return Buildspec(path, variables, [str(v) for v in exported], shell, phases, reports)


class Session:
    """One shell session across commands: its exported variables and directory are carried
    from one command to the next through a state file, as one CodeBuild shell would keep them."""

    def __init__(self, shell, environ, cwd, out):
        self.shell, self.out = shell, out
        self.dir = Path(tempfile.mkdtemp(prefix="buildspec-"))
        self.state = self.dir / "state.sh"
        self.cwd = str(cwd)
        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in environ.items() if _valid_name(k))
        self.state.write_text(exports)

    def run(self, command):
        """Run ``command`` in the session; its exit status."""
        script = self.dir / "command.sh"
        cwd_file = self.dir / "cwd"
        script.write_text(command + "\n")
        # The command runs in the shell itself (not a subshell), so its exports and cd stay; the
        # EXIT trap saves them whatever the command does, `exit` included.
        wrapper = (
            f". {shlex.quote(str(self.state))}\n"
            f"cd {shlex.quote(self.cwd)}\n"
            "__save() { __rc=$?; export -p > "
            f"{shlex.quote(str(self.state))}.new; pwd > {shlex.quote(str(cwd_file))}; exit $__rc; }}\n"
            "trap __save EXIT\n"
            f". {shlex.quote(str(script))}\n"
        )
        proc = subprocess.run(
            [self.shell, "-c", wrapper],
            stdout=self.out,
            stderr=subprocess.STDOUT,
            env={"PATH": os.defpath},
            check=False,
        )
        new_state = Path(f"{self.state}.new")
        if new_state.exists():
            new_state.replace(self.state)
        if cwd_file.exists():
            self.cwd = cwd_file.read_text().strip() or self.cwd
        return proc.returncode

    def variable(self, name):
        """The value of ``name`` in the session now (None when unset)."""
        probe = subprocess.run(
            [
                self.shell,
                "-c",
                f'. {shlex.quote(str(self.state))}; printf "%s" "${{{name}+set}}:${{{name}-}}"',
            ],
            capture_output=True,
            text=True,
            env={"PATH": os.defpath},
            check=False,
        ).stdout
        marker, _, value = probe.partition(":")
        return value if marker == "set" else None

    def set(self, name, value):
        with self.state.open("a") as state:
            state.write(f"export {name}={shlex.quote(value)}\n")

    def close(self):
        for item in self.dir.iterdir():
            item.unlink()
        self.dir.rmdir()


def _valid_name(name):
    return name.replace("_", "a").isalnum() and not name[0].isdigit()


def run(spec, environ=None, cwd=".", out=None, build_id="local"):
    """Run ``spec`` (a Buildspec or a path); a BuildResult. ``environ`` is the build's environment
    (the project's variables, as CodeBuild and CodePipeline set them); it overrides env.variables
    as a project's or an action's variables override the buildspec's."""
    spec = parse(spec) if not isinstance(spec, Buildspec) else spec
    out = out or sys.stdout
    cwd = Path(cwd).resolve()
    environ = dict(environ if environ is not None else os.environ)
    base = {
        **spec.variables,
        **environ,
        "CODEBUILD_SRC_DIR": str(cwd),
        "CODEBUILD_BUILD_ID": f"notejam-local:{build_id}",
        "CODEBUILD_BUILD_SUCCEEDING": "1",
        "CODEBUILD_LOCAL": "true",
    }
    session = Session(spec.shell, base, cwd, out)
    results, succeeded, stop = [], True, False
    try:
        for phase in spec.phases:
            if stop:
                results.append(PhaseResult(phase.name, "SKIPPED"))
                continue
            if phase.name == "post_build":
                session.set("CODEBUILD_BUILD_SUCCEEDING", "1" if succeeded else "0")
            result = _run_phase(session, phase, out)
            results.append(result)
            if result.status == "FAILED":
                if phase.on_failure == "CONTINUE":
                    continue
                succeeded = False
                # A failed build phase still runs post_build; any other failure (or ABORT) ends it.
                stop = phase.on_failure == "ABORT" or phase.name != "build"
        exported = {name: session.variable(name) for name in spec.exported}
        exported = {k: v for k, v in exported.items() if v is not None}
    finally:
        session.close()
    reports = {
        group: sorted(
            p
            for pattern in (body or {}).get("files", [])
            for p in glob.glob(str(cwd / pattern), recursive=True)
        )
        for group, body in spec.reports.items()
    }
    for group, files in reports.items():
        print(
            f"[buildspec] report group {group}: {', '.join(files) or 'no files found'}", file=out, flush=True
        )
    status = "SUCCEEDED" if succeeded else "FAILED"
    print(f"[buildspec] {spec.path}: {status}", file=out, flush=True)
    return BuildResult(succeeded, results, exported, reports)


def _run_phase(session, phase, out):
    started = time.monotonic()
    print(f"[buildspec] phase {phase.name}: started", file=out, flush=True)
    failed_command = None
    for command in phase.commands:
        print(f"[buildspec] running: {command}", file=out, flush=True)
        code = session.run(command)
        if code != 0:
            failed_command = command
            print(f"[buildspec] command failed with exit status {code}: {command}", file=out, flush=True)
            break
    for command in phase.finally_:
        print(f"[buildspec] running (finally): {command}", file=out, flush=True)
        code = session.run(command)
        if code != 0 and failed_command is None:
            failed_command = command
            print(
                f"[buildspec] finally command failed with exit status {code}: {command}", file=out, flush=True
            )
    status = "FAILED" if failed_command else "SUCCEEDED"
    seconds = time.monotonic() - started
    print(f"[buildspec] phase {phase.name}: {status} ({seconds:.1f}s)", file=out, flush=True)
    return PhaseResult(phase.name, status, seconds, failed_command)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("buildspec")
    parser.add_argument("-e", "--env", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    environ = dict(os.environ)
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not _valid_name(name):
            parser.error(f"-e {item!r}: give NAME=VALUE")
        environ[name] = value
    try:
        result = run(args.buildspec, environ)
    except BuildspecError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for name, value in result.exported.items():
        print(f"[buildspec] exported {name}={value}")
    return 0 if result.succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
