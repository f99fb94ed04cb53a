"""Zero failed requests during a rolling deploy and a database restart (issue 15).

Two gunicorn processes of the app (the production settings, notejam/gunicorn.conf.py) sit behind
a local proxy that routes as the ALB's target group does (tests/app/albproxy.py: health checks
on /readyz, fail-open, deregistration with draining, no retries). Signed-in users read and edit
notes through it without pause while:

1. the new version's migration is applied first, as the pipeline's migrate stage does before
   the deploy stage: an additive Alembic revision that exists only in this test (a nullable
   column on ``notes``), run with ``flask db upgrade`` while the old processes serve;
2. each old process is replaced, one at a time, as an ECS rolling deployment does: a new process
   starts and is registered, passes its health checks, then the old one is deregistered
   (drained), gets SIGTERM and must exit, with status 0, within the ECS stop timeout. A request
   held open directly on the old process across its SIGTERM must still be answered;
3. the database server (a private MariaDB of this test's own) is restarted once: SIGTERM, then
   started again on the same port and data.

Every response must be what the user asked for (a page, or the edit form's redirect to the note):
no failed connection, no 5xx, no 502/504 from the proxy, no session lost. p50/p99 are printed.

What the "new version" is: the same code started again after the migration; the code change a
real release brings is not modelled, only the order of migrate, start, drain, stop and the schema
the old code meets. Timings are scaled down (health checks every 0.25 s, deregistration delay
5 s); real ALB and ECS timings are not reproduced.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.app import mixed
from tests.app.albproxy import AlbProxy
from tests.app.conftest import mysql_unavailable
from tests.app.mariadb_server import PrivateMariaDB, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# ECS's stopTimeout for the container (30 s, the default and the task definition's): SIGKILL
# follows SIGTERM after it. gunicorn's graceful_timeout (25 s) must end the process before.
STOP_TIMEOUT = 30.0
# The target group's deregistration delay, scaled down from the ALB's 300 s default.
DEREGISTRATION_DELAY = 5.0
# The database stays down this long after it stopped: about what a small MariaDB takes to
# restart; long enough for the health checks to find every target unready (the ALB fails open).
DATABASE_DOWN = 2.0
USERS, PADS, NOTES = 4, 2, 8
LOAD_THREADS = 4
PAUSE = 0.01  # between one user's requests: the load is bounded, not a benchmark
MIGRATION = '''"""Test-only: the next release's additive migration (tests/app/test_rolling_deploy.py)."""

import sqlalchemy as sa
from alembic import op

revision = "9999_rolling_deploy_test"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("notes", sa.Column("rolling_deploy_marker", sa.String(32), nullable=True))


def downgrade():
    op.drop_column("notes", "rolling_deploy_marker")
