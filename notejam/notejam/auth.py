"""Accounts: sign up, sign in and out, settings, and password reset by a single-use link."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from .db import db, read_row
from .forms import ConfirmForm, ForgotPasswordForm, NewPasswordForm, SettingsForm, SigninForm, SignupForm
from .mail import send_mail
from .models import Pad, User, password_fingerprint
from .sessions import anonymous_form_page

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.signin"
login_manager.login_message = "Please sign in to see this page."
login_manager.login_message_category = "info"

RESET_SALT = "notejam.password-reset"


class PadRow(NamedTuple):
    id: int
    name: str


class SignedInUser(UserMixin):
    """The signed-in user for the request: a plain row, not an ORM object.

    It is loaded on every signed-in request by primary key, the cheapest query there is, in one
    round trip outside the request's transaction (db.read_row). The user's pads (the sidebar, and
    the proof that a pad is theirs) are read on first use, which a list page served from the list
    cache never needs. Views that change the account load the ORM ``User``. The data version
    (with the account's creation time) keys the list cache (listcache.py).
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

    @property
    def pads(self) -> list[PadRow]:
        """The user's pads as (id, name) rows, by name; one query, on first use in the request."""
        if self._pads is None:
            self._pads = read_pads(self.id)
        return self._pads

    def get_id(self) -> str:
        return f"{self.id}:{password_fingerprint(self.password_hash)}"


_LOAD_USER = select(User.id, User.email, User.password_hash, User.data_version, User.created_at).where(
    User.id == bindparam("user_id")
)
_USER_PADS = select(Pad.id, Pad.name).where(Pad.user_id == bindparam("user_id")).order_by(Pad.name, Pad.id)


def read_pads(user_id: int) -> list[PadRow]:
    """A user's pads as (id, name) rows, by name."""
    return [PadRow(*row) for row in db.session.connection().execute(_USER_PADS, {"user_id": user_id})]


@login_manager.user_loader
def load_user(session_user_id: str) -> SignedInUser | None:
    user_id, _, fingerprint = session_user_id.partition(":")
    if not user_id.isdigit():
        return None
    row = read_row(_LOAD_USER, {"user_id": int(user_id)})
    if row is None:
        return None
    user = SignedInUser(*row)
    if not hmac.compare_digest(password_fingerprint(user.password_hash), fingerprint):
        return None
    return user


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def safe_next_url(target: str | None) -> str:
    """Follow ?next= only to a path on this site, never to another host."""
    if target:
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
        exists = db.session.execute(select(User.id).where(User.email == form.email.data)).first()
        if exists is None:
            db.session.add(User(email=form.email.data, password_hash=hash_password(form.password.data)))
            try:
                db.session.commit()
            except IntegrityError:  # the same address signed up concurrently
                db.session.rollback()
                exists = True
        if exists is None:
            flash("Your account is ready. Sign in to start taking notes.", "success")
            return redirect(url_for("auth.signin"))
        form.email.errors.append("An account with this email already exists.")
    return anonymous_form_page("auth/signup.html", form)


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
            login_user(user)
            flash("You are signed in.", "success")
            return redirect(safe_next_url(request.args.get("next")))
        form.password.errors.append("Wrong email or password.")
    return anonymous_form_page("auth/signin.html", form)


@bp.route("/signout/", methods=["GET", "POST"])
def signout():
    # Signing out changes state, so it takes a CSRF-protected POST; GET shows the button.
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        logout_user()
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
            db.session.commit()
            login_user(user)  # the session carries the new password's fingerprint
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
        if user is not None:
            link = url_for("auth.reset_password", token=make_reset_token(user), _external=True)
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
        user.password_hash = hash_password(form.new_password.data)
        db.session.commit()
        logout_user()
        flash("Your password is changed. Sign in with the new one.", "success")
        return redirect(url_for("auth.signin"))
    return render_template("auth/reset_password.html", form=form, token=token)
