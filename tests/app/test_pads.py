from sqlalchemy import func, select

from notejam.db import db
from notejam.models import Note, Pad


def test_create_rename_and_list_a_pad(client, auth, make_pad):
    auth.signup_and_signin()
    pad = make_pad("Work")
    page = client.get(f"/pads/{pad}/")
    assert page.status_code == 200 and b"The pad is created." in page.data
    response = client.post(f"/pads/{pad}/edit/", data={"name": "Job"})
    assert response.status_code == 302 and response.headers["Location"] == f"/pads/{pad}/"
    page = client.get("/")
    assert b">Job</a>" in page.data and b">Work</a>" not in page.data


def test_pad_name_is_required_and_limited(client, auth, make_pad):
    auth.signup_and_signin()
    assert b"This field is required." in client.post("/pads/create/", data={"name": "  "}).data
    pad = make_pad("ok")
    response = client.post(f"/pads/{pad}/edit/", data={"name": "x" * 101})
    assert response.status_code == 200 and b"Field cannot be longer than 100 characters." in response.data


def test_pad_page_lists_only_that_pads_notes(client, auth, make_pad, make_note):
    auth.signup_and_signin()
    work, home = make_pad("Work"), make_pad("Home")
    make_note("report", pad=work)
    make_note("laundry", pad=home)
    make_note("loose")
    page = client.get(f"/pads/{work}/").data
    assert b"report" in page and b"laundry" not in page and b"loose" not in page
    everything = client.get("/").data
    assert all(name in everything for name in (b"report", b"laundry", b"loose"))


def test_deleting_a_pad_deletes_its_notes(app, client, auth, make_pad, make_note):
    auth.signup_and_signin()
    doomed, kept = make_pad("Doomed"), make_pad("Kept")
    gone = [make_note(f"gone-{n}", pad=doomed) for n in range(3)]
    stays = make_note("stays", pad=kept)
    loose = make_note("loose")
    assert b"and all its notes" in client.get(f"/pads/{doomed}/delete/").data
    response = client.post(f"/pads/{doomed}/delete/")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get(f"/pads/{doomed}/").status_code == 404
    for note in gone:
        assert client.get(f"/notes/{note}/").status_code == 404
    assert client.get(f"/notes/{stays}/").status_code == 200
    assert client.get(f"/notes/{loose}/").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Note)) == 2
        assert db.session.scalar(select(func.count()).select_from(Pad)) == 1


def test_deleting_a_note_in_a_pad_returns_to_the_pad(client, auth, make_pad, make_note):
    auth.signup_and_signin()
    pad = make_pad("P")
    note = make_note("n", pad=pad)
    response = client.post(f"/notes/{note}/delete/")
    assert response.headers["Location"] == f"/pads/{pad}/"
