"""The database password from Secrets Manager survives a rotation (notejam/dbsecret.py).

On MariaDB: an app connects as its own user whose password lives in a Secrets Manager secret
(moto, in process); the password is changed under load the way RDS rotates it (the database
first, the secret a moment later) and every request still succeeds on new connections.
"""

from __future__ import annotations

import secrets
import threading
import time

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from notejam.config import ConfigError, from_environment
from notejam.db import db
from notejam.dbsecret import SecretPassword, settings

APP_USER = "notejam_rot_14"
REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def app_user(migrated_mysql_url):
    """A least-privilege user on the test database; yields (set_password, app_url)."""
    url = make_url(migrated_mysql_url)
    admin = create_engine(url)

    def set_password(password: str) -> None:
        with admin.begin() as connection:
            connection.execute(text(f"ALTER USER '{APP_USER}'@'%' IDENTIFIED BY :p"), {"p": password})

    with admin.begin() as connection:
        connection.execute(text(f"DROP USER IF EXISTS '{APP_USER}'@'%'"))
        connection.execute(text(f"CREATE USER '{APP_USER}'@'%' IDENTIFIED BY 'unset-yet'"))
        connection.execute(
            text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{url.database}`.* TO '{APP_USER}'@'%'")
        )
    yield set_password, url.set(username=APP_USER, password=None).render_as_string(hide_password=False)
    with admin.begin() as connection:
        connection.execute(text(f"DROP USER IF EXISTS '{APP_USER}'@'%'"))
    admin.dispose()


def rotation_app(make_mysql_app, app_url, arn):
    return make_mysql_app(
        SQLALCHEMY_DATABASE_URI=app_url,
        DB_PASSWORD_SECRET_ARN=arn,
        DB_PASSWORD_SECRET_REGION=REGION,
        DB_PASSWORD_SECRET_MAX_AGE=3600,
    )


@pytest.mark.mysql
def test_password_rotation_under_load_fails_no_request(aws, app_user, make_mysql_app):
    set_password, app_url = app_user
    password = secrets.token_urlsafe(16)
    set_password(password)
    arn = aws.create_secret(
        Name="notejam-test-db", SecretString=f'{{"username": "{APP_USER}", "password": "{password}"}}'
    )["ARN"]
    app = rotation_app(make_mysql_app, app_url, arn)
    assert app.test_client().get("/readyz").status_code == 200

    failures: list[int] = []
    done = threading.Event()

    def load():
        client = app.test_client()
        while not done.is_set():
            status = client.get("/readyz").status_code
            if status != 200:
                failures.append(status)

    workers = [threading.Thread(target=load) for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        for _ in range(3):
            # RDS's order: the database takes the new password, then the secret publishes it.
            password = secrets.token_urlsafe(16)
            set_password(password)
            time.sleep(0.2)
            aws.put_secret_value(
                SecretId=arn, SecretString=f'{{"username": "{APP_USER}", "password": "{password}"}}'
            )
            with app.app_context():
                for engine in db.engines.values():
                    engine.dispose()  # every later request needs a new connection
            time.sleep(1.0)  # RDS rotates days apart; each rotation here is its own event
    finally:
        done.set()
        for worker in workers:
            worker.join()
    assert failures == []
    reads = app.extensions["notejam.db_password"].reads
    assert 4 <= reads <= 30, reads  # re-read on refusal, not per connection


@pytest.mark.mysql
def test_a_secret_that_does_not_open_the_database_fails_clearly(aws, app_user, make_mysql_app):
    set_password, app_url = app_user
    set_password("the-real-one")
    arn = aws.create_secret(Name="notejam-test-db-wrong", SecretString="not-the-password")["ARN"]
    app = rotation_app(make_mysql_app, app_url, arn)
    started = time.monotonic()
    assert app.test_client().get("/readyz").status_code == 503
    assert time.monotonic() - started < 10  # bounded retries
    set_password("not-the-password")  # the fixture's teardown empties tables as this user


def test_cached_until_max_age_and_refreshed_once_for_many_refusals():
    now = [0.0]
    values = iter(["one", "two", "three"])
    cache = SecretPassword("arn", 60, lambda _arn: next(values), clock=lambda: now[0])
    assert cache.get() == "one" and cache.get() == "one"
    now[0] = 1.0
    assert cache.refresh("one") == "two"
    assert cache.refresh("one") == "two"  # a second refused thread does not read again
    now[0] = 61.5
    assert cache.get() == "three"
    assert cache.reads == 3


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DB_PASSWORD_SECRET_ARN": "notejam-db"}, "is not a Secrets Manager secret ARN"),
        (
            {
                "DB_PASSWORD_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x",
                "DB_PASSWORD": "p",
            },
            "not both",
        ),
        (
            {
                "DB_PASSWORD_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x",
                "DB_PASSWORD_SECRET_MAX_AGE": "0",
            },
            "between 1 and 86400",
        ),
    ],
)
def test_bad_settings_name_the_variable(env, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        from_environment({**env, "SECRET_KEY": "k"}, str(tmp_path), testing=True)


def test_settings_take_the_region_from_the_arn():
    got = settings({"DB_PASSWORD_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!c-1"})
    assert got["DB_PASSWORD_SECRET_REGION"] == "eu-west-1"
    assert got["DB_PASSWORD_SECRET_MAX_AGE"] == 3600
