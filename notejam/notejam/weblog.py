"""JSON access log, request ids and security headers.

One line per request on stdout, written by a WSGI middleware so that static files (served by
WhiteNoise before Flask sees them) and error responses are logged too. Only the path is logged:
never the query string (reset links carry their token there), bodies, cookies or form fields.
The security headers are added in the same place, to every response, as plain header tuples.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime

from flask import Flask, has_request_context, request

REQUEST_ID_ENVIRON_KEY = "notejam.request_id"
# Accept a caller's id only if it is short and plain, so it cannot forge log lines.
_SAFE_ID = re.compile(r"^[A-Za-z0-9=;:._/+-]{1,128}$")


def request_id_from(environ) -> str:
    for header in ("HTTP_X_REQUEST_ID", "HTTP_X_AMZN_TRACE_ID"):
        candidate = environ.get(header, "")
        if candidate and _SAFE_ID.match(candidate):
            return candidate
    return uuid.uuid4().hex


def write_json_line(record: dict) -> None:
    # A single write per line: lines from concurrent workers on one pipe never interleave.
    sys.stdout.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
    sys.stdout.flush()


class AccessLogMiddleware:
    """The request id, the security headers and the access log line, around the whole app."""

    def __init__(self, wsgi_app, enabled: bool = True):
        self.wsgi_app = wsgi_app
        self.enabled = enabled

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request_id = request_id_from(environ)
        environ[REQUEST_ID_ENVIRON_KEY] = request_id
        seen = {"status": 500}

        def start_response_with_id(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            add_security_headers(environ, headers)
            headers.append(("X-Request-Id", request_id))
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, start_response_with_id)
        finally:
            if self.enabled:
                write_json_line(
                    {
                        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                        "type": "access",
                        "method": environ.get("REQUEST_METHOD"),
                        "path": environ.get("PATH_INFO"),
                        "status": seen["status"],
                        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                        "request_id": request_id,
                        "remote_addr": environ.get("REMOTE_ADDR"),
                    }
                )


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


_SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
_HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
# Pages hold a user's notes: no shared or back-button caching after sign-out.
_NO_STORE = ("Cache-Control", "no-store")


def add_security_headers(environ, headers: list[tuple[str, str]]) -> None:
    """Add each security header the response does not carry already (a WSGI header list).

    HSTS only on HTTPS (per ProxyFix, X-Forwarded-Proto from the ALB); ``Cache-Control:
    no-store`` only on HTML pages that set no caching of their own (static files keep theirs).
    """
    present = {name.lower(): value for name, value in headers}
    headers.extend(header for header in _SECURITY_HEADERS if header[0].lower() not in present)
    if environ.get("wsgi.url_scheme") == "https" and "strict-transport-security" not in present:
        headers.append(_HSTS)
    if present.get("content-type", "").startswith("text/html") and "cache-control" not in present:
        headers.append(_NO_STORE)


class JsonLogFormatter(logging.Formatter):
    """Application log records (errors, warnings) as JSON lines, with the request id."""

    def format(self, record) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "type": "app",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            line["request_id"] = request.environ.get(REQUEST_ID_ENVIRON_KEY)
            line["path"] = request.path
        if record.exc_info:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(line, default=str)


def install(app: Flask) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLogFormatter())
    app.logger.handlers[:] = [handler]
    app.logger.setLevel(logging.INFO)
    app.logger.propagate = False
