"""Reads from a replica (DB_READER_HOST / DATABASE_READER_URL, notejam/db.py): read-your-writes.

A second database stands in for a lagging replica: a copy of the writer taken when the test says
(``sync``), stale in between. A signed-in GET reads there only when the copy holds the user's
latest data version; otherwise, and while the reader is unreachable, the writer answers.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from notejam.db import READER, db
from notejam.models import utcnow

from .conftest import PASSWORD, TABLES_CHILD_FIRST, AuthActions, migrate_to_head
from .test_dataversion import WRITES, prepare, user_id_of, warm

MARKER = "only on the reader"


@dataclass
class Replica:
    url: str
    sync: Callable[[], None]
    engine: Engine

    def mark(self, user_id: int) -> None:
        """A note that exists only in the copy: a page that shows it was read from the reader."""
        with self.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO notes (user_id, pad_id, name, text, created_at, updated_at) "
                    "VALUES (:user_id, NULL, :name, 't', :now, :now)"
                ),
                {"user_id": user_id, "name": MARKER, "now": utcnow()},
            )


@pytest.fixture
def replica(database_url, tmp_path, request) -> Iterator[Replica]:
    if database_url.startswith("sqlite"):
        writer_file = make_url(database_url).database
        copy = tmp_path / "reader.db"

        def sync_file() -> None:
            engine.dispose()
            shutil.copyfile(writer_file, copy)

        url = f"sqlite:///{copy}"
        engine = create_engine(url)
        sync_file()
        yield Replica(url, sync_file, engine)
        engine.dispose()
        return
    url = request.getfixturevalue("fresh_mysql_database")("reader")
    migrate_to_head(url, tmp_path)
    writer = make_url(database_url).database
    engine = create_engine(url)

    def sync_tables() -> None:
        with engine.begin() as connection:
            connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
            for table in TABLES_CHILD_FIRST:
                connection.execute(text(f"DELETE FROM `{table}`"))
                connection.execute(text(f"INSERT INTO `{table}` SELECT * FROM `{writer}`.`{table}`"))
            connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))

    sync_tables()
    yield Replica(url, sync_tables, engine)
    engine.dispose()


def test_without_a_reader_everything_reads_from_the_writer(app):
    with app.app_context():
        assert READER not in db.engines


def test_a_reader_that_has_the_users_writes_serves_their_reads(make_app, replica):
    app = make_app(SQLALCHEMY_READER_URI=replica.url)
    client = app.test_client()
    AuthActions(client).signup_and_signin()
    ids = prepare(client)
    replica.sync()
    replica.mark(user_id_of(app))
    for path in ("/", f"/pads/{ids['pad']}/", f"/notes/{ids['note']}/"):
        assert client.get(path).status_code == 200
    assert MARKER in client.get("/").data.decode()  # the list came from the reader


@pytest.mark.parametrize("write", list(WRITES))
def test_every_write_shows_in_the_next_read_although_the_reader_lags(make_app, replica, write):
    here, there = make_app(SQLALCHEMY_READER_URI=replica.url), make_app()
    reader, writer = here.test_client(), there.test_client()
    AuthActions(writer).signup_and_signin()
    AuthActions(reader).signin()
    ids = prepare(writer)
    replica.sync()
    replica.mark(user_id_of(there))
    warm(reader, ids)
    assert MARKER in reader.get("/").data.decode()  # served by the reader while it is current
    action, shown, gone = WRITES[write]
    user_id = user_id_of(there)
    action(writer, there, ids)
    page = reader.get("/").data.decode()  # the reader is a write behind now: the writer answers
    assert MARKER not in page
    for expected in shown:
        assert expected in page
    for unexpected in gone:
        assert unexpected not in page
    replica.sync()
    replica.mark(user_id)
    assert MARKER in reader.get("/?order=name").data.decode()  # caught up: back on the reader


def test_an_unreachable_reader_is_skipped_for_five_seconds(make_app, database_url, tmp_path, monkeypatch):
    if database_url.startswith("sqlite"):
        unreachable = f"sqlite:///{tmp_path / 'no such folder' / 'reader.db'}"
    else:
        unreachable = make_url(database_url).set(port=1).render_as_string(hide_password=False)
    app = make_app(SQLALCHEMY_READER_URI=unreachable)
    client = app.test_client()
    AuthActions(client).signup_and_signin()
    ids = prepare(client)
    assert ">kept</a>" in client.get(f"/pads/{ids['pad']}/").data.decode()
    health = app.extensions["notejam.reader_health"]
    assert health.failures == 1
    note_page = f"/notes/{ids['note']}/"  # never cached: every request reads
    assert client.get(note_page).status_code == 200
    assert health.failures == 1  # skipped, not tried again
    db_module = sys.modules["notejam.db"]  # the module, not the `db` object notejam exports
    later = db_module.time.monotonic() + 5.5
    monkeypatch.setattr(db_module.time, "monotonic", lambda: later)
    assert client.get(note_page).status_code == 200
    assert health.failures == 2  # tried again after 5 s, and still down: the writer answered


def test_an_account_change_reads_from_the_writer_until_the_reader_catches_up(make_app, replica):
    app = make_app(SQLALCHEMY_READER_URI=replica.url)
    client = app.test_client()
    AuthActions(client).signup_and_signin()
    prepare(client)
    user_id = user_id_of(app)
    replica.sync()
    replica.mark(user_id)
    client.get("/")
    assert MARKER in client.get("/").data.decode()
    new = "a brand new one"
    response = client.post(
        "/settings/", data={"old_password": PASSWORD, "new_password": new, "repeat_new_password": new}
    )
    assert response.status_code == 302
    assert MARKER not in client.get("/").data.decode()  # the password change bumped the version
    replica.sync()
    replica.mark(user_id)
    assert MARKER in client.get("/?order=name").data.decode()
