"""What a live attack run on the app found (issue 16), each pinned by the behaviour that closes it."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from werkzeug.routing import IntegerConverter

import notejam.auth
from notejam.config import ConfigError, from_environment
from notejam.db import db
from notejam.models import Pad, User, UserSession, utcnow
from notejam.pagecache import PageCache
from tests.app.conftest import PASSWORD, AuthActions
from tests.app.test_auth import reset_link_from, reset_mails
from tests.app.test_csrf import csrf_token_in


def reset_link(messages) -> str:
    """The path of the one reset link among an outbox's messages."""
    [mail] = reset_mails(messages)
    return reset_link_from(mail)


def body_of(message) -> str:
    return message.get_payload(decode=True).decode()


# --- 1. Host header injection in the reset link ---------------------------------------------------


def test_reset_link_is_built_from_the_base_url_not_the_host_header(make_app, outbox_messages):
    app = make_app(BASE_URL="https://notes.example.com")
    client = app.test_client()
    AuthActions(client).signup()
    response = client.post(
        "/forgot-password/", data={"email": "alice@example.com"}, base_url="http://evil.example"
    )
    assert response.status_code == 302
    [mail] = reset_mails(outbox_messages(app))
    body = body_of(mail)
    assert "evil.example" not in body
    assert re.search(r"^https://notes\.example\.com/reset-password/\?token=\S+$", body, re.MULTILINE)


def test_the_base_url_is_required_outside_development_and_checked(tmp_path):
    production = {"SECRET_KEY": "k"}
    with pytest.raises(ConfigError, match="NOTEJAM_BASE_URL is not set"):
        from_environment(production, str(tmp_path), False)
    for bad in (
        "notes.example.com",
        "ftp://notes.example.com",
        "https://u:p@notes.example.com",
        "https://x/?a=1",
    ):
        with pytest.raises(ConfigError, match="NOTEJAM_BASE_URL="):
            from_environment({**production, "NOTEJAM_BASE_URL": bad}, str(tmp_path), False)
    config = from_environment(
        {**production, "NOTEJAM_BASE_URL": "https://notes.example.com/"}, str(tmp_path), False
    )
    assert config["BASE_URL"] == "https://notes.example.com"
    # A laptop has no fixed address: development links follow the request.
    assert from_environment({"FLASK_DEBUG": "1"}, str(tmp_path), False)["BASE_URL"] is None


# --- 2. Sign-out revokes the session ----------------------------------------------------------------


def copy_session_cookie(source, target) -> None:
    cookie = source.get_cookie("notejam_session")
    target.set_cookie("notejam_session", cookie.value)


def test_a_copied_cookie_stops_working_after_sign_out(app, client, auth):
    auth.signup_and_signin()
    thief = app.test_client()
    copy_session_cookie(client, thief)
    assert thief.get("/").status_code == 200  # the copy works while the session lives...
    client.post("/signout/")
    for _ in range(3):
        response = thief.get("/")
        assert response.status_code == 302 and response.headers["Location"].startswith("/signin/")
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(UserSession)).scalar_one() == 0


def test_a_session_ends_after_its_lifetime(make_app):
    app = make_app(SESSION_LIFETIME=3600)
    client = app.test_client()
    AuthActions(client).signup_and_signin()
    assert client.get("/").status_code == 200
    with app.app_context():
        [expires_at] = db.session.execute(select(UserSession.expires_at)).scalars()
        assert timedelta(minutes=59) < expires_at - utcnow() <= timedelta(hours=1)
        db.session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert client.get("/").status_code == 302


def test_sessions_default_to_twelve_hours_and_the_cookie_ages_out_too(tmp_path):
    config = from_environment({"FLASK_DEBUG": "1"}, str(tmp_path), False)
    assert config["SESSION_LIFETIME"] == 12 * 3600
    assert config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    with pytest.raises(ConfigError, match="NOTEJAM_SESSION_LIFETIME"):
        from_environment({"FLASK_DEBUG": "1", "NOTEJAM_SESSION_LIFETIME": "5"}, str(tmp_path), False)


