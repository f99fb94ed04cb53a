"""A local reverse proxy that routes as an Application Load Balancer's target group does.

What it models, scaled from seconds to fractions of one, after
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
and https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html:

- Health checks: every ``interval`` seconds a GET of ``/readyz`` on each registered target, with
  ``timeout``; a 200 is a success. A new target is ``initial`` and gets no traffic until
  ``healthy_threshold`` consecutive successes (HealthyThresholdCount, 5 by default); a healthy
  one becomes ``unhealthy`` after ``unhealthy_threshold`` consecutive failures
  (UnhealthyThresholdCount, 2).
- Routing: round robin over the healthy targets. When no target is healthy the target group
  fails open: requests go to every registered target whatever its health ("If a target group
  contains only unhealthy registered targets, the load balancer routes requests to all those
  targets, regardless of their health status"). No registered target at all: 503.
- Deregistration: a draining target gets no new request; its in-flight requests complete. It is
  done when it has none left, or when ``deregistration_delay`` has passed ("If a deregistering
  target has no in-flight requests and no active connections, Elastic Load Balancing immediately
  completes the deregistration process"). ECS sends the task SIGTERM after that (the caller).
- No retries: a request whose target connection fails is answered 502 (a refused or reset
  connection, a malformed answer) or 504 (no answer within ``target_timeout``), never sent to
  another target. A proxy that retried would hide the failures the deploy test looks for.
- Keep-alive connections to targets, reused across requests, as the ALB keeps them.

Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade",
}  # fmt: skip


@dataclass
class Target:
    name: str
    port: int
    state: str = "initial"  # initial | healthy | unhealthy | draining
    successes: int = 0
    failures: int = 0
    in_flight: int = 0
    served: int = 0
    idle: list[http.client.HTTPConnection] = field(default_factory=list)
    transitions: list[tuple[float, str]] = field(default_factory=list)

    def become(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.transitions.append((time.monotonic(), state))


class AlbProxy:
    def __init__(
        self,
        interval: float = 0.25,
        timeout: float = 1.0,
        healthy_threshold: int = 5,
        unhealthy_threshold: int = 2,
        target_timeout: float = 30.0,
    ):
        self.interval = interval
        self.timeout = timeout
        self.healthy_threshold = healthy_threshold
        self.unhealthy_threshold = unhealthy_threshold
        self.target_timeout = target_timeout
        self.targets: dict[str, Target] = {}
        self.lock = threading.Condition()
        self.answers: Counter[int] = Counter()  # the proxy's own error answers: 502, 503, 504
        self.errors: list[str] = []  # and why
        self.failed_open = 0  # requests routed while no target was healthy
        self._round_robin = itertools.count()
        self._stopping = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                proxy.forward(self)

            do_POST = do_HEAD = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._threads = [
            threading.Thread(target=self.server.serve_forever, name="alb-listener", daemon=True),
            threading.Thread(target=self._health_checks, name="alb-health", daemon=True),
        ]

    # --- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> AlbProxy:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        with self.lock:
            for target in self.targets.values():
                self._close_idle(target)

    # --- the target group ------------------------------------------------------------------------
    def register(self, name: str, port: int) -> Target:
        with self.lock:
            target = self.targets[name] = Target(name, port)
            target.transitions.append((time.monotonic(), "initial"))
            return target

    def wait_healthy(self, name: str, timeout: float) -> float:
        """Seconds until the target passed its health checks; TimeoutError after ``timeout``."""
        started = time.monotonic()
        with self.lock:
            ready = self.lock.wait_for(lambda: self.targets[name].state == "healthy", timeout)
            if not ready:
                raise TimeoutError(f"target {name} not healthy after {timeout} s: {self.targets[name]}")
        return time.monotonic() - started

    def deregister(self, name: str, deregistration_delay: float) -> dict[str, float]:
        """Drain the target, then remove it; returns how long draining took and what was left."""
        started = time.monotonic()
        with self.lock:
            target = self.targets[name]
            target.become("draining")
            in_flight_at_start = target.in_flight
            self.lock.wait_for(lambda: target.in_flight == 0, deregistration_delay)
            left = target.in_flight
            self._close_idle(target)
            del self.targets[name]
        return {"drain_s": time.monotonic() - started, "in_flight_at_start": in_flight_at_start, "left": left}

    def states(self) -> dict[str, str]:
        with self.lock:
            return {name: target.state for name, target in self.targets.items()}

    # --- routing ---------------------------------------------------------------------------------
    def _pick(self) -> Target | None:
        with self.lock:
            live = [t for t in self.targets.values() if t.state != "draining"]
            healthy = [t for t in live if t.state == "healthy"]
            if healthy:
                choices = healthy
            else:
                # Fail open, but a target still in its first checks (initial) is not a target
                # that was healthy and failed: it is left out unless it is all there is.
                choices = [t for t in live if t.state == "unhealthy"] or live
                if choices:
                    self.failed_open += 1
            if not choices:
                return None
            target = choices[next(self._round_robin) % len(choices)]
            target.in_flight += 1
            target.served += 1
            return target

    def _done(self, target: Target, connection: http.client.HTTPConnection | None) -> None:
        with self.lock:
            target.in_flight -= 1
            if connection is not None:
                if target.state == "draining" or target.name not in self.targets:
                    connection.close()
                else:
                    target.idle.append(connection)
            self.lock.notify_all()

    @staticmethod
    def _close_idle(target: Target) -> None:
        for connection in target.idle:
            connection.close()
        target.idle.clear()

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        target = self._pick()
        if target is None:
            self._answer(handler, 503, "no registered target")
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-For"] = handler.client_address[0]
        headers["X-Forwarded-Proto"] = "http"
        connection = None
        with self.lock:
            if target.idle:
                connection = target.idle.pop()
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=self.target_timeout)
        try:
            connection.request(handler.command, handler.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except TimeoutError:
            connection.close()
            self._done(target, None)
            self._answer(handler, 504, f"target {target.name} did not answer")
            return
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            self._done(target, None)
            self._answer(handler, 502, f"target {target.name}: {type(error).__name__}: {error}")
            return
        reusable = not response.will_close
        self._done(target, connection if reusable else None)
        if not reusable:
            connection.close()
        handler.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("X-Target", target.name)
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)

    def _answer(self, handler: BaseHTTPRequestHandler, status: int, reason: str) -> None:
        with self.lock:
            self.answers[status] += 1
            stamp = time.strftime("%H:%M:%S")
            self.errors.append(f"{stamp} {status} {handler.command} {handler.path}: {reason}")
        body = f"{status} from the load balancer: {reason}\n".encode()
        handler.send_response_only(status)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    # --- health checks ---------------------------------------------------------------------------
    def _health_checks(self) -> None:
        while not self._stopping.wait(self.interval):
            with self.lock:
                targets = [t for t in self.targets.values() if t.state != "draining"]
            checks = [threading.Thread(target=self._check, args=(t,), daemon=True) for t in targets]
            for check in checks:
                check.start()
            for check in checks:
                check.join()

    def _check(self, target: Target) -> None:
        ok = False
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=self.timeout)
            try:
                connection.request("GET", "/readyz", headers={"User-Agent": "ELB-HealthChecker/2.0"})
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            finally:
                connection.close()
        with self.lock:
            if target.state == "draining" or target.name not in self.targets:
                return
            if ok:
                target.failures = 0
                target.successes += 1
                if target.state != "healthy" and target.successes >= self.healthy_threshold:
                    target.become("healthy")
            else:
                target.successes = 0
                target.failures += 1
                if target.state == "healthy" and target.failures >= self.unhealthy_threshold:
                    target.become("unhealthy")
            self.lock.notify_all()
