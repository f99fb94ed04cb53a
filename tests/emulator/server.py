"""Run the AWS emulator: moto's server app behind the harness.

    python -m tests.emulator.server --port 5000 [--host 127.0.0.1]

The harness, in front of moto, names every call (see ``standins.identify``), counts it, and
answers the operations moto lacks from the ``STANDINS`` of ``tests/emulator/fixes/*.py``. It
applies every module's ``apply()`` first, so moto behaves as AWS does where the product relies on
it. ``GET /_harness/calls`` returns the call counts, ``DELETE /_harness/calls`` resets them,
``GET /_harness/health`` answers once the server is ready, and
``POST /_harness/backup/age-vault-locks?days=N`` moves every Vault Lock's lock date N days back (a
compliance lock's cooling-off period then ends), ``POST /_harness/sns/confirm-subscriptions``
confirms every pending email/https subscription (their owners clicked the link). With
``--port 0`` a free port is chosen; the first line on stdout is ``READY <port>`` either way.

Environment read at start: MOTO_ECS_SERVICE_RUNNING and MOTO_ACM_VALIDATION_WAIT (set here to
``16`` and ``0`` unless given), as ARCHITECTURE.md fixes for the emulator, and strict mode's
NOTEJAM_EMULATOR_STRICT ("1", or "0", the default) and NOTEJAM_EMULATOR_TIME_SCALE (see
``tests/emulator/strict.py``). ``GET /_harness/strict`` shows strict mode's settings and
``POST /_harness/strict`` (a JSON object) changes them in a running emulator.
"""

import argparse
import io
import json
import os
import signal
import sys
import urllib.parse

# moto reports this many running tasks for every service, and a rollout COMPLETED only when it is at
# least the desired count: it must cover the largest count an inventory asks for (prod: 4 by day,
# autoscaling up to 16), or a deployment never reaches a steady state here.
os.environ.setdefault("MOTO_ECS_SERVICE_RUNNING", "16")
os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
# Stand-ins and fixes must not be skipped by moto's own account or region checks.
os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from tests.emulator import fixes
from tests.emulator.fixes import backup as backup_fixes
from tests.emulator.fixes import sns as sns_fixes
from tests.emulator.standins import CallLog, StandinError, identify, json_response
from tests.emulator.strict import Strict, error_response


def collect_standins():
    table = {}
    for module in fixes.service_modules():
        table.update(getattr(module, "STANDINS", {}))
    return table


class Harness:
    """WSGI middleware: name and count each call, serve stand-ins, pass the rest to moto."""

    def __init__(self, moto_app, standins, strict=None):
        self.moto_app = moto_app
        self.standins = standins
        self.calls = CallLog()
        self.strict = strict or Strict()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_harness/"):
            return self._control(environ, start_response, path)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        call = identify(environ, body)
        self.calls.record(call)
        refused = self.strict.refuse(call)
        if refused is not None:
            code, status, message = refused
            reason, headers, data = error_response(call.service, code, message, status)
            start_response(reason, headers)
            return [data]
        self.strict.before_moto(call)
        handler = self.standins.get((call.service, call.operation))
        if handler is None:
            return self._moto(environ, start_response, call)
        try:
            status, payload = handler(call)
        except StandinError as err:
            return json_response(
                start_response,
                err.status,
                {"__type": err.code, "message": err.message, "Message": err.message},
            )
        return json_response(start_response, status, payload)

    def _moto(self, environ, start_response, call):
        """moto's answer, passed through strict mode (which may learn from it or edit it)."""
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = self.moto_app(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        edited = self.strict.observe(call, captured["status"], body)
        headers = captured["headers"]
        if edited is not body:
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(edited))))
        start_response(captured["status"], headers)
        return [edited]

    def _control(self, environ, start_response, path):
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/_harness/health":
            return json_response(start_response, 200, {"status": "ok"}, "application/json")
        if path == "/_harness/calls" and method == "GET":
            return json_response(start_response, 200, self.calls.snapshot(), "application/json")
        if path == "/_harness/calls" and method == "DELETE":
            self.calls.reset()
            return json_response(start_response, 200, {"reset": True}, "application/json")
        if path == "/_harness/backup/age-vault-locks" and method == "POST":
            # Tests of what happens once a compliance Vault Lock's cooling-off period is over: move
            # every lock date back by ?days= (real AWS only gets there by waiting).
            query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
            aged = backup_fixes.age_vault_locks(float(query.get("days", "0")))
            return json_response(start_response, 200, {"aged": aged}, "application/json")
        if path == "/_harness/sns/confirm-subscriptions" and method == "POST":
            # The owners of pending email/https subscriptions follow the link AWS sent them.
            return json_response(
                start_response, 200, {"confirmed": sns_fixes.confirm_all()}, "application/json"
            )
        if path == "/_harness/strict" and method == "GET":
            return json_response(start_response, 200, self.strict.settings(), "application/json")
        if path == "/_harness/strict" and method == "POST":
            # Tests of one behaviour change the settings of a running emulator (tests/emulator/strict.py).
            length = int(environ.get("CONTENT_LENGTH") or 0)
            settings = json.loads(environ["wsgi.input"].read(length) or b"{}")
            try:
                answer = self.strict.configure(settings)
            except (TypeError, ValueError) as err:
                return json_response(start_response, 400, {"message": str(err)}, "application/json")
            return json_response(start_response, 200, answer, "application/json")
        return json_response(
            start_response, 404, {"message": f"no harness endpoint {path}"}, "application/json"
        )


def build_app():
    fixes.apply_all()
    return Harness(DomainDispatcherApplication(create_backend_app), collect_standins())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port, build_app(), threaded=True, request_handler=MotoRequestHandler)
    os.environ["MOTO_PORT"] = str(server.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"READY {server.port}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
