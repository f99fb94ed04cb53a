from datetime import datetime

from sqlalchemy import update

from notejam.dates import humandate
from notejam.db import db
from notejam.models import Note


def test_anonymous_user_is_sent_to_signin_with_next(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin/?next=%2F"


def test_create_view_and_edit_note(client, auth, make_pad):
    auth.signup_and_signin()
    pad = make_pad("Work")
    response = client.post("/notes/create/", data={"name": "Plan", "text": "Ship it", "pad": str(pad)})
    assert response.status_code == 302
    note_url = response.headers["Location"]
    page = client.get(note_url)
    assert page.status_code == 200
    assert b"Plan" in page.data and b"Ship it" in page.data and b"Work" in page.data
    assert b"The note is saved." in page.data

    response = client.post(note_url + "edit/", data={"name": "Plan B", "text": "Rethink", "pad": ""})
    assert response.status_code == 302
    page = client.get(note_url)
    assert b"Plan B" in page.data and b"Rethink" in page.data
    assert client.get(f"/pads/{pad}/").data.count(b"Plan B") == 0


def test_note_edit_form_shows_current_values(client, auth, make_pad, make_note):
    auth.signup_and_signin()
    pad = make_pad("Home")
    note = make_note("Groceries", "milk", pad=pad)
    page = client.get(f"/notes/{note}/edit/")
    assert page.status_code == 200
    assert b'value="Groceries"' in page.data
    assert b"\nmilk</textarea>" in page.data
    assert f'<option selected value="{pad}">'.encode() in page.data


def test_create_note_preselects_pad_from_query(client, auth, make_pad):
    auth.signup_and_signin()
    pad = make_pad("Ideas")
    page = client.get(f"/notes/create/?pad={pad}")
    assert f'<option selected value="{pad}">Ideas</option>'.encode() in page.data


def test_note_without_pad_is_stored_with_null_pad(app, client, auth, make_note):
    auth.signup_and_signin()
    note_id = make_note("Loose")
    with app.app_context():
        assert db.session.get(Note, note_id).pad_id is None
    assert b"No pad" in client.get("/").data


def test_note_validation_errors_rerender_the_form(client, auth):
    auth.signup_and_signin()
    response = client.post("/notes/create/", data={"name": "", "text": "", "pad": ""})
    assert response.status_code == 200
    assert response.data.count(b'class="error"') == 2
    response = client.post("/notes/create/", data={"name": "x" * 101, "text": "t", "pad": ""})
    assert response.status_code == 200
    assert b"Field cannot be longer than 100 characters." in response.data


def test_delete_note_asks_then_deletes(client, auth, make_note):
    auth.signup_and_signin()
    note = make_note("Temp")
    page = client.get(f"/notes/{note}/delete/")
    assert page.status_code == 200 and b"Yes, delete it" in page.data
    response = client.post(f"/notes/{note}/delete/")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert b"The note is deleted." in client.get("/").data
    assert client.get(f"/notes/{note}/").status_code == 404


def set_updated_at(app, note_id, when):
    with app.app_context():
        db.session.execute(update(Note).where(Note.id == note_id).values(updated_at=when))
        db.session.commit()


def names_in_order(html: bytes, names) -> list[str]:
    return sorted(names, key=lambda name: html.index(f">{name}</a>".encode()))


def test_lists_sort_by_each_order(app, client, auth, make_pad, make_note):
    auth.signup_and_signin()
    pad = make_pad("P")
    ids = {name: make_note(name, pad=pad) for name in ("banana", "apple", "cherry")}
    set_updated_at(app, ids["banana"], datetime(2026, 1, 3, 10, 0))
    set_updated_at(app, ids["apple"], datetime(2026, 1, 1, 10, 0))
    set_updated_at(app, ids["cherry"], datetime(2026, 1, 2, 10, 0))
    expected = {
        "name": ["apple", "banana", "cherry"],
        "-name": ["cherry", "banana", "apple"],
        "updated_at": ["apple", "cherry", "banana"],
        "-updated_at": ["banana", "cherry", "apple"],
        None: ["banana", "cherry", "apple"],
        "bogus": ["banana", "cherry", "apple"],
    }
    for base in ("/", f"/pads/{pad}/"):
        for order, names in expected.items():
            url = base if order is None else f"{base}?order={order}"
            response = client.get(url)
            assert response.status_code == 200
            assert names_in_order(response.data, names) == names, url


def test_long_lists_are_paginated(app, client, auth, make_note):
    app.config["NOTES_PER_PAGE"] = 3
    auth.signup_and_signin()
    for number in range(7):
        make_note(f"note-{number}")
    first = client.get("/?order=name")
    assert [f"note-{n}".encode() in first.data for n in range(7)] == [True] * 3 + [False] * 4
    assert b'href="?order=name&amp;page=2"' in first.data
    third = client.get("/?order=name&page=3")
    assert b"note-6" in third.data and b"note-5" not in third.data
    assert b'rel="next"' not in third.data
    assert client.get("/?page=9").status_code == 404  # past the last page


def test_dates_read_today_yesterday_or_the_date():
    now = datetime(2026, 11, 27, 22, 30)
    assert humandate(datetime(2026, 11, 27, 8, 5), now) == "Today at 08:05"
    assert humandate(datetime(2026, 11, 26, 23, 59), now) == "Yesterday at 23:59"
    assert humandate(datetime(2026, 11, 25, 12, 0), now) == "25 Nov 2026"
    assert humandate(datetime(2025, 11, 27, 12, 0), now) == "27 Nov 2025"


def test_list_shows_today_for_fresh_notes(client, auth, make_note):
    auth.signup_and_signin()
    make_note("Fresh")
    assert b"Today at " in client.get("/").data


def test_note_text_and_names_are_escaped(client, auth, make_pad, make_note):
    auth.signup_and_signin()
    pad = make_pad("<b>pad</b>")
    note = make_note("<script>alert(1)</script>", "<img src=x onerror=alert(2)>", pad=pad)
    for url in ("/", f"/pads/{pad}/", f"/notes/{note}/", f"/notes/{note}/edit/", f"/pads/{pad}/edit/"):
        html = client.get(url).data
        assert b"<script>alert(1)" not in html, url
        assert b"<img src=x" not in html, url
        assert b"<b>pad</b>" not in html, url
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in client.get("/").data
    assert b"&lt;img src=x onerror=alert(2)&gt;" in client.get(f"/notes/{note}/").data
    assert b"&lt;b&gt;pad&lt;/b&gt;" in client.get(f"/pads/{pad}/").data


def test_unicode_beyond_the_basic_plane_round_trips(client, auth, make_note):
    auth.signup_and_signin()
    note = make_note("Emoji \U0001f600", "\U0001f680 to the moon")
    page = client.get(f"/notes/{note}/").data.decode()
    assert "Emoji \U0001f600" in page and "\U0001f680 to the moon" in page


def test_the_longest_note_fits_even_in_four_byte_characters(client, auth, make_note):
    auth.signup_and_signin()
    text = "\U0001f600" * 65000  # 260,000 bytes in utf8mb4: more than MySQL's TEXT holds
    note = make_note("long", text)
    assert text in client.get(f"/notes/{note}/").data.decode()
    response = client.post("/notes/create/", data={"name": "too long", "text": "x" * 65001, "pad": ""})
    assert response.status_code == 200 and b"Field cannot be longer than 65000 characters." in response.data
