"""Notejam benchmark (not a test): the app under its production gunicorn settings, driven by wrk.

For each database (MariaDB, SQLite) and data set (one user, 5 pads, 50 or 1,000 notes) it starts
gunicorn with notejam/gunicorn.conf.py, signs in over HTTP, and runs `wrk -t2 -c16 -d10s` with
bench/app/wrk.lua against the signed-in notes list `/`, a pad page and the sign-in page; then the
same for a one-line Flask endpoint (the ceiling). Any non-2xx response or socket error is
reported. Results go to a Markdown file (docs/benchmarks-app.md via `make bench-app`).

    python bench/app/bench.py --output docs/benchmarks-app.md [--duration 10] [--workers-matrix]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mixed
from flask_migrate import upgrade
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from werkzeug.security import generate_password_hash

from notejam import create_app
from notejam.db import db
from notejam.models import Note, Pad, User

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
GUNICORN_CONF = ROOT / "notejam" / "gunicorn.conf.py"
LUA = HERE / "wrk.lua"
BIND = "127.0.0.1:8055"
EMAIL = "bench@example.com"
PASSWORD = "benchmark password"  # noqa: S105 - a throwaway account in a throwaway database
# Sent by the sign-in and by wrk (wrk.lua reads BENCH_USER_AGENT), like one browser throughout:
# Flask-Login's session protection ties the session to the address and user agent it signed in
# with, and marks (so rewrites) the session cookie on every request that comes from another one.
USER_AGENT = "notejam-bench"


@dataclass
class Result:
    label: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    not_2xx: int
    socket_errors: int
    cookies_set: int = 0  # responses with Set-Cookie: the session was rewritten
    split: str = ""  # wrk's connections per gunicorn worker, most first, sampled mid-run


def migrate_only(url: str) -> None:
    """Migrate an empty database (the mixed workload's data then comes in through the app's forms)."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "seed"})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def reset_mysql(url: str) -> None:
    parsed = make_url(url)
    server = create_engine(parsed.set(database=""))
    with server.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
        connection.execute(
            text(f"CREATE DATABASE `{parsed.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        )
    server.dispose()


def seed(url: str, notes: int) -> None:
    """Migrate an empty database and give one user 5 pads and `notes` notes."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "seed"})
    with app.app_context():
        upgrade()
        now = datetime.now(UTC).replace(tzinfo=None)
        with db.engine.begin() as connection:
            user_id = connection.execute(
                insert(User).values(
                    email=EMAIL, password_hash=generate_password_hash(PASSWORD), created_at=now
                )
            ).inserted_primary_key[0]
            pad_ids = [
                connection.execute(
                    insert(Pad).values(user_id=user_id, name=f"Pad {n}", created_at=now)
                ).inserted_primary_key[0]
                for n in range(1, 6)
            ]
            rows = []
            for n in range(notes):
                when = now - timedelta(hours=7 * n)
                rows.append(
                    {
                        "user_id": user_id,
                        # Every sixth note has no pad; the rest spread over the 5 pads.
                        "pad_id": None if n % 6 == 5 else pad_ids[n % 5],
                        "name": f"Note {n:04d}: groceries, plans & ideas",
                        "text": ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 8).strip(),
                        "created_at": when,
                        "updated_at": when,
                    }
                )
            connection.execute(insert(Note), rows)
        db.engine.dispose()


class Server:
    def __init__(
        self, app_spec: str, env: dict[str, str], log: Path, chdir: Path | None = None, bind: str = BIND
    ):
        self.app_spec, self.env, self.log, self.chdir, self.bind = app_spec, env, log, chdir, bind
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c",
            str(GUNICORN_CONF),
            "--bind",
            self.bind,
        ]
        if self.chdir:
            command += ["--chdir", str(self.chdir)]
        command.append(self.app_spec)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own command line
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log}")
            try:
                urllib.request.urlopen(f"http://{self.bind}/", timeout=1)
                return self
            except urllib.error.HTTPError:
                return self  # answering, even if with a redirect/error page
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer on {self.bind} within 30 s; see {self.log}")

    def __exit__(self, *_exc) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def sign_in() -> str:
    """Sign in like a browser; return the Cookie header value of the signed-in session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(f"http://{BIND}/signin/", timeout=10).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "email": EMAIL, "password": PASSWORD}).encode()
    landed = opener.open(f"http://{BIND}/signin/", data=form, timeout=10)
    if urllib.parse.urlsplit(landed.geturl()).path != "/":
        raise RuntimeError(f"sign-in failed (landed on {landed.geturl()})")
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def first_pad_path(cookie: str) -> str:
    request = urllib.request.Request(f"http://{BIND}/", headers={"Cookie": cookie, "User-Agent": USER_AGENT})
    page = urllib.request.urlopen(request, timeout=10).read().decode()  # noqa: S310
    return re.search(r'href="(/pads/\d+/)"', page).group(1)


