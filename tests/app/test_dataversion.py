"""The data version bumped by the ORM (notejam/dataversion.py), whatever writes: views or code.

Two apps stand for two gunicorn workers (or two ECS tasks), each with its own page cache: every
write through one shows in the very next read through the other, whose cache was warm.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update

from notejam.db import db
from notejam.models import Note, Pad, User

from .conftest import PASSWORD, AuthActions
from .test_auth import reset_link_from, reset_mails


def version_of(app, email: str = "alice@example.com", user_id: int | None = None) -> int:
    where = User.email == email if user_id is None else User.id == user_id
    with app.app_context():
        return db.session.execute(select(User.data_version).where(where)).scalar_one()


def user_id_of(app, email: str = "alice@example.com") -> int:
    with app.app_context():
        return db.session.execute(select(User.id).where(User.email == email)).scalar_one()


def created_id(response, kind: str) -> int:
    assert response.status_code == 302, response.data
    return int(re.search(rf"/{kind}/(\d+)/", response.headers["Location"]).group(1))


def orm(app, work: Callable[[int], Any]) -> None:
    """Run work(user_id) in the app's ORM session and commit: code, not a view, writing."""
    user_id = user_id_of(app)
    with app.app_context():
        work(user_id)
        db.session.commit()


def rename_in_session(user_id: int) -> None:
    note = db.session.execute(select(Note).where(Note.user_id == user_id, Note.name == "kept")).scalar_one()
    note.name = "orm renamed"


# Each write (through the "there" app) and what the next page on "here" must then show or not.
WRITES: dict[str, tuple[Callable[..., Any], list[str], list[str]]] = {
    "create note": (
        lambda c, app, ids: c.post("/notes/create/", data={"name": "fresh", "text": "t", "pad": ""}),
        [">fresh</a>"],
        [],
    ),
    "edit note": (
        lambda c, app, ids: c.post(
            f"/notes/{ids['note']}/edit/", data={"name": "renamed", "text": "t", "pad": str(ids["pad"])}
        ),
        [">renamed</a>"],
        [">kept</a>"],
    ),
    "delete note": (lambda c, app, ids: c.post(f"/notes/{ids['note']}/delete/"), [], [">kept</a>"]),
    "create pad": (lambda c, app, ids: c.post("/pads/create/", data={"name": "Spare"}), [">Spare</a>"], []),
    "edit pad": (
        lambda c, app, ids: c.post(f"/pads/{ids['pad']}/edit/", data={"name": "Office"}),
        [">Office</a>"],
        [">Work</a>"],
    ),
    "delete pad": (lambda c, app, ids: c.post(f"/pads/{ids['pad']}/delete/"), [], [">kept</a>", ">Work</a>"]),
    "ORM unit of work": (
        lambda c, app, ids: orm(app, rename_in_session),
        [">orm renamed</a>"],
        [">kept</a>"],
    ),
    "ORM bulk update of notes": (
        lambda c, app, ids: orm(
            app, lambda uid: db.session.execute(update(Note).where(Note.user_id == uid).values(name="bulk"))
        ),
        [">bulk</a>"],
        [">kept</a>"],
    ),
    "ORM bulk delete of notes": (
        lambda c, app, ids: orm(
            app, lambda uid: db.session.execute(delete(Note).where(Note.pad_id == ids["pad"]))
        ),
        [],
        [">kept</a>"],
    ),
    "ORM bulk update of pads": (
        lambda c, app, ids: orm(
            app, lambda uid: db.session.execute(update(Pad).where(Pad.user_id == uid).values(name="Bulk pad"))
        ),
        [">Bulk pad</a>"],
        [">Work</a>"],
    ),
    "ORM bulk delete of pads": (
        lambda c, app, ids: orm(app, lambda uid: db.session.execute(delete(Pad).where(Pad.id == ids["pad"]))),
        [],
        [">Work</a>", ">kept</a>"],
    ),
    "ORM bulk update of the account": (
        lambda c, app, ids: orm(
            app,
            lambda uid: db.session.execute(
                update(User).where(User.id == uid).values(email="alice.new@example.com")
            ),
        ),
        ['<span class="email">alice.new@example.com</span>'],
        ['<span class="email">alice@example.com</span>'],
    ),
}


