"""Configuration from the environment: one image for every environment.

The runtime contract (docs in ../README.md):

- ``DATABASE_URL``: any SQLAlchemy URL; else ``DB_HOST``/``DB_PORT``/``DB_NAME``/``DB_USER``/
  ``DB_PASSWORD`` as ECS injects them (MySQL through mysqlclient, the C driver, or PyMySQL with
  ``DB_DRIVER=pymysql``; utf8mb4; TLS verified against the RDS CA bundle in ``DB_SSL_CA``); else a
  SQLite file in the instance folder.
- ``DB_READER_HOST``: a read replica (Aurora's reader endpoint), reached like ``DB_HOST`` (same
  port, database, user, password and TLS); or ``DATABASE_READER_URL``, a full SQLAlchemy URL.
  Signed-in GET and HEAD requests read there when it has the user's latest writes (db.py).
- ``SECRET_KEY``: required outside development and testing.
- ``NOTEJAM_MAIL_OUTBOX``: a folder receiving each outgoing mail as an .eml file; otherwise SES
  (``NOTEJAM_MAIL_BACKEND=ses``, the default when running in AWS).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many
from sqlalchemy.engine import URL, make_url

# The MySQL drivers the app knows how to give verified TLS to. mysqlclient (MySQLdb, C) is the
# default: it costs a list page about a third less CPU than PyMySQL (docs/benchmarks-app.md).
MYSQL_DRIVERS = ("mysqldb", "pymysql")
DEFAULT_MYSQL_DRIVER = "mysqldb"

# Where the Dockerfile puts the RDS global CA bundle, downloaded at image build time.
DEFAULT_RDS_CA_BUNDLE = "/opt/notejam/rds-global-bundle.pem"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app; the message names the variable."""


def env_flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off")


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None


def is_development(env: Mapping[str, str]) -> bool:
    return env_flag(env, "FLASK_DEBUG", False) or env.get("NOTEJAM_ENV", "").lower() == "development"


def database_url(env: Mapping[str, str], instance_path: str) -> tuple[str, dict[str, Any]]:
    """The SQLAlchemy URL and the DBAPI connect arguments (TLS) for this environment."""
    if env.get("DATABASE_URL"):
        url = make_url(env["DATABASE_URL"])
        return url.render_as_string(hide_password=False), _tls_connect_args(env, url, explicit_only=True)
    if env.get("DB_HOST"):
        driver = env.get("DB_DRIVER", "").strip().lower() or DEFAULT_MYSQL_DRIVER
        if driver not in MYSQL_DRIVERS:
            raise ConfigError(f"DB_DRIVER={driver!r}: use one of {', '.join(MYSQL_DRIVERS)}")
        url = URL.create(
            f"mysql+{driver}",
            username=env.get("DB_USER") or None,
            password=env.get("DB_PASSWORD") or None,
            host=env["DB_HOST"],
            port=env_int(env, "DB_PORT", 3306),
            database=env.get("DB_NAME", "notejam"),
            query={"charset": "utf8mb4"},
        )
        return url.render_as_string(hide_password=False), _tls_connect_args(env, url, explicit_only=False)
    return "sqlite:///" + os.path.join(instance_path, "notejam.db"), {}


def reader_url(env: Mapping[str, str], writer_url: str) -> str | None:
    """The read replica's SQLAlchemy URL, or None when reads all go to the writer.

    ``DATABASE_READER_URL`` is taken as it is; ``DB_READER_HOST`` is the writer's MySQL URL with
    the host replaced, so it shares the writer's driver, port, database, user and credentials.
    """
    if env.get("DATABASE_READER_URL"):
        return make_url(env["DATABASE_READER_URL"]).render_as_string(hide_password=False)
    host = env.get("DB_READER_HOST", "").strip()
    if not host:
        return None
    writer = make_url(writer_url)
    if writer.get_backend_name() != "mysql":
        raise ConfigError(
            f"DB_READER_HOST={host!r} needs a MySQL writer (DB_HOST, or a mysql DATABASE_URL); "
            "use DATABASE_READER_URL for another database"
        )
    return writer.set(host=host).render_as_string(hide_password=False)


