"""Outgoing mail: .eml files in the outbox folder, or Amazon SES (through boto3) in AWS."""

import email

import pytest


def test_outbox_holds_one_eml_file_per_message(app, client, auth, tmp_path):
    auth.signup()
    auth.signup("bob@example.com")
    for address in ("alice@example.com", "bob@example.com"):
        client.post("/forgot-password/", data={"email": address})
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 4  # a sign-up mail and a reset mail each
    assert not list((tmp_path / "outbox").glob("*.part"))
    message = email.message_from_bytes(files[0].read_bytes())
    assert message["From"] == app.config["MAIL_FROM"]
    assert message["Message-ID"] and message["Date"]


def test_ses_receives_the_reset_mail_in_aws(make_app, monkeypatch):
    moto = pytest.importorskip("moto", reason="moto (from the root requirements) emulates SES")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    sender = "no-reply@notejam.example"
    with moto.mock_aws():
        import boto3

        ses = boto3.client("sesv2", region_name="eu-west-1")
        ses.create_email_identity(EmailIdentity=sender)
        app = make_app(MAIL_BACKEND="ses", SES_REGION="eu-west-1", MAIL_FROM=sender)
        client = app.test_client()
        client.post(
            "/signup/", data={"email": "s@example.com", "password": "x" * 12, "repeat_password": "x" * 12}
        )
        response = client.post("/forgot-password/", data={"email": "s@example.com"})
        assert response.status_code == 302
        backend = moto.backends.get_backend("ses")["123456789012"]["eu-west-1"]
        _signup, raw = backend.sent_messages
        message = email.message_from_string(raw.raw_data)
        assert message["To"] == "s@example.com"
        assert "/reset-password/?token=" in message.get_payload()
