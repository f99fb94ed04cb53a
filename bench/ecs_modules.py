"""Side-by-side benchmark: notejam.aws's ECS modules against community.aws's, on the emulator.

    python bench/ecs_modules.py [--runs 3] [--out docs/benchmarks-ecs.md]

Starts a private emulator on a free port and, with boto3, creates each side's prerequisites once
(cluster, VPC with two subnets, two security groups, an ALB with an ip target group, an execution
role, the database secret, the SECRET_KEY parameter, a log group). Then each side converges the
SAME Fargate task definition and service (bench/ecs_modules/definition.yml) through its own
modules (bench/ecs_modules/ours.yml: notejam.aws.ecs_taskdefinition + ecs_service;
bench/ecs_modules/theirs.yml: community.aws.ecs_taskdefinition + ecs_service): a first run, then
``--runs`` no-op re-runs, the sides alternating (ours, theirs, ours, ...) so the machine's noise
hits both. Each run records its wall time, the AWS API calls the emulator saw (reset between
runs), ``changed`` from the play recap and how many task definition revisions it registered.

After the timed runs, each side gets the same one-change probes (a container environment value,
the task size, the circuit breaker's rollback, the security group; then a health check that
leaves its timings to AWS, run twice): for each, whether the module reported a change and
whether AWS holds the wanted value afterwards, read back with boto3.

Writes a Markdown report to ``--out`` (and stdout). Everything above the ``<!-- notes -->``
marker is rewritten; what follows it (the hand-written reading of the figures) is kept. Not a
test: the figures depend on the machine and its load, which the report records.
"""

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.machine import describe  # noqa: E402
from tests.emulator.ctl import Emulator, apply_client_env  # noqa: E402
from tests.integration.conftest import RECAP  # noqa: E402

# A line of the profile_tasks callback's TASKS RECAP (ansible.cfg enables it): "<task name> ---- 1.23s".
TASK_TIME = re.compile(r"^(.+?) -{3,} (\d+\.\d+)s$", re.M)

PLAYBOOKS = REPO / "bench" / "ecs_modules"
REGION = "eu-west-1"
NOTES_MARKER = "<!-- notes -->"
# Each run's ansible-playbook output, for reading what a module did or why it failed.
LOGS = REPO / ".run" / "bench-ecs"
SIDES = {
    "ours": ("notejam.aws", "ours.yml"),
    "theirs": ("community.aws", "theirs.yml"),
}
HEALTH_CHECK_COMMAND = [
    "CMD",
    "python",
    "-c",
    "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')",
]


# --- prerequisites ------------------------------------------------------------------------------
def create_prerequisites(session, side, index):
    """What both modules take as given, created once per side; returns the playbook's variables."""
    ec2 = session.client("ec2")
    name = f"notejam-bench-{side}"
    vpc = ec2.create_vpc(CidrBlock=f"10.{90 + index}.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{90 + index}.{i}.0/24", AvailabilityZone=f"{REGION}{az}")[
            "Subnet"
        ]["SubnetId"]
        for i, az in enumerate("ab", start=1)
    ]
    groups = [
        ec2.create_security_group(GroupName=f"{name}-{suffix}", Description=f"bench {suffix}", VpcId=vpc)[
            "GroupId"
        ]
        for suffix in ("app", "app-alt")
    ]
    iam = session.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName=f"{name}-execution", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    secret = session.client("secretsmanager").create_secret(
        Name=f"{name}-db", SecretString=json.dumps({"username": "notejam", "password": "bench-not-secret"})
    )["ARN"]
    ssm = session.client("ssm")
    parameter = f"/notejam/bench-{side}/secret_key"
    ssm.put_parameter(Name=parameter, Type="SecureString", Value="bench-not-secret")
    parameter_arn = ssm.get_parameter(Name=parameter)["Parameter"]["ARN"]
    log_group = f"/notejam/bench-{side}/app"
    session.client("logs").create_log_group(logGroupName=log_group)
    elb = session.client("elbv2")
    alb = elb.create_load_balancer(Name=f"{name}-alb", Subnets=subnets, SecurityGroups=groups[:1])
    alb_arn = alb["LoadBalancers"][0]["LoadBalancerArn"]
    target_group = elb.create_target_group(
        Name=f"{name}-app", Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="ip", HealthCheckPath="/readyz"
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.create_listener(
        LoadBalancerArn=alb_arn,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group}],
    )
    cluster = session.client("ecs").create_cluster(clusterName=f"{name}-cluster")["cluster"]["clusterName"]
    return {
        "ansible_python_interpreter": str(REPO / ".venv" / "bin" / "python"),
        "bench_region": REGION,
        "bench_family": f"{name}-app",
        "bench_service": f"{name}-app",
        "bench_cluster": cluster,
        "bench_image": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/notejam-bench-app:1.4.2",
        "bench_subnet_ids": subnets,
        "bench_sg_id": groups[0],
        "bench_alt_sg_id": groups[1],
        "bench_execution_role_arn": role,
        "bench_db_secret_arn": secret,
        "bench_secret_key_parameter_arn": parameter_arn,
        "bench_log_group": log_group,
        "bench_target_group_arn": target_group,
    }