def _tls_connect_args(env: Mapping[str, str], url: URL, explicit_only: bool) -> dict[str, Any]:
    """Verified TLS for MySQL when a CA bundle is configured or baked into the image.

    An explicit ``DB_SSL_CA`` that does not exist is an error (a typo must not silently turn TLS
    off); the image's default bundle is used when present, which is how Aurora gets TLS with no
    setting at all, while a local MariaDB outside the image runs without TLS.
    """
    if url.get_backend_name() != "mysql":
        return {}
    ca = env.get("DB_SSL_CA", "").strip()
    if ca:
        if not os.path.isfile(ca):
            raise ConfigError(f"DB_SSL_CA={ca!r}: no such file (the CA bundle for TLS to the database)")
    elif not explicit_only and os.path.isfile(DEFAULT_RDS_CA_BUNDLE):
        ca = DEFAULT_RDS_CA_BUNDLE
    if not ca:
        return {}
    driver = url.get_driver_name()
    if driver == "pymysql":
        return {"ssl_ca": ca, "ssl_verify_cert": True, "ssl_verify_identity": True}
    if driver == "mysqldb":
        # mysqlclient: VERIFY_IDENTITY requires TLS and checks the chain against the CA and the
        # server's name against the host (on MariaDB's Connector/C, mysqlclient maps it to
        # MYSQL_OPT_SSL_ENFORCE plus MYSQL_OPT_SSL_VERIFY_SERVER_CERT, which checks both).
        return {"ssl": {"ca": ca}, "ssl_mode": "VERIFY_IDENTITY"}
    # Another driver's TLS options are unknown here: refuse rather than connect without TLS.
    raise ConfigError(
        f"DATABASE_URL names the MySQL driver {driver!r}; verified TLS (DB_SSL_CA) is set up only for "
        f"{', '.join(MYSQL_DRIVERS)}"
    )


def base_url(env: Mapping[str, str], development: bool, testing: bool) -> str | None:
    """The site's canonical address, from which every link leaving the site is built (mails).

    Never the request's Host header: anyone can send any Host, and a reset link built from it
    would hand the token to the attacker's site. Required outside development; in development,
    without it, links follow the request (a laptop has no fixed address).
    """
    raw = env.get("NOTEJAM_BASE_URL", "").strip()
    if not raw:
        if testing:
            return "http://localhost"  # the test client's host
        if development:
            return None
        raise ConfigError(
            "NOTEJAM_BASE_URL is not set. Links in mails (password reset) are built from it, never "
            "from the request's Host header; set it to the site's address, e.g. https://notes.example.com"
        )
    parts = urlsplit(raw)
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
    ):
        raise ConfigError(
            f"NOTEJAM_BASE_URL={raw!r}: use http(s)://host[:port][/path], with no user, query or fragment"
        )
    return raw.rstrip("/")


RATE_LIMIT_SETTINGS = {
    # config key: (environment variable, default)
    "RATE_LIMIT_SIGNIN_PER_CLIENT": ("NOTEJAM_RATE_LIMIT_SIGNIN_PER_CLIENT", "30 per minute;300 per hour"),
    "RATE_LIMIT_SIGNIN_FAILURES_PER_ADDRESS": (
        "NOTEJAM_RATE_LIMIT_SIGNIN_FAILURES_PER_ADDRESS",
        "10 per 15 minutes",
    ),
    "RATE_LIMIT_SIGNUP_PER_CLIENT": ("NOTEJAM_RATE_LIMIT_SIGNUP_PER_CLIENT", "10 per hour"),
    "RATE_LIMIT_FORGOT_PASSWORD_PER_CLIENT": ("NOTEJAM_RATE_LIMIT_FORGOT_PASSWORD_PER_CLIENT", "10 per hour"),
    "RATE_LIMIT_MAIL_PER_ADDRESS": ("NOTEJAM_RATE_LIMIT_MAIL_PER_ADDRESS", "3 per hour;10 per day"),
}


