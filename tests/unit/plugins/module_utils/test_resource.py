"""The shared cycle: merge, diff, tags, retries and bounded waits."""

import botocore.exceptions
import pytest
from ansible_collections.notejam.aws.plugins.module_utils import resource
from ansible_collections.notejam.aws.plugins.module_utils.resource import (
    AwsResource,
    differences,
    merge_desired,
    retrying_client,
    tags_after,
    wait_for,
    whole,
)


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, params=None, check_mode=False, client=None):
        self.params = params or {}
        self.check_mode = check_mode
        self._client = client
        self.exited = None

    def client(self, service, retry_decorator=None):
        return self._client

    def fail_json(self, msg, **kwargs):
        raise Failed(msg)

    def exit_json(self, **kwargs):
        self.exited = kwargs


def test_merge_keeps_current_where_desired_is_none():
    current = {"a": 1, "nested": {"x": 1, "y": 2}, "tags": {"old": "1"}}
    desired = {"a": None, "nested": {"y": 3}, "tags": whole({"new": "2"})}
    assert merge_desired(current, desired) == {"a": 1, "nested": {"x": 1, "y": 3}, "tags": {"new": "2"}}


def test_differences_names_nested_paths_and_treats_lists_whole():
    before = {"a": 1, "n": {"x": 1}, "l": [1, 2]}
    after = {"a": 1, "n": {"x": 2}, "l": [2, 1]}
    assert differences(before, after) == ["l", "n.x"]
    assert differences(before, dict(before)) == []
    assert differences(None, {"a": 1}) == ["(resource)"]
    assert differences({"a": 1}, None) == ["(resource)"]


def test_tags_after_purges_only_when_asked():
    assert tags_after({"a": "1", "b": "2"}, {"a": "1"}, purge_tags=True) == {"a": "1"}
    assert tags_after({"a": "1", "b": "2"}, {"a": 3}, purge_tags=False) == {"a": "3", "b": "2"}
    assert tags_after({"a": "1"}, None, purge_tags=True) is None
    assert tags_after({"aws:cloudformation": "x"}, {}, purge_tags=True) == {"aws:cloudformation": "x"}


def test_every_client_call_retries_throttling(monkeypatch):
    monkeypatch.setattr(resource, "RETRY_DELAY", 0)
    calls = []

    class Client:
        def describe_things(self):
            calls.append(1)
            if len(calls) < 3:
                raise botocore.exceptions.ClientError(
                    {"Error": {"Code": "ThrottlingException" if len(calls) == 1 else "Throttling"}}, "X"
                )
            return "ok"

    client = retrying_client(FakeModule(client=Client()), "ecs", extra_retry_codes=["ThrottlingException"])
    assert client.describe_things() == "ok"
    assert len(calls) == 3


def test_wait_for_names_what_it_waited_for():
    seen = iter(range(100))
    with pytest.raises(Failed, match=r"waiting for the thing to be ready; last seen: state \d+"):
        wait_for(FakeModule(), "the thing to be ready", lambda: (False, f"state {next(seen)}"), 0.05, 0.01)
    assert wait_for(FakeModule(), "x", lambda: (True, "done"), timeout=1) == "done"


class Widget(AwsResource):
    service = "widgets"
    result_key = "widget"

    def __init__(self, module, store):
        self.store = store
        self.writes = []
        super().__init__(module)

    def read(self):
        return self.store.get("w")

    def comparable(self, raw):
        return {"size": raw["size"], "tags": raw["tags"]}

    def desired(self, before):
        tags = tags_after((before or {}).get("tags"), self.params["tags"], True)
        return {"size": self.params["size"], "tags": tags}

    def create(self, after):
        self.writes.append("create")
        self.store["w"] = dict(after, arn="arn:w")

    def update(self, before, after, changes):
        self.writes.append(("update", tuple(changes)))
        self.store["w"].update(after)

    def delete(self, raw):
        self.writes.append("delete")
        del self.store["w"]


@pytest.mark.parametrize("check_mode", [False, True])
def test_cycle_creates_then_does_nothing(check_mode):
    store = {}
    module = FakeModule({"size": 2, "tags": {"a": "b"}}, check_mode=check_mode, client=object())
    widget = Widget(module, store)
    widget.run()
    assert module.exited["changed"] is True
    assert module.exited["diff"] == {"before": {}, "after": {"size": 2, "tags": {"a": "b"}}}
    assert widget.writes == ([] if check_mode else ["create"])
    if check_mode:
        return
    assert module.exited["widget"] == {"size": 2, "tags": {"a": "b"}, "arn": "arn:w"}
    again = Widget(module, store)
    again.run()
    assert module.exited["changed"] is False
    assert again.writes == []


def test_cycle_updates_only_what_differs():
    store = {"w": {"size": 1, "tags": {"a": "b"}, "arn": "arn:w"}}
    module = FakeModule({"size": None, "tags": {"a": "c"}}, client=object())
    widget = Widget(module, store)
    widget.run()
    assert widget.writes == [("update", ("tags.a",))]
    assert module.exited["changes"] == ["tags.a"]
    assert store["w"]["size"] == 1


def test_cycle_deletes_on_absent_and_then_is_quiet():
    store = {"w": {"size": 1, "tags": {}, "arn": "arn:w"}}
    module = FakeModule({"state": "absent"}, client=object())
    Widget(module, store).run()
    assert module.exited["changed"] is True and store == {}
    widget = Widget(module, store)
    widget.run()
    assert module.exited["changed"] is False and widget.writes == []


def test_conform_coerces_jinja_strings_and_names_bad_keys():
    import boto3
    from ansible_collections.notejam.aws.plugins.module_utils.resource import conform

    ecs = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    container = {"name": "app", "image": "x:1", "essential": "yes"}
    container["portMappings"] = [{"containerPort": "8000"}]
    assert conform(ecs, "ContainerDefinition", container, "containers[0]") == {
        "name": "app",
        "image": "x:1",
        "essential": True,
        "portMappings": [{"containerPort": 8000}],
    }
    unknown = r"containers\[0\]\.port_mappings is not a known field; accepted: .*portMappings"
    with pytest.raises(ValueError, match=unknown):
        conform(ecs, "ContainerDefinition", {"port_mappings": []}, "containers[0]")
    with pytest.raises(ValueError, match=r"protocol='sctp' is not accepted; accepted: tcp, udp"):
        conform(ecs, "ContainerDefinition", {"portMappings": [{"protocol": "sctp"}]}, "c")
