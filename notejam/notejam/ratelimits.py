"""Rate limits on the account forms (the ``limits`` library), counted in the app's own database.

Every gunicorn worker and every ECS task must see the same counters, or a limit of 10 becomes
10 x workers x tasks. The one store they all share is the database (Aurora in AWS), so the
counters live there (table ``rate_limits``), behind a storage backend for the ``limits`` library
(the one Flask-Limiter is built on): ``NOTEJAM_RATELIMIT_STORAGE_URI=notejam-database://`` (the
default). Any other storage URI the library knows (``redis://…``, ``memcached://…``) can be
set instead, e.g. an ElastiCache endpoint, with its client package installed in the image.
Flask-Limiter itself is not used: its hooks run on every request of the app (``install``).

Only the account forms are limited, and only their POSTs: a limited request is a sign-in,
sign-up or reset request, each already a database write or a password hash, so one more upsert
costs them little, and note pages never touch the limiter.

The limits (``LIMITED_VIEWS``) are one table, applied to the views when the app is made:

- per client address (the ALB's X-Forwarded-For hop, trusted once by ProxyFix), on every POST;
- per account address, on sign-in, counting only failed attempts (the form comes back);
- account mails (reset links, sign-up notices) per address, ``mail_allowed``: over the limit the
  mail is silently not sent and the page answers as usual, so the limit neither tells whether an
  address has an account nor lets anyone stop its owner from getting the next link later.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from flask import Flask, current_app, render_template, request
from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import case, delete, select
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from .db import db
from .forms import normalise_email
from .models import RateLimitCounter

DATABASE_STORAGE_SCHEME = "notejam-database"
# Expired counters are deleted now and then (every this many increments per worker).
PURGE_EVERY = 256


def _key_hash(key: str) -> str:
    # Keys embed client and account addresses and can be longer than an index allows.
    return hashlib.sha256(key.encode()).hexdigest()


class DatabaseStorage(Storage):
    """Fixed-window counters in the ``rate_limits`` table of the app's database.

    Each increment is one upsert and one read in a transaction of its own on its own connection,
    committed at once: it must count even when the request's own transaction rolls back (a
    failed sign-in writes nothing else). The upsert restarts an expired window in the same
    statement, so concurrent workers never lose a hit or restart a live window.
    """

    STORAGE_SCHEME: ClassVar[list[str]] = [DATABASE_STORAGE_SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._increments = 0

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        key_hash = _key_hash(key)
        table = RateLimitCounter.__table__
        live = table.c.expires_at > now
        restart_or_add = {
            # MySQL applies ON DUPLICATE KEY assignments left to right: hits first, so the window
            # test below still sees the old expiry (SQLite's DO UPDATE sees old values anyway).
            "hits": _case(live, table.c.hits + amount, amount),
            "expires_at": _case(live, table.c.expires_at, now + expiry),
        }
        engine = db.engine
        with engine.begin() as connection:
            values = {"key_hash": key_hash, "hits": amount, "expires_at": now + expiry}
            if engine.dialect.name == "mysql":
                statement = mysql.insert(table).values(values).on_duplicate_key_update(restart_or_add)
            elif engine.dialect.name == "sqlite":
                statement = (
                    sqlite.insert(table)
                    .values(values)
                    .on_conflict_do_update(index_elements=[table.c.key_hash], set_=restart_or_add)
                )
            else:  # pragma: no cover - the app runs on MySQL/Aurora and SQLite only
                raise NotImplementedError(f"rate limits on {engine.dialect.name}")
            connection.execute(statement)
            hits = connection.execute(select(table.c.hits).where(table.c.key_hash == key_hash)).scalar_one()
            self._increments += 1
            if self._increments % PURGE_EVERY == 0:
                connection.execute(delete(table).where(table.c.expires_at <= now))
        return int(hits)

    def _row(self, key: str) -> tuple[int, float] | None:
        table = RateLimitCounter.__table__
        with db.engine.connect() as connection:
            row = connection.execute(
                select(table.c.hits, table.c.expires_at).where(
                    table.c.key_hash == _key_hash(key), table.c.expires_at > time.time()
                )
            ).first()
        return None if row is None else (int(row[0]), float(row[1]))

    def get(self, key: str) -> int:
        row = self._row(key)
        return 0 if row is None else row[0]

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return time.time() if row is None else row[1]

    def check(self) -> bool:
        try:
            with db.engine.connect() as connection:
                connection.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with db.engine.begin() as connection:
            return connection.execute(delete(RateLimitCounter.__table__)).rowcount

    def clear(self, key: str) -> None:
        table = RateLimitCounter.__table__
        with db.engine.begin() as connection:
            connection.execute(delete(table).where(table.c.key_hash == _key_hash(key)))


def _case(condition, when_true, when_false):
    return case((condition, when_true), else_=when_false)


def client_address() -> str:
    # The ALB's X-Forwarded-For hop: ProxyFix (one hop) has made it the remote address.
    return "client:" + (request.remote_addr or "unknown")


def account_address() -> str:
    """The address typed into the form, normalised as the forms do (Alice@X and alice@x are one)."""
    return "address:" + (normalise_email(request.form.get("email", "")) or "")


def form_came_back(response) -> bool:
    """A sign-in POST that failed re-renders the form (200); success redirects."""
    return response.status_code == 200


@dataclass(frozen=True)
class ViewLimit:
    setting: str  # the app.config key holding the limit string ("10 per hour;50 per day")
    key: Callable[[], str]
    counts: Callable[..., bool] | None = None  # which responses use up the limit (default: all)


# Endpoint -> its limits; POSTs only.
LIMITED_VIEWS: dict[str, tuple[ViewLimit, ...]] = {
    "auth.signin": (
        ViewLimit("RATE_LIMIT_SIGNIN_PER_CLIENT", client_address),
        ViewLimit("RATE_LIMIT_SIGNIN_FAILURES_PER_ADDRESS", account_address, form_came_back),
    ),
    "auth.signup": (ViewLimit("RATE_LIMIT_SIGNUP_PER_CLIENT", client_address),),
    "auth.forgot_password": (ViewLimit("RATE_LIMIT_FORGOT_PASSWORD_PER_CLIENT", client_address),),
}


class RateLimits:
    """The app's limiter: the ``limits`` library's fixed-window strategy on the configured storage."""

    def __init__(self, app: Flask):
        self.enabled = bool(app.config["RATELIMIT_ENABLED"])
        self.strategy = FixedWindowRateLimiter(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))
        self._items: dict[str, list[RateLimitItem]] = {}
        self._config = app.config

    @property
    def storage(self) -> Storage:
        return self.strategy.storage

    def items(self, setting: str) -> list[RateLimitItem]:
        """The parsed limits of a setting ("10 per hour;50 per day"), parsed once."""
        if setting not in self._items:
            self._items[setting] = parse_many(self._config[setting])
        return self._items[setting]

    def over(self, setting: str, *identifiers: str, count: bool) -> RateLimitItem | None:
        """The first limit of ``setting`` this request is over, or None.

        ``count=True`` uses up one of each limit at once (an atomic increment, so concurrent
        requests cannot both slip under it); ``count=False`` only looks (``counts`` limits are
        used up after the view, by ``hit``).
        """
        for item in self.items(setting):
            allowed = (self.strategy.hit if count else self.strategy.test)(item, setting, *identifiers)
            if not allowed:
                return item
        return None

    def hit(self, setting: str, *identifiers: str) -> None:
        for item in self.items(setting):
            self.strategy.hit(item, setting, *identifiers)

    def retry_after(self, item: RateLimitItem, setting: str, *identifiers: str) -> int:
        reset_at, _remaining = self.strategy.get_window_stats(item, setting, *identifiers)
        return max(1, int(reset_at - time.time()))


def install(app: Flask) -> None:
    """Limit the POSTs of LIMITED_VIEWS; every other request never touches the limiter.

    The views are wrapped when the app is made (this table is the one place limits are
    declared): Flask-Limiter's request hooks would run on every request of the app and cost
    each page about a third more CPU (docs/benchmarks-app.md), to limit three forms.
    """
    limits = app.extensions["notejam.rate_limits"] = RateLimits(app)
    if not limits.enabled:
        return
    for endpoint, view_limits in LIMITED_VIEWS.items():
        app.view_functions[endpoint] = _limited(app.view_functions[endpoint], view_limits, limits)


def _limited(view: Callable[..., Any], view_limits: tuple[ViewLimit, ...], limits: RateLimits):
    @functools.wraps(view)
    def limited_view(*args: Any, **kwargs: Any):
        if request.method != "POST":
            return view(*args, **kwargs)
        keys = [(limit, limit.key()) for limit in view_limits]
        for limit, key in keys:
            breached = limits.over(limit.setting, key, count=limit.counts is None)
            if breached is not None:
                return _too_many_requests(limits.retry_after(breached, limit.setting, key))
        response = current_app.make_response(view(*args, **kwargs))
        for limit, key in keys:
            if limit.counts is not None and limit.counts(response):
                limits.hit(limit.setting, key)
        return response

    return limited_view


def _too_many_requests(wait: int):
    minutes = max(1, (wait + 59) // 60)
    return current_app.make_response(
        (render_template("errors/429.html", minutes=minutes), 429, {"Retry-After": str(wait)})
    )


def mail_allowed(address: str) -> bool:
    """Whether one more account mail may go to this address now (and count it if so)."""
    limits: RateLimits = current_app.extensions["notejam.rate_limits"]
    if not limits.enabled:
        return True
    return limits.over("RATE_LIMIT_MAIL_PER_ADDRESS", normalise_email(address), count=True) is None