def rate_limits(env: Mapping[str, str]) -> dict[str, str]:
    limits = {}
    for key, (name, default) in RATE_LIMIT_SETTINGS.items():
        value = env.get(name, "").strip() or default
        try:
            parsed = parse_many(value)
        except ValueError:
            parsed = []
        if not parsed:
            raise ConfigError(f"{name}={value!r} is not a rate limit; write it like '10 per hour;50 per day'")
        limits[key] = value
    return limits


def mail_backend(env: Mapping[str, str], development: bool) -> str:
    chosen = env.get("NOTEJAM_MAIL_BACKEND", "").strip().lower()
    if chosen and chosen not in {"outbox", "ses"}:
        raise ConfigError(f"NOTEJAM_MAIL_BACKEND={chosen!r}: use 'outbox' or 'ses'")
    if chosen:
        return chosen
    if env.get("NOTEJAM_MAIL_OUTBOX"):
        return "outbox"
    # In AWS (ECS sets AWS_EXECUTION_ENV) mail goes to SES; on a laptop it lands in a folder.
    if env.get("AWS_EXECUTION_ENV") or not development:
        return "ses"
    return "outbox"


def dbsecret_settings(env: Mapping[str, str]) -> dict[str, Any]:
    from .dbsecret import settings  # dbsecret imports this module

    return settings(env)


