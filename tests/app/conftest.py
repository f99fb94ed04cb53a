"""Fixtures for the Notejam app tests, in the style of Flask's tutorial: `app`, `client`, `auth`.

Every test that uses `app` runs twice: on SQLite and on MariaDB/MySQL (marked `mysql`). The MySQL
server comes from NOTEJAM_TEST_MYSQL_URL (e.g.
mysql+pymysql://root@127.0.0.1:3306/notejam_test?charset=utf8mb4); its database is dropped and
re-created for the session. Without the variable or the server the MySQL runs are skipped, unless
NOTEJAM_REQUIRE_MYSQL=1 (CI), where they fail.

The schema comes from the Alembic migrations, once per session and backend; each test then starts
from empty tables.
"""

from __future__ import annotations

import email
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from notejam import create_app
from notejam.db import READS, db

MYSQL_URL_ENV = "NOTEJAM_TEST_MYSQL_URL"
REQUIRE_MYSQL_ENV = "NOTEJAM_REQUIRE_MYSQL"
PASSWORD = "correct horse battery"
TABLES_CHILD_FIRST = ("notes", "pads", "user_sessions", "users", "rate_limits")


def mysql_unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_MYSQL_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_MYSQL_ENV}=1: the MySQL run is required)", pytrace=False)
    pytest.skip(f"MariaDB/MySQL run skipped: {reason} ({REQUIRE_MYSQL_ENV}=1 makes this a failure)")


def recreate_mysql_database(url: str) -> str:
    """Drop and create the database named by url (utf8mb4); return the url."""
    parsed = make_url(url)
    server = create_engine(parsed.set(database=""), pool_pre_ping=True)
    try:
        with server.connect() as connection:
            name = parsed.database
            connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
            connection.execute(
                text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            )
    finally:
        server.dispose()
    return url


@pytest.fixture(scope="session")
def mysql_url() -> str:
    url = os.environ.get(MYSQL_URL_ENV)
    if not url:
        mysql_unavailable(f"{MYSQL_URL_ENV} is not set")
    try:
        return recreate_mysql_database(url)
    except Exception as error:  # noqa: BLE001 - any failure to reach the server means "unavailable"
        mysql_unavailable(f"cannot prepare the MySQL test database at {make_url(url)!r}: {error}")
    raise AssertionError("unreachable")


@pytest.fixture
def fresh_mysql_database(mysql_url) -> Callable[[str], str]:
    """Create (drop first) a database on the test server; returns its URL."""

    def create(suffix: str) -> str:
        base = make_url(mysql_url)
        return recreate_mysql_database(
            base.set(database=f"{base.database}_{suffix}").render_as_string(hide_password=False)
        )

    return create


def base_config(url: str, tmp_path: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        # Hashing strength is not under test here; scrypt's cost would dominate the suite.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "MAIL_BACKEND": "outbox",
        "MAIL_OUTBOX": str(tmp_path / "outbox"),
        "SESSION_COOKIE_SECURE": False,
    }


def migrate_to_head(url: str, tmp_path: Path) -> None:
    app = create_app(base_config(url, tmp_path))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    directory = tmp_path_factory.mktemp("sqlite")
    url = f"sqlite:///{directory / 'notejam.db'}"
    migrate_to_head(url, directory)
    return url


@pytest.fixture(scope="session")
def migrated_mysql_url(mysql_url, tmp_path_factory) -> str:
    migrate_to_head(mysql_url, tmp_path_factory.mktemp("mysql"))
    return mysql_url


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def database_url(request) -> str:
    if request.param == "mysql":
        return request.getfixturevalue("migrated_mysql_url")
    return request.getfixturevalue("sqlite_url")


