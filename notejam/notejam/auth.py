"""Accounts: sign up, sign in and out, settings, and password reset by a single-use link."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from .db import db, read_row, read_rows
from .forms import ConfirmForm, ForgotPasswordForm, NewPasswordForm, SettingsForm, SigninForm, SignupForm
from .mail import send_mail
from .models import Pad, User, UserSession, password_fingerprint, utcnow
from .pagecache import anonymous_form_page, cached_pads
from .ratelimits import mail_allowed

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.signin"
login_manager.login_message = "Please sign in to see this page."
login_manager.login_message_category = "info"

RESET_SALT = "notejam.password-reset"
# The session's server-side token (its SHA-256 is the user_sessions row).
SESSION_TOKEN = "_session_token"  # noqa: S105 - the session key's name, not a secret


class PadRow(NamedTuple):
    id: int
    name: str


class SignedInUser(UserMixin):
    """The signed-in user for the request (``current_user``): a plain row, not an ORM object.

    The one type views see: loaded on every signed-in request by primary key, the cheapest query
    there is, in one round trip outside the request's transaction (db.read_row), and made from the
    ORM ``User`` when a request signs someone in (``from_user``). The user's pads (the sidebar, and
    the proof that a pad is theirs) are read on first use, which a list page served from the page
    cache never needs. Views that change the account load the ORM ``User``. The data version
    (with the account's creation time) keys the page cache (pagecache.py).
    """

    __slots__ = ("_pads", "created_at", "data_version", "email", "id", "password_hash")

    def __init__(
        self,
        id: int,
        email: str,
        password_hash: str,
        data_version: int = 0,
        created_at: datetime | None = None,
        pads: list[PadRow] | None = None,
    ):
        self.id, self.email, self.password_hash = id, email, password_hash
        self.data_version, self.created_at, self._pads = data_version, created_at, pads

    @classmethod
    def from_user(cls, user: User) -> SignedInUser:
        return cls(user.id, user.email, user.password_hash, user.data_version, user.created_at)

    @property
    def pads(self) -> list[PadRow]:
        """The user's pads as (id, name) rows, by name; one query, on first use in the request."""
        if self._pads is None:
            self._pads = cached_pads(self, read_pads)
        return self._pads

    def get_id(self) -> str:
        return f"{self.id}:{password_fingerprint(self.password_hash)}"


# The user, only while the session's row exists and has not expired: one round trip per request.
_LOAD_USER = (
    select(User.id, User.email, User.password_hash, User.data_version, User.created_at)
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        User.id == bindparam("user_id"),
        UserSession.token_hash == bindparam("token_hash"),
        UserSession.expires_at > bindparam("now"),
    )
)
_USER_PADS = select(Pad.id, Pad.name).where(Pad.user_id == bindparam("user_id")).order_by(Pad.name, Pad.id)


def read_pads(user_id: int) -> list[PadRow]:
    """A user's pads as (id, name) rows, by name."""
    return [PadRow(*row) for row in read_rows(_USER_PADS, {"user_id": user_id})]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@login_manager.user_loader
def load_user(session_user_id: str) -> SignedInUser | None:
    user_id, _, fingerprint = session_user_id.partition(":")
    token = session.get(SESSION_TOKEN)
    if not (user_id.isascii() and user_id.isdigit()) or not isinstance(token, str):
        return None
    row = read_row(_LOAD_USER, {"user_id": int(user_id), "token_hash": _token_hash(token), "now": utcnow()})
    if row is None:
        return None
    user = SignedInUser(*row)
    if not hmac.compare_digest(password_fingerprint(user.password_hash), fingerprint):
        return None
    return user


