"""The production gunicorn settings (notejam/gunicorn.conf.py) load, serve, and stop on SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_production_settings_serve_and_stop_gracefully(tmp_path):
    port = free_port()
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("DB_", "NOTEJAM_"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "SECRET_KEY": "gunicorn-test",
        "WEB_CONCURRENCY": "2",
        "NOTEJAM_ACCESS_LOG": "0",
    }
    log = tmp_path / "gunicorn.log"
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [gunicorn, "-c", str(ROOT / "notejam" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}"]
    command.append("notejam:create_app()")
    with open(log, "wb") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    text = log.read_text()
    assert "Booting worker" in text and "Traceback" not in text, text
