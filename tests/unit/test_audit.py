"""`make audit` fails when it should: mk/audit.py's dependency audit (pip-audit) and static lint (bandit).

The dependency half is tested twice: against a stand-in for the OSV API on 127.0.0.1 (so the
policy, the ignore file and the "database unreachable" path are tested on every run, offline), and
against the real vulnerability database, which is skipped, saying why, only when that database
cannot be reached from here. The tools come from the audit venv (`make audit-tools`).
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
AUDIT = ROOT / "mk" / "audit.py"
AUDIT_PYTHON = ROOT / ".venv" / "audit" / "bin" / "python"

# OSV's record of CVE-2019-10906 (sandbox escape in Jinja2's str.format), as the PyPA advisory
# database publishes it: the stand-in answers with it, the real database must too.
JINJA_ADVISORY = {
    "id": "PYSEC-2019-217",
    "aliases": ["CVE-2019-10906", "GHSA-462w-v97r-4m45"],
    "summary": "In Pallets Jinja before 2.10.1, str.format_map allows a sandbox escape.",
    "affected": [
        {
            "package": {"name": "jinja2", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.1"}]}],
        }
    ],
}


@pytest.fixture(scope="module")
def audit_tools():
    """The audit venv, built by the project's own target (a no-op once it is current)."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "audit-tools"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"make audit-tools failed:\n{result.stdout}\n{result.stderr}"
    assert AUDIT_PYTHON.exists()
    return AUDIT_PYTHON


