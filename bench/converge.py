"""Converge benchmark: first converge, no-op re-runs and their AWS API calls, against the emulator.

    python bench/converge.py [--inventory local] [--runs 3] [--tags network] [--out FILE]

Starts a private emulator on a free port, converges ``site.yml`` once (timed), re-runs it
``--runs`` times (each timed, with the API calls counted at the emulator by operation), then runs
the drift check (``playbooks/drift.yml --check``) ``--runs`` times, and prints a Markdown report
(also written to ``--out`` when given). Not a test: the figures depend
on the machine and its load, which the report records.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.machine import describe  # noqa: E402
from tests.emulator.ctl import Emulator, apply_client_env  # noqa: E402
from tests.integration.conftest import RECAP, create_shared_zone_with  # noqa: E402


def run_playbook(env, inventory, extra, playbook="site.yml"):
    started = time.monotonic()
    proc = subprocess.run(  # noqa: S603
        [
            str(REPO / ".venv" / "bin" / "ansible-playbook"),
            playbook,
            "-i",
            f"inventories/{inventory}",
            *extra,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        sys.exit(f"ansible-playbook failed ({proc.returncode}):\n" + "\n".join(output.splitlines()[-40:]))
    recap = RECAP.search(output)
    tasks = int(recap.group(2)) if recap else 0
    changed = int(recap.group(3)) if recap else -1
    return elapsed, tasks, changed


def machine():
    return describe(load=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--inventory", default="local")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tags", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    emulator = Emulator.spawn(port=0)
    try:
        env = apply_client_env(dict(os.environ), emulator.url)
        env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
        env["ANSIBLE_NOCOLOR"] = "1"
        if args.inventory != "local":
            create_shared_zone_with(emulator, args.inventory)
        extra = ["--tags", args.tags] if args.tags else []
        first, tasks, first_changed = run_playbook(env, args.inventory, extra)
        first_calls = emulator.calls()
        noops = []
        for _ in range(args.runs):
            emulator.reset_calls()
            elapsed, _, changed = run_playbook(env, args.inventory, extra)
            noops.append((elapsed, changed, emulator.calls()))
        drifts = []
        if not args.tags:
            for _ in range(args.runs):
                emulator.reset_calls()
                elapsed, _, changed = run_playbook(env, args.inventory, ["--check"], "playbooks/drift.yml")
                drifts.append((elapsed, changed, emulator.calls()))
    finally:
        emulator.stop()

    median = statistics.median(t for t, _, _ in noops)
    last_calls = noops[-1][2]
    lines = [
        f"## Converge of `inventories/{args.inventory}`{' (tags ' + args.tags + ')' if args.tags else ''}",
        "",
        f"- Command: `python bench/converge.py --inventory {args.inventory} --runs {args.runs}"
        f"{' --tags ' + args.tags if args.tags else ''}` (`make bench`)",
        f"- Machine: {machine()}",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        "| run | wall time (s) | changed | AWS API calls | of which writes |",
        "|---|---|---|---|---|",
        f"| first converge | {first:.1f} | {first_changed} | {first_calls['total']} "
        f"| {first_calls['writes']} |",
    ]
    for i, (elapsed, changed, calls) in enumerate(noops, 1):
        lines.append(
            f"| no-op re-run {i} | {elapsed:.1f} | {changed} | {calls['total']} | {calls['writes']} |"
        )
    for i, (elapsed, changed, calls) in enumerate(drifts, 1):
        lines.append(
            f"| drift check {i} (`drift.yml --check`) | {elapsed:.1f} | {changed} | {calls['total']} "
            f"| {calls['writes']} |"
        )
    lines += [
        "",
        f"No-op median: {median:.1f} s for {tasks} tasks"
        + (
            f"; drift check median {statistics.median(t for t, _, _ in drifts):.1f} s (goal: 20 s)"
            if drifts
            else ""
        )
        + "; API calls of the last no-op run by operation:",
        "",
        "| operation | calls |",
        "|---|---|",
        *[f"| {op} | {n} |" for op, n in sorted(last_calls["calls"].items(), key=lambda kv: (-kv[1], kv[0]))],
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.out:
        Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
