# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one cycle every notejam.aws module runs: read, desire, normalise, diff, apply.

Why this exists: the community.aws modules we replace each grew their own comparison code and
each got it wrong in its own way (a change on every run because AWS fills in defaults, fields the
comparison skips, check mode that still writes). Here the cycle lives once:

1. ``read()`` fetches the resource as AWS returns it (``None`` when it does not exist);
2. ``comparable(raw)`` projects it onto the fields the module manages, in AWS's own camelCase,
   with AWS's defaults made explicit and unordered lists sorted: the *before* state;
3. ``desired(before)`` builds the user's wish in that same shape; ``None`` means "not specified,
   keep what is there", so options left out never count as differences. :func:`merge_desired`
   lays it over *before* (or, for a resource still to be created, over ``created_defaults()``,
   what AWS gives a new one): the *after* state;
4. :func:`differences` names the paths that differ. Nothing differs: no write call at all.
   Check mode stops here and reports. Otherwise ``create``/``update``/``delete`` make the
   smallest calls that close exactly those differences, and the resource is read again;
5. the module exits with ``changed``, ``diff`` ({before, after}, snake_case) and the resource.

A module subclasses :class:`AwsResource`, fills in the hooks (``validate()`` for checks the
argument spec cannot express; ``run()`` calls it before any API call), and calls ``run()``.
Resources that are several AWS objects (a scalable target with its policies) make the comparable
state a dict of them; actions that are not states (running a task) use the helpers alone.