# --- one run ------------------------------------------------------------------------------------
class Run:
    """One ansible-playbook run of one side: time, recap, API calls, revisions registered."""

    def __init__(self, side, label, elapsed, cpu, returncode, output, calls):
        self.side, self.label, self.elapsed, self.cpu, self.returncode = side, label, elapsed, cpu, returncode
        self.calls = calls
        recaps = list(RECAP.finditer(output))
        self.changed = sum(int(m.group(3)) for m in recaps) if recaps else None
        self.failed = returncode != 0 or any(int(m.group(5)) for m in recaps)
        self.registered = calls["calls"].get("ecs:RegisterTaskDefinition", 0)
        self.error = first_failure(output) if self.failed else ""
        times = {name: float(seconds) for name, seconds in TASK_TIME.findall(output)}
        self.taskdef_time = next((t for name, t in times.items() if name.startswith("Task definition")), None)
        self.service_time = next((t for name, t in times.items() if name.startswith("Service")), None)


def first_failure(output):
    """The first failed task's message, on one line, for the report."""
    for line in output.splitlines():
        if line.startswith(("fatal:", "failed:")) or '"msg":' in line or line.strip().startswith("msg:"):
            text = line.split("msg", 1)[-1].lstrip("\":' ").rstrip("\"',} ")
            return text[:300] or line[:300]
    return "\n".join(output.splitlines()[-5:])[:300]


def run_side(side, label, env, variables_file, emulator, extra=None):
    """Run one side's playbook once; its output goes to LOGS/<side> <label>.log."""
    emulator.reset_calls()
    command = [
        str(REPO / ".venv" / "bin" / "ansible-playbook"),
        str(PLAYBOOKS / SIDES[side][1]),
        "-i",
        "localhost,",
        "-e",
        f"@{variables_file}",
    ]
    if extra:
        command += ["-e", json.dumps(extra)]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
    output = proc.stdout + proc.stderr
    LOGS.mkdir(parents=True, exist_ok=True)
    (LOGS / f"{side} {label.replace(':', '').replace('/', ' ')}.log").write_text(output)
    run = Run(side, label, elapsed, cpu, proc.returncode, output, emulator.calls())
    status = "FAILED: " + run.error if run.failed else f"changed={run.changed}"
    print(
        f"  {side:<6} {label:<34} {elapsed:5.1f} s ({cpu:4.1f} s CPU) {run.calls['total']:>3} calls "
        f"{run.calls['writes']:>2} writes  {status}",
        file=sys.stderr,
    )
    return run


# --- probes: one change each, then read back what AWS holds ------------------------------------
def running_definition(session, variables):
    ecs = session.client("ecs")
    service = ecs.describe_services(
        cluster=variables["bench_cluster"], services=[variables["bench_service"]]
    )["services"][0]
    td = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    return service, td


def env_value(td, name):
    environment = td["containerDefinitions"][0].get("environment", [])
    return next((e["value"] for e in environment if e["name"] == name), None)


def holds_db_name(service, td, variables):
    return env_value(td, "DB_NAME") == "notejam_v2"


def holds_task_size(service, td, variables):
    return td.get("cpu") == "1024" and td.get("memory") == "2048"


def holds_no_rollback(service, td, variables):
    breaker = service.get("deploymentConfiguration", {}).get("deploymentCircuitBreaker", {})
    return breaker.get("rollback") is False


def holds_alt_security_group(service, td, variables):
    groups = service["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"]
    return groups == [variables["bench_alt_sg_id"]]


def scale_out_of_band(session, variables):
    """What Application Auto Scaling does at a peak: the service's desired count goes 2 -> 4."""
    session.client("ecs").update_service(
        cluster=variables["bench_cluster"], service=variables["bench_service"], desiredCount=4
    )