def test_a_password_reset_signs_out_every_session(app, client, auth, outbox):
    auth.signup_and_signin()
    laptop = app.test_client()
    copy_session_cookie(client, laptop)
    visitor = app.test_client()
    visitor.post("/forgot-password/", data={"email": "alice@example.com"})
    link = reset_link(outbox())
    visitor.post(link, data={"new_password": "fresh password", "repeat_new_password": "fresh password"})
    assert laptop.get("/").status_code == 302 and client.get("/").status_code == 302


# --- 3. Request bodies are bounded ------------------------------------------------------------------


def test_an_oversized_form_gets_413_and_nothing_is_echoed_or_saved(app, client, auth):
    auth.signup_and_signin()
    marker = "ATTACKER-TEXT-"
    response = client.post(
        "/notes/create/", data={"name": "big", "text": marker * (30 * 1024 * 1024 // 14), "pad": ""}
    )
    assert response.status_code == 413
    assert b"Too large" in response.data and marker.encode() not in response.data
    with app.app_context():
        assert db.session.execute(text("SELECT COUNT(*) FROM notes")).scalar_one() == 0


def test_the_longest_note_in_four_byte_characters_still_saves(client, auth):
    auth.signup_and_signin()
    # ~780 KB form-encoded: the body limit must leave room for it (a guard, not a finding).
    longest = "\N{MUSICAL SYMBOL G CLEF}" * 65000
    response = client.post("/notes/create/", data={"name": "clef", "text": longest, "pad": ""})
    assert response.status_code == 302, response.status_code
    assert longest.encode() in client.get(response.headers["Location"]).data


# --- 4. The list cache is bounded by bytes; page numbers and pads cannot grow it ------------------


def test_the_list_cache_stays_within_its_byte_bound():
    cache = PageCache(size=10_000, max_bytes=200_000)
    for number in range(500):
        cache.put(("page", number), "x" * 10_000)
    assert cache.bytes <= 200_000 and 0 < len(cache) < 20
    assert cache.get(("page", 499)) is not None and cache.get(("page", 0)) is None
    cache.put(("huge",), "x" * 100_000)  # over a quarter of the bound: not kept at all
    assert cache.get(("huge",)) is None and cache.bytes <= 200_000


def test_pages_past_the_last_are_404_and_never_cached(app, client, auth, make_note):
    auth.signup_and_signin()
    make_note("only one")
    cache = app.extensions["notejam.page_cache"]
    client.get("/")
    cached = len(cache)
    for page in (2, 3, 1200):
        assert client.get(f"/?page={page}").status_code == 404
    assert len(cache) == cached


def test_pads_have_a_quota_per_user(make_app):
    app = make_app(MAX_PADS_PER_USER=2)
    client = app.test_client()
    AuthActions(client).signup_and_signin()
    for name in ("one", "two"):
        assert client.post("/pads/create/", data={"name": name}).status_code == 302
    refused = client.post("/pads/create/", data={"name": "three"})
    assert refused.status_code == 200
    assert b"You have 2 pads, the most an account can have. Delete one to make room." in refused.data
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Pad)).scalar_one() == 2


# --- 5. Rate limits ------------------------------------------------------------------------------------


def test_sign_in_failures_per_address_are_limited_even_with_the_right_password(make_app):
    app = make_app(RATE_LIMIT_SIGNIN_FAILURES_PER_ADDRESS="3 per 15 minutes")
    client = app.test_client()
    auth = AuthActions(client)
    auth.signup()
    auth.signup("bob@example.com")
    for _ in range(3):
        assert auth.signin(password="wrong password").status_code == 200
    blocked = auth.signin()  # the right password, after the limit
    assert blocked.status_code == 429 and b"Too many attempts" in blocked.data
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    assert auth.signin("Bob@Example.com").status_code == 302  # another address is not affected