Every client comes from :func:`retrying_client`, so throttling and transient errors are retried
with jittered backoff on every call, not only on the calls someone remembered to mark.
"""

import random
import re
import time
import uuid

try:
    import botocore
    import botocore.config
except ImportError:  # AnsibleAWSModule reports the missing dependency
    botocore = None

from ansible.module_utils.common.dict_transformations import _camel_to_snake, camel_dict_to_snake_dict
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

# Seconds between polls of a bounded wait. Module-level so tests can shorten it.
POLL_DELAY = 5
# Retry schedule for transient errors (AWSRetry already knows throttling and 5xx-like codes).
RETRIES = 10
RETRY_DELAY = 2
RETRY_MAX_DELAY = 30


# Every code with which a service that the modules call says "slow down" (each service's API
# reference; AWSRetry knows only RequestLimitExceeded, Throttling and TooManyRequestsException):
# ECS, ACM, Application Auto Scaling, ECR, Backup, CodeBuild, CloudWatch Logs, KMS, SSM, Secrets
# Manager and WAFv2 say ThrottlingException; SNS says Throttled; S3 says SlowDown; DynamoDB (the
# environment's lock) says ThrottlingException, ProvisionedThroughputExceededException or
# RequestLimitExceeded. The request was refused, not processed, so any call may be sent again
# after one of them.
THROTTLING_CODES = (
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "Throttled",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "EC2ThrottledException",
    "ProvisionedThroughputExceededException",
)

# Creates with neither a client token (botocore's model has none for them) nor a name AWS keeps
# unique: sent again after an answer that may hide a success (a 5xx, a dropped connection), they
# make a second resource (or fail as a duplicate). Their clients retry throttling only, botocore's
# own retries included, and the modules look the resource up by name or tag before sending the
# create again (:func:`create_once`).
UNTOKENED_CREATES = {
    "ec2": (
        "create_vpc",
        "create_subnet",
        "allocate_address",
        "create_internet_gateway",
        "create_security_group",
    ),
    "rds": ("create_db_cluster",),
}


class _ThrottleRetry(AWSRetry):
    """AWSRetry that repeats a call only when AWS refused it for its rate."""

    @staticmethod
    def found(response_code, catch_extra_error_codes=None):
        return response_code in THROTTLING_CODES


class _RetryEveryCall(RetryingBotoClientWrapper):
    """amazon.aws's wrapper retries only calls made with ``aws_retry=True``; we retry all.

    Forgetting the flag on one call is how a throttled run fails half way. Reads are safe to
    repeat, and so are the writes the modules make: puts and tag calls are idempotent, creates are
    by name or carry a client token (RegisterTaskDefinition has neither: a repeat can only add an
    identical revision, which the next run re-uses). The creates in :data:`UNTOKENED_CREATES` go
    through ``once``, a client without botocore's retries, and are repeated after throttling only.
    """

    def __init__(self, client, retry, once=None, unsafe=()):
        super().__init__(client, retry)
        self._once = once
        self._unsafe = frozenset(unsafe)

    def _create_optional_retry_wrapper_function(self, unwrapped):
        return self.retry(unwrapped)

    def __getattr__(self, name):
        if name in self._unsafe and self._once is not None:
            wrapped = _ThrottleRetry.jittered_backoff(
                retries=RETRIES, delay=RETRY_DELAY, max_delay=RETRY_MAX_DELAY
            )(getattr(self._once(), name))
            setattr(self, name, wrapped)
            return wrapped
        return super().__getattr__(name)


def retrying_client(module, service, extra_retry_codes=(), **client_params):
    """A boto3 client for ``service`` whose every call retries throttling and transient errors
    with jitter (``client_params``, e.g. ``region``, go to ``module.client``)."""
    decorator = AWSRetry.jittered_backoff(
        retries=RETRIES,
        delay=RETRY_DELAY,
        max_delay=RETRY_MAX_DELAY,
        catch_extra_error_codes=list(THROTTLING_CODES) + list(extra_retry_codes),
    )
    raw = module.client(service, **client_params)
    single = {}

    def once():
        if "client" not in single:
            no_sdk_retries = botocore.config.Config(retries={"total_max_attempts": 1})
            single["client"] = module.client(service, config=no_sdk_retries, **client_params)
        return single["client"]

    return _RetryEveryCall(raw, decorator, once, UNTOKENED_CREATES.get(service, ()))


# Answers after which a create may have succeeded although it reports an error.
_MAYBE_DONE_CODES = ("InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable")


def _may_have_succeeded(error):
    if isinstance(error, botocore.exceptions.ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500 or error.response.get("Error", {}).get("Code") in _MAYBE_DONE_CODES
    return isinstance(error, (botocore.exceptions.ConnectionError, botocore.exceptions.ReadTimeoutError))


def create_once(create, find, what, attempts=3, find_attempts=4):
    """``create()`` for a create without a client token; after an answer that may hide a success
    (a 5xx, a dropped connection) the resource is looked up with ``find()`` (by name or tag; polled
    a few times, as a new resource may not be listed at once) and returned when it is there, and
    only otherwise created again. ``find()`` returns what ``create()`` would, or ``None``."""
    for attempt in range(attempts):
        try:
            return create()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            if not _may_have_succeeded(e) or attempt == attempts - 1:
                raise
        for look in range(find_attempts):
            found = find()
            if found is not None:
                return found
            time.sleep(random.uniform(0, RETRY_DELAY * (look + 1)))  # noqa: S311 - jitter, not a secret
    raise AssertionError(f"unreachable: creating {what}")


def paginate(client, operation, result_key, **params):
    """Every item of a paginated ``operation``; the whole walk is retried on transient errors and on
    every service's own throttling code (AWSRetry alone knows ``Throttling`` but not, e.g., ECR's
    ``ThrottlingException``)."""
    raw = getattr(client, "client", client)

    @AWSRetry.jittered_backoff(
        retries=RETRIES,
        delay=RETRY_DELAY,
        max_delay=RETRY_MAX_DELAY,
        catch_extra_error_codes=list(THROTTLING_CODES),
    )
    def walk():
        return raw.get_paginator(operation).paginate(**params).build_full_result().get(result_key, [])

    return walk()


def client_token():
    """A token for one create call: the retry decorator repeats the call with the same token,
    so AWS returns the first result instead of making a duplicate. Runs that were interrupted are
    covered by looking the resource up by name first."""
    return str(uuid.uuid4())


class _Absent:
    """Desired-state marker: the key must not be there (e.g. a policy to remove)."""

    def __repr__(self):
        return "ABSENT"


ABSENT = _Absent()


class WholeValue(dict):
    """A dict that replaces the current value instead of being merged into it (e.g. tags, where
    a key missing from the desired dict must disappear)."""


def whole(value):
    """Mark a desired dict as replacing the current one as a whole (``None`` stays "keep")."""
    return None if value is None else WholeValue(value)


def merge_desired(current, desired):
    """Lay ``desired`` over ``current``: ``None`` keeps the current value, :data:`ABSENT` removes
    it, dicts merge key by key (unless wrapped with :func:`whole`), every other value replaces
    the current one."""
    if desired is None:
        return current
    if desired is ABSENT:
        return None
    if isinstance(desired, WholeValue):
        return dict(desired)
    if isinstance(desired, dict):
        base = dict(current) if isinstance(current, dict) else {}
        for key, value in desired.items():
            merged = merge_desired(base.get(key), value)
            if merged is None:
                base.pop(key, None)
            else:
                base[key] = merged
        return base
    return desired


def differences(before, after, path=""):
    """Dotted paths at which ``after`` differs from ``before`` (lists compare as a whole)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after), key=str):
            found.extend(differences(before.get(key), after.get(key), f"{path}.{key}" if path else key))
        return found
    if before == after:
        return []
    return [path or "(resource)"]


