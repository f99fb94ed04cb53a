"""The SQLAlchemy and Alembic handles shared by the app and its migrations."""

from __future__ import annotations

import functools
import os
import sqlite3
import time
import weakref
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from flask import current_app, g, has_request_context, request
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, bindparam, event, select
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import Executable

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")

# Deterministic constraint names, so migrations can drop what they created on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(directory=MIGRATIONS_DIR)


@event.listens_for(Engine, "connect")
def _sqlite_enforces_foreign_keys(dbapi_connection, _record):
    # SQLite ignores foreign keys (and so ON DELETE CASCADE) unless asked, per connection.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


class InsecureDatabaseConnection(SQLAlchemyError):
    """TLS to the database was asked for (DB_SSL_CA) but the session is not encrypted."""


def require_tls(dbapi_connection, _record) -> None:
    """Refuse a new MySQL connection that is not encrypted (a pool "connect" listener).

    PyMySQL given a CA bundle still connects in plain text to a server that does not offer TLS
    (or to anyone stripping it on the way); mysqlclient's VERIFY_IDENTITY refuses by itself. One
    statement per new pooled connection, none per request.
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        row = cursor.fetchone()
    finally:
        cursor.close()
    if not row or not row[1]:
        dbapi_connection.close()
        raise InsecureDatabaseConnection("the database connection is not encrypted although DB_SSL_CA is set")


# MySQL client errors that mean "the server is not taking connections right now": refused or
# unreachable (2002, 2003), dropped during the handshake (2006, 2013), shutting down (1053).
SERVER_UNAVAILABLE = frozenset({1053, 2002, 2003, 2006, 2013})
# How long a new connection waits for such a server, per engine (configure_connect_wait).
_connect_waits: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()


def connect_when_up(
    engine: Engine,
    connect: Callable[..., Any],
    cargs: Any,
    cparams: dict[str, Any],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """A new DBAPI connection, waiting a bounded time for a server that is restarting.

    A restart or a failover refuses connections for a few seconds. Without the wait every
    request arriving then is a 500, although the server is back before a user would have
    retried; with it such a request takes longer and succeeds. Pooled connections that died are
    replaced through here too (pre-ping, the reads engine's retry). The readiness probe does not
    wait (``no_connect_wait``): it must say at once that the database is unavailable. Any other
    error (access denied, an unknown database) is raised at once.
    """
    wait = 0.0 if _connect_wait_off() else _connect_waits.get(engine, 0.0)
    deadline = clock() + wait
    pause = 0.05
    while True:
        try:
            return connect(*cargs, **cparams)
        except engine.dialect.loaded_dbapi.OperationalError as error:
            code = error.args[0] if error.args else None
            remaining = deadline - clock()
            if code not in SERVER_UNAVAILABLE or remaining <= 0:
                raise
        sleep(min(pause, remaining))
        pause = min(pause * 2, 0.5)


def _connect_wait_off() -> bool:
    return has_request_context() and bool(g.get("notejam_no_connect_wait"))


def no_connect_wait() -> None:
    """This request's new connections fail at once rather than wait for the server (readyz)."""
    g.notejam_no_connect_wait = True


def configure_connect_wait(engines: Mapping[Any, Engine], seconds: float) -> None:
    """Make the writer's engines (the session's, the reads engine) wait for a restarting server.

    The reader's engine does not wait: a request whose reader fails reads from the writer. An
    engine whose connections come from the database secret's hook (dbsecret.py) connects there,
    through connect_when_up too; SQLAlchemy uses the first do_connect hook that returns one.
    """
    for key, engine in engines.items():
        if engine.dialect.name != "mysql" or key == READER or seconds <= 0:
            continue
        _connect_waits[engine] = seconds

        @event.listens_for(engine, "do_connect")
        def wait_for_server(dialect, _record, cargs, cparams, engine=engine):
            return connect_when_up(engine, dialect.loaded_dbapi.connect, cargs, cparams)


def track_commits(engines: Mapping[Any, Engine]) -> None:
    """Note in the request's context when a COMMIT is sent on any engine (see replayable)."""
    for engine in engines.values():
        event.listen(engine, "commit", _commit_sent)


def _commit_sent(_connection) -> None:
    if has_request_context():
        g.notejam_commit_sent = True


def replayable(error: BaseException) -> bool:
    """Whether the request's view may run again after ``error``: its database connection was
    lost (a restart, a failover), the request has sent no COMMIT yet and was not replayed.

    The server rolls back a transaction whose connection it lost, so a request that never sent
    a COMMIT changed nothing in the database, and mails go out only after a commit (the sign-up,
    the reset link, each after a rate-limit counter's own commit). A connection lost during the
    COMMIT leaves its outcome unknown: that request is not run again and fails as before.
    """
    return (
        isinstance(error, DBAPIError)
        and error.connection_invalidated
        and has_request_context()
        and not g.get("notejam_commit_sent")
        and not g.get("notejam_replayed")
    )


# The engine for the one read every signed-in request makes (the user, auth.load_user).
READS = "reads"


def configure_reads_engine(config: MutableMapping[str, Any]) -> None:
    """Add a second engine on MySQL for single-statement reads outside the request's transaction.

    Every signed-in request reads the user's row, and a list page from the list cache reads
    nothing else. Through the ORM session that read costs three round trips (pre-ping, the
    SELECT, the ROLLBACK that ends the transaction) and the session's bookkeeping. This engine's
    connections are in autocommit mode, so a lone SELECT is its own transaction and nothing needs
    rolling back; instead of pinging before every use, a read that meets a dead connection is
    retried once on a fresh one (``read_row``), which a read can be. Writes and every
    multi-statement read stay on the session's engine, with pre-ping. SQLite (development,
    tests) keeps one engine: an in-memory database cannot be shared.
    """
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "mysql":
        return
    options: dict[str, Any] = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.update(url=url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_reset_on_return=None)
    config["SQLALCHEMY_BINDS"] = {**(config.get("SQLALCHEMY_BINDS") or {}), READS: options}


# The engine of the read replica (SQLALCHEMY_READER_URI), when there is one.
READER = "reader"
# An unreachable reader is left alone this long (seconds): its requests read from the writer.
READER_RETRY_AFTER = 5.0


def configure_reader_engine(config: MutableMapping[str, Any]) -> None:
    """Add the reader's engine, with the writer's options (pool, TLS, hidden parameters)."""
    url = config.get("SQLALCHEMY_READER_URI")
    if not url:
        return
    options: dict[str, Any] = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options["url"] = make_url(url)
    config["SQLALCHEMY_BINDS"] = {**(config.get("SQLALCHEMY_BINDS") or {}), READER: options}


class ReaderHealth:
    """When the reader last failed: it is skipped (the writer used) for READER_RETRY_AFTER seconds."""

    def __init__(self) -> None:
        self.skip_until = 0.0
        self.failures = 0

    def usable(self) -> bool:
        return time.monotonic() >= self.skip_until

    def failed(self) -> None:
        self.failures += 1
        self.skip_until = time.monotonic() + READER_RETRY_AFTER


def _reader_health() -> ReaderHealth:
    return current_app.extensions.setdefault("notejam.reader_health", ReaderHealth())


@functools.cache
def _reader_user() -> Executable:
    """The reader's copy of the user's row: it serves the user once it holds their latest write."""
    from .models import User  # models imports this module

    return select(User.data_version, User.created_at).where(User.id == bindparam("user_id"))


def request_reader() -> Engine | None:
    """The engine this request's reads go to instead of the writer, or None for the writer.

    Only a signed-in GET or HEAD request reads from the reader (any other request may have
    written in its transaction), and only when the reader's copy of the user's row has the data
    version the request read from the writer (auth.load_user): every write to the user's pads,
    notes or account bumps it in the writing transaction (dataversion.py), and a replica applies
    transactions in commit order, so such a reader holds all of the user's own writes and rows
    read there later are no older. Otherwise the writer answers (read-your-writes). Decided once
    per request, on the first read that asks; a list page served from the page cache never asks.
    """
    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return None
    engine = db.engines.get(READER)
    if engine is None:
        return None
    if "notejam_reader" not in g:
        g.notejam_reader = _reader_if_current(engine)
    return g.notejam_reader


def _reader_if_current(engine: Engine) -> Engine | None:
    user = g.get("_login_user")  # Flask-Login's user for this request, without loading it again
    version = getattr(user, "data_version", None)
    if version is None or not getattr(user, "is_authenticated", False):
        return None
    health = _reader_health()
    if not health.usable():
        return None
    try:
        with engine.connect() as connection:
            row = connection.execute(_reader_user(), {"user_id": user.id}).first()
    except DBAPIError:
        health.failed()
        return None
    if row is None or row.created_at != user.created_at or row.data_version < version:
        return None  # lagging behind this user's writes (or another account under this id)
    return engine


def _read_on_reader(
    engine: Engine, statement: Executable, parameters: Mapping[str, Any]
) -> list[tuple[Any, ...]] | None:
    """Rows from the reader, or None when it failed (then skipped for a while, the writer used)."""
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(statement, parameters)]
    except DBAPIError:
        _reader_health().failed()
        g.notejam_reader = None
        return None