def start_session(user: User) -> None:
    """Sign the user in with a new session: recorded server-side, nothing kept from before.

    The old session's contents (its CSRF token above all) are dropped, so nothing learnt before
    sign-in works after it. The user's expired sessions are deleted on the way.
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    # Found by a plain read, deleted by primary key: a DELETE by user_id that matches nothing
    # takes a gap lock on the user_id index (InnoDB, REPEATABLE READ), and two users signing in
    # at once (neighbours in that index, e.g. the two newest accounts) then deadlocked on their
    # INSERTs (error 1213, seen under bench/app/mixed.py's parallel sign-ins).
    expired = (
        db.session.execute(
            select(UserSession.token_hash).where(
                UserSession.user_id == user.id, UserSession.expires_at <= now
            )
        )
        .scalars()
        .all()
    )
    if expired:
        db.session.execute(delete(UserSession).where(UserSession.token_hash.in_(expired)))
    lifetime = timedelta(seconds=current_app.config["SESSION_LIFETIME"])
    db.session.add(
        UserSession(token_hash=_token_hash(token), user_id=user.id, created_at=now, expires_at=now + lifetime)
    )
    db.session.commit()
    _clear_session()
    login_user(SignedInUser.from_user(user))
    session[SESSION_TOKEN] = token


def end_session() -> None:
    """Sign out: the server forgets the session, so a copy of the cookie is worth nothing."""
    token = session.get(SESSION_TOKEN)
    if isinstance(token, str):
        db.session.execute(delete(UserSession).where(UserSession.token_hash == _token_hash(token)))
        db.session.commit()
    logout_user()
    _clear_session()


def end_other_sessions(user_id: int) -> None:
    """Every session of the user but this request's (in the caller's transaction)."""
    token = session.get(SESSION_TOKEN)
    query = delete(UserSession).where(UserSession.user_id == user_id)
    if isinstance(token, str):
        query = query.where(UserSession.token_hash != _token_hash(token))
    db.session.execute(query)


def _clear_session() -> None:
    session.clear()
    # Flask-WTF keeps the request's CSRF token in g as well as in the session.
    g.pop("csrf_token", None)


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link to this site for a mail: from NOTEJAM_BASE_URL, never the Host header."""
    base = current_app.config["BASE_URL"]
    if not base:  # development only (config.base_url)
        return url_for(endpoint, _external=True, **values)
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def safe_next_url(target: str | None) -> str:
    """Follow ?next= only to a path on this site, never to another host."""
    # Control characters and spaces have no place in a path (CR/LF would split the header).
    if target and target.isprintable() and not any(character.isspace() for character in target):
        parts = urlsplit(target)
        local = not parts.scheme and not parts.netloc and target.startswith("/")
        if local and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("notes.index")


@bp.route("/signup/", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("notes.index"))
    form = SignupForm()
    if form.validate_on_submit():
        address = form.email.data
        # The page answers the same whether or not the address has an account (anyone could ask);
        # the mail tells its owner which. The password is hashed either way, for equal timing.
        password_hash = hash_password(form.password.data)
        created = False
        if db.session.execute(select(User.id).where(User.email == address)).first() is None:
            db.session.add(User(email=address, password_hash=password_hash))
            try:
                db.session.commit()
                created = True
            except IntegrityError:  # the same address signed up concurrently
                db.session.rollback()
        if mail_allowed(address):
            _send_signup_mail(address, created)
        flash(
            "Thanks. We sent a message to that address: if it had no account yet, your account is ready "
            "and you can sign in with the password you chose.",
            "info",
        )
        return redirect(url_for("auth.signin"))
    return anonymous_form_page("auth/signup.html", form)


def _send_signup_mail(address: str, created: bool) -> None:
    signin_link = external_url("auth.signin")
    if created:
        send_mail(
            address,
            "Your Notejam account is ready",
            "Welcome to Notejam. Your account is ready: sign in here with the password you chose:\n\n"
            f"{signin_link}\n\n"
            "If you did not sign up, someone else used your address; you can ignore this message.\n",
        )
        return
    send_mail(
        address,
        "Someone tried to sign up to Notejam with your address",
        "Someone (hopefully you) tried to create a Notejam account with this address, which already has one. "
        "No new account was made and your password is unchanged.\n\n"
        f"Sign in here:\n\n{signin_link}\n\n"
        f"Forgot your password? Ask for a reset link here:\n\n{external_url('auth.forgot_password')}\n",
    )


# A valid hash to compare against when the email is unknown, so both paths cost the same time.
_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not a password", method=method)
    return _DUMMY_HASHES[method]


@bp.route("/signin/", methods=["GET", "POST"])
def signin():
    if current_user.is_authenticated:
        return redirect(safe_next_url(request.args.get("next")))
    form = SigninForm()
    if form.validate_on_submit():
        user = db.session.execute(select(User).where(User.email == form.email.data)).scalar_one_or_none()
        stored = user.password_hash if user else _dummy_hash()
        if check_password_hash(stored, form.password.data) and user is not None:
            start_session(user)
            flash("You are signed in.", "success")
            return redirect(safe_next_url(request.args.get("next")))
        form.password.errors.append("Wrong email or password.")
    return anonymous_form_page("auth/signin.html", form)


