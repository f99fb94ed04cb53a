"""A private MariaDB server for one test: its own data directory, port and socket, restartable.

The machine's MariaDB (127.0.0.1:3306) is shared with the suites running beside this one, so a
test that restarts the database starts its own `mariadbd` and restarts that one: SIGTERM (a clean
shutdown, as `systemctl restart` or an RDS reboot sends), then the same binary on the same port
and data directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pymysql

MARIADBD = shutil.which("mariadbd", path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", ""))
INSTALL_DB = shutil.which("mariadb-install-db")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateMariaDB:
    """`mariadbd` on 127.0.0.1:<free port>, root with no password, data under ``directory``."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.datadir = directory / "data"
        # A Unix socket path is limited to ~100 bytes: pytest's tmp_path can be longer.
        self.rundir = Path(tempfile.mkdtemp(prefix="njdb-"))
        self.port = free_port()
        self.log = directory / "mariadbd.err"
        self.process: subprocess.Popen | None = None
        self.restarts: list[dict[str, float]] = []

    @staticmethod
    def available() -> str | None:
        """Why this machine cannot run a private server, or None when it can."""
        if not MARIADBD or not INSTALL_DB:
            return "mariadbd or mariadb-install-db is not installed"
        return None

    def url(self, database: str) -> str:
        return f"mysql+mysqldb://root@127.0.0.1:{self.port}/{database}?charset=utf8mb4"

    def install(self) -> None:
        self.datadir.mkdir(parents=True)
        subprocess.run(
            [INSTALL_DB, "--no-defaults", f"--datadir={self.datadir}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def start(self, timeout: float = 30) -> None:
        command = [
            MARIADBD, "--no-defaults", f"--datadir={self.datadir}", "--user=root",
            "--bind-address=127.0.0.1", f"--port={self.port}", f"--socket={self.rundir / 'sock'}",
            f"--pid-file={self.rundir / 'pid'}", f"--log-error={self.log}", "--skip-name-resolve",
            "--skip-log-bin", "--innodb-buffer-pool-size=64M", "--max-connections=200",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=1).close()
                return
            except pymysql.err.OperationalError as error:
                if self.process is not None and self.process.poll() is not None:
                    status = self.process.returncode
                    raise RuntimeError(f"mariadbd exited ({status}): {self.tail()}") from error
                if time.monotonic() > deadline:
                    message = f"mariadbd not accepting connections after {timeout} s: {self.tail()}"
                    raise TimeoutError(message) from error
                time.sleep(0.05)

    def stop(self, timeout: float = 30) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def restart(self, down_for: float = 0.0) -> dict[str, float]:
        """Stop with SIGTERM, stay down ``down_for`` seconds more and start again; how long the
        server took to stop and was unavailable (seconds)."""
        started = time.monotonic()
        self.stop()
        stopped = time.monotonic()
        time.sleep(down_for)
        self.start()
        timing = {"stop_s": stopped - started, "down_s": time.monotonic() - started}
        self.restarts.append(timing)
        return timing

    def execute(self, *statements: str) -> None:
        connection = pymysql.connect(host="127.0.0.1", port=self.port, user="root", autocommit=True)
        try:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        finally:
            connection.close()

    def scalar(self, statement: str):
        connection = pymysql.connect(host="127.0.0.1", port=self.port, user="root")
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
                return cursor.fetchone()[0]
        finally:
            connection.close()

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no error log)"

    def close(self) -> None:
        """Stop the server (killed if a clean stop fails); remove its run and data directories
        (over 100 MB), keeping the error log."""
        try:
            self.stop()
        finally:
            if self.process is not None and self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            shutil.rmtree(self.rundir, ignore_errors=True)
            shutil.rmtree(self.datadir, ignore_errors=True)
