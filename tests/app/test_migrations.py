"""Alembic migrations are the only way the schema is made: upgrade from empty, down, up again."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from notejam import create_app
from notejam.db import db

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_TABLES = {"users", "pads", "notes"}


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return request.getfixturevalue("fresh_mysql_database")("migrations")


@pytest.fixture
def migration_app(empty_database_url, tmp_path):
    config = {"TESTING": True, "SECRET_KEY": "k", "WTF_CSRF_ENABLED": False}
    app = create_app({**config, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    yield app
    with app.app_context():
        db.engine.dispose()


def table_names(app) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def schema_differences(app) -> list:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_from_empty_builds_the_models_schema(migration_app):
    assert table_names(migration_app) & APP_TABLES == set()
    with migration_app.app_context():
        upgrade()
    assert table_names(migration_app) >= APP_TABLES
    assert schema_differences(migration_app) == []


def test_foreign_keys_cascade_and_pad_is_nullable(migration_app):
    with migration_app.app_context():
        upgrade()
        inspector = inspect(db.engine)
        note_fks = {fk["referred_table"]: fk for fk in inspector.get_foreign_keys("notes")}
        assert note_fks["pads"]["options"].get("ondelete") == "CASCADE"
        assert note_fks["users"]["options"].get("ondelete") == "CASCADE"
        columns = {column["name"]: column for column in inspector.get_columns("notes")}
        assert columns["pad_id"]["nullable"] is True
        users = {column["name"]: column for column in inspector.get_columns("users")}
        assert users["password_hash"]["type"].length == 255
        indexed = {tuple(index["column_names"]) for index in inspector.get_indexes("notes")}
        assert {("user_id", "updated_at"), ("user_id", "name"), ("pad_id", "updated_at")} <= indexed


def test_downgrade_to_base_then_upgrade_again(migration_app):
    with migration_app.app_context():
        upgrade()
        downgrade(revision="base")
    assert table_names(migration_app) & APP_TABLES == set()
    with migration_app.app_context():
        upgrade()
    assert schema_differences(migration_app) == []
    client = migration_app.test_client()
    password = "migrated password"
    data = {"email": "m@example.com", "password": password, "repeat_password": password}
    assert client.post("/signup/", data=data).status_code == 302


def test_flask_db_upgrade_works_from_the_repository_root(empty_database_url, tmp_path):
    flask = Path(sys.executable).with_name("flask")
    env = {**os.environ, "DATABASE_URL": empty_database_url, "SECRET_KEY": "k"}
    env["NOTEJAM_BASE_URL"] = "https://notes.example.com"
    result = subprocess.run(
        [str(flask), "--app", "notejam", "db", "upgrade"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Running upgrade  -> 0001_initial" in result.stderr


def test_the_data_version_migration_keeps_existing_data_and_goes_down_cleanly(migration_app):
    # 0002 adds users.data_version to a database with accounts, pads and notes in it: existing
    # users start at 0, and going back to 0001 (a plain DROP COLUMN) keeps every pad and note.
    with migration_app.app_context():
        upgrade(revision="0001_initial")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, email, password_hash, created_at) "
                    "VALUES (7, 'old@example.com', 'x', '2026-01-01 00:00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO pads (id, user_id, name, created_at) "
                    "VALUES (3, 7, 'P', '2026-01-01 00:00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO notes (user_id, pad_id, name, text, created_at, updated_at) "
                    "VALUES (7, 3, 'N', 't', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            )
        upgrade()
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT data_version FROM users WHERE id = 7")).scalar_one() == 0
        downgrade(revision="0001_initial")
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM notes")).scalar_one() == 1
            assert connection.execute(text("SELECT COUNT(*) FROM pads")).scalar_one() == 1
        upgrade()
    assert schema_differences(migration_app) == []