def test_sign_in_posts_per_client_are_limited_but_pages_are_not(make_app):
    app = make_app(RATE_LIMIT_SIGNIN_PER_CLIENT="4 per minute")
    client = app.test_client()
    answers = [
        client.post("/signin/", data={"email": f"u{n}@example.com", "password": "x"}).status_code
        for n in range(6)
    ]
    assert answers == [200] * 4 + [429] * 2
    assert client.get("/signin/").status_code == 200
    other_client = app.test_client()
    response = other_client.post(
        "/signin/",
        data={"email": "u@example.com", "password": "x"},
        environ_base={"REMOTE_ADDR": "192.0.2.9"},
    )
    assert response.status_code == 200


def test_limits_are_shared_by_every_worker_and_task(make_app):
    # Two app instances on one database stand for two workers or two ECS tasks.
    first, second = (
        make_app(RATE_LIMIT_SIGNUP_PER_CLIENT="3 per hour"),
        make_app(RATE_LIMIT_SIGNUP_PER_CLIENT="3 per hour"),
    )
    answers = []
    for number, app in enumerate((first, second, first, second)):
        answers.append(AuthActions(app.test_client()).signup(f"n{number}@example.com").status_code)
    assert answers == [302, 302, 302, 429]


def test_forgot_password_is_limited_per_client_and_mails_per_address_silently(make_app, outbox_messages):
    app = make_app(
        RATE_LIMIT_MAIL_PER_ADDRESS="3 per hour", RATE_LIMIT_FORGOT_PASSWORD_PER_CLIENT="8 per hour"
    )
    client = app.test_client()
    AuthActions(client).signup()  # the sign-up mail is the first of three this hour
    answers = [
        client.post("/forgot-password/", data={"email": "alice@example.com"}).status_code for _ in range(8)
    ]
    assert answers == [302] * 8  # the same answer whether a mail went out or not
    assert len(reset_mails(outbox_messages(app))) == 2
    assert client.post("/forgot-password/", data={"email": "alice@example.com"}).status_code == 429


def test_a_failed_sign_in_counts_even_though_its_transaction_rolls_back(make_app):
    app = make_app(RATE_LIMIT_SIGNIN_FAILURES_PER_ADDRESS="2 per hour")
    client = app.test_client()
    for _ in range(2):
        AuthActions(client).signin("ghost@example.com", "nope nope")
    with app.app_context():
        assert db.session.execute(text("SELECT MAX(hits) FROM rate_limits")).scalar_one() == 2


def test_an_expired_window_starts_again_from_one(make_app, monkeypatch):
    import notejam.ratelimits

    app = make_app()
    clock = [1_000_000.0]
    monkeypatch.setattr(notejam.ratelimits.time, "time", lambda: clock[0])
    storage = app.extensions["notejam.rate_limits"].storage
    with app.app_context():
        assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
        assert storage.get("k") == 3 and storage.get_expiry("k") == 1_000_060.0
        clock[0] += 61
        assert storage.get("k") == 0
        assert storage.incr("k", 60) == 1 and storage.get_expiry("k") == 1_000_121.0


def test_bad_rate_limit_settings_name_the_variable(tmp_path):
    env = {"FLASK_DEBUG": "1", "NOTEJAM_RATE_LIMIT_SIGNUP_PER_CLIENT": "lots"}
    with pytest.raises(ConfigError, match="NOTEJAM_RATE_LIMIT_SIGNUP_PER_CLIENT='lots'"):
        from_environment(env, str(tmp_path), False)


# --- 6. Sign-up does not tell whether an address has an account: test_auth.py ---------------------


# --- 7. Bad input is a 404 or a redirect, never a 500 -------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/notes/99999999999999999999/",
        "/notes/0/",
        "/notes/2147483648/edit/",
        "/pads/99999999999999999999/",
        "/pads/99999999999999999999/delete/",
        "/?page=99999999999999999999",
        "/?page=0",
        "/?page=-1",
        "/?page=abc",
        "/?page=%C2%B2",
        "/notes/create/?pad=%C2%B2",
        "/notes/create/?pad=99999999999999999999",
    ],
)
def test_bad_ids_and_pages_are_404(client, auth, path):
    auth.signup_and_signin()
    assert client.get(path).status_code == 404


