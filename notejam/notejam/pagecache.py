"""Page caching, in one place: rendered pages and list rows kept per worker process.

What is cached, and under which key
-----------------------------------
``users.data_version`` is bumped in the same transaction as every write to the user's pads, notes
or account (by the ORM's session events, dataversion.py) and read with the user on every request
(auth.load_user). A list's rows are cached under (user, account creation time, data version, pad,
order, page, day), so a repeated list skips the notes query and the rendering of its rows; the
whole list page (rows, the sidebar's pads, the account's email) is cached under the same key; the
user's pads (the sidebar) under (user, creation time, data version). Every worker process (and
every ECS task) has its own cache, and all of them stay correct because the version comes from the
writer on each request: after a write, no worker has the new version in its cache and each
renders afresh. Rows read after the version was read can only be newer than that version, never
older (on the reader, too: db.py uses it only when it has caught up with that version), so a
cached entry never hides a committed write.

Links in cached pages are built with ``url_for`` (note rows included), so they carry the
request's script root, which is part of every key.

The CSRF token
--------------
A cached page is the same for everyone it is served to but for the CSRF token: it is rendered
with a placeholder where the token goes (``placeholder_token``), and each request gets its own
session's token put in (``fill_csrf_token``). ``store_page`` refuses to keep a page in which the
session's token shows (a template that called the real ``csrf_token()``, a form field that kept
the visitor's token): served from the cache, it would hand one visitor's token to the next.
Pages with a flash message to show, POSTs and forms with errors are never cached.
"""

from __future__ import annotations

import secrets
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

from flask import current_app, g, render_template, request, session
from flask_login import current_user
from markupsafe import Markup, escape

from .sessions import csrf_token


class CachedRows(NamedTuple):
    html: Markup
    count: int
    has_next: bool


# What an entry costs beyond its text: the key tuple, the OrderedDict's node, the entry's tuple.
ENTRY_OVERHEAD = 512


def entry_bytes(key: tuple[Any, ...], entry: Any) -> int:
    """The memory an entry holds, near enough: its strings (page text) plus a fixed overhead."""
    if isinstance(entry, list):  # rows (the pads): their strings, and a slot per row
        texts = tuple(value for row in entry for value in row)
        return ENTRY_OVERHEAD + 64 * len(entry) + sum(sys.getsizeof(v) for v in texts if isinstance(v, str))
    texts = entry if isinstance(entry, tuple) else (entry,)
    size = ENTRY_OVERHEAD + sum(sys.getsizeof(value) for value in key if isinstance(value, str))
    return size + sum(sys.getsizeof(value) for value in texts if isinstance(value, str))


class PageCache:
    """Least-recently-used mapping bounded by entries and by bytes; safe for gunicorn's threads.

    The byte bound is what keeps a worker's memory in check whatever users store: one user's
    thousand pads make every page of theirs large, and the entry count alone let one user grow
    every worker by tens of MB. An entry larger than a quarter of the bound is not kept at all.
    """

    def __init__(self, size: int, max_bytes: int = 16 * 1024 * 1024):
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._sizes: dict[tuple[Any, ...], int] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[Any, ...]) -> Any:
        if self.size <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key: tuple[Any, ...], entry: Any) -> None:
        if self.size <= 0 or self.max_bytes <= 0:
            return
        size = entry_bytes(key, entry)
        if size > self.max_bytes // 4:
            return
        with self._lock:
            self.bytes += size - self._sizes.get(key, 0)
            self._entries[key] = entry
            self._sizes[key] = size
            self._entries.move_to_end(key)
            while len(self._entries) > self.size or self.bytes > self.max_bytes:
                oldest, _ = self._entries.popitem(last=False)
                self.bytes -= self._sizes.pop(oldest)

    def __len__(self) -> int:
        return len(self._entries)


def cached_pads(user: Any, load: Callable[[int], list[Any]]) -> list[Any]:
    """The user's pads (the sidebar of every page), from the list cache under their data version.

    Pads change only in a transaction that bumps the version, so a version's pads are the pads
    (or, read after a concurrent write committed, newer: never older, as for the list rows).
    Only a GET or HEAD request stores or uses them: any other request may have written in its
    transaction, not yet committed, and reads its pads there (db.read_rows).
    """
    if request.method not in ("GET", "HEAD"):
        return load(user.id)
    cache = page_cache()
    key = ("pads", user.id, user.created_at, user.data_version)
    pads = cache.get(key)
    if pads is None:
        pads = load(user.id)
        cache.put(key, pads)
    return pads


def page_cache() -> PageCache:
    """This app's (this worker's) cache."""
    return current_app.extensions["notejam.page_cache"]


# Stands in for the CSRF token in a cached page. User data cannot contain it: every value from
# users is escaped, and escaping turns "<" into "&lt;". Templates that call csrf_token() get it as
# Markup (left as it is); a WTForms hidden field escapes it, hence the second form.
CSRF_PLACEHOLDER = f"<csrf-{secrets.token_hex(16)}>"
_ESCAPED_PLACEHOLDER = str(escape(CSRF_PLACEHOLDER))


def placeholder_token() -> Markup:
    return Markup(CSRF_PLACEHOLDER)  # noqa: S704 - a constant of ours, replaced before sending


def fill_csrf_token(page: str) -> str:
    """A cached page with this request's CSRF token where the placeholder is."""
    if CSRF_PLACEHOLDER not in page and _ESCAPED_PLACEHOLDER not in page:
        return page
    token = str(escape(csrf_token()))
    return page.replace(CSRF_PLACEHOLDER, token).replace(_ESCAPED_PLACEHOLDER, token)


def holds_session_token(page: str) -> bool:
    """Whether this session's CSRF token (raw, or signed for this request) shows in the page.

    Only tokens that already exist are looked for: asking for one here would start a session.
    """
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    tokens = (g.get(field), session.get(field))
    return any(isinstance(token, str) and token and token in page for token in tokens)


def store_page(key: tuple[Any, ...], page: str) -> bool:
    """Keep a rendered page for later requests, unless it holds the session's CSRF token."""
    if holds_session_token(page):
        return False
    page_cache().put(key, page)
    return True


def cached_page(key: tuple[Any, ...], render: Callable[[], str]) -> str:
    """The page under key, rendered (with ``placeholder_token`` for the token) and stored if
    missing, with this request's CSRF token put in."""
    page = page_cache().get(key)
    if page is None:
        page = render()
        store_page(key, page)
    return fill_csrf_token(page)


def anonymous_form_page(template: str, form: Any) -> str:
    """An empty form page (sign-in, sign-up, forgot password) for someone not signed in.

    Such a page is the same for every visitor but for the CSRF token: it is rendered once per
    worker with a placeholder in the token field and the visitor's own token is put in for every
    request. A POST (its entered values and errors), a signed-in user and a page with a flash
    message to show are rendered as usual; a page in which the visitor's token still shows is
    never stored (``store_page``).
    """
    if request.method != "GET" or form.errors or current_user.is_authenticated or "_flashes" in session:
        return render_template(template, form=form)
    token_name = form.meta.csrf_field_name
    token_field = form[token_name] if form.meta.csrf and token_name in form else None
    key = ("anonymous form", template, request.script_root, token_field is not None)

    def render() -> str:
        if token_field is None:
            return render_template(template, form=form)
        # The field took the visitor's token when the form was made: swap it for the render.
        visitors_token = token_field.current_token
        token_field.current_token = CSRF_PLACEHOLDER
        try:
            return render_template(template, form=form)
        finally:
            token_field.current_token = visitors_token

    return cached_page(key, render)
