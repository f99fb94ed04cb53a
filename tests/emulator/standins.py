"""Naming each request the emulator receives, and serving the operations moto lacks.

Every request is named ``(service, operation)`` from what the AWS SDK sent: the signing name in the
``Authorization`` header's credential scope, then ``X-Amz-Target`` (JSON protocols), ``Action``
(query protocols) or, for REST protocols, the operation in botocore's own service model whose HTTP
method and request URI match. The same names key the call counter (``/_harness/calls``) and the
stand-ins that ``tests/emulator/fixes/<service>.py`` modules declare in ``STANDINS``.
"""

import contextlib
import json
import re
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

import botocore.session

# Signing names whose botocore service name differs; the rest are the same.
SIGNING_TO_SERVICE = {
    "monitoring": "cloudwatch",
    "elasticloadbalancing": "elbv2",
    "codestar-connections": "codestar-connections",
    "application-autoscaling": "application-autoscaling",
    "email": "ses",
    "execute-api": "apigateway",
}

# Operation name prefixes that only read. Everything else counts as a write.
READ_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Lookup", "Search", "Check", "Head")

_session = botocore.session.get_session()
_models = {}
_models_lock = threading.Lock()


def service_model(service):
    """botocore's model for a service name, cached; None when botocore does not know it."""
    with _models_lock:
        if service not in _models:
            try:
                _models[service] = _session.get_service_model(service)
            except Exception:  # noqa: BLE001 - an unknown name only means "no model"
                _models[service] = None
        return _models[service]


def is_write(operation):
    return not operation.startswith(READ_PREFIXES)


_uri_cache = {}


def _uri_regex(request_uri):
    """Regex for a botocore requestUri template such as ``/backup/plans/{BackupPlanId}/selections/``."""
    if request_uri not in _uri_cache:
        path = request_uri.split("?", 1)[0]
        pattern = ""
        for part in re.split(r"(\{[^}]+\})", path):
            if part.startswith("{"):
                name = part.strip("{}")
                greedy = name.endswith("+")
                name = name.rstrip("+")
                pattern += f"(?P<{name}>{'.+' if greedy else '[^/]+'})"
            else:
                pattern += re.escape(part)
        # Literal query keys of the template (S3's "/{Bucket}?policy", "?session", "?x-id=GetObject")
        # tell apart operations that share a method and a path.
        query = request_uri.split("?", 1)[1] if "?" in request_uri else ""
        keys = frozenset(k.split("=", 1)[0] for k in query.split("&") if k and "{" not in k)
        _uri_cache[request_uri] = (re.compile(f"^{pattern.rstrip('/')}/?$"), path.count("{"), len(path), keys)
    return _uri_cache[request_uri]


def match_rest_operation(model, method, path, query=()):
    """The REST operation whose method, URI template and literal query keys match, preferring the
    one naming the most query keys, then the most literal path."""
    best = None
    for name in model.operation_names:
        http = model.operation_model(name).http
        if http.get("method", "").upper() != method:
            continue
        regex, n_params, length, keys = _uri_regex(http.get("requestUri", "/"))
        if not keys <= set(query):
            continue
        found = regex.match(path)
        if found:
            rank = (len(keys), -n_params, length)
            if best is None or rank > best[0]:
                best = (rank, name, {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()})
    return (best[1], best[2]) if best else (None, {})


@dataclass
class Call:
    """One request, named."""

    service: str
    operation: str
    region: str
    uri_params: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    body: bytes = b""

    def params(self):
        """Body (JSON), query and URI parameters merged, as a stand-in wants them."""
        merged = {}
        if self.body:
            with contextlib.suppress(ValueError):  # a body that is not JSON carries no parameters
                merged.update(json.loads(self.body))
        merged.update(self.query)
        merged.update(self.uri_params)
        return merged


_CRED_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")


def identify(environ, body):
    """Name the request in ``environ`` (whose body has been read into ``body``)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = _CRED_SCOPE.search(auth)
    region, signing = (scope.group(1), scope.group(2)) if scope else ("us-east-1", "unknown")
    service = SIGNING_TO_SERVICE.get(signing, signing)
    query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return Call(service, target.rsplit(".", 1)[-1], region, query=query, body=body)
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        if "Action" in form:
            if signing == "elasticloadbalancing" and form.get("Version") == "2012-06-01":
                service = "elb"
            return Call(service, form["Action"], region, query=form)
    if "Action" in query:
        return Call(service, query["Action"], region, query=query)
    model = service_model(service)
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "/")
    if model is not None:
        operation, uri_params = match_rest_operation(model, method, path, query)
        if operation:
            return Call(service, operation, region, uri_params=uri_params, query=query, body=body)
    return Call(service, f"{method} {path}", region, query=query, body=body)


# The DynamoDB table that holds the environments' locks (notejam.aws.environment_lock's default).
LOCK_TABLE = "notejam-locks"


def is_lock_call(call):
    """A call on the lock table: run coordination (take, release), not the environment's state."""
    return call.service == "dynamodb" and call.params().get("TableName") == LOCK_TABLE


class CallLog:
    """Thread-safe count of the calls the emulator served, by service and operation.

    Calls on the lock table are counted apart (``lock_calls``): every changing playbook takes and
    releases its environment's lock, and "no call" / "no write" claims are about the environment.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = Counter()
        self._lock_counts = Counter()

    def record(self, call):
        counts = self._lock_counts if is_lock_call(call) else self._counts
        with self._lock:
            counts[f"{call.service}:{call.operation}"] += 1

    def snapshot(self):
        with self._lock:
            counts = dict(self._counts)
            lock_counts = dict(self._lock_counts)
        writes = {k: v for k, v in counts.items() if is_write(k.split(":", 1)[1])}
        return {
            "total": sum(counts.values()),
            "writes": sum(writes.values()),
            "calls": dict(sorted(counts.items())),
            "write_calls": dict(sorted(writes.items())),
            "lock_calls": dict(sorted(lock_counts.items())),
        }

    def reset(self):
        with self._lock:
            self._counts.clear()
            self._lock_counts.clear()


def json_response(start_response, status, payload, content_type="application/x-amz-json-1.1"):
    data = json.dumps(payload, default=str).encode()
    start_response(
        f"{status} {'OK' if status < 400 else 'Error'}",
        [("Content-Type", content_type), ("Content-Length", str(len(data)))],
    )
    return [data]


class StandinError(Exception):
    """Raised by a stand-in to answer with an AWS-shaped error."""

    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
