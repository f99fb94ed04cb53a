"""``users.data_version``, bumped by the ORM itself whenever a user's pads, notes or account change.

The per-worker page cache (pagecache.py) and the choice of the reader (db.py) both trust the
user's data version: a write that left it alone would show stale pages in every worker and let a
lagging replica answer. So no view has to remember to bump it; two session events do, in the
writing transaction:

- ``before_flush``: every new, changed or deleted ``Note`` or ``Pad`` in the unit of work bumps
  its owner's version, and a changed ``User`` bumps its own. The bump is the flush's first
  statement, so the user's row is locked before any insert or update that checks a foreign key to
  it, and two concurrent writes by one user queue instead of deadlocking.
- ``do_orm_execute``: an ORM-enabled bulk ``update()`` or ``delete()`` of ``Note`` or ``Pad``
  (``session.execute(delete(Note).where(...))``) first finds the owners of the rows its WHERE
  clause matches and bumps them; an ORM bulk ``update(User)`` sets ``data_version`` in the same
  statement. Deleting a user needs no bump: the row and its version go together, and cache keys
  hold the account's creation time, so a reused id is another user.

What these events cannot see, and what must therefore bump by hand (``bump(session, user_ids)``):

- raw SQL: ``text()`` statements and Core statements on ``Table`` objects or a connection
  (``connection.execute(...)``) never pass through the ORM session's events;
- ORM bulk ``insert()`` of notes or pads (the ``before_flush`` path covers ``session.add``);
- an owner change by bulk update (``update(Note).values(user_id=...)``): the old owners are
  bumped, not the new one;
- a row another transaction inserts between a bulk statement's owner lookup and the statement
  itself, when the WHERE clause does not name the user (every view's does).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import ORMExecuteState, Session

from .models import Note, Pad, User

# Models whose rows belong to a user through their user_id column.
OWNED = (Note, Pad)
_USERS = User.__table__


def bump(session: Session, user_ids: Iterable[int]) -> None:
    """Bump these users' data versions in the session's transaction (a Core statement: no events)."""
    ids = sorted({user_id for user_id in user_ids if user_id is not None})
    if not ids:
        return
    session.connection().execute(
        update(_USERS).where(_USERS.c.id.in_(ids)).values(data_version=_USERS.c.data_version + 1)
    )


def lock_user(session: Session, user_id: int) -> None:
    """Lock the user's row for the rest of the transaction (a no-op on SQLite, which locks the file).

    For a check that must not race another transaction of the same user (the pad quota): taken
    first, it also keeps the lock order of every write (the user's row, then their rows).
    """
    session.execute(select(User.id).where(User.id == user_id).with_for_update())


def _owners_in_flush(session: Session) -> tuple[set[int], list[User]]:
    owners: set[int] = set()
    changed_users: list[User] = []
    for obj in session.new:
        if isinstance(obj, OWNED):
            owners.add(obj.user_id)
    for obj in session.deleted:
        if isinstance(obj, OWNED):
            owners.add(obj.user_id)
    for obj in session.dirty:
        if not session.is_modified(obj, include_collections=False):
            continue
        if isinstance(obj, OWNED):
            owners.add(obj.user_id)
        elif isinstance(obj, User) and obj not in session.deleted:
            changed_users.append(obj)
    return owners, changed_users


def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    owners, changed_users = _owners_in_flush(session)
    for user in changed_users:
        if user.id in owners:
            continue  # bumped below, once
        # In the user's own UPDATE; the SQL expression is expired after the flush, so the next
        # read of the attribute loads the new value.
        user.data_version = User.data_version + 1
    bump(session, owners)


def _do_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    model = state.bind_mapper.class_
    statement = state.statement
    if model is User:
        if state.is_update:
            state.statement = statement.values(data_version=User.data_version + 1)
        return
    if model not in OWNED:
        return
    owners = select(model.user_id).distinct()
    if statement.whereclause is not None:
        owners = owners.where(statement.whereclause)
    # On the session's connection, so in the statement's transaction, and as Core: no events.
    bump(state.session, state.session.connection().execute(owners).scalars().all())


def install(session_class: Any) -> None:
    """Listen on this session class (Flask-SQLAlchemy's, or any sessionmaker's)."""
    if not event.contains(session_class, "before_flush", _before_flush):
        event.listen(session_class, "before_flush", _before_flush)
        event.listen(session_class, "do_orm_execute", _do_orm_execute)
