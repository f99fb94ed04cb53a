"""TLS to MySQL is required when a CA bundle is configured: a server without TLS is refused.

The test MariaDB (like a local one, or anything stripping TLS on the way) offers no TLS, so a
connection that succeeds there with DB_SSL_CA set would be plain text.
"""

import subprocess

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from notejam import create_app
from notejam.db import READS, db

pytestmark = pytest.mark.mysql


@pytest.fixture
def ca_bundle(tmp_path):
    path = tmp_path / "ca.pem"
    key = tmp_path / "ca.key"
    # A throwaway self-signed CA: a real certificate, so each driver accepts the bundle itself.
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-subj", "/CN=notejam-test-ca", "-keyout", str(key), "-out", str(path)]
    subprocess.run(command, check=True, capture_output=True)
    return path


@pytest.mark.parametrize("driver", ["mysqldb", "pymysql"])
def test_a_server_without_tls_is_refused_when_a_ca_bundle_is_set(
    migrated_mysql_url, ca_bundle, monkeypatch, driver
):
    url = make_url(migrated_mysql_url).set(drivername=f"mysql+{driver}")
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    monkeypatch.setenv("DB_SSL_CA", str(ca_bundle))
    app = create_app({"TESTING": True, "SECRET_KEY": "k"})
    with app.app_context():
        assert set(db.engines) == {None, READS}  # the session's engine and the user's reads
        for engine in db.engines.values():
            with pytest.raises(SQLAlchemyError):
                engine.connect().close()
            engine.dispose()
    assert app.test_client().get("/readyz").status_code == 503


@pytest.mark.parametrize("driver", ["mysqldb", "pymysql"])
def test_without_a_ca_bundle_the_same_server_is_reached(migrated_mysql_url, monkeypatch, driver):
    # The control for the test above: the refusal comes from TLS, not from the URL or the driver.
    url = make_url(migrated_mysql_url).set(drivername=f"mysql+{driver}")
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    monkeypatch.delenv("DB_SSL_CA", raising=False)
    app = create_app({"TESTING": True, "SECRET_KEY": "k"})
    assert app.test_client().get("/readyz").status_code == 200
    with app.app_context():
        db.engine.dispose()