def test_every_route_with_an_id_refuses_ids_the_database_cannot_hold(app, client, auth):
    auth.signup_and_signin()
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if any(isinstance(converter, IntegerConverter) for converter in rule._converters.values())
    ]
    assert rules  # notes and pads
    for rule in rules:
        path = re.sub(r"<[^>]+>", "99999999999999999999", rule.rule)
        assert client.get(path).status_code in (404, 405), path


def test_a_foreign_digit_as_pad_is_404_not_500(client, auth):
    auth.signup_and_signin()
    assert (
        client.post(
            "/notes/create/", data={"name": "n", "text": "t", "pad": "\N{SUPERSCRIPT TWO}"}
        ).status_code
        == 404
    )


@pytest.mark.parametrize("evil", ["/\r\nSet-Cookie: x=1", "/%0d%0a", "/pads/\n", "/ x", "/\x7f"])
def test_control_characters_in_next_fall_back_to_the_notes(client, auth, evil):
    auth.signup()
    response = client.post(
        "/signin/", query_string={"next": evil}, data={"email": "alice@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    if "%" not in evil:
        assert response.headers["Location"] == "/"


# --- 8. A reset link works once, even raced ----------------------------------------------------------


def test_a_reset_link_raced_by_another_request_changes_nothing(app, client, auth, outbox, monkeypatch):
    auth.signup()
    client.post("/forgot-password/", data={"email": "alice@example.com"})
    link = reset_link(outbox())
    real_hash_password = notejam.auth.hash_password

    def the_other_request_wins(password: str) -> str:
        # Between this request's check of the token and its write, another request with the same
        # link commits its own new password (what 8 simultaneous POSTs made happen).
        with db.engine.begin() as connection:
            connection.execute(update(User).values(password_hash=real_hash_password("the racer's one")))
        return real_hash_password(password)

    monkeypatch.setattr(notejam.auth, "hash_password", the_other_request_wins)
    response = client.post(
        link, data={"new_password": "second winner", "repeat_new_password": "second winner"}
    )
    monkeypatch.setattr(notejam.auth, "hash_password", real_hash_password)
    assert response.status_code == 302 and response.headers["Location"] == "/forgot-password/"
    assert AuthActions(client).signin(password="the racer's one").status_code == 302


@pytest.mark.mysql
def test_simultaneous_posts_with_one_reset_link_accept_one(make_mysql_app, outbox_messages):
    app = make_mysql_app()
    client = app.test_client()
    AuthActions(client).signup()
    client.post("/forgot-password/", data={"email": "alice@example.com"})
    link = reset_link(outbox_messages(app))
    barrier = threading.Barrier(8)
    answers = []

    def post(number: int) -> None:
        racer = app.test_client()
        barrier.wait()
        password = f"password number {number}"
        response = racer.post(link, data={"new_password": password, "repeat_new_password": password})
        answers.append(response.headers["Location"])

    threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers).count("/signin/") == 1, answers


# --- 9. The CSRF token does not outlive a sign-in or a sign-out ------------------------------------


def test_the_csrf_token_changes_at_sign_in_and_sign_out(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    token = csrf_token_in(client.get("/signup/").data)
    data = {"email": "c@example.com", "password": PASSWORD, "repeat_password": PASSWORD, "csrf_token": token}
    assert client.post("/signup/", data=data).status_code == 302
    before = csrf_token_in(client.get("/signin/").data)
    data = {"email": "c@example.com", "password": PASSWORD, "csrf_token": before}
    assert client.post("/signin/", data=data).status_code == 302
    # The token from before sign-in is worthless now (a planted one would be too)...
    assert client.post("/pads/create/", data={"name": "p", "csrf_token": before}).status_code == 400
    during = csrf_token_in(client.get("/pads/create/").data)
    assert client.post("/pads/create/", data={"name": "p", "csrf_token": during}).status_code == 302
    assert client.post("/signout/", data={"csrf_token": during}).status_code == 302
    # ...and so is the signed-in session's once it has ended.
    assert (
        client.post("/forgot-password/", data={"email": "c@example.com", "csrf_token": during}).status_code
        == 400
    )
