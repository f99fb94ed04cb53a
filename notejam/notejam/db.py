"""The SQLAlchemy and Alembic handles shared by the app and its migrations."""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Mapping, MutableMapping
from typing import Any

from flask import has_request_context, request
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
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
    in its transaction already, and reads it there (seeing its own writes) on the session.
    """
    if has_request_context() and request.method not in ("GET", "HEAD"):
        return [tuple(row) for row in db.session.connection().execute(statement, parameters)]
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
