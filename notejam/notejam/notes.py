"""Notes and the note lists (all notes, and a pad's notes).

List pages run three queries whatever the number of notes: the signed-in user (auth.load_user),
their pads (the sidebar, which also proves pad ownership and names each note's pad), and one page
of notes; a list page served from the list cache runs only the first. Lists read plain rows, not
ORM objects: it is the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import bindparam, delete, select
from wtforms.fields.choices import SelectChoice

from .auth import PadRow
from .dates import current_day, humandate
from .db import db, read_rows
from .forms import ConfirmForm, NoteForm
from .models import MAX_ID, Note, utcnow
from .pagecache import CachedRows, cached_page, page_cache, placeholder_token

bp = Blueprint("notes", __name__)

ORDERS = {
    "name": (Note.name.asc(), Note.id.asc()),
    "-name": (Note.name.desc(), Note.id.desc()),
    "updated_at": (Note.updated_at.asc(), Note.id.asc()),
    "-updated_at": (Note.updated_at.desc(), Note.id.desc()),
}
DEFAULT_ORDER = "-updated_at"


def user_pads() -> list[PadRow]:
    """The signed-in user's pads as (id, name) rows, by name (one query per request at most)."""
    return current_user.pads


def owned_pad(pad_id: int) -> Any:
    """The user's pad with this id, or 404: another user's pad is indistinguishable from none."""
    for pad in user_pads():
        if pad.id == pad_id:
            return pad
    abort(404)


@dataclass
class NotePage:
    rows: Markup  # the rendered <tr> rows
    count: int
    order: str
    page: int
    has_next: bool


def _list_statement(for_pad: bool, order: str) -> Any:
    # Pad names come from the sidebar's pads (already loaded), not from a join.
    columns = [Note.id, Note.name, Note.updated_at, Note.pad_id]
    query = select(*columns).where(Note.user_id == bindparam("user_id"))
    if for_pad:
        # user_id too: the pad is the user's (checked), and the index on pad_id serves this.
        query = query.where(Note.pad_id == bindparam("pad_id"))
    return query.order_by(*ORDERS[order]).limit(bindparam("limit")).offset(bindparam("offset"))


# One statement per kind of list, built (and compiled, db.read_rows) once per process.
LIST_STATEMENTS = {
    (for_pad, order): _list_statement(for_pad, order) for for_pad in (False, True) for order in ORDERS
}


def _list_rows(pad_id: int | None, order: str, page: int, per_page: int) -> list[tuple[Any, ...]]:
    parameters = {"user_id": current_user.id, "limit": per_page + 1, "offset": (page - 1) * per_page}
    if pad_id is not None:
        parameters["pad_id"] = pad_id
    return read_rows(LIST_STATEMENTS[(pad_id is not None, order)], parameters)


@dataclass(frozen=True)
class ListRequest:
    pad_id: int | None
    order: str
    page: int
    per_page: int
    day: int  # "Today at" and "Yesterday at" change at midnight (UTC)

    @property
    def key(self) -> tuple[Any, ...]:
        """The list cache's key: any write to the user's pads or notes changes the data version,
        read with the user in this request (pagecache.py)."""
        user = current_user._get_current_object()
        return (
            user.id,
            user.created_at,  # an account id reused after a deletion is another user
            user.data_version,
            self.pad_id,
            self.order,
            self.page,
            self.per_page,
            request.script_root,
            self.day,
        )


def parse_id(value: str) -> int | None:
    """A database id from user input (a form field, a query argument), or None.

    ASCII digits only (``str.isdigit`` takes "²", which ``int`` refuses) and within what the
    tables hold, so nothing a client sends can reach the database as an out-of-range integer.
    """
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