def app_builder(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        app = create_app({**base_config(database_url, tmp_path), **overrides})
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            with db.engine.begin() as connection:
                for table in TABLES_CHILD_FIRST:
                    connection.execute(text(f"DELETE FROM {table}"))
            db.engine.dispose()


@pytest.fixture
def make_app(database_url, tmp_path) -> Iterator[Callable[..., Flask]]:
    """Build an app on this test's database, with config overrides; tables are emptied after."""
    yield from app_builder(database_url, tmp_path)


@pytest.fixture
def make_mysql_app(migrated_mysql_url, tmp_path) -> Iterator[Callable[..., Flask]]:
    """make_app for tests that only make sense on MySQL (mark them `mysql`)."""
    yield from app_builder(migrated_mysql_url, tmp_path)


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


class AuthActions:
    def __init__(self, client: FlaskClient):
        self._client = client

    def signup(self, email: str = "alice@example.com", password: str = PASSWORD):
        return self._client.post(
            "/signup/", data={"email": email, "password": password, "repeat_password": password}
        )

    def signin(self, email: str = "alice@example.com", password: str = PASSWORD):
        return self._client.post("/signin/", data={"email": email, "password": password})

    def signup_and_signin(self, email: str = "alice@example.com", password: str = PASSWORD):
        assert self.signup(email, password).status_code == 302
        assert self.signin(email, password).status_code == 302

    def signout(self):
        return self._client.post("/signout/")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def make_pad(client) -> Callable[[str], int]:
    def create(name: str) -> int:
        response = client.post("/pads/create/", data={"name": name})
        assert response.status_code == 302, response.data
        return int(re.search(r"/pads/(\d+)/", response.headers["Location"]).group(1))

    return create


@pytest.fixture
def make_note(client) -> Callable[..., int]:
    def create(name: str, text: str = "some text", pad: int | None = None) -> int:
        response = client.post(
            "/notes/create/", data={"name": name, "text": text, "pad": "" if pad is None else str(pad)}
        )
        assert response.status_code == 302, response.data
        return int(re.search(r"/notes/(\d+)/", response.headers["Location"]).group(1))

    return create


@dataclass
class QueryCounter:
    statements: list[str]

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def record_statements(monkeypatch) -> Callable[[Flask], list[str]]:
    """Call it with an app: from then on, every SQL statement that app runs.

    Core's cursor events see the session's engine. On MySQL the reads of GET requests (the user,
    pads, lists) go to the reads engine's DBAPI connection directly (db.read_row, db.read_rows),
    below those events, so those reads are recorded where db.py makes them.
    """

    def start(app: Flask) -> list[str]:
        statements: list[str] = []

        def record(_connection, _cursor, statement, *_args):
            statements.append(statement)

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", record)
            reads = db.engines.get(READS)
        if reads is not None:
            # The module, not the `db` object that notejam/__init__.py imports under that name.
            db_module = sys.modules["notejam.db"]
            real_read = db_module._read

            def recorded_read(statement, parameters, first_only):
                if db.engines.get(READS) is reads:  # this app's reads, not another app's
                    statements.append(str(statement.compile(dialect=reads.dialect)))
                return real_read(statement, parameters, first_only)

            monkeypatch.setattr(db_module, "_read", recorded_read)
        return statements

    return start


@pytest.fixture
def count_queries(app, record_statements) -> Callable[[], QueryCounter]:
    """Call it to start counting the SQL statements the app runs from then on."""
    return lambda: QueryCounter(record_statements(app))


def read_outbox(app: Flask) -> list[email.message.Message]:
    folder = Path(app.config["MAIL_OUTBOX"])
    if not folder.is_dir():
        return []
    return [email.message_from_bytes(path.read_bytes()) for path in sorted(folder.glob("*.eml"))]


@pytest.fixture
def outbox(app) -> Callable[[], list[email.message.Message]]:
    """The messages in the app's outbox folder, oldest first."""
    return lambda: read_outbox(app)


@pytest.fixture
def outbox_messages() -> Callable[[Flask], list[email.message.Message]]:
    """Read the outbox of any app (for tests building their own with make_app)."""
    return read_outbox
