"""With CSRF protection on (as in production), every form refuses a POST without its token."""

import pytest

PASSWORD = "correct horse battery"


def csrf_token_in(page: bytes) -> str:
    marker = b'name="csrf_token" type="hidden" value="'
    if marker not in page:
        marker = b'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index(b'"', start)].decode()


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


def sign_up_and_in(client, email: str = "c@example.com") -> None:
    """Sign up and sign in through the real forms, each POST carrying the token its page gave."""
    token = csrf_token_in(client.get("/signup/").data)
    data = {"email": email, "password": PASSWORD, "repeat_password": PASSWORD}
    assert client.post("/signup/", data={**data, "csrf_token": token}).status_code == 302
    token = csrf_token_in(client.get("/signin/").data)
    data = {"email": email, "password": PASSWORD, "csrf_token": token}
    assert client.post("/signin/", data=data).status_code == 302


@pytest.fixture
def signed_in(csrf_app):
    """A client signed in through the real, token-carrying forms; plus a pad and a note."""
    client = csrf_app.test_client()
    sign_up_and_in(client)
    token = csrf_token_in(client.get("/pads/create/").data)
    response = client.post("/pads/create/", data={"name": "pad", "csrf_token": token})
    pad = int(response.headers["Location"].split("/")[2])
    data = {"name": "note", "text": "t", "pad": "", "csrf_token": token}
    response = client.post("/notes/create/", data=data)
    note = int(response.headers["Location"].split("/")[2])
    return client, pad, note


FORMS = [
    ("/settings/", {"old_password": PASSWORD, "new_password": "x" * 10, "repeat_new_password": "x" * 10}),
    ("/pads/create/", {"name": "p"}),
    ("/pads/{pad}/edit/", {"name": "p"}),
    ("/pads/{pad}/delete/", {}),
    ("/notes/create/", {"name": "n", "text": "t", "pad": ""}),
    ("/notes/{note}/edit/", {"name": "n", "text": "t", "pad": ""}),
    ("/notes/{note}/delete/", {}),
    ("/signout/", {}),
]


@pytest.mark.parametrize(("template", "data"), FORMS)
def test_signed_in_forms_refuse_a_post_without_a_valid_token(signed_in, template, data):
    client, pad, note = signed_in
    path = template.format(pad=pad, note=note)
    missing = client.post(path, data=data)
    assert missing.status_code == 400 and b"The form expired" in missing.data
    forged = client.post(path, data={**data, "csrf_token": "forged"})
    assert forged.status_code == 400
    # Nothing happened: still signed in, pad and note still there.
    assert client.get(f"/notes/{note}/").status_code == 200
    assert client.get(f"/pads/{pad}/").status_code == 200


@pytest.mark.parametrize(("template", "data"), FORMS)
def test_signed_in_forms_accept_a_post_with_the_token(signed_in, template, data):
    client, pad, note = signed_in
    path = template.format(pad=pad, note=note)
    token = csrf_token_in(client.get(path).data)
    response = client.post(path, data={**data, "csrf_token": token})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/signup/", {"email": "n@example.com", "password": PASSWORD, "repeat_password": PASSWORD}),
        ("/signin/", {"email": "c@example.com", "password": PASSWORD}),
        ("/forgot-password/", {"email": "c@example.com"}),
    ],
)
def test_anonymous_forms_refuse_a_post_without_a_token(csrf_app, path, data):
    client = csrf_app.test_client()
    assert client.post(path, data=data).status_code == 400
    token = csrf_token_in(client.get(path).data)
    assert client.post(path, data={**data, "csrf_token": token}).status_code in (200, 302)


def test_a_token_from_another_session_is_refused(csrf_app, signed_in):
    client, pad, _note = signed_in
    stranger = csrf_app.test_client()
    foreign_token = csrf_token_in(stranger.get("/signin/").data)
    assert client.post(f"/pads/{pad}/delete/", data={"csrf_token": foreign_token}).status_code == 400
    assert client.get(f"/pads/{pad}/").status_code == 200
