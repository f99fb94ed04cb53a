"""`make audit`: the dependency audit (pip-audit) and the static security lint (bandit), with our policy.

Run with the audit tools' interpreter (.venv/audit/bin/python, built from requirements-audit.txt):

    audit.py deps --requirement notejam/requirements.lock --requirement requirements.txt
    audit.py bandit notejam/notejam plugins

Policy (README "Security"; mk/audit-ignore.toml):

- deps: every known advisory against a dependency we ship fails the audit. Neither the PyPI
  service nor pip-audit's OSV output carries a severity we could rank by, so every advisory
  counts as "high" until someone has read it; one that does not apply to us (or has no fix yet)
  is recorded in mk/audit-ignore.toml with its id, the package, the reason and an expiry date at
  most IGNORE_MAX_DAYS ahead. An expired or malformed entry fails the audit, as does an advisory
  database that cannot be reached, or a package pip-audit could not look up: the audit never
  reports a pass it did not make. Before auditing, a probe asks the database for a release with
  long-published advisories (jinja2 2.10): a mirror or proxy that answers without them counts
  as unreachable. AUDIT_SERVICE (osv or pypi) and AUDIT_OSV_URL choose the database.
- bandit: fails on any finding of high severity with medium or high confidence, and on any file
  bandit could not scan; findings below that are listed, not failed on.

Exit status: 0 pass, 1 findings (or an expired/malformed ignore), 2 a tool failed,
3 the vulnerability database could not be reached (the audit did not run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

EXIT_PASS, EXIT_FINDINGS, EXIT_TOOL, EXIT_UNREACHABLE = 0, 1, 2, 3
IGNORE_MAX_DAYS = 180
OSV_URL = "https://api.osv.dev/v1/query"
PYPI_URL = "https://pypi.org"
# A release with long-published advisories: the probe that tells "the database answers" from
# "something answered" (a mirror that serves package pages but not the per-version JSON, a captive
# proxy). Both services list PYSEC-2019-217 (CVE-2019-10906) for it.
PROBE_PACKAGE, PROBE_VERSION = "jinja2", "2.10"
BANDIT_FAIL_SEVERITY = {"HIGH"}
BANDIT_FAIL_CONFIDENCE = {"MEDIUM", "HIGH"}


def say(message: str) -> None:
    print(f"audit: {message}", flush=True)


# --- the ignore file ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Ignore:
    id: str
    package: str
    reason: str
    expires: dt.date


def load_ignores(path: Path, today: dt.date) -> tuple[list[Ignore], list[str]]:
    """The entries in force, and the problems that fail the audit (expired, malformed)."""
    if not path.exists():
        return [], []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        return [], [f"{path}: not valid TOML: {exc}"]
    entries, problems = [], []
    for n, raw in enumerate(data.get("ignore", []), 1):
        where = f"{path} entry {n} ({raw.get('id', 'no id')})"
        missing = [key for key in ("id", "package", "reason", "expires") if not raw.get(key)]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        expires = raw["expires"]
        if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
            problems.append(f"{where}: expires must be a TOML date (YYYY-MM-DD), not {expires!r}")
            continue
        if expires < today:
            problems.append(f"{where}: expired on {expires}; review the advisory again, then renew or remove")
            continue
        if (expires - today).days > IGNORE_MAX_DAYS:
            problems.append(f"{where}: expires {expires}, more than {IGNORE_MAX_DAYS} days ahead")
            continue
        entries.append(Ignore(str(raw["id"]), canonical(str(raw["package"])), str(raw["reason"]), expires))
    return entries, problems


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


# --- the vulnerability database ---------------------------------------------------------------
def probe(service: str, osv_url: str, timeout: float) -> str | None:
    """None when the service answers with the advisories it is known to hold, else the cause."""
    url = osv_url if service == "osv" else f"{PYPI_URL}/pypi/{PROBE_PACKAGE}/{PROBE_VERSION}/json"
    if not url.startswith(("https://", "http://")):
        return f"{url}: not an http(s) URL"
    # http(s) only, checked above (S310)
    if service == "osv":
        body = json.dumps({"package": {"name": PROBE_PACKAGE, "ecosystem": "PyPI"}, "version": PROBE_VERSION})
        headers = {"Content-Type": "application/json"}
        request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310
        key = "vulns"
    else:
        request = urllib.request.Request(url)  # noqa: S310
        key = "vulnerabilities"
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return f"{url} answered HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return f"{url}: {getattr(exc, 'reason', exc)}"
    except ValueError:
        return f"{url} answered something that is not JSON"
    if not answer.get(key):
        return f"{url} answered, but lists no advisory for {PROBE_PACKAGE} {PROBE_VERSION}, which has some"
    return None


def unreachable(service: str, cause: str) -> int:
    say(f"the vulnerability database cannot be reached ({service}): {cause}")
    say("the dependency audit did NOT run; this is not a pass.")
    say("run `make audit` where the service is reachable (see README, Security).")
    return EXIT_UNREACHABLE


# --- pip-audit ------------------------------------------------------------------------------------
def run_pip_audit(label: str, source_args: list[str], args: argparse.Namespace) -> tuple[int, list[dict]]:
    """pip-audit on one source: (EXIT_PASS, dependencies) or a failure status."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [
            args.pip_audit,
            "--progress-spinner",
            "off",
            "--format",
            "json",
            "--output",
            str(report),
            "--vulnerability-service",
            args.service,
            "--timeout",
            str(int(args.timeout)),
            *source_args,
        ]
        if args.service == "osv":
            command += ["--osv-url", args.osv_url]
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if report.exists() and report.stat().st_size:
            return EXIT_PASS, json.loads(report.read_text())["dependencies"]
    stderr = result.stderr.strip()
    network = (
        "ConnectionError",
        "NameResolutionError",
        "Max retries exceeded",
        "Could not connect",
        "not found on PyPI and could not be audited",
        "Read timed out",
        "ConnectTimeout",
    )
    if any(marker in stderr for marker in network):
        line = next((ln for ln in reversed(stderr.splitlines()) if any(m in ln for m in network)), stderr)
        return unreachable(args.service, f"pip-audit on {label}: {line.strip()}"), []
    say(f"pip-audit failed on {label} (exit {result.returncode}):")
    print("\n".join(stderr.splitlines()[-15:]), file=sys.stderr)
    return EXIT_TOOL, []