'''

pytestmark = pytest.mark.mysql


@dataclass
class Outcome:
    started: float
    latency: float
    kind: str
    status: int
    ok: bool
    target: str
    detail: str = ""


class Load:
    """Signed-in users, one per thread, each reading and editing their notes through the proxy.

    The shares follow the benchmark's mixed workload (bench/app/mixed.lua): 10 % note edits through
    the edit form (POST with the session's CSRF token) followed by the redirect's GET, 35 % all
    notes, 30 % a pad's notes, 25 % a single note. Each thread keeps one keep-alive connection,
    replaced when the proxy closes it.
    """

    def __init__(self, port: int, users: list[mixed.SeededUser]):
        self.port = port
        self.users = users
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(n,), name=f"load-{n}", daemon=True)
            for n in range(LOAD_THREADS)
        ]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=40)

    def _run(self, number: int) -> None:
        user = self.users[number % len(self.users)]
        chooser = random.Random(1500 + number)
        notes = list(user.notes.items())
        pads = list(user.pads)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=40)
        follow: str | None = None
        while not self.stopping.is_set():
            headers = {"Cookie": user.cookie, "User-Agent": "notejam-rolling-deploy-test"}
            body = None
            draw = chooser.random()
            if follow:
                method, path, kind, follow = "GET", follow, "note after edit", None
            elif draw < 0.10:
                note, pad = chooser.choice(notes)
                method, path, kind = "POST", f"/notes/{note}/edit/", "edit"
                body = urllib.parse.urlencode(
                    {
                        "csrf_token": user.csrf,
                        "name": f"Note {note}, edit {chooser.randrange(10**6)}",
                        "text": "Edited during a rolling deploy. " * 4,
                        "pad": str(pad) if pad else "",
                    }
                )
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            elif draw < 0.45:
                method, path, kind = "GET", f"/?order={chooser.choice(['name', '-updated_at'])}", "all notes"
            elif draw < 0.75:
                method, path, kind = "GET", f"/pads/{chooser.choice(pads)}/", "pad notes"
            else:
                method, path, kind = "GET", f"/notes/{chooser.choice(notes)[0]}/", "note"
            started = time.monotonic()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                status, target = response.status, response.getheader("X-Target", "?")
                location = response.getheader("Location", "")
                if kind == "edit":
                    ok = status == 302 and urllib.parse.urlsplit(location).path == f"/notes/{note}/"
                    follow = urllib.parse.urlsplit(location).path if ok else None
                else:
                    ok = status == 200
                detail = "" if ok else f"{method} {path} -> {status} {location} {payload[:200]!r}"
                if response.will_close:
                    connection.close()
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                status, target, ok, detail = 0, "?", False, f"{method} {path}: {error!r}"
            outcome = Outcome(started, time.monotonic() - started, kind, status, ok, target, detail)
            with self.lock:
                self.outcomes.append(outcome)
            time.sleep(PAUSE)
        connection.close()


def app_env(database_url: str, secret_key: str, base_url: str, outbox: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DB_", "NOTEJAM_", "GUNICORN_", "FLASK_")) and k != "DATABASE_URL"
    }
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=secret_key,  # the same in every version: sessions survive the deploy
        NOTEJAM_BASE_URL=base_url,
        NOTEJAM_MAIL_OUTBOX=str(outbox),
        SESSION_COOKIE_SECURE="0",  # plain HTTP on 127.0.0.1
        NOTEJAM_ACCESS_LOG="0",
        WEB_CONCURRENCY="2",
    )
    return env


class Release:
    """One gunicorn process of the app (a task), with the production settings."""

    def __init__(self, name: str, env: dict[str, str], workdir: Path):
        self.name = name
        self.port = free_port()
        self.log = workdir / f"{name}.log"
        command = [str(BIN / "gunicorn"), "-c", str(ROOT / "notejam" / "gunicorn.conf.py")]
        command += ["--bind", f"127.0.0.1:{self.port}", "notejam:create_app()"]
        with open(self.log, "wb") as output:
            # A session of its own: the cleanup kills the master and its workers together.
            self.process = subprocess.Popen(
                command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                assert self.process.poll() is None, self.log.read_text()
                assert time.monotonic() < deadline, f"{self.name} did not listen: {self.log.read_text()}"
                time.sleep(0.1)

    def stop(self) -> tuple[int, float]:
        """SIGTERM as ECS sends it; the exit status and the seconds the process took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()  # what ECS does at the stop timeout
            self.process.wait()
            pytest.fail(f"{self.name} still running {STOP_TIMEOUT} s after SIGTERM: {self.log.read_text()}")
        return status, time.monotonic() - started

    def kill(self) -> None:
        """The cleanup: the master and any worker left, whatever state the test ended in."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


class HeldEdit:
    """A note edit sent straight to one process in two halves: in flight for as long as we like."""

    def __init__(self, port: int, user: mixed.SeededUser):
        self.note, pad = next(iter(user.notes.items()))
        form = {"csrf_token": user.csrf, "name": "Saved across SIGTERM", "text": "in flight at SIGTERM"}
        body = urllib.parse.urlencode({**form, "pad": str(pad) if pad else ""}).encode()
        head = (
            f"POST /notes/{self.note}/edit/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {user.cookie}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        self.rest = body[len(body) // 2 :]
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=STOP_TIMEOUT)
        self.socket.sendall(head + body[: len(body) // 2])

    def finish(self) -> str:
        """Send the rest of the body; the status line and Location of the answer."""
        with self.socket:
            self.socket.sendall(self.rest)
            answer = b""
            while b"\r\n\r\n" not in answer and (chunk := self.socket.recv(65536)):
                answer += chunk
        head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        location = re.search(r"(?im)^location: *(\S+)", head)
        return head.split("\r\n", 1)[0] + (f" -> {location.group(1)}" if location else "")


def run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def migration_head(versions: Path) -> str:
    """The revision no other revision builds on."""
    revisions, parents = set(), set()
    for script in versions.glob("*.py"):
        text = script.read_text()
        revisions.add(re.search(r'^revision = "([^"]+)"', text, re.M).group(1))
        parent = re.search(r'^down_revision = "([^"]+)"', text, re.M)
        if parent:
            parents.add(parent.group(1))
    (head,) = revisions - parents
    return head


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def summary(outcomes: list[Outcome]) -> str:
    latencies = [o.latency * 1000 for o in outcomes]
    statuses: dict[int, int] = {}
    for o in outcomes:
        statuses[o.status] = statuses.get(o.status, 0) + 1
    return (
        f"requests={len(outcomes)} failed={sum(not o.ok for o in outcomes)} "
        f"5xx={sum(o.status >= 500 for o in outcomes)} p50={percentile(latencies, 0.5):.1f}ms "
        f"p99={percentile(latencies, 0.99):.1f}ms max={max(latencies, default=0):.1f}ms statuses={statuses}"
    )


def test_rolling_deploy_and_database_restart_under_load_fail_no_request(tmp_path):
    if reason := PrivateMariaDB.available():
        mysql_unavailable(reason)
    wall = time.monotonic()
    events: dict[str, object] = {}
    with contextlib.ExitStack() as cleanup:
        database = PrivateMariaDB(tmp_path / "db")
        cleanup.callback(database.close)
        try:
            database.install()
            database.start()
        except (OSError, subprocess.SubprocessError, RuntimeError, TimeoutError) as error:
            mysql_unavailable(f"cannot start a private mariadbd: {error}")
        database.execute("CREATE DATABASE notejam CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        url = database.url("notejam")

        proxy = cleanup.enter_context(AlbProxy())
        env = app_env(url, secrets.token_hex(32), f"http://127.0.0.1:{proxy.port}", tmp_path / "outbox")
        flask = [str(BIN / "flask"), "--app", "notejam", "db", "upgrade"]
        run(flask, env)  # the release that is running now

        releases: list[Release] = []

        def launch(name: str) -> Release:
            release = Release(name, env, tmp_path)
            releases.append(release)
            cleanup.callback(release.kill)
            release.wait_listening()
            proxy.register(name, release.port)
            return release

        old = [launch("v1-a"), launch("v1-b")]
        for release in old:
            proxy.wait_healthy(release.name, timeout=30)
        base = f"http://127.0.0.1:{proxy.port}"
        users = mixed.seed_over_http(base, "notejam-rolling-deploy-test", USERS, PADS, NOTES)
        events["setup_s"] = round(time.monotonic() - wall, 1)

        load = cleanup.enter_context(Load(proxy.port, users))
        time.sleep(1)

        # 1. The migrate stage: the next release's migration, while the old release serves.
        migrations = tmp_path / "migrations"
        shutil.copytree(ROOT / "notejam" / "notejam" / "migrations", migrations)
        head = migration_head(migrations / "versions")
        (migrations / "versions" / "9999_rolling_deploy_test.py").write_text(MIGRATION.format(head=head))
        started = time.monotonic()
        run([*flask, "--directory", str(migrations)], env)
        events["migration_s"] = round(time.monotonic() - started, 2)
        applied = database.scalar("SELECT version_num FROM notejam.alembic_version")
        assert applied == "9999_rolling_deploy_test", applied
        time.sleep(0.5)

        # 2. The deploy stage: one task at a time, new before old is drained and stopped.
        events["replacements"] = []
        for number, release in enumerate(old):
            new = launch(f"v2-{'ab'[number]}")
            healthy_after = proxy.wait_healthy(new.name, timeout=30)
            held = HeldEdit(release.port, users[number])
            time.sleep(0.3)  # the worker has read the first half and waits for the rest
            drained = proxy.deregister(release.name, DEREGISTRATION_DELAY)
            with ThreadPoolExecutor(1) as ecs:
                stopped = ecs.submit(release.stop)
                time.sleep(1)  # SIGTERM has reached the process with the held request in flight
                answered = held.finish()
                status, exit_s = stopped.result()
            assert answered.startswith("HTTP/1.1 302") and answered.endswith(f"/notes/{held.note}/"), answered
            assert status == 0, release.log.read_text()
            assert exit_s < STOP_TIMEOUT
            events["replacements"].append(
                {"new": new.name, "healthy_s": round(healthy_after, 2), "old": release.name,
                 **{k: round(v, 3) for k, v in drained.items()}, "exit_s": round(exit_s, 2)}
            )  # fmt: skip
            time.sleep(0.5)

        # 3. The database restarts once, under the same load.
        restart_started = time.monotonic()
        events["db_restart"] = {k: round(v, 3) for k, v in database.restart(DATABASE_DOWN).items()}
        for name in ("v2-a", "v2-b"):
            proxy.wait_healthy(name, timeout=30)
        restart_window = (restart_started, time.monotonic())
        time.sleep(1)
        # The load stops first: leaving the block kills the new releases, not part of the test.
        load.stop()

    outcomes = load.outcomes
    # In flight at any moment of the restart, from the stop to both targets healthy again.
    during_restart = [
        o for o in outcomes if o.started <= restart_window[1] and o.started + o.latency >= restart_window[0]
    ]
    report = [
        f"whole run: {summary(outcomes)}",
        f"database restart window: {summary(during_restart)}",
        f"proxy answers: {dict(proxy.answers)} {proxy.errors[:5]} failed open: {proxy.failed_open} "
        f"served: { {o.target for o in outcomes} }",
        f"events: {events}",
        # Requests whose connection the restart ended mid-transaction, run again by the app.
        f"replayed: {sum(r.log.read_text().count('the request runs again') for r in releases)}",
        f"wall: {time.monotonic() - wall:.1f}s",
    ]
    print("\n".join(report))
    failures = [o.detail for o in outcomes if not o.ok]
    assert not failures, "\n".join(report + failures[:20])
    assert len(outcomes) > 500, report  # enough traffic to mean something
    served = {o.target for o in outcomes}
    assert {"v1-a", "v1-b", "v2-a", "v2-b"} <= served, served
    assert during_restart, "no request was sent while the database restarted"
    # The restart made every target unready: the proxy failed open, as the ALB does.
    assert proxy.failed_open > 0, report
