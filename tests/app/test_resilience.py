"""A database connection dying underneath the app (restart, failover) costs no failed request."""

import pymysql
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from notejam.db import db


def app_connection_ids(app) -> set[int]:
    """The server-side ids of the connections in the app's pool right now."""
    ids = set()
    with app.app_context():
        pool_size = db.engine.pool.checkedin()
        connections = [db.engine.connect() for _ in range(max(pool_size, 1))]
        for connection in connections:
            ids.add(connection.execute(text("SELECT CONNECTION_ID()")).scalar_one())
        for connection in connections:
            connection.close()
    return ids


@pytest.mark.mysql
def test_requests_succeed_after_the_database_kills_the_apps_connections(make_mysql_app, mysql_url):
    app = make_mysql_app()
    client = app.test_client()
    client.post(
        "/signup/",
        data={"email": "k@example.com", "password": "kill -9 safe", "repeat_password": "kill -9 safe"},
    )
    client.post("/signin/", data={"email": "k@example.com", "password": "kill -9 safe"})
    assert client.get("/").status_code == 200
    doomed = app_connection_ids(app)
    assert doomed

    url = make_url(mysql_url)
    admin = pymysql.connect(
        host=url.host, port=url.port or 3306, user=url.username, password=url.password or ""
    )
    try:
        with admin.cursor() as cursor:
            for connection_id in doomed:
                cursor.execute(f"KILL {int(connection_id)}")
    finally:
        admin.close()

    # Every connection in the pool is now dead; pre-ping replaces them transparently.
    assert client.get("/readyz").status_code == 200
    assert client.get("/").status_code == 200
    assert client.post("/pads/create/", data={"name": "after the kill"}).status_code == 302
    assert not doomed & app_connection_ids(app)


@pytest.mark.mysql
def test_without_pre_ping_the_same_kill_would_fail_a_request(make_mysql_app, mysql_url):
    """Shows the test above can fail: the protection is pre-ping, not luck."""
    app = make_mysql_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": False})
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    doomed = app_connection_ids(app)
    url = make_url(mysql_url)
    admin = pymysql.connect(
        host=url.host, port=url.port or 3306, user=url.username, password=url.password or ""
    )
    try:
        with admin.cursor() as cursor:
            for connection_id in doomed:
                cursor.execute(f"KILL {int(connection_id)}")
    finally:
        admin.close()
    assert client.get("/readyz").status_code == 503