def deps(args: argparse.Namespace) -> int:
    today = dt.date.fromisoformat(args.today) if args.today else dt.datetime.now(dt.UTC).date()
    ignores, problems = load_ignores(Path(args.ignore_file), today)
    cause = probe(args.service, args.osv_url, args.timeout)
    if cause:
        for problem in problems:
            say(f"IGNORE FILE: {problem}")
        return unreachable(args.service, cause)
    # A hash-locked file is audited as it is (--disable-pip: no resolution, every pin with its
    # hashes); any other file is resolved by pip (a dry run in a scratch venv) so that the packages
    # its pins bring are audited too; --no-deps audits a pinned file's own pins only.
    sources = []
    for req in args.requirement:
        if args.no_deps:
            sources.append((req, ["--requirement", req, "--no-deps", "--disable-pip"]))
        elif "--hash=" in Path(req).read_text(encoding="utf-8"):
            sources.append((req, ["--requirement", req, "--disable-pip"]))
        else:
            sources.append((req, ["--requirement", req]))
    failed, used, findings, audited = EXIT_PASS, set(), [], 0
    for label, source_args in sources:
        status, dependencies = run_pip_audit(label, source_args, args)
        if status != EXIT_PASS:
            return status
        queried = [dep for dep in dependencies if "skip_reason" not in dep]
        audited += len(queried)
        for dep in dependencies:
            if "skip_reason" in dep:  # a package that could not be audited fails the audit
                say(f"{label}: {dep['name']} NOT AUDITED: {dep['skip_reason']}")
                failed = EXIT_FINDINGS
                continue
            for vuln in dep.get("vulns", []):
                ids = {vuln["id"], *vuln.get("aliases", [])}
                match = next(
                    (i for i in ignores if i.id in ids and i.package == canonical(dep["name"])), None
                )
                if match:
                    used.add(match)
                    what = f"{dep['name']} {dep['version']} {vuln['id']}"
                    say(f"ignored {what}: {match.reason} (until {match.expires})")
                    continue
                findings.append((label, dep, vuln))
        say(f"{label}: {len(queried)} packages audited")
    for label, dep, vuln in findings:
        aliases = ", ".join(sorted(a for a in vuln.get("aliases", []) if a != vuln["id"]))
        fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed release"
        say(
            f"VULNERABLE {dep['name']}=={dep['version']} ({label}): {vuln['id']}"
            f"{f' ({aliases})' if aliases else ''}; fixed in {fixes}"
        )
        if vuln.get("description") not in (None, "", "N/A"):
            print(f"      {vuln['description'][:300]}")
    for entry in sorted(set(ignores) - used, key=lambda i: i.id):
        say(f"note: ignore {entry.id} ({entry.package}) matched nothing; remove it from {args.ignore_file}")
    for problem in problems:
        say(f"IGNORE FILE: {problem}")
    if findings or problems or failed:
        counts = f"{len(findings)} known vulnerabilities, {len(problems)} ignore-file problems"
        say(f"dependency audit FAILED: {counts}")
        return EXIT_FINDINGS
    say(f"dependency audit passed: no known vulnerability in {audited} packages ({args.service} database)")
    return EXIT_PASS


