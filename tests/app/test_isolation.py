"""Another user's pad or note, or a missing one, is a 404 on every route and method."""

import pytest

PASSWORD = "correct horse battery"  # what the `auth` fixture signs up with

READ_ONLY = ["/", "/pads/1/", "/notes/1/"]
FORMS = [
    "/settings/",
    "/pads/create/",
    "/pads/1/edit/",
    "/pads/1/delete/",
    "/notes/create/",
    "/notes/1/edit/",
    "/notes/1/delete/",
]


@pytest.mark.parametrize("path", READ_ONLY + FORMS)
def test_anonymous_users_are_sent_to_signin(client, path):
    for method in (client.get, client.post) if path in FORMS else (client.get,):
        response = method(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/signin/?next=")
        assert response.headers["Location"].endswith(path.replace("/", "%2F"))


@pytest.fixture
def bobs_things(client, auth, make_pad, make_note):
    """Bobs pad and note ids, then Alice signed in."""
    auth.signup_and_signin("bob@example.com")
    pad = make_pad("Bobs pad")
    note = make_note("Bobs note", "secret", pad=pad)
    client.post("/signout/")
    auth.signup_and_signin("alice@example.com")
    return {"pad": pad, "note": note}


FOREIGN_ROUTES = [
    ("get", "/pads/{pad}/"),
    ("get", "/pads/{pad}/edit/"),
    ("post", "/pads/{pad}/edit/"),
    ("get", "/pads/{pad}/delete/"),
    ("post", "/pads/{pad}/delete/"),
    ("get", "/notes/{note}/"),
    ("get", "/notes/{note}/edit/"),
    ("post", "/notes/{note}/edit/"),
    ("get", "/notes/{note}/delete/"),
    ("post", "/notes/{note}/delete/"),
    ("get", "/notes/create/?pad={pad}"),
]


@pytest.mark.parametrize(("method", "template"), FOREIGN_ROUTES)
def test_other_users_objects_are_404(client, bobs_things, method, template):
    path = template.format(**bobs_things)
    data = {"name": "taken over", "text": "x", "pad": ""}
    response = getattr(client, method)(path, data=data) if method == "post" else client.get(path)
    assert response.status_code == 404
    # Bob's things are untouched.
    client.post("/signout/")
    client.post("/signin/", data={"email": "bob@example.com", "password": PASSWORD})
    assert b"Bobs note" in client.get(f"/notes/{bobs_things['note']}/").data
    assert b"Bobs pad" in client.get(f"/pads/{bobs_things['pad']}/").data


@pytest.mark.parametrize(("method", "template"), FOREIGN_ROUTES)
def test_missing_objects_are_404(client, auth, method, template):
    auth.signup_and_signin()
    path = template.format(pad=999999, note=999999)
    response = getattr(client, method)(path, data={"name": "n", "text": "t", "pad": ""})
    assert response.status_code == 404


def test_choosing_another_users_pad_for_a_note_is_404(client, auth, bobs_things, make_note):
    foreign = {"name": "mine", "text": "t", "pad": str(bobs_things["pad"])}
    assert client.post("/notes/create/", data=foreign).status_code == 404
    note = make_note("mine")
    assert client.post(f"/notes/{note}/edit/", data=foreign).status_code == 404
    assert client.post("/notes/create/", data={**foreign, "pad": "abc"}).status_code == 404
    page = client.get(f"/notes/{note}/").data
    assert b"mine" in page and b"Bobs pad" not in page


def test_lists_show_only_the_users_own_notes_and_pads(client, bobs_things, make_note):
    make_note("Alices note")
    page = client.get("/").data
    assert b"Alices note" in page
    assert b"Bobs note" not in page and b"Bobs pad" not in page
