#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the notejam.aws collection
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 - ansible-test wants imports below DOCUMENTATION, EXAMPLES and RETURN

DOCUMENTATION = r"""
module: environment_lock
short_description: Take or release an environment's lock (a DynamoDB conditional write, owner, expiry)
version_added: 0.1.0
description:
  - Playbooks that change an environment (converge, deploy, scale event, restore, region
    migration, destroy) take its lock first and release it at the end, also when they fail, so a
    scheduled converge cannot run in the middle of a deployment and put back the previous image.
  - The lock is one item of a DynamoDB table, written with a condition (the item is absent, has
    expired, or is already this run's), which DynamoDB evaluates atomically
    (U(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html)).
  - A held lock is waited for, polling, at most O(wait_timeout) seconds; then the module fails
    naming the holder, since when it holds the lock and when the lock expires.
  - A lock left by a killed run expires O(ttl) seconds after it was taken. Expiry is decided by
    the condition, not by DynamoDB's TTL deletion, which may lag by days
    (U(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html));
    TTL only removes old items.
  - The table is created on first use (on-demand capacity, encrypted at rest by default, TTL on
    C(expires_at)). It is shared by every environment of the account and region and is not
    removed by C(destroy.yml).
  - Release deletes the item only when it still holds this run's token; a lock that expired and
    was taken by another run is left to that run, with a warning.
  - Check mode writes nothing: it reports whether the lock is held and by whom, and does not wait.
author:
  - Notejam maintainers (@notejam)
options:
  name:
    description: The lock's name, one per environment (e.g. V(notejam-prod)).
    type: str
    required: true
  state:
    description: V(present) takes the lock (waiting for it), V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  owner:
    description:
      - Who takes the lock, shown to anyone who finds it held (the playbook, the person or AWX
        job, the controller). The controller's host name is added.
      - Required with O(state=present).
    type: str
  token:
    description:
      - The run's token, returned by O(state=present). Required with O(state=absent).
      - Given with O(state=present), a lock that already holds this token is renewed (a run that
        takes its own lock again does not wait for itself).
    type: str
    no_log: false
  ttl:
    description: Seconds after which a lock that was never released expires. Longer than the longest run.
    type: int
    default: 14400
  wait_timeout:
    description: Seconds to wait for a held lock before failing; V(0) fails at once.
    type: int
    default: 1800
  poll_interval:
    description: Seconds between two attempts while the lock is held.
    type: int
    default: 10
  table:
    description: The DynamoDB table that holds the locks.
    type: str
    default: notejam-locks
  tags:
    description: Tags for the table when the module creates it.
    type: dict
    default: {}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Take the environment's lock
  notejam.aws.environment_lock:
    name: notejam-prod
    owner: "deploy.yml by {{ awx_user_name | default(lookup('env', 'USER')) }}"
    wait_timeout: 1800
  register: lock

- name: Release it
  notejam.aws.environment_lock:
    name: notejam-prod
    state: absent
    token: "{{ lock.lock.token }}"
"""

RETURN = r"""
lock:
  description: The lock as this run holds it (O(state=present)), or as found (check mode).
  returned: always
  type: dict
  contains:
    name:
      description: The lock's name.
      type: str
    owner:
      description: Who holds it.
      type: str
    token:
      description: The holder's token (this run's after a take); give it to O(state=absent).
      type: str
    acquired_at:
      description: When it was taken (UTC, ISO 8601).
      type: str
    expires_at:
      description: When it expires (UTC, ISO 8601).
      type: str
waited:
  description: Seconds spent waiting for another holder.
  returned: state=present
  type: int
waited_for:
  description: The owners of the lock this run waited for, in order.
  returned: state=present, not in check mode
  type: list
  elements: str
held_by:
  description: In check mode, the lock held by another run (empty when free).
  returned: check mode
  type: dict
"""

import socket
import time
import uuid
from datetime import datetime, timezone

try:
    import botocore
except ImportError:  # AnsibleAWSModule reports the missing dependency
    botocore = None

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.notejam.aws.plugins.module_utils.resource import retrying_client, wait_with_waiter

KEY = "lock_id"
EXPIRY = "expires_at"
TABLE_TIMEOUT = 300


def _iso(epoch):
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shown(item):
    if not item:
        return {}
    return {
        "name": item[KEY]["S"],
        "owner": item.get("owner", {}).get("S", ""),
        "token": item.get("token", {}).get("S", ""),
        "acquired_at": _iso(item.get("acquired_at", {}).get("N", 0)),
        "expires_at": _iso(item.get(EXPIRY, {}).get("N", 0)),
    }


def _describe(lock):
    return f"{lock['owner']} (since {lock['acquired_at']}, expires {lock['expires_at']})"


