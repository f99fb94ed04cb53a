"""Pads: named groups of notes. Deleting a pad deletes its notes (ON DELETE CASCADE)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import delete, func, select, update

from .dataversion import lock_user
from .db import db
from .forms import ConfirmForm, PadForm
from .models import Pad
from .notes import list_page, owned_pad, user_pads

bp = Blueprint("pads", __name__, url_prefix="/pads")


@bp.route("/create/", methods=["GET", "POST"])
@login_required
def create():
    form = PadForm()
    if form.validate_on_submit():
        # The user's row locked first: concurrent creates queue here, so the count below cannot
        # be passed by two of them at once.
        lock_user(db.session, current_user.id)
        quota = current_app.config["MAX_PADS_PER_USER"]
        owned = db.session.execute(
            select(func.count()).select_from(Pad).where(Pad.user_id == current_user.id)
        ).scalar_one()
        if owned >= quota:
            db.session.rollback()
            form.name.errors.append(
                f"You have {owned} pads, the most an account can have. Delete one to make room."
            )
        else:
            pad = Pad(user_id=current_user.id, name=form.name.data)
            db.session.add(pad)
            db.session.commit()
            flash("The pad is created.", "success")
            return redirect(url_for("pads.detail", pad_id=pad.id))
    return render_template("pads/form.html", form=form, pad=None, pads=user_pads())


@bp.route("/<int:pad_id>/")
@login_required
def detail(pad_id: int):
    return list_page(pad_id)  # checks that the pad is the user's (404 otherwise)


@bp.route("/<int:pad_id>/edit/", methods=["GET", "POST"])
@login_required
def edit(pad_id: int):
    pad = owned_pad(pad_id)
    form = PadForm(data={"name": pad.name})
    if form.validate_on_submit():
        db.session.execute(
            update(Pad).where(Pad.id == pad.id, Pad.user_id == current_user.id).values(name=form.name.data)
        )
        db.session.commit()
        flash("The pad is saved.", "success")
        return redirect(url_for("pads.detail", pad_id=pad.id))
    return render_template("pads/form.html", form=form, pad=pad, pads=user_pads())


@bp.route("/<int:pad_id>/delete/", methods=["GET", "POST"])
@login_required
def delete_pad(pad_id: int):
    pad = owned_pad(pad_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        # The database deletes the pad's notes through the foreign key's ON DELETE CASCADE.
        db.session.execute(delete(Pad).where(Pad.id == pad.id, Pad.user_id == current_user.id))
        db.session.commit()
        flash("The pad and its notes are deleted.", "success")
        return redirect(url_for("notes.index"))
    return render_template("pads/delete.html", form=form, pad=pad, pads=user_pads())