def from_environment(env: Mapping[str, str], instance_path: str, testing: bool) -> dict[str, Any]:
    development = is_development(env)
    url, connect_args = database_url(env, instance_path)
    secret_key = env.get("SECRET_KEY", "")
    if not secret_key:
        if not (development or testing):
            raise ConfigError(
                "SECRET_KEY is not set. It signs sessions and password-reset links and is required "
                "outside development (set FLASK_DEBUG=1 or NOTEJAM_ENV=development for a throwaway key)."
            )
        secret_key = secrets.token_hex(32)
    engine_options: dict[str, Any] = {
        # A database restart or an Aurora failover leaves dead sockets in the pool: pre-ping
        # replaces them before a request uses one, and recycling stays under wait_timeout.
        "pool_pre_ping": True,
        "pool_recycle": env_int(env, "DB_POOL_RECYCLE", 280),
        # Database errors end up in the logs: without this their messages carry the statement's
        # parameters, i.e. note contents, emails and password hashes.
        "hide_parameters": True,
        # The Session ends every transaction (commit, or rollback when it closes at the end of
        # the request) before the connection goes back, so the pool's own rollback on return
        # would be a second round trip to the database for nothing.
        "pool_reset_on_return": None,
    }
    if not url.startswith("sqlite"):
        engine_options["pool_size"] = env_int(env, "DB_POOL_SIZE", 5)
        engine_options["max_overflow"] = env_int(env, "DB_MAX_OVERFLOW", 5)
    if connect_args:
        engine_options["connect_args"] = connect_args
    backend = mail_backend(env, development or testing)
    session_lifetime = env_int(env, "NOTEJAM_SESSION_LIFETIME", 12 * 3600)
    if session_lifetime < 60:
        raise ConfigError(f"NOTEJAM_SESSION_LIFETIME={session_lifetime}: at least 60 (seconds)")
    max_request = env_int(env, "NOTEJAM_MAX_REQUEST_BYTES", 1024 * 1024)
    # A note holds up to 65,000 characters: 260 KB of UTF-8 at worst, ~780 KB form-encoded.
    if max_request < 800 * 1024:
        raise ConfigError(
            f"NOTEJAM_MAX_REQUEST_BYTES={max_request}: at least {800 * 1024}, "
            "or the longest note cannot be saved"
        )
    return {
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": url,
        # A read replica for signed-in GET/HEAD requests (db.py), None for none.
        "SQLALCHEMY_READER_URI": reader_url(env, url),
        # DB_PASSWORD_SECRET_ARN: the password is read from Secrets Manager per new connection.
        **dbsecret_settings(env),
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        # A new connection to the writer waits this long (seconds) for a server that is
        # restarting or failing over, instead of failing the request at once (db.py).
        "DATABASE_CONNECT_WAIT": env_int(env, "DB_CONNECT_WAIT", 10),
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        # Verified TLS was configured: every new connection must prove it is encrypted (db.py).
        "DATABASE_REQUIRE_TLS": bool(connect_args),
        "NOTEJAM_DEVELOPMENT": development,
        "MAIL_BACKEND": backend,
        "MAIL_OUTBOX": env.get("NOTEJAM_MAIL_OUTBOX") or os.path.join(instance_path, "outbox"),
        "MAIL_FROM": env.get("NOTEJAM_MAIL_FROM", "Notejam <no-reply@notejam.invalid>"),
        "SES_REGION": env.get("NOTEJAM_SES_REGION") or env.get("AWS_REGION") or None,
        # Secure cookies outside development: the ALB terminates HTTPS. The cookie is also marked
        # Secure whenever the request itself arrived over HTTPS (see sessions.py).
        "SESSION_COOKIE_SECURE": env_flag(env, "SESSION_COOKIE_SECURE", not (development or testing)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "notejam_session",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # A signed-in session lasts this long from sign-in (server-side, auth.py), and a cookie
        # older than this is refused whatever it holds.
        "SESSION_LIFETIME": session_lifetime,
        "PERMANENT_SESSION_LIFETIME": timedelta(seconds=session_lifetime),
        "BASE_URL": base_url(env, development, testing),
        # Bodies past this are refused with 413 before they are read (Flask/Werkzeug). Flask's
        # own cap on a multipart text field (500 KB) is raised to the same size, so the longest
        # note fits whichever way a browser encodes the form.
        "MAX_CONTENT_LENGTH": max_request,
        "MAX_FORM_MEMORY_SIZE": max_request,
        "MAX_PADS_PER_USER": env_int(env, "NOTEJAM_MAX_PADS_PER_USER", 100),
        "RATELIMIT_ENABLED": env_flag(env, "NOTEJAM_RATE_LIMITS", True),
        "RATELIMIT_STORAGE_URI": env.get("NOTEJAM_RATELIMIT_STORAGE_URI", "").strip()
        or "notejam-database://",
        **rate_limits(env),
        "PASSWORD_HASH_METHOD": env.get("NOTEJAM_PASSWORD_HASH", "scrypt"),
        "RESET_TOKEN_MAX_AGE": env_int(env, "NOTEJAM_RESET_TOKEN_MAX_AGE", 3600),
        "NOTES_PER_PAGE": env_int(env, "NOTEJAM_NOTES_PER_PAGE", 50),
        # Rendered list pages and rows kept per worker process (pagecache.py); 0 turns it off.
        "LIST_CACHE_SIZE": env_int(env, "NOTEJAM_LIST_CACHE_SIZE", 512),
        # ... and at most this many bytes of them (the page text), whichever bound comes first.
        "LIST_CACHE_BYTES": env_int(env, "NOTEJAM_LIST_CACHE_BYTES", 16 * 1024 * 1024),
        "STATIC_MAX_AGE": env_int(env, "NOTEJAM_STATIC_MAX_AGE", 365 * 24 * 3600),
        "PROXY_FIX": env_flag(env, "NOTEJAM_PROXY_FIX", True),
        "ACCESS_LOG": env_flag(env, "NOTEJAM_ACCESS_LOG", True),
    }
