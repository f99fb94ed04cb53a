"""The SQLAlchemy and Alembic handles shared by the app and its migrations."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, MutableMapping
from typing import Any

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine, Row, make_url
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


# The engine for the one read every signed-in request makes (the user, auth.load_user).
READS = "reads"


def configure_reads_engine(config: MutableMapping[str, Any]) -> None:
    """Add a second engine on MySQL for single-statement reads outside the request's transaction.

    Every signed-in request reads the user's row, and a list page from the list cache reads
    nothing else. Through the ORM session that read costs three round trips (pre-ping, the
    SELECT, the ROLLBACK that ends the transaction) and the session's bookkeeping. This engine's
    connections are in autocommit mode, so a lone SELECT is its own transaction and nothing needs
    rolling back (``skip_autocommit_rollback``); instead of pinging before every use, a read that
    meets a dead connection is retried once on a fresh one (``read_row``), which a read can be.
    Writes and every multi-statement read stay on the session's engine, with pre-ping.
    SQLite (development, tests) keeps one engine: an in-memory database cannot be shared.
    """
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "mysql":
        return
    options: dict[str, Any] = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.update(
        url=url,
        isolation_level="AUTOCOMMIT",
        skip_autocommit_rollback=True,
        pool_pre_ping=False,
        pool_reset_on_return=None,
    )
    config["SQLALCHEMY_BINDS"] = {**(config.get("SQLALCHEMY_BINDS") or {}), READS: options}


def read_row(statement: Executable, parameters: Mapping[str, Any]) -> Row[Any] | None:
    """The first row of a read-only statement, in one round trip where there is a reads engine."""
    engine = db.engines.get(READS)
    if engine is None:
        return db.session.connection().execute(statement, parameters).first()
    try:
        with engine.connect() as connection:
            return connection.execute(statement, parameters).first()
    except DBAPIError as error:
        # A restart or failover killed the pooled connection. SQLAlchemy has invalidated it and
        # every connection older than it, so the retry connects afresh; any other error stands.
        if not error.connection_invalidated:
            raise
    with engine.connect() as connection:
        return connection.execute(statement, parameters).first()
