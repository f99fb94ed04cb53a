"""Outgoing mail: an .eml file per message in a folder (development, demo, tests) or Amazon SES."""

from __future__ import annotations

import os
import time
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app


def send_mail(to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="notejam")
    message.set_content(body)
    if current_app.config["MAIL_BACKEND"] == "ses":
        _send_with_ses(message)
    else:
        _write_to_outbox(message, current_app.config["MAIL_OUTBOX"])


def _write_to_outbox(message: EmailMessage, folder: str) -> str:
    os.makedirs(folder, exist_ok=True)
    name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
    # Write then rename, so a reader polling the folder never sees half a message.
    path = os.path.join(folder, name)
    partial = path + ".part"
    with open(partial, "wb") as handle:
        handle.write(message.as_bytes())
    os.replace(partial, path)
    return path


def _send_with_ses(message: EmailMessage) -> None:
    import boto3  # imported here: only the SES path needs it, and it is slow to import

    client = boto3.client("sesv2", region_name=current_app.config["SES_REGION"])
    client.send_email(
        FromEmailAddress=str(message["From"]),
        Destination={"ToAddresses": [str(message["To"])]},
        Content={"Raw": {"Data": message.as_bytes()}},
    )
