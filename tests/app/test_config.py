"""Configuration comes from the environment; one image serves every environment."""

import pytest

from notejam import create_app
from notejam.config import ConfigError, database_url, from_environment, reader_url
from notejam.db import db

CONFIG_VARIABLES = (
    "SECRET_KEY",
    "DATABASE_URL",
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_USER",
    "DB_PASSWORD",
    "DB_READER_HOST",
    "DATABASE_READER_URL",
    "DB_SSL_CA",
    "DB_DRIVER",
    "FLASK_DEBUG",
    "NOTEJAM_ENV",
    "NOTEJAM_MAIL_OUTBOX",
    "NOTEJAM_MAIL_BACKEND",
    "AWS_EXECUTION_ENV",
    "SESSION_COOKIE_SECURE",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app()


def test_development_runs_with_a_throwaway_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    app = create_app()
    assert len(app.config["SECRET_KEY"]) == 64
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["MAIL_BACKEND"] == "outbox"


def test_production_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    monkeypatch.setenv("NOTEJAM_BASE_URL", "https://notes.example.com")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["MAIL_BACKEND"] == "ses"
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True
    cookie = app.test_client().get("/signin/").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sqlite_in_the_instance_folder_by_default():
    url, connect_args = database_url({}, "/srv/instance")
    assert url == "sqlite:////srv/instance/notejam.db"
    assert connect_args == {}


def test_ecs_database_variables_build_a_mysql_url(tmp_path):
    env = {"DB_HOST": "db.example", "DB_PORT": "3307", "DB_NAME": "notejam", "DB_USER": "app"}
    env["DB_PASSWORD"] = "p@ss:w/rd%"
    url, connect_args = database_url(env, str(tmp_path))
    # mysqlclient, the C driver, by default (docs/benchmarks-app.md)
    assert url == "mysql+mysqldb://app:p%40ss%3Aw%2Frd%25@db.example:3307/notejam?charset=utf8mb4"
    assert connect_args == {}  # no CA bundle outside the image: a local MariaDB without TLS


def test_db_driver_chooses_pymysql_and_rejects_unknown_drivers(tmp_path):
    url, _ = database_url({"DB_HOST": "db.example", "DB_DRIVER": "pymysql"}, str(tmp_path))
    assert url.startswith("mysql+pymysql://")
    with pytest.raises(ConfigError, match="DB_DRIVER"):
        database_url({"DB_HOST": "db.example", "DB_DRIVER": "mysqlconnector"}, str(tmp_path))


# What each driver needs to require TLS, check the chain against the CA and the host name.
VERIFIED_TLS = {
    "mysqldb": lambda ca: {"ssl": {"ca": ca}, "ssl_mode": "VERIFY_IDENTITY"},
    "pymysql": lambda ca: {"ssl_ca": ca, "ssl_verify_cert": True, "ssl_verify_identity": True},
}


@pytest.mark.parametrize("driver", sorted(VERIFIED_TLS))
def test_tls_is_verified_against_the_ca_bundle_for_each_driver(tmp_path, driver):
    bundle = tmp_path / "rds.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {"DB_HOST": "aurora.example", "DB_USER": "app", "DB_SSL_CA": str(bundle), "DB_DRIVER": driver}
    _url, connect_args = database_url(env, str(tmp_path))
    assert connect_args == VERIFIED_TLS[driver](str(bundle))
    # The same through DATABASE_URL, including a URL that names no driver (SQLAlchemy: mysqldb).
    for url in (f"mysql+{driver}://app@aurora.example/notejam", "mysql://app@aurora.example/notejam"):
        if url.startswith("mysql://") and driver != "mysqldb":
            continue
        _url, connect_args = database_url({"DATABASE_URL": url, "DB_SSL_CA": str(bundle)}, str(tmp_path))
        assert connect_args == VERIFIED_TLS[driver](str(bundle))


@pytest.mark.parametrize("driver", sorted(VERIFIED_TLS))
def test_the_engine_gets_the_drivers_tls_arguments(tmp_path, monkeypatch, driver):
    bundle = tmp_path / "rds.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("DATABASE_URL", f"mysql+{driver}://app@aurora.example/notejam?charset=utf8mb4")
    monkeypatch.setenv("DB_SSL_CA", str(bundle))
    app = create_app({"TESTING": True, "SECRET_KEY": "k"})
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["connect_args"] == VERIFIED_TLS[driver](str(bundle))
    assert app.config["DATABASE_REQUIRE_TLS"] is True
    seen = {}

    class Refused(Exception):
        pass

    def fake_connect(*_args, **kwargs):
        seen.update(kwargs)
        raise Refused  # stop before any network access

    with app.app_context():
        engine = db.engine
        assert engine.dialect.driver == driver
        monkeypatch.setattr(engine.dialect.loaded_dbapi, "connect", fake_connect)
        with pytest.raises(Exception) as refused:  # SQLAlchemy may wrap it
            engine.connect()
        assert isinstance(refused.value, Refused) or isinstance(refused.value.__cause__, Refused)
    # What the driver is handed: the URL's arguments plus the verified TLS ones.
    assert seen["host"] == "aurora.example"
    for key, value in VERIFIED_TLS[driver](str(bundle)).items():
        assert seen[key] == value


def test_an_unknown_mysql_driver_with_tls_is_refused(tmp_path):
    bundle = tmp_path / "rds.pem"
    bundle.write_text("x")
    env = {"DATABASE_URL": "mysql+mysqlconnector://u@h/d", "DB_SSL_CA": str(bundle)}
    with pytest.raises(ConfigError, match="mysqlconnector"):
        database_url(env, str(tmp_path))


def test_a_missing_ca_bundle_is_an_error_not_plaintext(tmp_path):
    env = {"DB_HOST": "aurora.example", "DB_SSL_CA": str(tmp_path / "missing.pem")}
    with pytest.raises(ConfigError, match="DB_SSL_CA"):
        database_url(env, str(tmp_path))


def test_the_images_ca_bundle_is_used_when_present(tmp_path, monkeypatch):
    bundle = tmp_path / "global-bundle.pem"
    bundle.write_text("x")
    monkeypatch.setattr("notejam.config.DEFAULT_RDS_CA_BUNDLE", str(bundle))
    _url, connect_args = database_url({"DB_HOST": "aurora.example"}, str(tmp_path))
    assert connect_args == VERIFIED_TLS["mysqldb"](str(bundle))


def test_database_url_wins_over_db_variables(tmp_path):
    env = {"DATABASE_URL": "mysql+pymysql://u@h/d", "DB_HOST": "ignored"}
    url, _ = database_url(env, str(tmp_path))
    assert url == "mysql+pymysql://u@h/d"


def test_mail_goes_to_the_outbox_when_set_and_to_ses_in_aws(tmp_path):
    base = {"SECRET_KEY": "k", "NOTEJAM_BASE_URL": "https://notes.example.com"}
    config = from_environment({**base, "NOTEJAM_MAIL_OUTBOX": str(tmp_path)}, str(tmp_path), False)
    assert (config["MAIL_BACKEND"], config["MAIL_OUTBOX"]) == ("outbox", str(tmp_path))
    config = from_environment({**base, "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"}, str(tmp_path), False)
    assert config["MAIL_BACKEND"] == "ses"
    with pytest.raises(ConfigError, match="NOTEJAM_MAIL_BACKEND"):
        from_environment({**base, "NOTEJAM_MAIL_BACKEND": "smtp"}, str(tmp_path), False)


def test_bad_booleans_name_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECURE"):
        from_environment({"SECRET_KEY": "k", "SESSION_COOKIE_SECURE": "maybe"}, str(tmp_path), False)


def test_db_reader_host_is_the_writers_url_on_another_host(tmp_path):
    env = {"DB_HOST": "writer.example", "DB_PORT": "3307", "DB_USER": "app", "DB_PASSWORD": "p@ss"}
    writer, _ = database_url(env, str(tmp_path))
    assert reader_url(env, writer) is None  # unset: every read on the writer, as before
    env["DB_READER_HOST"] = "reader.example"
    assert reader_url(env, writer) == "mysql+mysqldb://app:p%40ss@reader.example:3307/notejam?charset=utf8mb4"
    config = from_environment({**env, "SECRET_KEY": "k"}, str(tmp_path), testing=True)
    assert config["SQLALCHEMY_READER_URI"] == reader_url(env, writer)


def test_database_reader_url_is_taken_as_it_is_and_db_reader_host_needs_mysql(tmp_path):
    writer = "sqlite:///" + str(tmp_path / "notejam.db")
    assert reader_url({"DATABASE_READER_URL": "sqlite:////srv/copy.db"}, writer) == "sqlite:////srv/copy.db"
    with pytest.raises(ConfigError, match="DB_READER_HOST"):
        reader_url({"DB_READER_HOST": "reader.example"}, writer)
