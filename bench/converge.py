"""Converge benchmark: first converge, no-op re-runs and their AWS API calls, against the emulator.

    python bench/converge.py [--inventory local] [--runs 3] [--tags network] [--out FILE]
    python bench/converge.py --runs 3 --noop-runs 0 --compare-with ../other-checkout


Starts a private emulator on a free port, converges ``site.yml`` once (timed), re-runs it
``--runs`` times (each timed, with the API calls counted at the emulator by operation), then runs
the drift check (``playbooks/drift.yml --check``) ``--runs`` times, and prints a Markdown report
(also written to ``--out`` when given). Not a test: the figures depend
on the machine and its load, which the report records.

``--compare-with DIR`` times the drift check of another checkout of the collection (e.g. a
worktree of main, with its own or a linked ``.venv``) against the same converged emulator,
alternating the two trees run by run, with the 1-minute load average before each run: on a shared
machine only runs made side by side compare.
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


def run_playbook(env, inventory, extra, playbook="site.yml", tree=REPO):
    started = time.monotonic()
    proc = subprocess.run(  # noqa: S603
        [
            str(tree / ".venv" / "bin" / "ansible-playbook"),
            playbook,
            "-i",
            f"inventories/{inventory}",
            *extra,
        ],
        cwd=tree,
        env=dict(env, ANSIBLE_CONFIG=str(tree / "ansible.cfg")),
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
    parser.add_argument("--noop-runs", type=int, default=None, help="no-op re-runs (default: --runs)")
    parser.add_argument(
        "--compare-with",
        type=Path,
        default=None,
        help="another checkout whose drift check runs alternately with this one's",
    )
    args = parser.parse_args()
    noop_runs = args.runs if args.noop_runs is None else args.noop_runs
    trees = [("this tree", REPO)]
    if args.compare_with:
        trees.insert(0, ("--compare-with", args.compare_with.resolve()))

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
        for _ in range(noop_runs):
            emulator.reset_calls()
            elapsed, _, changed = run_playbook(env, args.inventory, extra)
            noops.append((elapsed, changed, emulator.calls()))
        drifts = []
        if not args.tags:
            for _ in range(args.runs):
                for label, tree in trees:
                    emulator.reset_calls()
                    load = os.getloadavg()[0]
                    elapsed, drift_tasks, changed = run_playbook(
                        env, args.inventory, ["--check"], "playbooks/drift.yml", tree
                    )
                    drifts.append((elapsed, changed, emulator.calls(), label, load, drift_tasks))
    finally:
        emulator.stop()

    median = statistics.median(t for t, _, _ in noops) if noops else None
    last_calls = (noops[-1] if noops else drifts[-1])[2]
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
    for i, (elapsed, changed, calls, label, load, _) in enumerate(drifts, 1):
        which = f", {label}, load {load:.2f}" if args.compare_with else ""
        lines.append(
            f"| drift check {i} (`drift.yml --check`{which}) | {elapsed:.1f} | {changed} | {calls['total']} "
            f"| {calls['writes']} |"
        )
    summary = [
        f"No-op median: {median:.1f} s for {tasks} tasks" if noops else f"{tasks} tasks in the first converge"
    ]
    for label, tree in trees:
        mine = [d for d in drifts if d[3] == label]
        if mine:
            summary.append(
                f"drift check median {statistics.median(d[0] for d in mine):.1f} s (goal: 20 s), "
                f"{mine[-1][5]} tasks, {mine[-1][2]['total']} API calls"
                + (f" ({label}: {tree})" if args.compare_with else "")
            )
    lines += [
        "",
        "; ".join(summary)
        + f"; API calls of the last {'no-op' if noops else 'drift check'} run by operation:",
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
