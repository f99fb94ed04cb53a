"""The session cookie and the CSRF token: Secure behind the ALB, and cheap on every request.

Flask checks the session cookie's signature and decodes it (base64, zlib, JSON) on every request,
building a new serializer each time, and Flask-WTF signs a fresh CSRF token for every page with a
form. A browser sends the same cookie until its session changes, so each worker remembers the
cookies it has verified and the tokens it has signed, a few thousand of each:

- The memory is keyed by the exact cookie string (the Cookie header itself is parsed once per
  distinct value), so a changed or forged cookie is never found and is verified in full; a
  cookie that fails verification is never remembered. The session's age is still checked
  against the time it was signed, on every request, as Flask does.
- A request gets its own copy of the session: a shallow copy when every value is a plain string,
  number or boolean (a signed-in session), a deep copy otherwise (flashed messages are lists).
- A signed CSRF token is remembered only while tokens do not expire (``WTF_CSRF_TIME_LIMIT`` is
  None, the token living as long as the session); with a time limit every page signs anew.

Cached pages carry a placeholder where the token goes, filled in per request (pagecache.py).
"""

from __future__ import annotations

import copy
import functools
import time
from typing import Any

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.http import parse_cookie

VERIFIED_COOKIES = 4096
SIGNED_TOKENS = 4096
_PLAIN = (str, int, float, bool, type(None))


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with verified cookies remembered per worker."""

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}
        self._verified = functools.lru_cache(maxsize=VERIFIED_COOKIES)(self._verify)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Mark the cookie Secure whenever the request came over HTTPS (per the ALB)."""
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer

    def _verify(self, serializer: URLSafeTimedSerializer, cookie: str) -> tuple[dict[str, Any], int, bool]:
        # Raises BadSignature for a cookie that is not ours: lru_cache keeps only what returns.
        data, signed = serializer.loads(cookie, return_timestamp=True)
        plain = isinstance(data, dict) and all(isinstance(value, _PLAIN) for value in data.values())
        return data, int(signed.timestamp()), plain

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = _cookie(request.environ.get("HTTP_COOKIE", ""), self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        try:
            data, signed, plain = self._verified(serializer, cookie)
        except BadSignature:
            return self.session_class()
        age = int(time.time()) - signed
        if age < 0 or age > app.permanent_session_lifetime.total_seconds():
            return self.session_class()  # expired (or from the future), as Flask would have it
        return self.session_class(data if plain else copy.deepcopy(data))

    def save_session(self, app: Flask, session, response) -> None:
        # The usual case, a session read but not changed: only Vary, without first working out
        # every cookie attribute as Flask does before it finds there is no cookie to set.
        if not self.should_set_cookie(app, session):
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


@functools.lru_cache(maxsize=VERIFIED_COOKIES)
def _cookie(header: str, name: str) -> str | None:
    """One cookie from a Cookie header (parsed once per distinct header: browsers repeat them)."""
    return parse_cookie(header).get(name)


@functools.lru_cache(maxsize=SIGNED_TOKENS)
def _signed_token(secret_key: str | bytes, raw_token: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt="wtf-csrf-token").dumps(raw_token)


def csrf_token() -> str:
    """The page's signed CSRF token, as Flask-WTF's ``generate_csrf()`` makes it.

    Forms rendered later in the request use the same token (Flask-WTF looks in ``g`` first).
    """
    app = current_app._get_current_object()
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    raw = session.get(field)
    if app.config.get("WTF_CSRF_TIME_LIMIT", 3600) is not None or not isinstance(raw, str):
        return generate_csrf()
    context = g._get_current_object()
    if field not in context:
        setattr(context, field, _signed_token(app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key, raw))
    return getattr(context, field)