def drop_none(value):
    """``value`` without ``None`` entries in dicts, recursively (AWS omits unset fields)."""
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none(v) for v in value]
    return value


def snake(value, verbatim=("tags", "Tags")):
    """AWS camelCase to the snake_case that Ansible modules return. Values under the keys named in
    ``verbatim`` (tags, docker labels, policy documents, ...) are user data and stay as they are."""
    if value is None:
        return {}
    return camel_dict_to_snake_dict(value, ignore_list=list(verbatim))


def conform(client, shape_name, value, where):
    """``value`` checked against and coerced to the botocore input shape ``shape_name``.

    Why: values reach modules through Jinja, so ``"80"`` arrives where AWS wants ``80`` and
    ``"yes"`` where it wants ``true``; AWS then returns the typed value and every later comparison
    differs. Unknown keys (a typo, or snake_case where the API takes camelCase) and values outside
    an enum raise ValueError naming the path and what is accepted, before any call is made."""
    return _conform(client.meta.service_model.shape_for(shape_name), value, where)


def _conform(shape, value, where):
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise ValueError(f"{where} must be a dict with keys among: {', '.join(sorted(shape.members))}")
        result = {}
        for key, item in value.items():
            if key not in shape.members:
                accepted = ", ".join(sorted(shape.members))
                raise ValueError(f"{where}.{key} is not a known field; accepted: {accepted}")
            result[key] = _conform(shape.members[key], item, f"{where}.{key}")
        return result
    if kind == "list":
        if not isinstance(value, list):
            raise ValueError(f"{where} must be a list")
        return [_conform(shape.member, item, f"{where}[{i}]") for i, item in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            raise ValueError(f"{where} must be a dict")
        return {str(k): _conform(shape.value, v, f"{where}.{k}") for k, v in value.items()}
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not str(value).strip().lstrip("-").isdigit():
            raise ValueError(f"{where} must be an integer, got {value!r}")
        return int(str(value).strip())
    if kind in ("float", "double"):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where} must be a number, got {value!r}") from None
    if kind == "boolean":
        try:
            return boolean(value, strict=True)
        except TypeError:
            raise ValueError(f"{where} must be a boolean, got {value!r}") from None
    if kind == "string":
        text = str(value)
        if shape.enum and text not in shape.enum:
            raise ValueError(f"{where}={text!r} is not accepted; accepted: {', '.join(shape.enum)}")
        return text
    return value


_CAMEL_FIELD = re.compile(r"[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+")


