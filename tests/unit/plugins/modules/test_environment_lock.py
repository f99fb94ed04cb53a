"""environment_lock: take, wait, fail naming the holder, expiry, re-entry, release, check mode, bad input."""

import threading
import time

import boto3
import pytest
from ansible_collections.notejam.aws.plugins.modules.environment_lock import main

TABLE = "notejam-locks"
TAKE = {"name": "notejam-test", "owner": "deploy.yml by alice", "poll_interval": 1, "wait_timeout": 0}


def item():
    key = {"lock_id": {"S": "notejam-test"}}
    return boto3.client("dynamodb").get_item(TableName=TABLE, Key=key).get("Item")


def test_first_take_creates_the_table_with_a_ttl_and_holds_the_lock(aws, run_module):
    result = run_module(main, dict(TAKE, tags={"Project": "notejam"}))
    assert result["changed"] is True
    lock = result["lock"]
    assert lock["name"] == "notejam-test"
    assert lock["owner"].startswith("deploy.yml by alice on ")
    assert len(lock["token"]) == 32
    ddb = boto3.client("dynamodb")
    table = ddb.describe_table(TableName=TABLE)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = ddb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    stored = item()
    assert stored["token"]["S"] == lock["token"]
    assert int(stored["expires_at"]["N"]) - int(stored["acquired_at"]["N"]) == 14400


def test_a_held_lock_fails_a_second_run_naming_the_holder_and_writes_nothing(aws, run_module, api_calls):
    first = run_module(main, TAKE)
    api_calls.clear_calls()
    second = run_module(main, dict(TAKE, owner="site.yml by AWX job 42"))
    assert second["failed"] is True
    assert "notejam-test is held by deploy.yml by alice on " in second["msg"]
    assert "gave up after waiting 0s (wait_timeout)" in second["msg"]
    assert "nothing was changed" in second["msg"]
    assert second["held_by"]["token"] == first["lock"]["token"]
    # The conditional put is refused by DynamoDB; no other write is made.
    assert api_calls.writes == ["PutItem"]
    assert item()["token"]["S"] == first["lock"]["token"]


def test_a_waiting_run_takes_the_lock_once_the_holder_releases_it(aws, run_module):
    first = run_module(main, TAKE)

    def release_soon():
        time.sleep(1.5)
        boto3.client("dynamodb").delete_item(TableName=TABLE, Key={"lock_id": {"S": "notejam-test"}})

    releaser = threading.Thread(target=release_soon)
    releaser.start()
    second = run_module(main, dict(TAKE, owner="site.yml by bob", wait_timeout=20))
    releaser.join()
    assert second["changed"] is True
    assert second["waited"] >= 1
    assert second["lock"]["token"] != first["lock"]["token"]
    assert second["lock"]["owner"].startswith("site.yml by bob")


def test_waiting_is_bounded(aws, run_module):
    run_module(main, TAKE)
    started = time.monotonic()
    second = run_module(main, dict(TAKE, owner="site.yml by bob", wait_timeout=2))
    assert second["failed"] is True
    assert 2 <= time.monotonic() - started < 10
    assert "gave up after waiting 2s" in second["msg"]


def test_a_lock_left_by_a_killed_run_expires(aws, run_module):
    first = run_module(main, dict(TAKE, ttl=10))
    # The killed run's lock, 11 s later: its expiry is in the past.
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"lock_id": {"S": "notejam-test"}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    second = run_module(main, dict(TAKE, owner="site.yml by bob"))
    assert second["changed"] is True
    assert second["lock"]["token"] != first["lock"]["token"]


def test_the_holder_takes_its_own_lock_again_without_waiting(aws, run_module):
    first = run_module(main, TAKE)
    again = run_module(main, dict(TAKE, token=first["lock"]["token"]))
    assert again["changed"] is True
    assert again["lock"]["token"] == first["lock"]["token"]


def test_release_deletes_only_this_runs_lock(aws, run_module):
    first = run_module(main, TAKE)
    other = run_module(main, {"name": "notejam-test", "state": "absent", "token": "not-mine"})
    assert other["changed"] is False
    assert any("no longer this run's" in w for w in other.get("warnings", []))
    assert item() is not None
    mine = run_module(main, {"name": "notejam-test", "state": "absent", "token": first["lock"]["token"]})
    assert mine["changed"] is True
    assert item() is None
    again = run_module(main, {"name": "notejam-test", "state": "absent", "token": first["lock"]["token"]})
    assert again["changed"] is False


def test_check_mode_writes_nothing_and_warns_about_a_holder(aws, run_module, api_calls):
    free = run_module(main, TAKE, check=True)
    assert free["changed"] is False and free["held_by"] == {}
    assert api_calls.writes == []
    run_module(main, TAKE)
    api_calls.clear_calls()
    held = run_module(main, dict(TAKE, owner="drift.yml"), check=True)
    assert held["changed"] is False
    assert held["held_by"]["owner"].startswith("deploy.yml by alice")
    assert any("what this check reports may be that run's change in progress" in w for w in held["warnings"])
    assert api_calls.writes == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (dict(TAKE, ttl=5), "ttl must be at least 10 (got 5)"),
        (dict(TAKE, wait_timeout=-1), "wait_timeout must be at least 0 (got -1)"),
        (dict(TAKE, poll_interval=0), "poll_interval must be at least 1 (got 0)"),
        (dict(TAKE, name=" "), "name must not be empty"),
        ({"name": "notejam-test"}, "owner"),
        ({"name": "notejam-test", "state": "absent"}, "token"),
    ],
)
def test_bad_input_fails_before_any_call(aws, run_module, api_calls, args, expected):
    result = run_module(main, args)
    assert result["failed"] is True
    assert expected in result["msg"]
    assert api_calls == []
