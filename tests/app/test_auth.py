import re

PASSWORD = "correct horse battery"  # what the `auth` fixture signs up with


def test_signup_then_signin_lands_on_notes(client, auth):
    response = auth.signup()
    assert response.status_code == 302 and response.headers["Location"] == "/signin/"
    response = auth.signin()
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert b"alice@example.com" in page.data and b"You are signed in." in page.data


def test_signup_validation_errors_rerender_the_form(client):
    response = client.post(
        "/signup/", data={"email": "not-an-email", "password": "short", "repeat_password": "x"}
    )
    assert response.status_code == 200
    assert b"Invalid email address." in response.data
    assert b"Use 8 to 128 characters." in response.data
    assert b"Passwords do not match." in response.data


def test_signup_answers_the_same_for_a_taken_address_and_mails_its_owner(client, auth, outbox):
    new = auth.signup()
    taken = auth.signup("Alice@Example.COM", password="another password")
    assert new.status_code == taken.status_code == 302
    assert new.headers["Location"] == taken.headers["Location"] == "/signin/"
    page = client.get("/signin/")
    assert b"if it had no account yet, your account is ready" in page.data
    welcome, notice = outbox()
    assert welcome["To"] == notice["To"] == "alice@example.com"
    assert welcome["Subject"] == "Your Notejam account is ready"
    assert notice["Subject"] == "Someone tried to sign up to Notejam with your address"
    assert "http://localhost/forgot-password/" in notice.get_payload()
    # The account keeps its password: the second sign-up changed nothing.
    assert auth.signin(password="another password").status_code == 200
    assert auth.signin().status_code == 302


def test_passwords_are_stored_hashed_with_a_modern_method(make_app):
    from sqlalchemy import select

    from notejam.db import db
    from notejam.models import User

    app = make_app(PASSWORD_HASH_METHOD="scrypt")
    client = app.test_client()
    client.post(
        "/signup/", data={"email": "s@example.com", "password": PASSWORD, "repeat_password": PASSWORD}
    )
    with app.app_context():
        stored = db.session.execute(select(User.password_hash)).scalar_one()
    assert stored.startswith("scrypt:") and PASSWORD not in stored
    assert len(stored) > 100  # would not fit the original Notejam's column
    assert client.post("/signin/", data={"email": "s@example.com", "password": PASSWORD}).status_code == 302


def test_signin_with_a_wrong_password_or_unknown_email_says_the_same(client, auth):
    auth.signup()
    wrong_password = auth.signin(password="wrong password")
    unknown_email = auth.signin(email="bob@example.com")
    for response in (wrong_password, unknown_email):
        assert response.status_code == 200
        assert b"Wrong email or password." in response.data
    assert client.get("/").status_code == 302