def holds_scaled_count(service, td, variables):
    return service["desiredCount"] == 4


# Each probe: (label, extra vars, what AWS must hold afterwards, what happens before the run).
# They apply cumulatively in this order, so each one changes exactly one thing against the run
# before it.
PROBES = [
    ("container environment value (DB_NAME)", {"bench_db_name": "notejam_v2"}, holds_db_name, None),
    (
        "task size 512/1024 to 1024/2048",
        {"bench_task_cpu": "1024", "bench_task_memory": "2048"},
        holds_task_size,
        None,
    ),
    (
        "circuit breaker rollback true to false",
        {"bench_circuit_breaker_rollback": False},
        holds_no_rollback,
        None,
    ),
    (
        "security group replaced",
        {"bench_security_groups": ["{{ bench_alt_sg_id }}"]},
        holds_alt_security_group,
        None,
    ),
    ("none; autoscaling moved the desired count 2 to 4 (kept?)", {}, holds_scaled_count, scale_out_of_band),
]
# Then the health check written without its timings (AWS fills in interval 30, timeout 5,
# retries 3): applied once, then re-run; the re-run is a no-op that must register nothing.
HEALTH_CHECK_PROBE = {"bench_health_check": {"command": HEALTH_CHECK_COMMAND}}


# A no-op re-run that names the service's task definition the other way than the side's
# documentation does (notejam.aws: family:revision instead of the ARN; community.aws: the ARN
# instead of family:revision). Not kept for the probes after it.
OTHER_SPELLING = {"ours": "family_revision", "theirs": "arn"}


# A family that has seen deploys: this many older revisions (earlier image tags) before the wanted one.
HISTORY = 20


def deploy_history(session, variables):
    """Register HISTORY revisions of a new family, copies of the side's definition with earlier
    image tags (what a season of deploys leaves behind); returns the extra vars that converge that
    family and a service of its own."""
    ecs = session.client("ecs")
    td = ecs.describe_task_definition(taskDefinition=f"{variables['bench_family']}:1")["taskDefinition"]
    family = f"{variables['bench_family']}-history"
    keep = (
        "containerDefinitions",
        "executionRoleArn",
        "networkMode",
        "requiresCompatibilities",
        "cpu",
        "memory",
    )
    request = {key: td[key] for key in keep if key in td}
    for i in range(HISTORY):
        container = dict(
            td["containerDefinitions"][0], image=variables["bench_image"].replace(":1.4.2", f":1.3.{i}")
        )
        ecs.register_task_definition(family=family, **dict(request, containerDefinitions=[container]))
    return {"bench_family": family, "bench_service": f"{variables['bench_service']}-history"}


def run_probes(sides, env, emulator, session, variables, files):
    results = {side: [] for side in sides}
    for side in sides:
        spelling = {"bench_task_definition_by": OTHER_SPELLING[side]}
        run = run_side(side, "probe: task definition spelled otherwise", env, files[side], emulator, spelling)
        results[side].append(("no-op re-run, task_definition spelled the other way", run, None))
    history = {side: deploy_history(session, variables[side]) for side in sides}
    for side in sides:
        run_side(side, "probe: history family, first run", env, files[side], emulator, history[side])
    for side in sides:
        run = run_side(side, "probe: history family, no-op re-run", env, files[side], emulator, history[side])
        results[side].append((f"no-op re-run, family with {HISTORY} older revisions", run, None))
    extra = {}
    for label, change, expectation, before in PROBES:
        extra = {**extra, **change}
        for side in sides:
            if before:
                before(session, variables[side])
            run = run_side(side, f"probe: {label}", env, files[side], emulator, extra)
            held = None
            if not run.failed:
                service, td = running_definition(session, variables[side])
                held = expectation(service, td, variables[side])
            results[side].append((label, run, held))
    extra = {**extra, **HEALTH_CHECK_PROBE}
    for side in sides:
        run_side(side, "probe: health check without timings, first", env, files[side], emulator, extra)
    for side in sides:
        run = run_side(side, "probe: health check without timings, no-op", env, files[side], emulator, extra)
        results[side].append(("no-op re-run, health check timings left to AWS", run, None))
    return results


# --- report -------------------------------------------------------------------------------------
def machine():
    return describe(load=False)


