"""A bounded, per-process cache of rendered note lists, keyed by the user's data version.

``users.data_version`` is bumped in the same transaction as every write to the user's pads or
notes (by the ORM's session events, dataversion.py) and read with the user on every request
(auth.load_user). A list
page's rows are cached under (user, data version, pad, order, page, day), so a repeated list skips
the notes query and the rendering of its rows. Every worker process (and every ECS task) has its
own cache, and all of them stay correct because the version comes from the database on each
request: after a write, no worker has the new version in its cache and each renders afresh.

Rows read after the version was read can only be newer than that version, never older (the
version is bumped in the writing transaction), so a cached entry never hides a committed write.

Two kinds of entries: a list's rows, and the whole list page (the rows, the sidebar's pads, the
account's email) with a placeholder for the CSRF token, which is put in for every request. A page
with a flash message to show is rendered around the cached rows instead.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

from flask import current_app, request
from markupsafe import Markup


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


class ListCache:
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
    cache: ListCache = current_app.extensions["notejam.list_cache"]
    key = ("pads", user.id, user.created_at, user.data_version)
    pads = cache.get(key)
    if pads is None:
        pads = load(user.id)
        cache.put(key, pads)
    return pads
