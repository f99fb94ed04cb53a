"""A database connection dying underneath the app (restart, failover) costs no failed request,
and a request arriving while the server restarts waits for it (bounded) instead of failing."""

import time

import MySQLdb
import pymysql
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from notejam import create_app
from notejam.db import READS, _connect_waits, connect_when_up, db, read_row
from tests.app.conftest import base_config


def app_connection_ids(app) -> set[int]:
    """The server-side ids of the connections in the app's pools right now (both engines)."""
    ids = set()
    with app.app_context():
        for engine in db.engines.values():
            pool_size = engine.pool.checkedin()
            connections = [engine.connect() for _ in range(max(pool_size, 1))]
            for connection in connections:
                ids.add(connection.execute(text("SELECT CONNECTION_ID()")).scalar_one())
            for connection in connections:
                connection.close()
    return ids


def kill(mysql_url: str, connection_ids: set[int]) -> None:
    url = make_url(mysql_url)
    admin = pymysql.connect(
        host=url.host, port=url.port or 3306, user=url.username, password=url.password or ""
    )
    try:
        with admin.cursor() as cursor:
            for connection_id in connection_ids:
                cursor.execute(f"KILL {int(connection_id)}")
    finally:
        admin.close()


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
    with app.app_context():
        assert READS in db.engines  # the signed-in user's read has its own engine on MySQL
    doomed = app_connection_ids(app)
    assert len(doomed) >= 2
    kill(mysql_url, doomed)

    # Every pooled connection is now dead. The user's read (first in every signed-in request)
    # retries on a fresh connection; the session's engine pre-pings and replaces its own.
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
    kill(mysql_url, doomed)
    assert client.get("/readyz").status_code == 503


@pytest.mark.mysql
def test_without_the_retry_a_killed_connection_would_fail_the_users_read(
    make_mysql_app, mysql_url, monkeypatch
):
    """Shows the first test can fail for the reads engine too: it is the retry, not luck."""
    app = make_mysql_app()
    client = app.test_client()
    password = "retry safe"
    account = {"email": "r@example.com", "password": password}
    client.post("/signup/", data={**account, "repeat_password": password})
    client.post("/signin/", data=account)
    assert client.get("/").status_code == 200
    with app.app_context():
        reads = db.engines[READS]
    kill(mysql_url, app_connection_ids(app))

    def read_once(statement, parameters):
        with reads.connect() as connection:
            return connection.execute(statement, parameters).first()

    monkeypatch.setattr("notejam.auth.read_row", read_once)
    # The request's replay (a second line of defence, tested below) would save it too.
    monkeypatch.setattr("notejam.replayable", lambda _error: False)
    with pytest.raises(OperationalError, match=r"Lost connection|gone away"):
        client.get("/")  # the test app propagates the error a server would answer 500 with


@pytest.mark.mysql
def test_the_users_read_runs_on_an_autocommit_connection(make_mysql_app):
    # Nothing to roll back after it, so none is sent (configure_reads_engine).
    app = make_mysql_app()
    with app.test_request_context():
        assert read_row(text("SELECT @@autocommit"), {}) == (1,)
        assert read_row(text("SELECT :n + 1"), {"n": 41}) == (42,)


