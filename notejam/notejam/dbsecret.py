"""The database password read from Secrets Manager when connections open, not once at start.

RDS rotates the secret of a cluster's managed master password (every 7 days by default). A
password handed to the container once (ECS ``secrets``) goes stale at the first rotation, and
every new connection is then refused until the tasks are replaced. With
``DB_PASSWORD_SECRET_ARN`` set, each new pooled connection takes the password from a small
cache of the secret's current value (``GetSecretValue``, AWSCURRENT), and a connection refused
for authentication (MySQL error 1045) re-reads the secret and tries again, a bounded number of
times, before the error stands. Connections already open are not touched: MySQL checks the
password only when a connection is made.

The secret is the shape RDS writes (a JSON object with ``password``, and ``username``, which is
not used: the user is ``DB_USER``) or a plain string holding the password alone.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .config import ConfigError, env_int
from .db import connect_when_up

SECRET_ARN_ENV = "DB_PASSWORD_SECRET_ARN"  # noqa: S105 - the name of a setting
MAX_AGE_ENV = "DB_PASSWORD_SECRET_MAX_AGE"
DEFAULT_MAX_AGE = 3600
# MySQL's ER_ACCESS_DENIED_ERROR: "Access denied for user ... (using password: YES)".
ACCESS_DENIED = 1045
# A refused connection re-reads the secret after each of these pauses (seconds) and retries, covering
# the moment between a rotation setting the new password and publishing it as AWSCURRENT.
RETRY_PAUSES = (0.0, 0.5, 1.0, 2.0)
# Forced re-reads are at most this often, whatever the number of connections refused at once.
MIN_REFRESH_INTERVAL = 0.25

_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:[A-Za-z0-9/_+=.@!-]+$")


class DatabaseSecretError(RuntimeError):
    """The database password could not be read from its secret; the message names the setting."""


def settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The secret's ARN and cache age from the environment (empty when not configured)."""
    arn = env.get(SECRET_ARN_ENV, "").strip()
    if not arn:
        return {}
    match = _ARN.match(arn)
    if not match:
        raise ConfigError(
            f"{SECRET_ARN_ENV}={arn!r} is not a Secrets Manager secret ARN "
            "(arn:aws:secretsmanager:<region>:<account>:secret:<name>)"
        )
    if env.get("DB_PASSWORD"):
        raise ConfigError(f"set one of DB_PASSWORD and {SECRET_ARN_ENV}, not both")
    max_age = env_int(env, MAX_AGE_ENV, DEFAULT_MAX_AGE)
    if not 1 <= max_age <= 86400:
        raise ConfigError(f"{MAX_AGE_ENV}={max_age}: between 1 and 86400 (seconds)")
    return {
        "DB_PASSWORD_SECRET_ARN": arn,
        "DB_PASSWORD_SECRET_REGION": match.group(1),
        "DB_PASSWORD_SECRET_MAX_AGE": max_age,
    }


def _password_of(secret_string: str) -> str:
    try:
        value = json.loads(secret_string)
    except ValueError:
        return secret_string
    if isinstance(value, dict):
        if not isinstance(value.get("password"), str):
            raise DatabaseSecretError(
                f"the secret in {SECRET_ARN_ENV} is a JSON object without a 'password' string"
            )
        return value["password"]
    return secret_string


class SecretPassword:
    """The current password, cached for ``max_age`` seconds; ``refresh`` re-reads it sooner."""

    def __init__(
        self,
        arn: str,
        max_age: float,
        fetch: Callable[[str], str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.arn = arn
        self.max_age = max_age
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._value: str | None = None
        self._read_at = 0.0
        self.reads = 0

    def _read(self) -> str:
        try:
            value = _password_of(self._fetch(self.arn))
        except DatabaseSecretError:
            raise
        except Exception as error:  # any client error: say which setting failed
            raise DatabaseSecretError(
                f"cannot read the database password from {SECRET_ARN_ENV} ({self.arn}): "
                f"{type(error).__name__}: {error}"
            ) from error
        self._value, self._read_at = value, self._clock()
        self.reads += 1
        return value

    def get(self) -> str:
        with self._lock:
            if self._value is None or self._clock() - self._read_at >= self.max_age:
                return self._read()
            return self._value

    def refresh(self, stale: str) -> str:
        """The password after a connection with ``stale`` was refused: re-read unless another
        thread already did, or did so a moment ago."""
        with self._lock:
            if self._value != stale or self._clock() - self._read_at < MIN_REFRESH_INTERVAL:
                return self._value if self._value is not None else self._read()
            return self._read()


def secretsmanager_fetcher(region: str) -> Callable[[str], str]:
    import boto3  # the app's dependency already (SES); imported only when configured

    client = boto3.client("secretsmanager", region_name=region)

    def fetch(arn: str) -> str:
        return client.get_secret_value(SecretId=arn)["SecretString"]

    return fetch


def _password_key(dialect_driver: str) -> str:
    # SQLAlchemy hands mysqlclient the password as ``passwd``, PyMySQL as ``password``.
    return "passwd" if dialect_driver == "mysqldb" else "password"


def _is_access_denied(error: Exception) -> bool:
    return bool(getattr(error, "args", None)) and error.args[0] == ACCESS_DENIED


def attach(engine: Engine, password: SecretPassword, sleep: Callable[[float], None] = time.sleep) -> None:
    """Make every new connection of ``engine`` use the secret's password (a do_connect hook)."""
    key = _password_key(engine.dialect.driver)
    dbapi = engine.dialect.loaded_dbapi

    @event.listens_for(engine, "do_connect")
    def connect_with_current_password(_dialect, _record, cargs, cparams):
        current = password.get()
        for pause in (*RETRY_PAUSES, None):
            cparams[key] = current
            try:
                # A restarting server is waited for there, as without a secret (db.py).
                return connect_when_up(engine, dbapi.connect, cargs, cparams)
            except dbapi.Error as error:
                if pause is None or not _is_access_denied(error):
                    raise
            sleep(pause)
            current = password.refresh(current)  # after the pause: what the secret says now
        raise AssertionError("unreachable: the last attempt returns or raises")


def install(app: Any, engines: Mapping[Any, Engine], fetch: Callable[[str], str] | None = None) -> None:
    """Attach one shared cached secret to every MySQL engine of the app, when configured."""
    arn = app.config.get("DB_PASSWORD_SECRET_ARN")
    if not arn:
        return
    fetcher = (
        fetch
        or app.config.get("DB_PASSWORD_SECRET_FETCH")
        or secretsmanager_fetcher(app.config["DB_PASSWORD_SECRET_REGION"])
    )
    password = SecretPassword(arn, app.config["DB_PASSWORD_SECRET_MAX_AGE"], fetcher)
    app.extensions["notejam.db_password"] = password
    for engine in engines.values():
        if engine.dialect.name == "mysql":
            attach(engine, password)
