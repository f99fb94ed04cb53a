"""Probes, security headers, cookies, proxy handling and the JSON access log."""

import json

import pytest
from sqlalchemy.exc import OperationalError

from notejam.db import db


def test_healthz_answers_without_the_database(make_app, monkeypatch):
    app = make_app()

    def no_database(*_args, **_kwargs):
        raise AssertionError("/healthz must not touch the database")

    with app.app_context():
        monkeypatch.setattr(db.engine, "connect", no_database)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.data == b"ok\n"
    assert "Set-Cookie" not in response.headers


def test_readyz_checks_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.data == b"ready\n"


def test_readyz_is_503_when_the_database_is_unreachable(make_app, monkeypatch):
    app = make_app()

    def unreachable(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    with app.app_context():
        monkeypatch.setattr(db.session, "execute", unreachable)
        response = app.test_client().get("/readyz")
    assert response.status_code == 503


def test_pages_carry_security_headers(client):
    response = client.get("/signin/")
    headers = response.headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in headers  # plain HTTP: no HSTS


def test_https_behind_the_alb_gets_hsts_and_a_secure_cookie(client, auth):
    auth.signup()
    alb = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    data = {"email": "alice@example.com", "password": "correct horse battery"}
    response = client.post("/signin/", data=data, headers=alb)
    assert response.status_code == 302
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_is_httponly_and_samesite(client, auth):
    auth.signup()
    cookie = auth.signin().headers["Set-Cookie"]
    assert cookie.startswith("notejam_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # tests run over plain HTTP with SESSION_COOKIE_SECURE off


def test_static_files_are_served_with_long_caching(client):
    page = client.get("/signin/").data.decode()
    href = page.split('rel="stylesheet" href="')[1].split('"')[0]
    assert href.startswith("/static/css/style.css?v=")
    response = client.get(href)
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert b"Notejam" in response.data


def access_lines(captured: str) -> list[dict]:
    lines = [json.loads(line) for line in captured.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("type") == "access"]


def test_each_request_logs_one_json_line(client, capsys):
    client.get("/signin/?next=%2Fpads%2F")
    [line] = access_lines(capsys.readouterr().out)
    assert line["method"] == "GET"
    assert line["path"] == "/signin/"  # never the query string
    assert line["status"] == 200
    assert isinstance(line["latency_ms"], float | int) and line["latency_ms"] >= 0
    assert len(line["request_id"]) == 32


def test_request_ids_come_from_the_alb_or_the_caller(client, capsys):
    trace = "Root=1-67891233-abcdef012345678912345678"
    response = client.get("/healthz", headers={"X-Amzn-Trace-Id": trace})
    assert response.headers["X-Request-Id"] == trace
    client.get("/healthz", headers={"X-Request-Id": "req-42"})
    client.get("/healthz", headers={"X-Request-Id": 'bad" id{}'})
    lines = access_lines(capsys.readouterr().out)
    assert [line["request_id"] for line in lines[:2]] == [trace, "req-42"]
    assert lines[2]["request_id"] != 'bad" id{}' and len(lines[2]["request_id"]) == 32


def test_error_responses_and_static_files_are_logged_too(client, capsys):
    client.get("/no/such/page/")
    client.get("/static/css/style.css")
    lines = access_lines(capsys.readouterr().out)
    assert [(line["path"], line["status"]) for line in lines] == [
        ("/no/such/page/", 404),
        ("/static/css/style.css", 200),
    ]


def test_logs_never_hold_passwords_tokens_or_note_contents(client, auth, make_note, outbox, capsys):
    secret_password = "my very secret password"
    auth.signup(password=secret_password)
    auth.signin(password=secret_password)
    make_note("private title", "private body text")
    client.post("/signout/")
    client.post("/forgot-password/", data={"email": "alice@example.com"})
    body = outbox()[-1].get_payload(decode=True).decode()  # the reset mail, after the sign-up's
    link = body.split("http://localhost", 1)[1].split()[0]
    token = link.split("token=", 1)[1]
    client.get(link)
    client.post(link, data={"new_password": "another secret!", "repeat_new_password": "another secret!"})
    captured = capsys.readouterr()
    everything = captured.out + captured.err
    assert access_lines(captured.out)  # the log is there...
    for secret in (secret_password, "another secret!", token, "private body text", "private title"):
        assert secret not in everything  # ...without any of these


def test_proxy_fix_trusts_one_hop_of_forwarded_for(client, capsys):
    client.get("/healthz", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.1"})
    [line] = access_lines(capsys.readouterr().out)
    assert line["remote_addr"] == "203.0.113.1"


@pytest.mark.parametrize("path", ["/no/such/page/", "/notes/abc/"])
def test_unknown_paths_are_404(client, path):
    assert client.get(path).status_code == 404


def test_database_errors_in_the_log_do_not_carry_note_contents(make_app, capsys):
    from sqlalchemy import text

    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def failing_insert():
        db.session.execute(
            text("INSERT INTO no_such_table (secret) VALUES (:secret)"), {"secret": "hush-hush"}
        )

    app.add_url_rule("/failing/", "failing", failing_insert)
    assert app.test_client().get("/failing/").status_code == 500
    captured = capsys.readouterr()
    assert "no_such_table" in captured.out  # the error is logged...
    assert "hush-hush" not in captured.out + captured.err  # ...without its parameters


def test_unexpected_errors_give_a_500_page_and_a_json_log_line(make_app, capsys):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/broken/", "broken", broken)
    response = app.test_client().get("/broken/", headers={"X-Request-Id": "err-1"})
    assert response.status_code == 500 and b"Something went wrong" in response.data
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [error] = [line for line in lines if line["type"] == "app"]
    assert (error["level"], error["request_id"]) == ("ERROR", "err-1")
    assert "RuntimeError: boom" in error["exception"]
    [access] = [line for line in lines if line["type"] == "access"]
    assert (access["status"], access["request_id"]) == (500, "err-1")