def shown(value, verbatim=("tags", "addressTags")):
    """A compared state in snake_case for ``diff`` and results, for modules whose state holds
    user-chosen keys at any depth: only camelCase field names are converted, so names of things
    (subnet and table Names, CIDRs) stay as they are, and so does everything under a tags key."""
    if isinstance(value, dict):
        return {
            (_camel_to_snake(k) if _CAMEL_FIELD.fullmatch(str(k)) else k): (
                v if k in verbatim else shown(v, verbatim)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [shown(v, verbatim) for v in value]
    return value


def tags_after(current, tags, purge_tags):
    """The tag dict a resource should end with, or ``None`` when ``tags`` was not given."""
    if tags is None:
        return None
    wanted = {str(k): str(v) for k, v in tags.items()}
    to_set, to_unset = compare_aws_tags(current or {}, wanted, purge_tags)
    result = {k: v for k, v in (current or {}).items() if k not in to_unset}
    result.update(to_set)
    return whole(result)


def tag_delta(before, after):
    """(tags to set, keys to remove) that turn ``before`` into ``after``."""
    return compare_aws_tags(before or {}, after or {}, purge_tags=True)


def wait_for(module, what, probe, timeout, delay=None):
    """Poll ``probe()`` until it returns ``(True, detail)``; fail after ``timeout`` seconds with a
    message that names ``what`` was awaited and the last ``detail`` seen. ``probe`` may itself
    call ``module.fail_json`` on a terminal failure (e.g. a rolled-back deployment)."""
    delay = POLL_DELAY if delay is None else delay
    deadline = time.monotonic() + timeout
    while True:
        done, detail = probe()
        if done:
            return detail
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            module.fail_json(msg=f"Gave up after {timeout}s waiting for {what}; last seen: {detail}")
        time.sleep(min(delay, remaining))


def error_code_and_message(error):
    """``(code, message)`` of a botocore ClientError (empty strings when absent)."""
    details = error.response.get("Error", {}) if isinstance(error, botocore.exceptions.ClientError) else {}
    return details.get("Code") or "", details.get("Message") or ""


def until_accepted(module, what, call, refused, timeout, explain=None, delay=None):
    """``call()`` until AWS stops refusing it for a reason that passes with time, and its result.

    Why: some refusals mean "not yet", not "no": a role IAM has not propagated, an entity WAF cannot
    see yet, network interfaces still being released. ``refused(error)`` says whether a ClientError
    is one of those; any other error is raised at once. The wait is :func:`wait_for`'s, bounded by
    ``timeout`` seconds; giving up names ``what`` was awaited and the last refusal (plus
    ``explain()``, e.g. what still holds a resource). When the call had to wait, the module is told
    so in a warning (``module.warn``) naming what it waited for, how long and how often it was
    refused, so a run that was slow says why."""
    outcome, refusals = {}, []
    started = time.monotonic()

    def probe():
        try:
            outcome["result"] = call()
        except botocore.exceptions.ClientError as e:
            if not refused(e):
                raise
            code, message = error_code_and_message(e)
            detail = f"{code}: {message}"
            if explain is not None:
                detail += f" ({explain()})"
            refusals.append(detail)
            return False, detail
        return True, None

    # At least a fifth of a second between attempts, even when tests shorten POLL_DELAY to 0.
    wait_for(module, what, probe, timeout, max(0.2, POLL_DELAY if delay is None else delay))
    if refusals:
        module.warn(
            f"Waited {time.monotonic() - started:.0f}s for {what}: refused {len(refusals)} time(s), "
            f"first with {refusals[0]}"
        )
    return outcome["result"]


def refused_for(code, fragment):
    """A ``refused`` predicate for :func:`until_accepted`: AWS answered error ``code`` with
    ``fragment`` in its message (case-insensitive).

    Why both: CodeBuild (InvalidInputException "... not authorized to perform: sts:AssumeRole ...")
    and CodePipeline (InvalidStructureException "... not authorized to perform AssumeRole ...") say a
    new role is not assumable yet with error codes they also use for input that is really wrong;
    only the message tells the two apart."""

    def refused(error):
        got_code, message = error_code_and_message(error)
        return got_code == code and fragment.lower() in message.lower()

    return refused


def wait_with_waiter(module, client, waiter_name, what, timeout, delay=None, **params):
    """Use botocore's own waiter where one exists, bounded by ``timeout`` seconds."""
    delay = POLL_DELAY if delay is None else delay
    waiter = getattr(client, "client", client).get_waiter(waiter_name)
    try:
        attempts = max(1, int(timeout // max(delay, 1)))
        waiter.wait(WaiterConfig={"Delay": delay, "MaxAttempts": attempts}, **params)
    except botocore.exceptions.WaiterError as e:
        module.fail_json(
            msg=f"Gave up after {timeout}s waiting for {what}: {e}", last_response=snake(e.last_response)
        )


class AwsResource:
    """One AWS resource managed by one module; subclass it and fill in the hooks below.

    Class attributes: ``service`` (boto3 client name), ``result_key`` (the key the module returns
    the resource under) and optionally ``extra_retry_codes`` (errors that are transient for this
    service). Parameters are read from ``module.params``; ``state`` defaults to present.
    """

    service = None
    result_key = None
    extra_retry_codes = ()
    verbatim_keys = ("tags", "Tags")

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = retrying_client(module, self.service, self.extra_retry_codes)

    # --- hooks --------------------------------------------------------------------------------
    def validate(self):
        """Check parameters that the argument spec cannot; runs before any API call. Fail with
        ``self.module.fail_json`` naming the parameter and the accepted values."""

    def read(self):
        """The resource as AWS describes it, or ``None``."""
        raise NotImplementedError

    def comparable(self, raw):
        """The managed fields of ``raw`` with AWS defaults explicit (``raw`` is never ``None``)."""
        return raw

    def desired(self, before):
        """The desired state in the comparable shape; ``None`` values mean "keep"."""
        raise NotImplementedError

    def created_defaults(self):
        """The comparable state AWS gives a new resource for options left out; the desired state
        is laid over it when the resource does not exist yet."""
        return {}

    def create(self, after):
        raise NotImplementedError

    def update(self, before, after, changes):
        raise NotImplementedError

    def delete(self, raw):
        raise NotImplementedError

    def settle(self, raw, changed):
        """Called after apply (or on a no-op) outside check mode, e.g. to wait for a steady
        state; returns the resource to report."""
        return raw

    def returned(self, raw):
        """What the module returns under ``result_key``."""
        return snake(raw, self.verbatim_keys)

    def presented(self, state):
        """A compared state (before or after) as the module shows it in ``diff`` and check mode."""
        return snake(state, self.verbatim_keys)

    def predicted(self, raw, after):
        """What check mode returns when something would change: the resource as it is (ARNs and
        other read-only fields) with the managed fields as they would become; ``{}`` for a delete."""
        if after is None:
            return {}
        current = self.returned(raw) if raw is not None else {}
        return dict(current, **self.presented(after))

    # --- the cycle ----------------------------------------------------------------------------
    def plan(self):
        """(raw, before, after, changes), without any write."""
        raw = self.read()
        before = None if raw is None else self.comparable(raw)
        if self.params.get("state", "present") == "absent":
            after = None
        else:
            base = before if before is not None else self.created_defaults()
            after = merge_desired(base, self.desired(before))
        return raw, before, after, differences(before, after)

    def apply(self, raw, before, after, changes):
        """Close the differences (never called in check mode or without changes); returns the
        resource as AWS now describes it."""
        if after is None:
            self.delete(raw)
            return None
        if before is None:
            self.create(after)
        else:
            self.update(before, after, changes)
        return self.read()

    def converge(self):
        """One cycle without exiting: plan, apply unless in check mode, and return the outcome
        (:meth:`outcome`). AWS errors propagate to the caller."""
        raw, before, after, changes = self.plan()
        if changes and not self.module.check_mode:
            raw = self.apply(raw, before, after, changes)
        return self.outcome(raw, before, after, changes)

    def run(self, **extra_result):
        """The whole cycle, then ``exit_json``; AWS errors end in ``fail_json_aws``."""
        self.validate()
        try:
            raw, before, after, changes = self.plan()
            changed = bool(changes)
            if changed and not self.module.check_mode:
                raw = self.apply(raw, before, after, changes)
            self.finish(raw, before, after, changes, **extra_result)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            self.module.fail_json_aws(e, msg=f"Managing the {self.result_key} failed")

    def outcome(self, raw, before, after, changes):
        """What one cycle reports: ``changed``, ``changes``, ``diff`` and the resource under
        ``result_key`` (settled first outside check mode)."""
        changed = bool(changes)
        if self.module.check_mode and changed:
            resource = self.predicted(raw, after)
        elif self.module.check_mode:
            resource = self.returned(raw) if raw is not None else {}
        else:
            raw = self.settle(raw, changed) if raw is not None else None
            resource = self.returned(raw) if raw is not None else {}
        return {
            "changed": changed,
            "changes": changes,
            "diff": {
                "before": self.presented(before) if before is not None else {},
                "after": self.presented(after) if after is not None else {},
            },
            self.result_key: resource,
        }

    def finish(self, raw, before, after, changes, **extra_result):
        """Settle (outside check mode) and exit with the resource, the changes and the diff."""
        self.module.exit_json(**self.outcome(raw, before, after, changes), **extra_result)
