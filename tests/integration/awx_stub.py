"""A tiny in-memory stand-in for the AWX REST API, enough for playbooks/awx.yml's awx.awx modules.

It is NOT AWX: it keeps what it is sent and answers the generic list/detail/association shapes the
collection's ControllerAPIModule reads (``count``/``results``/``next``, ``url``, ``related``,
``summary_fields``), hides credential secrets as ``$encrypted$`` as AWX does, reports a project
update as finished and successful, and validates nothing else. What it shows: the playbook's
tasks resolve every name they refer to in the order they run, send arguments the modules accept,
and a second run finds nothing to change. Listens on 127.0.0.1 only.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

API = "/api/v2/"
SUB_RESOURCES = (
    "credentials",
    "survey_spec",
    "labels",
    "instance_groups",
    "notification_templates_started",
    "notification_templates_success",
    "notification_templates_error",
    "notification_templates_approvals",
    "galaxy_credentials",
    "schedules",
    "update",
    "inventory_sources",
    "source_project",
)
UNIFIED = ("job_templates", "projects", "inventory_sources", "workflow_job_templates")
SECRET_INPUTS = ("password", "security_token", "ssh_key_data", "become_password")
IGNORED_QUERY = ("page_size", "page", "order_by")


class AwxStub:
    def __init__(self):
        self.lock = threading.Lock()
        self.next_id = 100
        self.store = {
            "organizations": {1: {"id": 1, "name": "Default"}},
            "credential_types": {
                1: {
                    "id": 1,
                    "name": "Amazon Web Services",
                    "kind": "cloud",
                    "namespace": "aws",
                    "managed": True,
                }
            },
        }
        self.associations = {}
        self.surveys = {}
        self.writes = []
        for resource, items in self.store.items():
            for item in items.values():
                self._decorate(resource, item)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                stub.handle(self, "GET")

            def do_POST(self):
                stub.handle(self, "POST")

            def do_PATCH(self):
                stub.handle(self, "PATCH")

            def do_DELETE(self):
                stub.handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # --- the store -------------------------------------------------------------------------------
    def _decorate(self, resource, item):
        url = f"{API}{resource}/{item['id']}/"
        item["url"] = url
        item["type"] = resource.rstrip("s")
        item["related"] = {sub: f"{url}{sub}/" for sub in SUB_RESOURCES}
        item.setdefault("summary_fields", {})

    def items(self, resource):
        if resource == "unified_job_templates":
            return [i for r in UNIFIED for i in self.store.get(r, {}).values()]
        return list(self.store.get(resource, {}).values())

    def find(self, resource, name):
        return [i for i in self.items(resource) if i.get("name") == name]

    def _public(self, resource, item):
        out = dict(item)
        if resource == "credentials" and isinstance(out.get("inputs"), dict):
            out["inputs"] = {
                k: ("$encrypted$" if k in SECRET_INPUTS else v) for k, v in out["inputs"].items()
            }
        return out

    def _matches(self, item, query):
        plain = [(k, v) for k, v in query if not k.startswith("or__") and k not in IGNORED_QUERY]
        either = [(k[4:], v) for k, v in query if k.startswith("or__")]
        if any(str(item.get(k)) != v for k, v in plain):
            return False
        return not either or any(str(item.get(k)) == v for k, v in either)

    # --- HTTP ------------------------------------------------------------------------------------
    def handle(self, request, method):
        parts = urlsplit(request.path)
        query = parse_qsl(parts.query)
        length = int(request.headers.get("Content-Length") or 0)
        body = json.loads(request.rfile.read(length) or b"{}") if length else {}
        path = parts.path[len(API) :].strip("/").split("/") if parts.path.startswith(API) else []
        with self.lock:
            status, payload = self.route(method, path, query, body)
        data = b"" if payload is None else json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("X-API-Product-Name", "AWX")
        request.send_header("X-API-Product-Version", "24.6.1")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def route(self, method, path, query, body):
        if not path or not path[0]:
            return 404, {"detail": "Not found."}
        resource = path[0]
        if len(path) == 1:
            if method == "GET":
                found = [self._public(resource, i) for i in self.items(resource) if self._matches(i, query)]
                return 200, {"count": len(found), "next": None, "previous": None, "results": found}
            if method == "POST":
                return self.create(resource, body)
        item = self.store.get(resource, {}).get(int(path[1])) if path[1].isdigit() else None
        if item is None:
            return 404, {"detail": "Not found."}
        if len(path) == 2:
            if method == "GET":
                return 200, self._public(resource, item)
            if method == "PATCH":
                self.writes.append(("PATCH", resource, item["name"], sorted(body)))
                item.update(body)
                return 200, self._public(resource, item)
            if method == "DELETE":
                self.writes.append(("DELETE", resource, item["name"], []))
                del self.store[resource][item["id"]]
                return 204, None
        sub = path[2]
        key = (resource, item["id"], sub)
        if sub == "survey_spec":
            if method == "GET":
                return 200, self.surveys.get(key, {})
            self.writes.append(("POST", f"{resource}/survey_spec", item["name"], []))
            self.surveys[key] = body
            return 200, {}
        if method == "GET":
            ids = sorted(self.associations.get(key, set()))
            results = [{"id": i} for i in ids]
            return 200, {"count": len(results), "next": None, "previous": None, "results": results}
        if method == "POST":
            self.writes.append(("POST", f"{resource}/{sub}", item["name"], sorted(body)))
            linked = self.associations.setdefault(key, set())
            if body.get("disassociate"):
                linked.discard(body["id"])
            else:
                linked.add(body["id"])
            return 204, None
        return 405, {"detail": "Method not allowed."}

    def create(self, resource, body):
        name = body.get("name")
        if name is not None and any(
            i.get("name") == name and i.get("organization") == body.get("organization")
            for i in self.items(resource)
        ):
            return 400, {"__all__": [f"{resource} named {name} already exists"]}
        self.next_id += 1
        item = dict(body, id=self.next_id)
        self._decorate(resource, item)
        if resource == "projects":
            self.next_id += 1
            update = {"id": self.next_id, "status": "successful", "finished": True, "failed": False}
            self.store.setdefault("project_updates", {})[update["id"]] = update
            item["scm_revision"] = "0" * 40
            item["summary_fields"] = {"current_update": {"id": update["id"], "status": "successful"}}
        self.store.setdefault(resource, {})[item["id"]] = item
        self.writes.append(("POST", resource, name, []))
        return 201, self._public(resource, item)