@functools.lru_cache(maxsize=64)
def _compiled(statement: Executable, dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
    """The statement's SQL for this dialect, and its parameter names in order if positional."""
    compiled = statement.compile(dialect=dialect)
    return compiled.string, tuple(compiled.positiontup or ()) if compiled.positional else None


def read_row(statement: Executable, parameters: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The first row (a plain tuple) of a read-only statement, in one round trip on MySQL."""
    rows = _read(statement, parameters, first_only=True)
    return rows[0] if rows else None


def read_rows(statement: Executable, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Every row (plain tuples) of a read-only statement, in one round trip on MySQL (see _read).

    Only a GET or HEAD request reads outside its transaction: any other request may have written
    in its transaction already, and reads it there (seeing its own writes) on the session. A
    signed-in GET or HEAD reads from the reader when one is configured and current for the user
    (request_reader).
    """
    if has_request_context() and request.method not in ("GET", "HEAD"):
        return [tuple(row) for row in db.session.connection().execute(statement, parameters)]
    reader = request_reader()
    if reader is not None:
        rows = _read_on_reader(reader, statement, parameters)
        if rows is not None:
            return rows
    return _read(statement, parameters, first_only=False)


def _read(statement: Executable, parameters: Mapping[str, Any], first_only: bool) -> list[tuple[Any, ...]]:
    """Rows of a read-only statement, on the reads engine when there is one.

    On the reads engine the statement, compiled once by SQLAlchemy, goes straight to a pooled
    DBAPI connection in autocommit: no ping before it and no ROLLBACK after it, and Core's
    execution layer, which doubled the cost of the per-request user read, is skipped (measured in
    docs/benchmarks-app.md). A GET that reads only through here never checks out a connection of
    the session's engine. A dead connection (restart, failover) is detected by the dialect as Core
    would; the pool, whose other connections died with it, is replaced and the read retried once
    on a fresh connection. Any other error stands.
    """
    engine = db.engines.get(READS)
    if engine is None:
        result = db.session.connection().execute(statement, parameters)
        if first_only:
            row = result.first()
            return [] if row is None else [tuple(row)]
        return [tuple(row) for row in result]
    sql, names = _compiled(statement, engine.dialect)
    arguments = parameters if names is None else tuple(parameters[name] for name in names)
    for attempt in (1, 2):
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, arguments)
                if first_only:
                    row = cursor.fetchone()
                    return [] if row is None else [row]
                return list(cursor.fetchall())
            finally:
                cursor.close()
        except engine.dialect.loaded_dbapi.Error as error:
            if attempt == 2 or not engine.dialect.is_disconnect(error, connection.dbapi_connection, None):
                raise
            connection.invalidate(error)
            engine.dispose()
        finally:
            connection.close()
    return []  # not reached: the second attempt returns or raises