def run_wrk(
    label: str, path: str, cookie: str, args: argparse.Namespace, warmup: float = 2, rate: float = 0
) -> Result:
    """wrk against ``path``: as fast as the connections go, or paced at ``rate`` requests/s."""
    env = {**os.environ, "BENCH_COOKIE": cookie, "BENCH_USER_AGENT": USER_AGENT}
    if rate:
        env["BENCH_RATE_PER_THREAD"] = str(rate / args.threads)
    url = f"http://{BIND}{path}"
    base = ["wrk", f"-t{args.threads}", f"-c{args.connections}", "-s", str(LUA), "--latency"]
    subprocess.run([*base, f"-d{warmup}s", url], env=env, capture_output=True, check=True)  # noqa: S603
    runs = []
    for _ in range(args.repeat):
        wrk = subprocess.Popen(  # noqa: S603
            [*base, f"-d{args.duration}s", url], env=env, stdout=subprocess.PIPE, text=True
        )
        time.sleep(args.duration / 2)
        split = connection_split()
        out = wrk.communicate()[0]
        if wrk.returncode:
            raise RuntimeError(f"wrk exited with {wrk.returncode}: {out}")
        runs.append(_wrk_result(label, _wrk_fields(out), split))
    # The median run by throughput (a shared machine makes single runs noisy); errors from any run
    # are reported, not hidden by the choice.
    result = sorted(runs, key=lambda run: run.requests_per_s)[len(runs) // 2]
    result.not_2xx = sum(run.not_2xx for run in runs)
    result.socket_errors = sum(run.socket_errors for run in runs)
    result.cookies_set = sum(run.cookies_set for run in runs)
    if len(runs) > 1:
        print(f"  runs: {', '.join(f'{run.requests_per_s:.0f}' for run in runs)} req/s", flush=True)
    print(
        f"  {label:<58} {result.requests_per_s:8.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
        f"p99 {result.p99_ms:6.2f} ms  non-2xx {result.not_2xx}  socket errors {result.socket_errors}  "
        f"Set-Cookie {result.cookies_set}  connections per worker {result.split}",
        flush=True,
    )
    return result


def connection_split() -> str:
    """Established connections to the server per gunicorn worker (``ss``), e.g. "8/8"; "" if unknown.

    Keep-alive connections stay in the worker that accepted them: a 0/16 split leaves one worker,
    so one core, serving everything.
    """
    port = BIND.rsplit(":", 1)[1]
    try:
        listing = subprocess.run(  # noqa: S603
            ["ss", "-Htnp", "state", "established", "sport", f"= :{port}"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""
    per_worker = Counter(re.findall(r"pid=(\d+)", listing))
    return "/".join(str(n) for _, n in per_worker.most_common())


def app_env(url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DB_", "GUNICORN_", "NOTEJAM_", "FLASK_")) and key not in {"DATABASE_URL"}
    }
    env.update(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": secrets.token_hex(32),
            "SESSION_COOKIE_SECURE": "0",  # wrk and the sign-in talk plain HTTP to 127.0.0.1
            "NOTEJAM_BASE_URL": f"http://{BIND}",
            "NOTEJAM_MAIL_OUTBOX": tempfile.gettempdir(),
        }
    )
    env.update(extra or {})
    return env


def bench_app(
    url: str, backend: str, notes: int, args, log: Path, extra_env=None, pages=None
) -> list[Result]:
    results = []
    with Server("notejam:create_app()", app_env(url, extra_env), log):
        cookie = sign_in()
        pad = first_pad_path(cookie)
        wanted = pages or ["list", "pad", "signin"]
        suffix = f"{backend}, {notes} notes"
        if "list" in wanted:
            results.append(run_wrk(f"notes list / ({suffix})", "/", cookie, args))
        if "paced" in wanted:
            label = f"notes list / ({suffix}), paced at {args.paced_rate:,.0f}/s"
            results.append(run_wrk(label, "/", cookie, args, rate=args.paced_rate))
        if "pad" in wanted:
            results.append(run_wrk(f"pad page {pad} ({suffix})", pad, cookie, args))
        if "signin" in wanted:
            results.append(run_wrk(f"sign-in page /signin/ ({backend})", "/signin/", "", args))
    return results


CEILING_BIND = "127.0.0.1:8056"
MIXED_LUA = HERE / "mixed.lua"


@dataclass
class MixedRound:
    label: str
    mixed: Result
    ceiling: Result
    redirects: int
    statuses: str

    @property
    def share(self) -> float:
        return self.mixed.requests_per_s / self.ceiling.requests_per_s


def _wrk_fields(out: str) -> dict[str, str]:
    return dict(re.findall(r"(\w+)=(\S+)", out.split("BENCH", 1)[1]))


def _wrk_result(label: str, fields: dict[str, str], split: str = "") -> Result:
    """A Result from the BENCH line that wrk.lua and mixed.lua print."""
    return Result(
        label=label,
        requests_per_s=int(fields["requests"]) / (int(fields["duration_us"]) / 1e6),
        p50_ms=int(fields["p50_us"]) / 1000,
        p99_ms=int(fields["p99_us"]) / 1000,
        requests=int(fields["requests"]),
        not_2xx=int(fields["not_2xx"]),
        socket_errors=int(fields["socket_errors"]),
        cookies_set=int(fields["cookies_set"]),
        split=split,
    )


def run_mixed_wrk(label: str, users_file: Path, args, duration: float) -> tuple[Result, int, str]:
    """One wrk run of the mixed workload; the result, the edit redirects seen, error statuses."""
    env = {
        **os.environ,
        "BENCH_USERS_FILE": str(users_file),
        "BENCH_SEED": str(args.seed),
        "BENCH_USER_AGENT": USER_AGENT,
    }
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s", "-s", str(MIXED_LUA)]
    wrk = subprocess.Popen(  # noqa: S603
        [*command, "--latency", f"http://{BIND}/"], env=env, stdout=subprocess.PIPE, text=True
    )
    time.sleep(duration / 2)
    split = connection_split()
    out = wrk.communicate()[0]
    if wrk.returncode:
        raise RuntimeError(f"wrk exited with {wrk.returncode}: {out}")
    fields = _wrk_fields(out)
    return _wrk_result(label, fields, split), int(fields["redirects"]), fields["statuses"]


def ceiling_run(args, duration: float) -> Result:
    env = {**os.environ, "BENCH_COOKIE": "", "BENCH_USER_AGENT": USER_AGENT}
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s", "-s", str(LUA)]
    out = subprocess.run(  # noqa: S603
        [*command, "--latency", f"http://{CEILING_BIND}/"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return _wrk_result("one-line Flask endpoint (ceiling)", _wrk_fields(out))


def mixed_workload(url: str, notes: int, args, workdir: Path, log: Path, extra=None) -> list[MixedRound]:
    """Seed ``args.users`` users over HTTP, then alternate the mixed workload and the ceiling.

    The seeding server runs with the rate limits off (twenty sign-ups from one address in a
    minute are what the sign-up limit exists to stop); the measured server runs with the
    production settings and the same SECRET_KEY, so the seeded sessions stay valid.
    """
    reset_mysql(url)
    migrate_only(url)
    outbox = workdir / "outbox"
    outbox.mkdir(exist_ok=True)
    key = secrets.token_hex(32)
    env = app_env(url, {**(extra or {}), "SECRET_KEY": key, "NOTEJAM_MAIL_OUTBOX": str(outbox)})
    started = time.monotonic()
    with Server("notejam:create_app()", {**env, "NOTEJAM_RATE_LIMITS": "0"}, log):
        users = mixed.seed_over_http(f"http://{BIND}", USER_AGENT, args.users, 5, notes)
    print(
        f"  seeded {args.users} users x {notes} notes over HTTP in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    users_file = workdir / f"users-{notes}.tsv"
    mixed.write_users_file(users, users_file)
    label = f"mixed, {args.users} users x 5 pads x {notes} notes"
    rounds = []
    with (
        Server("notejam:create_app()", env, log),
        Server("ceiling:app", app_env("sqlite://", extra), log, chdir=HERE, bind=CEILING_BIND),
    ):
        run_mixed_wrk(label, users_file, args, 2)  # warm-up: workers, pools, caches
        ceiling_run(args, 2)
        for n in range(args.repeat):
            result, redirects, statuses = run_mixed_wrk(label, users_file, args, args.duration)
            ceiling = ceiling_run(args, args.duration)
            rounds.append(MixedRound(label, result, ceiling, redirects, statuses))
            print(
                f"  round {n + 1}: mixed {result.requests_per_s:,.0f}/s (p50 {result.p50_ms:.2f}, p99"
                f" {result.p99_ms:.2f} ms, errors {result.not_2xx}+{result.socket_errors}, edits"
                f" redirected {redirects}, split {result.split}); ceiling {ceiling.requests_per_s:,.0f}/s;"
                f" share {rounds[-1].share:.1%}" + (f"; error statuses {statuses}" if result.not_2xx else ""),
                flush=True,
            )
    return rounds


def mixed_table(rounds: list[MixedRound]) -> list[str]:
    lines = [
        "| workload | requests/s (median; rounds) | share of the one-line endpoint (median; rounds) "
        "| p50 ms | p99 ms (median; rounds) | requests | errors (non-2xx/3xx + socket) | edits (redirected) "
        "| one-line endpoint requests/s (rounds) |",
        "|---|---|---|---:|---|---:|---:|---:|---|",
    ]
    labels = list(dict.fromkeys(r.label for r in rounds))
    for label in labels:
        mine = [r for r in rounds if r.label == label]
        middle = sorted(mine, key=lambda r: r.share)[len(mine) // 2]
        p99s = sorted(r.mixed.p99_ms for r in mine)
        lines.append(
            f"| {label} | {middle.mixed.requests_per_s:,.0f} "
            f"({', '.join(f'{r.mixed.requests_per_s:,.0f}' for r in mine)}) "
            f"| {middle.share:.1%} ({', '.join(f'{r.share:.1%}' for r in mine)}) "
            f"| {middle.mixed.p50_ms:.2f} | {p99s[len(p99s) // 2]:.2f} "
            f"({', '.join(f'{r.mixed.p99_ms:.1f}' for r in mine)}) "
            f"| {sum(r.mixed.requests for r in mine):,} "
            f"| {sum(r.mixed.not_2xx + r.mixed.socket_errors for r in mine)} "
            f"| {sum(r.redirects for r in mine):,} "
            f"| {', '.join(f'{r.ceiling.requests_per_s:,.0f}' for r in mine)} |"
        )
    return lines


def cpu_per_request(url: str, backend: str, notes: int, requests: int = 500) -> list[tuple[str, float]]:
    """CPU milliseconds per request inside one process (Flask test client, no gunicorn, no wrk).

    Unlike requests/s, CPU time hardly depends on what else runs on the machine, so it shows what
    the code costs when a shared machine makes the wrk figures noisy.
    """
    import contextlib
    import io

    os.environ.update(NOTEJAM_ACCESS_LOG="0", NOTEJAM_BASE_URL=f"http://{BIND}")
    try:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "cpu", "SESSION_COOKIE_SECURE": False}
        )
    finally:
        del os.environ["NOTEJAM_ACCESS_LOG"], os.environ["NOTEJAM_BASE_URL"]
    client = app.test_client()
    page = client.get("/signin/").data.decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/signin/", data={"csrf_token": token, "email": EMAIL, "password": PASSWORD})
    pad = re.search(r'href="(/pads/\d+/)"', client.get("/").data.decode()).group(1)
    costs = []
    for label, path, signed_in in (
        (f"notes list / ({backend}, {notes} notes)", "/", True),
        (f"pad page ({backend}, {notes} notes)", pad, True),
        (f"sign-in page ({backend})", "/signin/", False),
        ("/healthz (no database)", "/healthz", False),
    ):
        user = client if signed_in else app.test_client()
        with contextlib.redirect_stdout(io.StringIO()):
            for _ in range(50):
                assert user.get(path).status_code == 200
            started = time.process_time()
            for _ in range(requests):
                user.get(path)
        costs.append((label, (time.process_time() - started) / requests * 1000))
    with app.app_context():
        db.engine.dispose()
    return costs


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout  # noqa: S607
        model = re.search(r"Model name:\s*(.+)", lscpu).group(1).strip()
    except (OSError, subprocess.CalledProcessError, AttributeError):
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()  # noqa: S607
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()  # noqa: S607
    return {
        "nproc": nproc,
        "model": model,
        "python": platform.python_version(),
        "wrk": wrk_version[0].split(" Copyright")[0] if wrk_version else "wrk",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def table(results: list[Result]) -> list[str]:
    lines = [
        "| page | requests/s | p50 ms | p99 ms | requests | non-2xx | socket errors | Set-Cookie "
        "| connections per worker |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.label} | {r.requests_per_s:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.requests:,} "
            f"| {r.not_2xx} | {r.socket_errors} | {r.cookies_set:,} | {r.split} |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", type=Path, help="write the Markdown report here")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=1, help="wrk runs per page; the median is reported")
    parser.add_argument("--backends", default="mysql,sqlite")
    parser.add_argument("--notes", default="50,1000")
    parser.add_argument(
        "--workers-matrix", action="store_true", help="also compare gunicorn worker settings (list, MariaDB)"
    )
    parser.add_argument(
        "--mysql-url",
        default=os.environ.get("NOTEJAM_BENCH_MYSQL_URL")
        or "mysql+mysqldb://root@127.0.0.1:3306/notejam_bench?charset=utf8mb4",
    )
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=1160,
        help="also run the MariaDB 50-note list paced at this many requests/s (0: skip); 1,160/s is"
        " the issue's goal, 4x the original Notejam",
    )
    parser.add_argument(
        "--rate", type=float, default=0, help="with --compare: pace wrk at this many requests/s"
    )
    parser.add_argument("--env", action="append", default=[], help="extra KEY=VALUE for the app server")
    parser.add_argument("--users", type=int, default=20, help="mixed workload: signed-in users")
    parser.add_argument("--seed", type=int, default=15, help="mixed workload: wrk's random seed")
    parser.add_argument(
        "--mixed-notes",
        default="50,1000",
        help="mixed workload: notes per user, one data set each ('': skip)",
    )
    parser.add_argument(
        "--mixed-only", action="store_true", help="only the mixed workload (and its ceiling rounds)"
    )
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="LABEL:KEY=VALUE,...",
        help="instead of the full run: the list / (MariaDB, 50 notes) under each variant (app server"
        " environment; DRIVER=pymysql|mysqldb picks the driver), alternating, --repeat rounds",
    )
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.env)
    if not shutil.which("wrk"):
        print("wrk is not installed (Debian package `wrk`)", file=sys.stderr)
        return 2

    if args.compare:
        return compare(args, [_variant(spec) for spec in args.compare])
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="notejam-bench-"))
    log = workdir / "gunicorn.log"
    print(f"gunicorn logs: {log}", flush=True)
    results: list[Result] = []
    matrix: list[tuple[str, Result]] = []
    cpu_costs: list[tuple[str, float]] = []
    mixed_rounds: list[MixedRound] = []
    for notes in (int(n) for n in args.mixed_notes.split(",") if n):
        print(f"mixed workload, mysql, {args.users} users x {notes} notes:", flush=True)
        mixed_rounds += mixed_workload(args.mysql_url, notes, args, workdir, log, extra)
    for backend in [] if args.mixed_only else args.backends.split(","):
        for notes in (int(n) for n in args.notes.split(",")):
            if backend == "mysql":
                url = args.mysql_url
                reset_mysql(url)
            else:
                url = f"sqlite:///{workdir / f'bench-{notes}.db'}"
            seed(url, notes)
            print(f"{backend}, {notes} notes:", flush=True)
            first_size = notes == int(args.notes.split(",")[0])
            goal_page = backend == "mysql" and notes == 50  # the page the goal is about
            if first_size:
                cpu_costs += cpu_per_request(url, backend, notes)
            pages = ["list", "pad", "signin"] if first_size else ["list", "pad"]
            if goal_page and args.paced_rate:
                pages.insert(1, "paced")
            results += bench_app(url, backend, notes, args, log, extra_env=extra, pages=pages)
            if args.workers_matrix and goal_page:
                for label, env in WORKER_MATRIX:
                    print(f"  workers: {label}", flush=True)
                    [result] = bench_app(url, backend, notes, args, log, extra_env=env, pages=["list"])
                    matrix.append((label, result))
    if not args.mixed_only:
        print("ceiling:", flush=True)
        with Server("ceiling:app", app_env("sqlite://", extra), log, chdir=HERE):
            ceiling = run_wrk("one-line Flask endpoint (ceiling)", "/", "", args)
        results.append(ceiling)

    if args.output:
        write_report(args, results, matrix, cpu_costs, load_before, os.getloadavg(), mixed_rounds)
        print(f"wrote {args.output}")
    if mixed_rounds:
        print("\n".join(mixed_table(mixed_rounds)))
    failures = [r for r in results + [m.mixed for m in mixed_rounds] if r.not_2xx or r.socket_errors]
    if failures:
        print("some runs had non-2xx responses or socket errors", file=sys.stderr)
        return 1
    return 0