def list_request(pad_id: int | None = None) -> ListRequest:
    order = request.args.get("order", DEFAULT_ORDER)
    if order not in ORDERS:
        order = DEFAULT_ORDER
    per_page = current_app.config["NOTES_PER_PAGE"]
    raw_page = request.args.get("page", "1")
    page = parse_id(raw_page)
    if page is None or (page - 1) * per_page > MAX_ID:
        abort(404)  # no such page (past the last one is a 404 too: list_notes)
    return ListRequest(pad_id, order, page, per_page, current_day())


def list_notes(wanted: ListRequest, key: tuple[Any, ...] | None = None) -> NotePage:
    """One page of the user's notes (or a pad's), its rows rendered, from the list cache if there."""
    cache = page_cache()
    key = ("rows", *(key or wanted.key))
    entry = cache.get(key)
    if entry is None:
        # Core, not ORM: plain rows are all the rendering needs, at a fraction of the cost.
        rows = _list_rows(wanted.pad_id, wanted.order, wanted.page, wanted.per_page)
        notes = rows[: wanted.per_page]
        if not notes and wanted.page > 1:
            # Past the last page: a 404, and nothing cached, so that page numbers cost no memory.
            abort(404)
        html = note_rows(notes, with_pad=wanted.pad_id is None, day=wanted.day)
        entry = CachedRows(html, len(notes), len(rows) > wanted.per_page)
        cache.put(key, entry)
    return NotePage(
        rows=entry.html, count=entry.count, order=wanted.order, page=wanted.page, has_next=entry.has_next
    )


def list_page(pad_id: int | None) -> str:
    """A note list page (all notes, or a pad's): from the list cache when it can be.

    The cached page holds everything but the CSRF token, which is put in for every request
    (pagecache.fill_csrf_token, as the template would); a page with a flashed message to show is rendered
    in full (its rows may still come from the cache).

    A pad page is looked up in the cache before the pad's ownership is checked: only a page made
    after that check is ever cached, under this user's id and data version, and a pad never
    changes hands (deleting it bumps the version), so a cached page proves the pad is theirs.
    """
    wanted = list_request(pad_id)
    key = wanted.key
    if "_flashes" in session:
        pad = owned_pad(pad_id) if pad_id is not None else None
        listing = list_notes(wanted, key)
        return render_template("notes/list.html", listing=listing, pad=pad, pads=user_pads())
    page_key = ("page", current_user.email, *key)

    def render() -> str:
        pad = owned_pad(pad_id) if pad_id is not None else None  # 404 before anything is cached
        listing = list_notes(wanted, key)
        return render_template(
            "notes/list.html", listing=listing, pad=pad, pads=user_pads(), csrf_token=placeholder_token
        )

    return cached_page(page_key, render)


def note_rows(notes: list[Any], with_pad: bool, day: int | None = None) -> Markup:
    """The <tr> rows of a note list.

    Python rather than a Jinja loop: a 50-row list spent most of its render time in per-row
    template calls. Every user-supplied value still goes through escape(). Links come from
    url_for, as the templates' do: rows are cached, so it costs once per version of a list.
    """
    pad_names = {pad.id: pad.name for pad in user_pads()} if with_pad else {}
    parts = []
    for note_id, name, updated_at, note_pad_id in notes:
        link = escape(url_for("notes.detail", note_id=note_id))
        parts.append(f'<tr><td class="name"><a href="{link}">{escape(name)}</a></td>')
        if with_pad:
            if note_pad_id:
                pad_name = escape(pad_names.get(note_pad_id, ""))
                pad_link = escape(url_for("pads.detail", pad_id=note_pad_id))
                parts.append(f'<td class="pad"><a href="{pad_link}">{pad_name}</a></td>')
            else:
                parts.append('<td class="pad"><span class="muted">No pad</span></td>')
        parts.append(f'<td class="date">{humandate(updated_at, day=day)}</td></tr>\n')
    return Markup("".join(parts))  # noqa: S704 - built from escaped values and integers


@bp.route("/")
@login_required
def index():
    return list_page(None)


