"""The deploy test's load balancer (albproxy.py) behaves as the ALB does where the test relies on it:
no retries, fail-open when every target is unhealthy, draining before a target is removed."""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.app.albproxy import AlbProxy


class Backend:
    """A target: answers its name; /readyz per ``ready``; /slow after 1.5 s; ``broken`` drops
    every other request without an answer."""

    def __init__(self, name: str):
        self.name = name
        self.ready = True
        self.broken = False
        self.requests = 0
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                if self.path == "/readyz":
                    return self.answer(200 if backend.ready else 503)
                backend.requests += 1
                if backend.broken:
                    self.close_connection = True
                    return None
                if self.path == "/slow":
                    time.sleep(1.5)
                return self.answer(200)

            def answer(self, status: int) -> None:
                body = backend.name.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def target_group(*names: str):
    backends = [Backend(name) for name in names]
    try:
        with AlbProxy(interval=0.05, timeout=0.5) as proxy:
            for backend in backends:
                proxy.register(backend.name, backend.port)
            for backend in backends:
                proxy.wait_healthy(backend.name, timeout=10)
            yield proxy, backends
    finally:
        for backend in backends:
            backend.close()


def get(proxy: AlbProxy, path: str = "/") -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_a_request_whose_target_fails_is_answered_502_not_retried_elsewhere():
    with target_group("a", "b") as (proxy, (a, b)):
        b.broken = True
        answers = Counter(get(proxy)[0] for _ in range(10))
    assert answers == {200: 5, 502: 5}  # round robin: every other request met the broken target
    assert b.requests == 5 and a.requests == 5


def test_when_every_target_is_unhealthy_requests_still_go_to_all_of_them():
    with target_group("a", "b") as (proxy, (a, b)):
        a.ready = b.ready = False
        deadline = time.monotonic() + 10
        while set(proxy.states().values()) != {"unhealthy"}:
            assert time.monotonic() < deadline, proxy.states()
            time.sleep(0.05)
        answers = Counter(get(proxy) for _ in range(4))
    assert answers == {(200, "a"): 2, (200, "b"): 2}
    assert proxy.failed_open == 4


def test_a_draining_target_finishes_its_request_and_gets_no_new_one():
    with target_group("old") as (proxy, _backends), ThreadPoolExecutor(1) as client:
        slow = client.submit(get, proxy, "/slow")
        time.sleep(0.1)  # the slow request is in flight on the old target
        new = Backend("new")
        try:
            proxy.register("new", new.port)
            proxy.wait_healthy("new", timeout=10)
            with ThreadPoolExecutor(1) as ecs:
                drained = ecs.submit(proxy.deregister, "old", 5.0)
                time.sleep(0.05)
                during = [get(proxy) for _ in range(3)]
                drained = drained.result()
            assert slow.result() == (200, "old")
        finally:
            new.close()
    assert during == [(200, "new")] * 3
    assert drained["in_flight_at_start"] == 1 and drained["left"] == 0
    assert 0.1 < drained["drain_s"] < 5.0  # done when the request was, not at the delay
