"""Users own pads and notes; a note belongs to at most one pad (NULL means "no pad")."""

from __future__ import annotations

import functools
import hashlib
import hmac
from datetime import UTC, datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import DateTime, Double, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from .db import db

# Microsecond precision on MySQL, so "newest first" is stable for notes saved in the same second.
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
# MySQL's TEXT holds 65,535 bytes, fewer than 65,000 four-byte characters: MEDIUMTEXT there.
NoteText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql")
MYSQL_TABLE_ARGS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}

# The largest id the tables hold (a signed 32-bit INTEGER on MySQL): routes and parsed ids stay
# within it, so no client input reaches the database as an out-of-range integer.
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    """Naive UTC, as stored in the DATETIME columns."""
    return datetime.now(UTC).replace(tzinfo=None)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # scrypt/argon2 strings run past 100 characters; 255 leaves room for stronger parameters.
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    # Bumped with every write to the user's pads or notes: the key of the list cache (pagecache.py).
    data_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    def get_id(self) -> str:
        # The session names the user *and* the password it signed in with: changing or
        # resetting the password signs out every other session.
        return f"{self.id}:{password_fingerprint(self.password_hash)}"


class Pad(db.Model):
    __tablename__ = "pads"
    __table_args__ = (Index(None, "user_id", "name"), MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Note(db.Model):
    __tablename__ = "notes"
    __table_args__ = (
        # One index per list order: all notes (by user) and a pad's notes, by date and by name.
        Index(None, "user_id", "updated_at"),
        Index(None, "user_id", "name"),
        Index(None, "pad_id", "updated_at"),
        Index(None, "pad_id", "name"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    pad_id: Mapped[int | None] = mapped_column(ForeignKey("pads.id", ondelete="CASCADE"), nullable=True)
    name: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(NoteText)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class UserSession(db.Model):
    """A signed-in session, server-side: signing out deletes it, so a copied cookie stops working.

    The cookie carries a random token; only its SHA-256 is stored, so the table leaks no usable
    session. Every signed-in request reads the user joined with this row (auth.load_user).
    """

    __tablename__ = "user_sessions"
    __table_args__ = (Index(None, "user_id"), MYSQL_TABLE_ARGS)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)


class RateLimitCounter(db.Model):
    """One fixed-window counter of the rate limiter (ratelimits.py), shared by every worker and task."""

    __tablename__ = "rate_limits"
    __table_args__ = (Index(None, "expires_at"), MYSQL_TABLE_ARGS)

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    # Seconds since the epoch (the limits library's clock), not a DATETIME: no time zone to mix up.
    expires_at: Mapped[float] = mapped_column(Double)


def password_fingerprint(password_hash: str) -> str:
    """A short keyed digest of the password hash; the session carries it (User.get_id)."""
    return _fingerprint(current_app.config["SECRET_KEY"], password_hash)


@functools.lru_cache(maxsize=4096)  # checked on every signed-in request, for the same few users
def _fingerprint(secret_key: str, password_hash: str) -> str:
    return hmac.new(secret_key.encode(), password_hash.encode(), hashlib.sha256).hexdigest()[:20]