def versions():
    found = {}
    for name in ("amazon/aws", "community/aws"):
        manifest = Path(boto3.__file__).parents[1] / "ansible_collections" / name / "MANIFEST.json"
        try:
            found[name.replace("/", ".")] = json.loads(manifest.read_text())["collection_info"]["version"]
        except (OSError, KeyError, ValueError):
            found[name.replace("/", ".")] = "?"
    core = subprocess.run(  # noqa: S603
        [str(REPO / ".venv" / "bin" / "ansible"), "--version"], capture_output=True, text=True, check=False
    ).stdout.split("\n", 1)[0]
    return core.replace("ansible [core ", "ansible-core ").rstrip("]"), found


def seconds(value):
    return "—" if value is None else f"{value:.1f}"


def cell_changed(run):
    return "failed" if run.failed else str(run.changed)


def cell_revision(run):
    if run.failed:
        return "—"
    return "**yes**" if run.registered else "no"


def report(args, runs, probes, load_start, load_end, started):
    core, collections = versions()
    lines = [
        "# ECS modules side by side: notejam.aws against community.aws",
        "",
        f"- Command: `make bench-ecs` (`python bench/ecs_modules.py --runs {args.runs}"
        f"{' --out ' + args.out if args.out else ''}`)",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {machine()}",
        f"- Load average (1 min) at the start: {load_start:.2f}, at the end: {load_end:.2f}",
        f"- Versions: {core}, community.aws {collections['community.aws']}, amazon.aws "
        f"{collections['amazon.aws']}, botocore {boto3.__version__.split()[0]} (boto3), against the "
        "emulator (moto 5.2.5 + tests/emulator fixes)",
        "- Definition (both sides, `bench/ecs_modules/definition.yml`): Fargate, awsvpc, 512 CPU / "
        "1024 MiB, one container with a port mapping, 4 environment values, 2 secrets (a Secrets "
        "Manager JSON key and an SSM SecureString), a health check with its timings, awslogs, read-only "
        "root filesystem, user, stop timeout. Service: 2 tasks in two subnets, one security group, no "
        "public IP, behind an ip target group, deployment 100/200 % with circuit breaker and rollback, "
        "health check grace period 60 s, tags propagated from the service, 3 tags.",
        "",
        "## First run and no-op re-runs",
        "",
        "Sides alternate run by run (ours, theirs, ours, ...). Wall time is the whole ansible-playbook "
        "process; CPU time is the user + system time of that process and the module processes it "
        "started (the emulator's excluded), less sensitive to the machine's load; the two task "
        "columns are the profile_tasks callback's wall time for each module (a fresh Python process "
        "importing botocore and the module's imports, then its API calls). API calls are "
        "counted at the emulator and reset before each run; a write is any call whose name does not "
        "start with Describe/List/Get/...",
        "",
        "| modules | run | wall time (s) | CPU time (s) | task definition task (s) | service task (s) "
        "| changed | API calls | of which writes | new task definition revision |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for side in SIDES:
        for run in runs[side]:
            lines.append(
                f"| {SIDES[side][0]} | {run.label} | {run.elapsed:.1f} | {run.cpu:.1f} | "
                f"{seconds(run.taskdef_time)} | {seconds(run.service_time)} | {cell_changed(run)} | "
                f"{run.calls['total']} | {run.calls['writes']} | {cell_revision(run)} |"
            )
    lines += ["", "Headline (no-op: median of the re-runs; calls and changed: the last re-run):", ""]
    lines += headline(runs)
    lines += ["", "API calls by operation, first run and last no-op re-run:", ""]
    columns = [(side, 0, "first run") for side in SIDES] + [(side, -1, "no-op") for side in SIDES]
    lines.append("| operation | " + " | ".join(f"{SIDES[s][0]} {label}" for s, _, label in columns) + " |")
    lines.append("|---|" + "---|" * len(columns))
    counts = [runs[side][i].calls["calls"] for side, i, _ in columns]
    operations = sorted(set().union(*counts), key=lambda op: (-sum(c.get(op, 0) for c in counts), op))
    for op in operations:
        lines.append(f"| {op} | " + " | ".join(str(c.get(op, 0)) for c in counts) + " |")
    failures = [run for side in SIDES for run in runs[side] if run.failed]
    if failures:
        lines += ["", "Failures, as the module reported them:", ""]
        lines += [f"- {SIDES[run.side][0]}, {run.label}: `{run.error}`" for run in failures]
    if probes:
        lines += probe_table(probes)
    return "\n".join(lines) + "\n"


def headline(runs):
    lines = [
        "| modules | first run (s) | first run CPU (s) | first run calls / writes | no-op median (s) "
        "| no-op median CPU (s) | no-op calls / writes | no-op changed | no-op registers a revision |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for side in SIDES:
        first, noops = runs[side][0], runs[side][1:]
        median = statistics.median(r.elapsed for r in noops)
        median_cpu = statistics.median(r.cpu for r in noops)
        last = noops[-1]
        registering = sum(1 for r in noops if r.registered)
        lines.append(
            f"| {SIDES[side][0]} | {first.elapsed:.1f} | {first.cpu:.1f} | "
            f"{first.calls['total']} / {first.calls['writes']} | {median:.1f} | {median_cpu:.1f} | "
            f"{last.calls['total']} / {last.calls['writes']} | {cell_changed(last)} | "
            f"{'**yes**' if registering else 'no'} ({registering} of {len(noops)} re-runs) |"
        )
    return lines


def probe_table(probes):
    lines = [
        "",
        "## One change at a time: is it detected, and does AWS hold it afterwards?",
        "",
        "Run once per side, ours then theirs, after the runs above. The first row is a no-op re-run "
        "that names the task definition the other way than the module's documentation (notejam.aws: "
        "`family:revision` instead of the ARN; community.aws: the ARN instead of `family:revision`). "
        f"The second is the no-op re-run of a new family that already holds {HISTORY} older revisions "
        "(the same definition with earlier image tags, as deploys leave them) and a service of its own. "
        "The change rows in between each change one value against the run before them (cumulatively, "
        "in this order); `held` is read back from AWS with boto3 after the run (the service's task "
        "definition and configuration). The last row re-runs the definition whose health check gives "
        "only its command, AWS filling in interval 30, timeout 5, retries 3 (applied by a run before "
        "it): a no-op that must register nothing. Calls are the run's total API calls, writes in "
        "brackets.",
        "",
        "| change | "
        + " | ".join(f"{SIDES[s][0]}: changed / new revision / held / calls (writes)" for s in SIDES)
        + " |",
        "|---|" + "---|" * len(SIDES),
    ]
    for i, (label, _, _) in enumerate(probes[next(iter(SIDES))]):
        cells = []
        for side in SIDES:
            _, run, held = probes[side][i]
            if run.failed:
                cells.append(f"failed: `{run.error[:120]}`")
                continue
            held_text = "—" if held is None else ("yes" if held else "**no**")
            cells.append(
                f"{run.changed} / {'yes' if run.registered else 'no'} / {held_text} / "
                f"{run.calls['total']} ({run.calls['writes']})"
            )
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def write_report(path, text):
    out = Path(path)
    existing = out.read_text() if out.exists() else ""
    notes = existing.split(NOTES_MARKER, 1)[1] if NOTES_MARKER in existing else "\n"
    out.write_text(text + "\n" + NOTES_MARKER + notes)


# --- main ---------------------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3, help="no-op re-runs per side (default 3)")
    parser.add_argument("--out", default=None, help="Markdown report to write (notes below the marker kept)")
    parser.add_argument("--no-probes", action="store_true", help="only the timed runs")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be 1 or more")

    started = datetime.now(UTC)
    load_start = os.getloadavg()[0]
    emulator = Emulator.spawn(port=0)
    try:
        env = apply_client_env(dict(os.environ), emulator.url)
        env.update(
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_NOCOLOR="1",
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
        )
        # boto3 in this process (prerequisites, read-backs) talks to the same emulator, and only to it.
        apply_client_env(os.environ, emulator.url)
        session = boto3.session.Session(region_name=REGION)
        with tempfile.TemporaryDirectory(prefix="bench-ecs-") as tmp:
            variables, files = {}, {}
            for index, side in enumerate(SIDES):
                variables[side] = create_prerequisites(session, side, index)
                files[side] = Path(tmp) / f"{side}.json"
                files[side].write_text(json.dumps(variables[side]))
            runs = {side: [] for side in SIDES}
            labels = ["first run"] + [f"no-op re-run {i}" for i in range(1, args.runs + 1)]
            for label in labels:
                for side in SIDES:
                    runs[side].append(run_side(side, label, env, files[side], emulator))
            probes = None
            if not args.no_probes:
                probes = run_probes(list(SIDES), env, emulator, session, variables, files)
    finally:
        emulator.stop()
    text = report(args, runs, probes, load_start, os.getloadavg()[0], started)
    print(text)
    if args.out:
        write_report(args.out, text)


if __name__ == "__main__":
    main()
