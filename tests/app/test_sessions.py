"""Session cookies and CSRF tokens remembered per worker (notejam/sessions.py) change nothing a user
or an attacker can observe: a forged or expired cookie is refused, every request gets its own
session, and the remembered CSRF tokens are the ones Flask-WTF accepts."""

import pytest

import notejam.sessions

from .conftest import AuthActions
from .test_csrf import PASSWORD, csrf_token_in, sign_up_and_in

COOKIE = "notejam_session"


def session_cookie(client) -> str:
    return client.get_cookie(COOKIE).value


def test_a_tampered_cookie_is_refused_after_the_real_one_was_remembered(client, auth):
    auth.signup_and_signin()
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200  # verified once, then remembered
    real = session_cookie(client)
    payload, _, signature = real.rpartition(".")
    # A whole other signature: changing only the last base64 character may touch padding bits.
    client.set_cookie(COOKIE, f"{payload}.{'A' * len(signature)}")
    refused = client.get("/")
    assert refused.status_code == 302 and "/signin/" in refused.headers["Location"]
    client.set_cookie(COOKIE, real)
    assert client.get("/").status_code == 200


def test_a_remembered_session_still_expires(make_app, monkeypatch):
    app = make_app(PERMANENT_SESSION_LIFETIME=600)
    client = app.test_client()
    AuthActions(client).signup_and_signin()
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200  # remembered
    now = notejam.sessions.time.time()
    monkeypatch.setattr(notejam.sessions.time, "time", lambda: now + 601)
    expired = client.get("/")
    assert expired.status_code == 302 and "/signin/" in expired.headers["Location"]


def test_every_request_gets_its_own_copy_of_a_flashed_session(make_app):
    # Flashed messages are a list in the session, and flashing appends to it. Two requests
    # carrying the same cookie (say, two tabs) must not see each other's messages: the
    # remembered session is never changed in place.
    app = make_app()
    client = app.test_client()
    AuthActions(client).signup()
    client.post("/signin/", data={"email": "alice@example.com", "password": PASSWORD})
    flashed = session_cookie(client)
    first_tab, second_tab = app.test_client(), app.test_client()
    for tab in (first_tab, second_tab):
        tab.set_cookie(COOKIE, flashed)
    assert first_tab.post("/pads/create/", data={"name": "p"}).status_code == 302  # flashes too
    page = second_tab.get("/").data
    assert b"You are signed in." in page and b"The pad is created." not in page


@pytest.mark.parametrize("time_limit", [None, 3600])
def test_the_list_pages_csrf_token_is_accepted(make_app, time_limit):
    app = make_app(WTF_CSRF_ENABLED=True, WTF_CSRF_TIME_LIMIT=time_limit)
    client = app.test_client()
    sign_up_and_in(client)
    client.get("/")  # the "signed in" flash: rendered in full
    first, again = (csrf_token_in(client.get("/").data) for _ in range(2))
    if time_limit is None:
        assert first == again  # remembered: the same signed token on every page of the session
    response = client.post("/pads/create/", data={"name": "from the list", "csrf_token": again})
    assert response.status_code == 302
    assert client.post("/pads/create/", data={"name": "x", "csrf_token": "forged"}).status_code == 400


@pytest.mark.parametrize("path", ["/signin/", "/signup/", "/forgot-password/"])
def test_each_visitor_of_a_cached_form_page_gets_a_token_of_their_own(make_app, path):
    # Empty form pages for visitors who are not signed in are cached with a placeholder for the
    # CSRF token (pagecache.anonymous_form_page): the first visitor's token must never be served
    # to the next, and each token works for its own session only.
    app = make_app(WTF_CSRF_ENABLED=True)
    first, second = app.test_client(), app.test_client()
    pages = [first.get(path).data, second.get(path).data, second.get(path).data]
    tokens = [csrf_token_in(page) for page in pages]
    assert tokens[0] != tokens[1] and tokens[1] == tokens[2]
    for page in pages:
        assert b"csrf-" not in page and b"&lt;csrf" not in page
        assert tokens[0].encode() not in pages[1]
    assert pages[1].replace(tokens[1].encode(), b"") == pages[0].replace(tokens[0].encode(), b"")
    data = {"email": "v@example.com", "password": PASSWORD, "repeat_password": PASSWORD}
    assert second.post(path, data={**data, "csrf_token": tokens[0]}).status_code == 400  # not theirs
    assert second.post(path, data={**data, "csrf_token": tokens[1]}).status_code in (200, 302)


def test_form_pages_with_errors_or_a_flash_are_rendered_as_usual(make_app):
    app = make_app()
    client = app.test_client()
    client.get("/signin/")  # cached now
    wrong = client.post("/signin/", data={"email": "nobody@example.com", "password": "not it at all"})
    assert b"Wrong email or password." in wrong.data and b'value="nobody@example.com"' in wrong.data
    AuthActions(client).signup()  # flashes "your account is ready" and redirects to the sign-in
    assert b"your account is ready" in client.get("/signin/").data
    assert b"your account is ready" not in client.get("/signin/").data
