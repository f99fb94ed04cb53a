"""Notejam: a note-taking web app. ``create_app()`` is the WSGI factory (``notejam:create_app()``)."""

from __future__ import annotations

import functools
import hashlib
import os
from typing import Any

from flask import Flask, g, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter
from whitenoise import WhiteNoise

from . import auth, dataversion, dbsecret, health, notes, pads, ratelimits, weblog
from .config import from_environment
from .dates import humandate
from .db import (
    configure_connect_wait,
    configure_reader_engine,
    configure_reads_engine,
    db,
    migrate,
    replayable,
    require_tls,
    track_commits,
)
from .models import MAX_ID
from .pagecache import PageCache
from .sessions import SessionInterface

csrf = CSRFProtect()


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: 1 to MAX_ID, so an id the database cannot hold is a 404 from
    the router (SQLite raised OverflowError on a 20-digit id) whatever view a maintainer adds."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class Notejam(Flask):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Flask asks, before every call of every view and hook, whether it is ``async def``
        # (inspect, on every request); the answer never changes for a function. Bounded, in
        # case closures come and go (after_this_request).
        self.ensure_sync = functools.lru_cache(maxsize=256)(self.ensure_sync)  # type: ignore[method-assign]

    def dispatch_request(self) -> Any:
        """The view; run once more if the database connection was lost before anything was
        committed (db.replayable), once the session has dropped the lost transaction.

        A restart or a failover ends every connection, including one in the middle of a
        request's transaction; run again, the view reconnects (waiting for the server, db.py)
        and the user never sees the restart.
        """
        try:
            return super().dispatch_request()
        except DBAPIError as error:
            if not replayable(error):
                raise
            g.notejam_replayed = True
            db.session.rollback()
            self.logger.warning("database connection lost before any commit: the request runs again")
            return super().dispatch_request()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    # The instance folder holds the default SQLite file and the development outbox; the image
    # points it at a folder its non-root user owns.
    app = Notejam(__name__, instance_path=os.environ.get("NOTEJAM_INSTANCE_PATH") or None)
    testing = bool(test_config and test_config.get("TESTING"))
    environment = dict(os.environ)
    if test_config and test_config.get("SECRET_KEY"):
        environment["SECRET_KEY"] = test_config["SECRET_KEY"]
    app.config.from_mapping(from_environment(environment, app.instance_path, testing))
    if test_config:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)

    app.session_interface = SessionInterface()
    app.url_map.converters["int"] = IdConverter  # before any route is added
    configure_reads_engine(app.config)
    configure_reader_engine(app.config)  # DB_READER_HOST / DATABASE_READER_URL, when set
    db.init_app(app)
    dataversion.install(db.session)  # every ORM write bumps its user's data version
    if app.config.get("DATABASE_REQUIRE_TLS"):
        with app.app_context():
            for engine in db.engines.values():
                event.listen(engine, "connect", require_tls)
    with app.app_context():
        dbsecret.install(app, db.engines)
        configure_connect_wait(db.engines, app.config["DATABASE_CONNECT_WAIT"])
        track_commits(db.engines)
    migrate.init_app(app, db)
    csrf.init_app(app)
    auth.login_manager.init_app(app)
    for blueprint in (health.bp, auth.bp, notes.bp, pads.bp):
        app.register_blueprint(blueprint)

    ratelimits.install(app)
    app.extensions["notejam.page_cache"] = PageCache(
        app.config["LIST_CACHE_SIZE"], app.config["LIST_CACHE_BYTES"]
    )
    weblog.install(app)
    _install_templating(app)
    _install_error_pages(app)
    _install_wsgi_middleware(app)
    return app


def _install_templating(app: Flask) -> None:
    app.jinja_env.filters["humandate"] = humandate
    static_urls: dict[tuple[str, str], str] = {}

    def static_url(filename: str) -> str:
        # The content hash in the URL lets browsers cache static files for a year. Files do not
        # change while the process runs, so each URL is worked out once.
        key = (request.script_root, filename)
        if key not in static_urls:
            with open(os.path.join(app.static_folder or "", filename), "rb") as handle:
                version = hashlib.sha256(handle.read()).hexdigest()[:12]
            static_urls[key] = url_for("static", filename=filename, v=version)
        return static_urls[key]

    app.jinja_env.globals["static_url"] = static_url


def _install_error_pages(app: Flask) -> None:
    @app.errorhandler(404)
    def not_found(_error):
        return render_template("errors/404.html"), 404

    @app.errorhandler(CSRFError)
    def csrf_refused(_error):
        reason = "The form expired or was not sent from this site."
        return render_template("errors/400.html", reason=reason), 400

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error):
        # Refused before the body is read: nothing of it is echoed back.
        limit_kb = app.config["MAX_CONTENT_LENGTH"] // 1024
        return render_template("errors/413.html", limit_kb=limit_kb), 413

    @app.errorhandler(500)
    def server_error(_error):
        return render_template("errors/500.html"), 500


def _install_wsgi_middleware(app: Flask) -> None:
    wsgi = app.wsgi_app
    # Static files straight from WhiteNoise (no Flask routing, sessions or database), cacheable
    # for a year because their URLs carry a content hash.
    wsgi = WhiteNoise(wsgi, root=app.static_folder, prefix="static/", max_age=app.config["STATIC_MAX_AGE"])
    wsgi = weblog.AccessLogMiddleware(wsgi, enabled=app.config["ACCESS_LOG"])
    if app.config["PROXY_FIX"]:
        # Exactly one proxy (the ALB) sits in front: trust one hop of X-Forwarded-For/-Proto.
        wsgi = ProxyFix(wsgi, x_for=1, x_proto=1)
    app.wsgi_app = wsgi  # type: ignore[method-assign]