def _variant(spec: str) -> tuple[str, dict[str, str]]:
    label, _, settings = spec.partition(":")
    return label, dict(item.split("=", 1) for item in settings.split(",") if item)


def compare(args, variants: list[tuple[str, dict[str, str]]]) -> int:
    """Side by side on one machine at one time: variants alternate, round after round.

    A shared machine's load changes by the minute; alternating the variants spreads it over all
    of them alike, so their ratios mean more than any single figure.
    """
    workdir = Path(tempfile.mkdtemp(prefix="notejam-compare-"))
    log = workdir / "gunicorn.log"
    base = make_url(args.mysql_url)
    reset_mysql(args.mysql_url)
    seed(args.mysql_url, 50)
    runs: dict[str, list[Result]] = {label: [] for label, _ in variants}
    load_before = os.getloadavg()
    single = argparse.Namespace(**{**vars(args), "repeat": 1})
    for round_number in range(args.repeat):
        for label, settings in variants:
            env = dict(settings)
            driver = env.pop("DRIVER", base.get_driver_name())
            url = base.set(drivername=f"mysql+{driver}").render_as_string(hide_password=False)
            print(f"round {round_number + 1}, {label}:", flush=True)
            with Server("notejam:create_app()", app_env(url, env), log):
                cookie = sign_in()
                runs[label].append(run_wrk(label, "/", cookie, single, rate=args.rate))
    load_after = os.getloadavg()
    print()
    print(
        f"load average before: {' / '.join(f'{x:.2f}' for x in load_before)}; after: "
        f"{' / '.join(f'{x:.2f}' for x in load_after)}"
    )
    print(
        "| variant | requests/s (p99 ms; connections per worker), each round | median requests/s "
        "| its p50 ms | its p99 ms | non-2xx | socket errors |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    failed = False
    for label, results in runs.items():
        ordered = sorted(results, key=lambda run: run.requests_per_s)
        middle = ordered[len(ordered) // 2]
        bad = sum(run.not_2xx for run in results), sum(run.socket_errors for run in results)
        failed = failed or any(bad)
        rounds = ", ".join(f"{run.requests_per_s:,.0f} ({run.p99_ms:.1f}; {run.split})" for run in results)
        print(
            f"| {label} | {rounds} | {middle.requests_per_s:,.0f} | {middle.p50_ms:.2f} "
            f"| {middle.p99_ms:.2f} | {bad[0]} | {bad[1]} |"
        )
    return 1 if failed else 0


WORKER_MATRIX = [
    ("balanced gthread, 2 workers x 1 thread", {"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "1"}),
    ("balanced gthread, 2 workers x 2 threads", {"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2"}),
    (
        "balanced gthread, 2 workers x 4 threads (the default on 2 CPUs)",
        {"WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "4"},
    ),
    (
        "gunicorn's own gthread, 2 workers x 4 threads",
        {"GUNICORN_WORKER_CLASS": "gthread", "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "4"},
    ),
    ("balanced gthread, 4 workers x 1 thread", {"WEB_CONCURRENCY": "4", "GUNICORN_THREADS": "1"}),
    ("sync, 5 workers (2 x CPUs + 1)", {"GUNICORN_WORKER_CLASS": "sync", "WEB_CONCURRENCY": "5"}),
]


def write_report(args, results, matrix, cpu_costs, load_before, load_after, mixed_rounds=()) -> None:
    info = machine()
    lines = [
        "# Notejam app benchmark",
        "",
        "Generated by `make bench-app` (`bench/app/bench.py`). Not a test: numbers depend on the machine.",
        "",
        f"- Date: {info['date']}",
        f"- Machine: `nproc` = {info['nproc']}, `lscpu` model name: {info['model']}; Python {info['python']};"
        f" {info['wrk']}",
        f"- Load: `wrk -t{args.threads} -c{args.connections} -d{args.duration}s"
        " -s bench/app/wrk.lua --latency`"
        " from the same machine, after a 2 s warm-up"
        + (f"; {args.repeat} runs per page, the median (by requests/s) reported" if args.repeat > 1 else "")
        + "; the Lua script sends the session cookie and the user agent that signed in (as one browser"
        " would), and counts every non-2xx response and every response that sets a cookie (Set-Cookie).",
        f"- The paced row: the same wrk, each thread sending on a fixed schedule for {args.paced_rate:,.0f}"
        " requests/s in all (`BENCH_RATE_PER_THREAD` in wrk.lua), i.e. the latency at the goal's load rather"
        " than at saturation, where every other row runs. Its latency counts from when a request was sent,"
        " not from its slot in the schedule (wrk2's correction for coordinated omission): a stall holds"
        " back the requests behind it without counting them as slow, and the row's requests/s shows"
        " whether the schedule was kept.",
        "- Command: `make bench-app` (runs `bench/app/bench.py --workers-matrix --repeat 3`).",
        "- Server: gunicorn with `notejam/gunicorn.conf.py` (the production settings: on 2 CPUs, 2 workers"
        " x 4 threads of `notejam.gunicorn_worker.BalancedThreadWorker`), JSON access log on;"
        " data: one user, 5 pads, 50 or 1,000 notes (50 notes per list page).",
        f"- MariaDB driver: `{make_url(args.mysql_url).drivername}`; the list cache on (the default): wrk"
        " repeats one page, so after the first request each list page comes from the cache, and every"
        " request still reads the user (with their data version) from the database.",
        f"- Load average (1/5/15 min) before the run: {' / '.join(f'{x:.2f}' for x in load_before)};"
        f" after: {' / '.join(f'{x:.2f}' for x in load_after)}"
        " (above ~2, other work shared the two cores during the run).",
        "",
    ]
    if mixed_rounds:
        lines += [
            "## Headline: the mixed workload",
            "",
            f"{args.users} signed-in users on MariaDB, each with their own session cookie and CSRF token,"
            " seeded over HTTP through the app's own forms (sign-up, sign-in, 5 pads, then the notes;"
            " every sixth note without a pad). `bench/app/mixed.lua`: each request picks a user at random,"
            " then 10 % note edits through the edit form (POST with the user's CSRF token; the thread's next"
            " request is the note page the form redirects to, as a browser follows it), 35 % all notes,"
            " 30 % a pad's notes (every list in a random order of the four and a random page), 25 % a single"
            f" note; LuaJIT's generator seeded with {args.seed} and the wrk thread's number."
            f" `wrk -t{args.threads} -c{args.connections} -d{args.duration}s`, after a 2 s warm-up, the"
            " production gunicorn settings. Rounds alternate with the one-line endpoint"
            " (`bench/app/ceiling.py`, same gunicorn settings, its own port, running meanwhile): the share"
            " is each round's mixed requests/s over the ceiling's in the same round. An error is any"
            " response that is neither 2xx nor the edit form's redirect to the note (a redirect to the"
            " sign-in page or a 400 for a refused"
            " CSRF token counts), plus socket errors.",
            "",
            "Goal (issue 15): >= 25 % of the one-line endpoint, p99 < 25 ms, zero errors. For reference,"
            " the issue's reporter measured the original Notejam (Flask, ported to Python 3, SQLite) at"
            " ~505 requests/s beside ~8,000/s for the one-line endpoint on their machine (6.3 %); it was not"
            " run here.",
            "",
            *mixed_table(list(mixed_rounds)),
            "",
        ]
    if results:
        lines += ["## Single pages (secondary: one user repeating one page)", "", *table(results), ""]
    if cpu_costs:
        lines += [
            "## CPU time per request, in process",
            "",
            "Flask test client, 500 requests after 50 warm-up ones (list pages from the list cache),"
            " no gunicorn and no wrk (signed in as the"
            " benchmark user; MariaDB's own CPU not included). Two cores at 100 % give at most about"
            " 2,000 / (ms per request) requests/s, before wrk's and the database's share.",
            "",
            "| page | CPU ms per request |",
            "|---|---:|",
            *(f"| {label} | {ms:.2f} |" for label, ms in cpu_costs),
            "",
        ]
    if matrix:
        lines += [
            "## gunicorn workers (notes list, MariaDB, 50 notes)",
            "",
            *table([_relabel(r, label) for label, r in matrix]),
            "",
        ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    existing = args.output.read_text() if args.output.exists() else ""
    notes_marker = "<!-- notes -->"
    notes = existing.split(notes_marker, 1)[1] if notes_marker in existing else "\n"
    args.output.write_text("\n".join(lines) + "\n" + notes_marker + notes)


def _relabel(result: Result, label: str) -> Result:
    return Result(label, *list(vars(result).values())[1:])


if __name__ == "__main__":
    sys.exit(main())