def prepare(client) -> dict[str, int]:
    pad = created_id(client.post("/pads/create/", data={"name": "Work"}), "pads")
    note = created_id(
        client.post("/notes/create/", data={"name": "kept", "text": "t", "pad": str(pad)}), "notes"
    )
    return {"pad": pad, "note": note}


def warm(client, ids: dict[str, int]) -> None:
    for path in ("/", f"/pads/{ids['pad']}/", f"/notes/{ids['note']}/"):
        client.get(path)
        client.get(path)  # the first may show a flash; the second is cached


@pytest.mark.parametrize("write", list(WRITES))
def test_every_write_shows_in_the_next_read_on_another_worker(make_app, write):
    here, there = make_app(), make_app()
    reader, writer = here.test_client(), there.test_client()
    AuthActions(writer).signup_and_signin()
    AuthActions(reader).signin()
    ids = prepare(writer)
    warm(reader, ids)
    user_id = user_id_of(there)
    before = version_of(there, user_id=user_id)
    action, shown, gone = WRITES[write]
    response = action(writer, there, ids)
    assert response is None or response.status_code == 302, response.data
    assert version_of(there, user_id=user_id) > before, "the write did not bump the data version"
    page = reader.get("/").data.decode()
    for expected in shown:
        assert expected in page
    for unexpected in gone:
        assert unexpected not in page


def test_unchanged_objects_and_failed_forms_bump_nothing(client, auth):
    auth.signup_and_signin()
    ids = prepare(client)
    app = client.application
    before = version_of(app)
    assert client.post("/notes/create/", data={"name": "", "text": ""}).status_code == 200
    with app.app_context():
        note = db.session.get(Note, ids["note"])
        note.name = note.name  # the same value: not a change
        db.session.commit()
        db.session.execute(select(Note)).all()
        db.session.commit()
    assert version_of(app) == before


def test_a_flush_bumps_the_owner_once_before_writing(app, client, auth, record_statements):
    auth.signup_and_signin()
    ids = prepare(client)
    before = version_of(app)
    statements = record_statements(app)
    with app.app_context():
        note = db.session.get(Note, ids["note"])
        note.text = "changed"
        db.session.add(Note(user_id=note.user_id, name="second", text="t"))
        db.session.commit()
    assert version_of(app) == before + 1
    writes = [s.split()[0].upper() for s in statements if s.split()[0].upper() in ("UPDATE", "INSERT")]
    assert writes[0] == "UPDATE" and "users" in next(s for s in statements if s.startswith("UPDATE"))


def test_account_changes_bump_the_version(client, auth, outbox):
    auth.signup_and_signin()
    app = client.application
    before = version_of(app)
    response = client.post(
        "/settings/",
        data={
            "old_password": PASSWORD,
            "new_password": "a brand new one",
            "repeat_new_password": "a brand new one",
        },
    )
    assert response.status_code == 302
    after_settings = version_of(app)
    assert after_settings > before
    client.post("/signout/")
    client.post("/forgot-password/", data={"email": "alice@example.com"})
    link = reset_link_from(reset_mails(outbox())[0])
    assert (
        client.post(
            link, data={"new_password": "fresh password", "repeat_new_password": "fresh password"}
        ).status_code
        == 302
    )
    assert version_of(app) > after_settings
    with app.app_context():
        db.session.execute(
            update(User).where(User.email == "alice@example.com").values(email="alice2@example.com")
        )
        db.session.commit()
    assert version_of(app, "alice2@example.com") > after_settings + 1


def test_raw_sql_is_not_seen(client, auth):
    # Documented in dataversion.py: text() and Core statements bypass the ORM's events.
    auth.signup_and_signin()
    prepare(client)
    app = client.application
    before = version_of(app)
    with app.app_context():
        db.session.execute(text("UPDATE notes SET name = 'raw'"))
        db.session.commit()
    assert version_of(app) == before