def owned_note_or_404(note_id: int) -> Note:
    note = db.session.execute(
        select(Note).where(Note.id == note_id, Note.user_id == current_user.id)
    ).scalar_one_or_none()
    if note is None:
        abort(404)
    return note


def _note_form(note: Note | None = None) -> NoteForm:
    form = NoteForm(obj=note)
    form.pad.choices = [SelectChoice("", "No pad")]
    form.pad.choices += [SelectChoice(str(pad.id), pad.name) for pad in user_pads()]
    if request.method == "POST":
        # A pad that is not the user's is a 404 like any other foreign object, not a form error.
        chosen = request.form.get("pad", "")
        if chosen:
            chosen_id = parse_id(chosen)
            if chosen_id is None:
                abort(404)
            owned_pad(chosen_id)
    elif note is not None:
        form.pad.data = str(note.pad_id) if note.pad_id else ""
    return form


def _chosen_pad_id(form: NoteForm) -> int | None:
    return int(form.pad.data) if form.pad.data else None


@bp.route("/notes/create/", methods=["GET", "POST"])
@login_required
def create():
    form = _note_form()
    if request.method == "GET":
        preselect = request.args.get("pad", "")
        if preselect:
            preselect_id = parse_id(preselect)
            if preselect_id is None:
                abort(404)
            form.pad.data = str(owned_pad(preselect_id).id)
    if form.validate_on_submit():
        now = utcnow()
        note = Note(
            user_id=current_user.id,
            pad_id=_chosen_pad_id(form),
            name=form.name.data,
            text=form.text.data,
            created_at=now,
            updated_at=now,
        )
        db.session.add(note)
        db.session.commit()
        flash("The note is saved.", "success")
        return redirect(url_for("notes.detail", note_id=note.id))
    return render_template("notes/form.html", form=form, note=None, pads=user_pads())


class NoteRow(NamedTuple):
    id: int
    name: str
    text: str
    updated_at: Any
    pad_id: int | None


_NOTE_ROW = select(Note.id, Note.name, Note.text, Note.updated_at, Note.pad_id).where(
    Note.id == bindparam("note_id"), Note.user_id == bindparam("user_id")
)


@bp.route("/notes/<int:note_id>/")
@login_required
def detail(note_id: int):
    # A plain row in one round trip (db.read_rows): the page only shows the note.
    rows = read_rows(_NOTE_ROW, {"note_id": note_id, "user_id": current_user.id})
    if not rows:
        abort(404)
    note = NoteRow(*rows[0])
    pad = owned_pad(note.pad_id) if note.pad_id else None
    return render_template("notes/detail.html", note=note, pad=pad, pads=user_pads())


@bp.route("/notes/<int:note_id>/edit/", methods=["GET", "POST"])
@login_required
def edit(note_id: int):
    note = owned_note_or_404(note_id)
    form = _note_form(note)
    if form.validate_on_submit():
        note.name = form.name.data
        note.text = form.text.data
        note.pad_id = _chosen_pad_id(form)
        note.updated_at = utcnow()
        db.session.commit()
        flash("The note is saved.", "success")
        # note_id, not note.id: the commit expired the note, and reading it would reload it.
        return redirect(url_for("notes.detail", note_id=note_id))
    return render_template("notes/form.html", form=form, note=note, pads=user_pads())


@bp.route("/notes/<int:note_id>/delete/", methods=["GET", "POST"])
@login_required
def delete_note(note_id: int):
    note = owned_note_or_404(note_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        pad_id = note.pad_id
        db.session.execute(delete(Note).where(Note.id == note.id, Note.user_id == current_user.id))
        db.session.commit()
        flash("The note is deleted.", "success")
        if pad_id:
            return redirect(url_for("pads.detail", pad_id=pad_id))
        return redirect(url_for("notes.index"))
    return render_template("notes/delete.html", form=form, note=note, pads=user_pads())