@bp.route("/signout/", methods=["GET", "POST"])
def signout():
    # Signing out changes state, so it takes a CSRF-protected POST; GET shows the button.
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        end_session()
        flash("You are signed out.", "success")
        return redirect(url_for("auth.signin"))
    if not current_user.is_authenticated:
        return redirect(url_for("auth.signin"))
    return render_template("auth/signout.html", form=form)


@bp.route("/settings/", methods=["GET", "POST"])
@login_required
def settings():
    form = SettingsForm()
    if form.validate_on_submit():
        user = db.session.get(User, current_user.id)
        if user is None:
            abort(404)
        if not check_password_hash(user.password_hash, form.old_password.data):
            form.old_password.errors.append("This is not your current password.")
        else:
            user.password_hash = hash_password(form.new_password.data)
            end_other_sessions(user.id)  # other devices sign in again with the new password
            db.session.commit()
            login_user(SignedInUser.from_user(user))  # the session carries the new password's fingerprint
            flash("Your password is changed.", "success")
            return redirect(url_for("notes.index"))
    return render_template("auth/settings.html", form=form)


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def make_reset_token(user: User) -> str:
    # The token names the password it may replace: once used (or the password changes by any
    # other way) the fingerprint no longer matches, so every link works once.
    return _reset_serializer().dumps({"u": user.id, "p": password_fingerprint(user.password_hash)})


def user_for_reset_token(token: str) -> User | None:
    try:
        payload = _reset_serializer().loads(token, max_age=current_app.config["RESET_TOKEN_MAX_AGE"])
    except BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        return None
    user = db.session.get(User, payload["u"])
    if user is None or not hmac.compare_digest(
        password_fingerprint(user.password_hash), str(payload.get("p"))
    ):
        return None
    return user


@bp.route("/forgot-password/", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = db.session.execute(select(User).where(User.email == form.email.data)).scalar_one_or_none()
        # Mails to one address are throttled silently (ratelimits.py): the answer stays the same.
        if mail_allowed(form.email.data) and user is not None:
            link = external_url("auth.reset_password", token=make_reset_token(user))
            hours = max(1, current_app.config["RESET_TOKEN_MAX_AGE"] // 3600)
            send_mail(
                user.email,
                "Reset your Notejam password",
                "Someone (hopefully you) asked to reset the password of your Notejam account.\n\n"
                f"Choose a new password here within {hours} hour(s); the link works once:\n\n{link}\n\n"
                "If you did not ask for this, ignore this message: your password stays as it is.\n",
            )
        # The same answer whether or not the address has an account.
        flash("If that address has an account, a link to reset its password is on its way.", "info")
        return redirect(url_for("auth.signin"))
    return anonymous_form_page("auth/forgot_password.html", form)


@bp.route("/reset-password/", methods=["GET", "POST"])
def reset_password():
    # The token travels in the query string, which the access log never records.
    token = request.args.get("token", "")
    user = user_for_reset_token(token) if token else None
    if user is None:
        flash("This reset link is invalid, used or expired. Ask for a new one.", "error")
        return redirect(url_for("auth.forgot_password"))
    form = NewPasswordForm()
    if form.validate_on_submit():
        # Check and write in one statement: of two requests racing with one link, the second
        # finds the password already changed and changes nothing.
        changed = db.session.execute(
            update(User)
            .where(User.id == user.id, User.password_hash == user.password_hash)
            .values(password_hash=hash_password(form.new_password.data)),
            execution_options={"synchronize_session": False},
        ).rowcount
        if changed != 1:
            db.session.rollback()
            flash("This reset link is invalid, used or expired. Ask for a new one.", "error")
            return redirect(url_for("auth.forgot_password"))
        db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))  # signed out everywhere
        db.session.commit()
        logout_user()
        _clear_session()
        flash("Your password is changed. Sign in with the new one.", "success")
        return redirect(url_for("auth.signin"))
    return render_template("auth/reset_password.html", form=form, token=token)