def audit(tools: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(tools), str(AUDIT), *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


# --- bandit ----------------------------------------------------------------------------------------
def test_bandit_fails_on_a_high_severity_finding(audit_tools, tmp_path):
    (tmp_path / "clean.py").write_text("def add(a, b):\n    return a + b\n")
    bad = tmp_path / "run.py"
    bad.write_text(
        "import subprocess\n\n\ndef run(command):\n    return subprocess.call(command, shell=True)\n"
    )
    result = audit(audit_tools, "bandit", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FINDING {bad}:5: B602" in result.stdout
    assert "static security lint FAILED: 1 high-severity findings" in result.stdout


def test_bandit_lists_but_passes_findings_below_high_severity(audit_tools, tmp_path):
    medium = tmp_path / "load.py"
    medium.write_text("import yaml\n\n\ndef load(text):\n    return yaml.load(text)\n")
    result = audit(audit_tools, "bandit", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"below the bar: {medium}:5: B506" in result.stdout
    assert "static security lint passed" in result.stdout


def test_bandit_fails_when_a_file_cannot_be_scanned(audit_tools, tmp_path):
    (tmp_path / "broken.py").write_text("def broken(:\n    pass\n")
    result = audit(audit_tools, "bandit", str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "bandit could not scan" in result.stdout and "broken.py" in result.stdout


def test_the_app_and_the_plugins_have_no_high_severity_finding(audit_tools):
    """`make audit-code` on the real tree: the static half of the audit, gated in CI through this test."""
    result = audit(audit_tools, "bandit", "--config", "pyproject.toml", "notejam/notejam", "plugins")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "static security lint passed" in result.stdout


# --- pip-audit against a stand-in for the OSV API ---------------------------------------------------
class FakeOsv(BaseHTTPRequestHandler):
    advisories: ClassVar[dict[tuple[str, str], list[dict]]] = {}

    def do_POST(self):
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        vulns = self.advisories.get((query["package"]["name"], query["version"]), [])
        body = json.dumps({"vulns": vulns} if vulns else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def osv():
    """A stand-in OSV API on a free loopback port; yields (url, advisories to serve)."""
    advisories = {("jinja2", "2.10"): [JINJA_ADVISORY]}
    handler = type("Handler", (FakeOsv,), {"advisories": advisories})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/query", advisories
    finally:
        server.shutdown()
        server.server_close()


def requirements(tmp_path: Path, *pins: str) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text("".join(f"{pin}\n" for pin in pins))
    return path


def deps(
    tools: Path,
    tmp_path: Path,
    osv_url: str,
    *pins: str,
    ignore: str = "",
    today: str | None = None,
    resolve=False,
):
    ignore_file = tmp_path / "ignore.toml"
    ignore_file.write_text(ignore)
    args = [
        "deps",
        *([] if resolve else ["--no-deps"]),
        "--service",
        "osv",
        "--osv-url",
        osv_url,
        "--ignore-file",
        str(ignore_file),
        "--requirement",
        str(requirements(tmp_path, *pins)),
    ]
    if today:
        args += ["--today", today]
    return audit(tools, *args)


def test_deps_fail_on_a_known_vulnerability(audit_tools, tmp_path, osv):
    url, _ = osv
    result = deps(audit_tools, tmp_path, url, "jinja2==2.10", "itsdangerous==2.2.0")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "VULNERABLE jinja2==2.10" in result.stdout
    assert "PYSEC-2019-217 (CVE-2019-10906, GHSA-462w-v97r-4m45); fixed in 2.10.1" in result.stdout
    assert "dependency audit FAILED: 1 known vulnerabilities" in result.stdout


def test_a_plain_requirements_file_is_resolved_and_what_its_pins_bring_is_audited(audit_tools, tmp_path, osv):
    """requirements.txt as `make audit` audits it: resolved by pip (needs PyPI), so MarkupSafe, which
    Jinja2 brings, is audited too; with --no-deps only the pin itself is."""
    url, _ = osv
    result = deps(audit_tools, tmp_path, url, "jinja2==2.10", resolve=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "requirements.txt: 2 packages audited" in result.stdout
    assert "VULNERABLE jinja2==2.10" in result.stdout
    result = deps(audit_tools, tmp_path, url, "jinja2==2.10")
    assert "requirements.txt: 1 packages audited" in result.stdout


def test_deps_pass_when_no_pin_has_an_advisory(audit_tools, tmp_path, osv):
    url, _ = osv
    result = deps(audit_tools, tmp_path, url, "jinja2==3.1.6", "itsdangerous==2.2.0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dependency audit passed: no known vulnerability in 2 packages" in result.stdout


def ignore_entry(expires: dt.date, advisory: str = "CVE-2019-10906", package: str = "Jinja2") -> str:
    return (
        f'[[ignore]]\nid = "{advisory}"\npackage = "{package}"\n'
        f'reason = "sandbox not used"\nexpires = {expires.isoformat()}\n'
    )


def test_an_ignore_with_a_reason_and_expiry_silences_that_advisory_only(audit_tools, tmp_path, osv):
    url, _ = osv
    today = dt.date(2026, 12, 1)
    result = deps(
        audit_tools,
        tmp_path,
        url,
        "jinja2==2.10",
        ignore=ignore_entry(today + dt.timedelta(days=30)),
        today=today.isoformat(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ignored jinja2 2.10 PYSEC-2019-217: sandbox not used (until 2026-12-31)" in result.stdout

    other_package = ignore_entry(today + dt.timedelta(days=30), package="markupsafe")
    result = deps(audit_tools, tmp_path, url, "jinja2==2.10", ignore=other_package, today=today.isoformat())
    assert result.returncode == 1, result.stdout + result.stderr
    assert "matched nothing" in result.stdout


@pytest.mark.parametrize(
    ("expires", "message"),
    [(dt.date(2026, 11, 30), "expired on 2026-11-30"), (dt.date(2027, 12, 1), "more than 180 days ahead")],
)
def test_an_expired_or_open_ended_ignore_fails(audit_tools, tmp_path, osv, expires, message):
    url, _ = osv
    result = deps(
        audit_tools, tmp_path, url, "jinja2==2.10", ignore=ignore_entry(expires), today="2026-12-01"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stdout
    assert "VULNERABLE jinja2==2.10" in result.stdout


def test_an_ignore_without_a_reason_fails(audit_tools, tmp_path, osv):
    url, _ = osv
    entry = '[[ignore]]\nid = "CVE-2019-10906"\npackage = "jinja2"\nexpires = 2026-12-20\n'
    result = deps(audit_tools, tmp_path, url, "itsdangerous==2.2.0", ignore=entry, today="2026-12-01")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "missing reason" in result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_database_is_an_error_naming_the_cause(audit_tools, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1/query"  # nothing listens there
    result = deps(audit_tools, tmp_path, url, "itsdangerous==2.2.0")
    assert result.returncode == 3, result.stdout + result.stderr
    assert (
        f"the vulnerability database cannot be reached (osv): {url}: [Errno 111] Connection refused"
        in result.stdout
    )
    assert "the dependency audit did NOT run; this is not a pass" in result.stdout
    assert "passed" not in result.stdout


def test_a_database_that_answers_without_known_advisories_is_unreachable(audit_tools, tmp_path, osv):
    """A mirror or proxy that answers 200 with nothing in it must not pass the audit."""
    url, advisories = osv
    advisories.clear()
    result = deps(audit_tools, tmp_path, url, "itsdangerous==2.2.0")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "lists no advisory for jinja2 2.10, which has some" in result.stdout


def test_hash_locked_files_are_audited_without_resolution(audit_tools, tmp_path, osv):
    """notejam/requirements.lock as `make audit` audits it (--disable-pip, hashes): every pin queried."""
    url, advisories = osv
    lock = (ROOT / "notejam" / "requirements.lock").read_text()
    pins = [
        line.split(" ")[0].split("==")
        for line in lock.splitlines()
        if "==" in line and not line.startswith("#")
    ]
    name, version = pins[0]
    advisories[(name, version)] = [
        dict(JINJA_ADVISORY, affected=[{"package": {"name": name, "ecosystem": "PyPI"}}])
    ]
    ignore_file = tmp_path / "ignore.toml"
    ignore_file.write_text("")
    result = audit(
        audit_tools,
        "deps",
        "--service",
        "osv",
        "--osv-url",
        url,
        "--ignore-file",
        str(ignore_file),
        "--requirement",
        "notejam/requirements.lock",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"notejam/requirements.lock: {len(pins)} packages audited" in result.stdout
    assert f"VULNERABLE {name}=={version} (notejam/requirements.lock): PYSEC-2019-217" in result.stdout


# --- pip-audit against the real database -------------------------------------------------------------
@pytest.mark.parametrize("service", ["osv", "pypi"])
def test_the_real_database_reports_a_known_vulnerable_pin(audit_tools, tmp_path, service):
    """Needs the network: skipped, with the cause, only when the database cannot be reached."""
    ignore_file = tmp_path / "ignore.toml"
    ignore_file.write_text("")
    result = audit(
        audit_tools,
        "deps",
        "--no-deps",
        "--service",
        service,
        "--ignore-file",
        str(ignore_file),
        "--requirement",
        str(requirements(tmp_path, "jinja2==2.10")),
    )
    if result.returncode == 3:
        cause = next(line for line in result.stdout.splitlines() if "cannot be reached" in line)
        pytest.skip(f"{service} vulnerability database unreachable from here: {cause}")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "VULNERABLE jinja2==2.10" in result.stdout
    assert "CVE-2019-10906" in result.stdout