class FakeClock:
    """time.monotonic and time.sleep for connect_when_up: sleeping moves the clock."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def flaky_connect(errors: list[Exception]):
    """A DBAPI connect that raises these errors in turn, then connects."""

    def connect(*_args, **_kwargs):
        if errors:
            raise errors.pop(0)
        return "connection"

    return connect


def unavailable(code: int = 2003) -> Exception:
    return MySQLdb.OperationalError(code, "Can't connect to server on '127.0.0.1' (111)")


@pytest.fixture
def mysql_engine():
    engine = create_engine("mysql+mysqldb://root@127.0.0.1:1/notejam")  # never connects
    _connect_waits[engine] = 10.0
    yield engine
    engine.dispose()


def test_a_new_connection_waits_for_a_restarting_server(mysql_engine):
    clock = FakeClock()
    connect = flaky_connect([unavailable(2002), unavailable(1053), unavailable(2013)])
    assert connect_when_up(mysql_engine, connect, (), {}, clock.sleep, clock) == "connection"
    assert clock.sleeps == [0.05, 0.1, 0.2]


def test_the_wait_is_bounded(mysql_engine):
    clock = FakeClock()
    with pytest.raises(MySQLdb.OperationalError):
        connect_when_up(mysql_engine, flaky_connect([unavailable()] * 100), (), {}, clock.sleep, clock)
    assert clock.now == pytest.approx(10)


def test_other_connect_errors_are_not_waited_for(mysql_engine):
    clock = FakeClock()
    denied = MySQLdb.OperationalError(1045, "Access denied for user 'root'@'127.0.0.1'")
    with pytest.raises(MySQLdb.OperationalError, match="Access denied"):
        connect_when_up(mysql_engine, flaky_connect([denied]), (), {}, clock.sleep, clock)
    assert clock.sleeps == []


def test_the_readiness_probe_does_not_wait_for_the_database(tmp_path):
    """With nothing listening, /readyz says 503 at once, while the app's own connections wait."""
    app = create_app(
        {**base_config("mysql+mysqldb://root@127.0.0.1:1/notejam", tmp_path), "DATABASE_CONNECT_WAIT": 1}
    )
    started = time.monotonic()
    assert app.test_client().get("/readyz").status_code == 503
    assert time.monotonic() - started < 0.5
    with app.app_context():
        started = time.monotonic()
        with pytest.raises(OperationalError, match="Can't connect"):
            db.session.execute(text("SELECT 1"))
        assert time.monotonic() - started >= 0.9
        db.session.rollback()
        db.engine.dispose()


def signed_in_client_with_a_note(app, email: str):
    client = app.test_client()
    password = "replay safe"
    client.post("/signup/", data={"email": email, "password": password, "repeat_password": password})
    client.post("/signin/", data={"email": email, "password": password})
    created = client.post("/notes/create/", data={"name": "before", "text": "text", "pad": ""})
    assert created.status_code == 302
    return client, int(created.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def kill_own_connection_once(app, mysql_url: str, when) -> list[str]:
    """Kill the session's connection from outside the first time ``when(statement)`` is true
    for a statement about to run on it, as a restart ends it; returns what was killed."""
    killed: list[str] = []

    def before(connection, _cursor, statement, *_args):
        if not killed and when(statement):
            killed.append(statement)
            kill(mysql_url, {connection.connection.dbapi_connection.thread_id()})

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
    return killed


def note_name(app, note_id: int) -> str:
    with app.app_context():
        return db.session.execute(text("SELECT name FROM notes WHERE id = :id"), {"id": note_id}).scalar_one()


@pytest.mark.mysql
def test_an_edit_whose_connection_is_lost_mid_transaction_runs_again_and_is_saved(make_mysql_app, mysql_url):
    app = make_mysql_app()
    client, note = signed_in_client_with_a_note(app, "mid@example.com")
    killed = kill_own_connection_once(app, mysql_url, lambda sql: sql.lstrip().startswith("UPDATE notes"))

    answer = client.post(f"/notes/{note}/edit/", data={"name": "after", "text": "text", "pad": ""})

    assert killed, "the kill never happened: the test did not test anything"
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/notes/{note}/")
    assert note_name(app, note) == "after"


@pytest.mark.mysql
def test_a_request_whose_commit_was_sent_is_not_run_again(make_mysql_app, mysql_url):
    """Lost during its COMMIT, an edit's outcome is unknown: it fails rather than run twice."""
    app = make_mysql_app()
    client, note = signed_in_client_with_a_note(app, "commit@example.com")
    killed: list[int] = []

    def before_commit(connection):
        if not killed:
            killed.append(connection.connection.dbapi_connection.thread_id())
            kill(mysql_url, set(killed))

    with app.app_context():
        event.listen(db.engine, "commit", before_commit)
    with pytest.raises(OperationalError, match=r"Lost connection|gone away"):
        client.post(f"/notes/{note}/edit/", data={"name": "after", "text": "text", "pad": ""})
    assert killed
    assert note_name(app, note) == "before"  # the server rolled the transaction back
