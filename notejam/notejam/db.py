"""The SQLAlchemy and Alembic handles shared by the app and its migrations."""

from __future__ import annotations

import os
import sqlite3

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase

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