# --- bandit ---------------------------------------------------------------------------------------
def bandit(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "bandit.json"
        command = [args.bandit, "--recursive", "--format", "json", "--output", str(report), "--quiet"]
        if args.config:
            command += ["--configfile", args.config]
        result = subprocess.run([*command, *args.paths], capture_output=True, text=True, check=False)  # noqa: S603
        if not report.exists() or not report.stat().st_size:
            say(f"bandit failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}")
            return EXIT_TOOL
        data = json.loads(report.read_text())
    failing, below = [], []
    for issue in data.get("results", []):
        where = f"{issue['filename']}:{issue['line_number']}"
        text = (
            f"{where}: {issue['test_id']} {issue['test_name']} (severity {issue['issue_severity'].lower()}, "
            f"confidence {issue['issue_confidence'].lower()}): {issue['issue_text']}"
        )
        fails = (
            issue["issue_severity"] in BANDIT_FAIL_SEVERITY
            and issue["issue_confidence"] in BANDIT_FAIL_CONFIDENCE
        )
        (failing if fails else below).append(text)
    for text in below:
        say(f"below the bar: {text}")
    for text in failing:
        say(f"FINDING {text}")
    errors = [f"{e['filename']}: {e['reason']}" for e in data.get("errors", [])]
    for error in errors:
        say(f"bandit could not scan {error}")
    scanned = data.get("metrics", {}).get("_totals", {}).get("loc", 0)
    if failing or errors:
        counts = f"{len(failing)} high-severity findings, {len(errors)} files not scanned"
        say(f"static security lint FAILED: {counts}")
        return EXIT_FINDINGS
    say(
        f"static security lint passed: {scanned} lines in {' '.join(args.paths)}, no high-severity finding "
        f"({len(below)} below the bar)"
    )
    return EXIT_PASS


def main(argv: list[str] | None = None) -> int:
    tools = Path(sys.executable).parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("deps", help="pip-audit over pinned requirement files")
    d.add_argument("--requirement", "-r", action="append", default=[], help="a pinned requirements file")
    d.add_argument("--no-deps", action="store_true", help="requirement files are pinned but not hash-locked")
    d.add_argument("--service", choices=("osv", "pypi"), default=os.environ.get("AUDIT_SERVICE", "osv"))
    d.add_argument("--osv-url", default=os.environ.get("AUDIT_OSV_URL", OSV_URL))
    d.add_argument("--ignore-file", default=str(Path(__file__).with_name("audit-ignore.toml")))
    d.add_argument("--timeout", type=float, default=15.0)
    d.add_argument("--today", help=argparse.SUPPRESS)
    d.add_argument("--pip-audit", default=str(tools / "pip-audit"))
    d.set_defaults(func=deps)
    b = sub.add_parser("bandit", help="bandit over source trees")
    b.add_argument("paths", nargs="+")
    b.add_argument("--config", help="bandit configuration (pyproject.toml with [tool.bandit])")
    b.add_argument("--bandit", default=str(tools / "bandit"))
    b.set_defaults(func=bandit)
    args = parser.parse_args(argv)
    if args.command == "deps" and not args.requirement:
        parser.error("deps: give at least one --requirement")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