class Lock:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.ddb = retrying_client(
            module, "dynamodb", extra_retry_codes=("ProvisionedThroughputExceededException",)
        )

    # --- the table -----------------------------------------------------------------------------

    def table_exists(self):
        try:
            status = self.ddb.describe_table(TableName=self.params["table"])["Table"]["TableStatus"]
        except is_boto3_error_code("ResourceNotFoundException"):
            return False
        if status != "ACTIVE":
            self.wait_for_table()
        return True

    def wait_for_table(self):
        wait_with_waiter(
            self.module,
            self.ddb,
            "table_exists",
            f"the lock table {self.params['table']} to become ACTIVE",
            TABLE_TIMEOUT,
            delay=2,
            TableName=self.params["table"],
        )

    def create_table(self):
        table = self.params["table"]
        tags = [{"Key": k, "Value": str(v)} for k, v in sorted(self.params["tags"].items())]
        try:
            self.ddb.create_table(
                TableName=table,
                AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
                **({"Tags": tags} if tags else {}),
            )
        except is_boto3_error_code("ResourceInUseException"):
            pass  # another run created it first
        self.wait_for_table()
        ttl = self.ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            try:
                self.ddb.update_time_to_live(
                    TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRY}
                )
            except is_boto3_error_code("ValidationException"):
                pass  # "TimeToLive is already enabled": another run got there first

    # --- the item ------------------------------------------------------------------------------

    def current(self):
        item = self.ddb.get_item(
            TableName=self.params["table"], Key={KEY: {"S": self.params["name"]}}, ConsistentRead=True
        ).get("Item")
        return _shown(item) if item else {}

    def try_take(self, token, owner):
        now = int(time.time())
        item = {
            KEY: {"S": self.params["name"]},
            "owner": {"S": owner},
            "token": {"S": token},
            "acquired_at": {"N": str(now)},
            EXPIRY: {"N": str(now + self.params["ttl"])},
        }
        try:
            self.ddb.put_item(
                TableName=self.params["table"],
                Item=item,
                ConditionExpression="attribute_not_exists(#k) OR #e < :now OR #t = :token",
                ExpressionAttributeNames={"#k": KEY, "#e": EXPIRY, "#t": "token"},
                ExpressionAttributeValues={":now": {"N": str(now)}, ":token": {"S": token}},
            )
        except is_boto3_error_code("ConditionalCheckFailedException"):
            return None
        return _shown(item)

    def take(self):
        p = self.params
        token = p["token"] or uuid.uuid4().hex
        owner = f"{p['owner']} on {socket.gethostname()}"
        exists = self.table_exists()
        held = self.current() if exists else {}
        if held and (held["token"] == token or held["expires_at"] < _iso(time.time())):
            held = {}
        if self.module.check_mode:
            if held:
                self.module.warn(
                    f"The lock {p['name']} is held by {_describe(held)}: what this check reports may be "
                    "that run's change in progress."
                )
            # The lock is not part of the environment: a check (a drift check) never counts it as a change.
            self.module.exit_json(changed=False, lock=held, held_by=held, waited=0)
        if not exists:
            self.create_table()
        started = time.monotonic()
        deadline = started + p["wait_timeout"]
        waited_for = []
        while True:
            lock = self.try_take(token, owner)
            if lock:
                waited = int(time.monotonic() - started)
                return dict(changed=True, lock=lock, waited=waited, waited_for=waited_for)
            held = self.current()
            if held and held["owner"] not in waited_for:
                waited_for.append(held["owner"])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                holder = _describe(held) if held else "a run that has just released it"
                self.module.fail_json(
                    msg=(
                        f"The environment lock {p['name']} is held by {holder}; gave up after waiting "
                        f"{p['wait_timeout']}s (wait_timeout). Wait for that run to finish, or, if it was "
                        f"killed, for the lock to expire; nothing was changed by this run."
                    ),
                    held_by=held,
                )
            time.sleep(min(p["poll_interval"], remaining))

    def release(self):
        p = self.params
        if not self.table_exists():
            return dict(changed=False, lock={})
        held = self.current()
        if not held:
            return dict(changed=False, lock={})
        if held["token"] != p["token"]:
            self.module.warn(
                f"The lock {p['name']} is no longer this run's (it is held by {_describe(held)}): "
                "left as it is."
            )
            return dict(changed=False, lock=held)
        if self.module.check_mode:
            return dict(changed=False, lock=held)
        try:
            self.ddb.delete_item(
                TableName=p["table"],
                Key={KEY: {"S": p["name"]}},
                ConditionExpression="#t = :token",
                ExpressionAttributeNames={"#t": "token"},
                ExpressionAttributeValues={":token": {"S": p["token"]}},
            )
        except is_boto3_error_code("ConditionalCheckFailedException"):
            self.module.warn(
                f"The lock {p['name']} was taken by another run while being released: left as it is."
            )
            return dict(changed=False, lock=self.current())
        return dict(changed=True, lock=held)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            owner=dict(type="str"),
            token=dict(type="str", no_log=False),
            ttl=dict(type="int", default=14400),
            wait_timeout=dict(type="int", default=1800),
            poll_interval=dict(type="int", default=10),
            table=dict(type="str", default="notejam-locks"),
            tags=dict(type="dict", default={}),
        ),
        required_if=[("state", "present", ["owner"]), ("state", "absent", ["token"])],
        supports_check_mode=True,
    )
    p = module.params
    for option, low in (("ttl", 10), ("wait_timeout", 0), ("poll_interval", 1)):
        if p[option] < low:
            module.fail_json(msg=f"{option} must be at least {low} (got {p[option]}); nothing was changed.")
    if not p["name"].strip():
        module.fail_json(msg="name must not be empty; nothing was changed.")
    lock = Lock(module)
    try:
        result = lock.take() if p["state"] == "present" else lock.release()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        action = "take" if p["state"] == "present" else "release"
        module.fail_json_aws(e, msg=f"Could not {action} the lock {p['name']}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