def test_signin_follows_next_to_a_local_path_only(client, auth):
    auth.signup()
    response = client.post(
        "/signin/?next=/pads/create/", data={"email": "alice@example.com", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/pads/create/"
    client.post("/signout/")
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post(
            "/signin/", query_string={"next": evil}, data={"email": "alice@example.com", "password": PASSWORD}
        )
        assert response.headers["Location"] == "/", evil
        client.post("/signout/")


def test_signout_needs_a_post_and_ends_the_session(client, auth):
    auth.signup_and_signin()
    page = client.get("/signout/")
    assert page.status_code == 200 and b"Sign out of alice@example.com?" in page.data
    assert client.get("/").status_code == 200
    response = client.post("/signout/")
    assert response.status_code == 302 and response.headers["Location"] == "/signin/"
    assert client.get("/").status_code == 302


def test_settings_changes_the_password(client, auth):
    auth.signup_and_signin()
    response = client.post(
        "/settings/",
        data={
            "old_password": PASSWORD,
            "new_password": "a brand new one",
            "repeat_new_password": "a brand new one",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this session stays signed in
    client.post("/signout/")
    assert auth.signin(password=PASSWORD).status_code == 200
    assert auth.signin(password="a brand new one").status_code == 302


def test_settings_refuses_a_wrong_old_password_or_mismatch(client, auth):
    auth.signup_and_signin()
    response = client.post(
        "/settings/",
        data={"old_password": "nope nope", "new_password": "abcdefghi", "repeat_new_password": "abcdefghi"},
    )
    assert response.status_code == 200 and b"This is not your current password." in response.data
    response = client.post(
        "/settings/",
        data={"old_password": PASSWORD, "new_password": "abcdefghi", "repeat_new_password": "zzzzzzzzz"},
    )
    assert response.status_code == 200 and b"Passwords do not match." in response.data


def test_changing_the_password_signs_out_other_sessions(app, client, auth):
    auth.signup_and_signin()
    other_device = app.test_client()
    other_device.post("/signin/", data={"email": "alice@example.com", "password": PASSWORD})
    assert other_device.get("/").status_code == 200
    client.post(
        "/settings/",
        data={
            "old_password": PASSWORD,
            "new_password": "another password",
            "repeat_new_password": "another password",
        },
    )
    assert other_device.get("/").status_code == 302


def reset_link_from(message) -> str:
    body = message.get_payload(decode=True).decode()
    return re.search(r"http://localhost(/reset-password/\?token=\S+)", body).group(1)


def reset_mails(messages) -> list:
    """The reset-link mails among an outbox's messages (sign-up sends its own)."""
    return [message for message in messages if message["Subject"] == "Reset your Notejam password"]


def test_forgot_password_answers_the_same_for_unknown_addresses(client, auth, outbox):
    auth.signup()
    client.get("/signin/")  # shows (and so clears) the sign-up message
    known = client.post("/forgot-password/", data={"email": "alice@example.com"}, follow_redirects=True)
    unknown = client.post("/forgot-password/", data={"email": "nobody@example.com"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    assert known.request.path == unknown.request.path == "/signin/"
    # Identical pages but for the per-render CSRF token.
    without_token = re.compile(rb'name="csrf_token" type="hidden" value="[^"]+"')
    assert without_token.sub(b"", known.data) == without_token.sub(b"", unknown.data)
    assert len(reset_mails(outbox())) == 1


def test_password_reset_end_to_end_through_the_outbox(client, auth, outbox):
    auth.signup()
    client.post("/forgot-password/", data={"email": "alice@example.com"})
    [message] = reset_mails(outbox())
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Reset your Notejam password"
    link = reset_link_from(message)

    form = client.get(link)
    assert (
        form.status_code == 200
        and b'name="new_password"' in form.data
        and b'name="repeat_new_password"' in form.data
    )
    response = client.post(
        link, data={"new_password": "fresh password", "repeat_new_password": "fresh password"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/signin/"
    assert auth.signin(password=PASSWORD).status_code == 200
    assert auth.signin(password="fresh password").status_code == 302

    # Single use: the same link no longer works, for GET or POST.
    client.post("/signout/")
    again = client.get(link)
    assert again.status_code == 302 and again.headers["Location"] == "/forgot-password/"
    reuse = client.post(link, data={"new_password": "hijacked!!", "repeat_new_password": "hijacked!!"})
    assert reuse.status_code == 302
    assert auth.signin(password="hijacked!!").status_code == 200


def test_reset_form_validates_the_new_password(client, auth, outbox):
    auth.signup()
    client.post("/forgot-password/", data={"email": "alice@example.com"})
    link = reset_link_from(reset_mails(outbox())[0])
    response = client.post(link, data={"new_password": "short", "repeat_new_password": "other"})
    assert response.status_code == 200
    assert b"Use 8 to 128 characters." in response.data and b"Passwords do not match." in response.data


def test_reset_links_expire(make_app, outbox_messages):
    app = make_app(RESET_TOKEN_MAX_AGE=-1)
    client = app.test_client()
    client.post(
        "/signup/", data={"email": "a@example.com", "password": PASSWORD, "repeat_password": PASSWORD}
    )
    client.post("/forgot-password/", data={"email": "a@example.com"})
    link = reset_link_from(reset_mails(outbox_messages(app))[0])
    response = client.get(link)
    assert response.status_code == 302 and response.headers["Location"] == "/forgot-password/"


def test_tampered_or_missing_reset_tokens_are_refused(client, auth, outbox):
    auth.signup()
    client.post("/forgot-password/", data={"email": "alice@example.com"})
    link = reset_link_from(reset_mails(outbox())[0])
    for url in (link[:-3] + "abc", "/reset-password/", "/reset-password/?token=nonsense"):
        response = client.post(url, data={"new_password": "hijacked!!", "repeat_new_password": "hijacked!!"})
        assert response.status_code == 302 and response.headers["Location"] == "/forgot-password/", url
    assert auth.signin(password=PASSWORD).status_code == 302
