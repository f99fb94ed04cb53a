"""The page cache (notejam/pagecache.py): rendered lists and pages keyed by the user's data version.

Every write to a user's pads or notes bumps users.data_version in the same transaction, so a
list never shows rows older than the last write, in this worker or in any other.
"""

import re

import pytest
from sqlalchemy import delete, insert, select, update
from werkzeug.security import generate_password_hash

from notejam.db import db
from notejam.models import User
from notejam.pagecache import CSRF_PLACEHOLDER, CachedRows, PageCache, page_cache, store_page

from .conftest import PASSWORD, AuthActions
from .test_csrf import csrf_token_in, sign_up_and_in


def note_names(page: bytes) -> list[str]:
    return re.findall(r'<td class="name"><a href="/notes/\d+/">([^<]*)</a>', page.decode())


def version_of(app, email: str = "alice@example.com") -> int:
    with app.app_context():
        return db.session.execute(select(User.data_version).where(User.email == email)).scalar_one()


def test_a_repeated_list_is_served_from_the_cache_with_one_query(
    client, auth, make_pad, make_note, count_queries
):
    auth.signup_and_signin()
    pad = make_pad("Work")
    for number in range(3):
        make_note(f"n{number}", pad=pad)
    flashed = client.get("/")  # shows make_note's flash, so it is rendered in full
    assert b"The note is saved." in flashed.data
    first = client.get("/")
    counter = count_queries()
    again = client.get("/")
    assert again.status_code == 200
    assert note_names(again.data) == note_names(first.data) == ["n2", "n1", "n0"]
    assert counter.count == 1, counter.statements  # the user, with their data version
    # The page around the rows stays dynamic: the CSRF token field is there on every request.
    assert b'name="csrf_token"' in again.data


def test_the_cache_is_bounded_and_can_be_turned_off(make_app, record_statements):
    cache = PageCache(2)
    for number in range(3):
        cache.put((number,), CachedRows("", 0, False))
        cache.get((0,))  # keep the first one recently used
    assert len(cache) == 2 and cache.get((0,)) is not None and cache.get((1,)) is None

    app = make_app(LIST_CACHE_SIZE=0)
    client = app.test_client()
    AuthActions(client).signup_and_signin()
    client.get("/")
    statements = record_statements(app)
    client.get("/")
    assert len(statements) == 3  # the user, their pads, then the notes: nothing cached


def test_every_write_shows_in_the_next_list(client, auth, make_pad, make_note):
    auth.signup_and_signin()
    work = make_pad("Work")
    home = make_pad("Home")
    kept = make_note("kept", pad=home)
    make_note("doomed", pad=work)
    app = client.application
    versions = [version_of(app)]

    def lists():
        # Both lists warm (cached) before every write.
        return client.get("/").data.decode(), client.get(f"/pads/{work}/").data.decode()

    def wrote():
        versions.append(version_of(app))
        assert versions[-1] > versions[-2], "a write did not bump the data version"

    lists()
    created = make_note("fresh", pad=work)
    wrote()
    everything, work_page = lists()
    assert "fresh" in everything and "fresh" in work_page

    assert (
        client.post(
            f"/notes/{created}/edit/", data={"name": "renamed", "text": "t", "pad": str(work)}
        ).status_code
        == 302
    )
    wrote()
    everything, work_page = lists()
    assert "renamed" in everything and "fresh" not in everything and "renamed" in work_page

    assert (
        client.post(f"/notes/{kept}/edit/", data={"name": "kept", "text": "t", "pad": str(work)}).status_code
        == 302
    )
    wrote()
    _everything, work_page = lists()
    assert "kept" in work_page  # moved into the pad

    assert client.post(f"/notes/{created}/delete/").status_code == 302
    wrote()
    everything, work_page = lists()
    assert "renamed" not in everything and "renamed" not in work_page

    assert client.post(f"/pads/{work}/edit/", data={"name": "Office"}).status_code == 302
    wrote()
    everything, _work_page = lists()
    assert ">Office</a></td>" in everything and ">Work</a></td>" not in everything  # the rows' pad column

    make_pad("Spare")
    wrote()

    assert client.post(f"/pads/{work}/delete/").status_code == 302  # cascades to its notes
    wrote()
    everything = client.get("/").data.decode()
    assert note_names(everything.encode()) == []  # "kept" and "doomed" went with the pad
    assert client.get(f"/pads/{work}/").status_code == 404


def test_a_failed_form_does_not_bump_the_version(client, auth):
    auth.signup_and_signin()
    before = version_of(client.application)
    assert client.post("/notes/create/", data={"name": "", "text": ""}).status_code == 200
    assert version_of(client.application) == before


def test_a_write_through_another_worker_shows_here(make_app, database_url):
    # Two apps stand for two gunicorn workers (or two ECS tasks), each with its own cache.
    here, there = make_app(), make_app()
    here_client, there_client = here.test_client(), there.test_client()
    AuthActions(here_client).signup_and_signin()
    AuthActions(there_client).signin()
    assert (
        there_client.post("/notes/create/", data={"name": "one", "text": "t", "pad": ""}).status_code == 302
    )
    assert note_names(here_client.get("/").data) == ["one"]  # cached here now
    assert (
        there_client.post("/notes/create/", data={"name": "two", "text": "t", "pad": ""}).status_code == 302
    )
    assert note_names(here_client.get("/").data) == ["two", "one"]


def test_another_users_rows_are_never_served(make_app):
    app = make_app()
    alice, bob = app.test_client(), app.test_client()
    AuthActions(alice).signup_and_signin("alice@example.com")
    AuthActions(bob).signup_and_signin("bob@example.com")
    assert alice.post("/notes/create/", data={"name": "alices", "text": "t", "pad": ""}).status_code == 302
    assert bob.post("/notes/create/", data={"name": "bobs", "text": "t", "pad": ""}).status_code == 302
    for _ in range(2):
        assert note_names(alice.get("/").data) == ["alices"]
        assert note_names(bob.get("/").data) == ["bobs"]


def test_a_reused_account_id_does_not_see_the_old_accounts_rows(make_app):
    # Same id, same data version (0 after one bump each way is not needed: both start at 0 here),
    # different account: the cache key holds the account's creation time too.
    app = make_app()
    old = app.test_client()
    AuthActions(old).signup_and_signin("old@example.com")
    assert old.post("/notes/create/", data={"name": "old secret", "text": "t", "pad": ""}).status_code == 302
    assert note_names(old.get("/").data) == ["old secret"]  # cached
    with app.app_context():
        row = db.session.execute(
            select(User.id, User.data_version).where(User.email == "old@example.com")
        ).one()
        db.session.execute(delete(User).where(User.id == row.id))  # cascades to the notes
        db.session.execute(
            insert(User).values(
                id=row.id,
                email="new@example.com",
                password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"),
                data_version=row.data_version,
            )
        )
        db.session.commit()
    new = app.test_client()
    AuthActions(new).signin("new@example.com")
    assert note_names(new.get("/").data) == []


def test_today_becomes_yesterday_at_midnight(client, auth, make_note, monkeypatch):
    auth.signup_and_signin()
    make_note("late")
    assert "Today at" in client.get("/").data.decode()  # now cached for today
    import notejam.notes

    tomorrow = notejam.notes.current_day() + 1
    monkeypatch.setattr(notejam.notes, "current_day", lambda: tomorrow)
    page = client.get("/").data.decode()
    assert "Yesterday at" in page and "Today at" not in page


@pytest.mark.parametrize("path", ["/", "/?order=name", "/?order=name&page=2"])
def test_order_and_page_are_part_of_the_key(make_app, path):
    app = make_app(NOTES_PER_PAGE=2)
    client = app.test_client()
    AuthActions(client).signup_and_signin()
    for name in ("b", "c", "a"):
        assert client.post("/notes/create/", data={"name": name, "text": "t", "pad": ""}).status_code == 302
    expected = {"/": ["a", "c"], "/?order=name": ["a", "b"], "/?order=name&page=2": ["c"]}
    for _ in range(2):
        for each in ("/", "/?order=name", "/?order=name&page=2"):
            assert note_names(client.get(each).data) == expected[each]
    with app.app_context():
        db.session.execute(update(User).values(email=User.email))  # no bump: nothing changes
        db.session.commit()
    assert note_names(client.get(path).data) == expected[path]


def test_a_cached_page_carries_a_working_csrf_token_of_its_own_session(make_app):
    # The whole list page is cached with a placeholder for the CSRF token; each request gets the
    # token of its own session, and the sign-out form on a cached page works.
    app = make_app(WTF_CSRF_ENABLED=True)
    sessions = []
    for email in ("one@example.com", "two@example.com"):
        client = app.test_client()
        sign_up_and_in(client, email)
        sessions.append(client)
    one, two = sessions
    one.get("/")  # the flash of the sign-in; then the page is cached
    first, cached = one.get("/").data, one.get("/").data
    assert b"csrf-" not in cached and csrf_token_in(cached)
    assert cached.replace(csrf_token_in(cached).encode(), b"") == first.replace(
        csrf_token_in(first).encode(), b""
    )
    two.get("/")
    other = two.get("/").data
    assert b"two@example.com" in other and b"one@example.com" not in other
    assert two.post("/signout/", data={"csrf_token": csrf_token_in(cached)}).status_code == 400  # one's token
    assert one.post("/signout/", data={"csrf_token": csrf_token_in(cached)}).status_code == 302


def test_a_flash_message_shows_on_a_cached_list_page_once(client, auth, make_note):
    auth.signup_and_signin()
    make_note("kept")
    client.get("/")
    client.get("/")  # cached now
    auth.signout()
    auth.signin()  # flashes "You are signed in." and leaves the data version as it was
    page = client.get("/").data
    assert b"You are signed in." in page and note_names(page) == ["kept"]
    again = client.get("/").data
    assert b"You are signed in." not in again and note_names(again) == ["kept"]
    note = make_note("gone")
    assert client.post(f"/notes/{note}/delete/").status_code == 302
    page = client.get("/").data
    assert b"The note is deleted." in page and note_names(page) == ["kept"]


def test_a_cached_pad_page_is_still_a_404_for_anyone_else_and_once_deleted(make_app, record_statements):
    # Pad pages are looked up in the cache before the pad's ownership is checked (notes.list_page).
    app = make_app()
    alice, bob = app.test_client(), app.test_client()
    AuthActions(alice).signup_and_signin("alice@example.com")
    AuthActions(bob).signup_and_signin("bob@example.com")
    created = alice.post("/pads/create/", data={"name": "Private"})
    pad = int(re.search(r"/pads/(\d+)/", created.headers["Location"]).group(1))
    alice.get(f"/pads/{pad}/")  # shows the "created" flash: rendered in full
    assert alice.get(f"/pads/{pad}/").status_code == 200  # now cached
    statements = record_statements(app)
    assert alice.get(f"/pads/{pad}/").status_code == 200
    assert len(statements) == 1, statements  # from the cache: only the user was read
    for path in (f"/pads/{pad}/", f"/pads/{pad}/?order=name"):
        assert bob.get(path).status_code == 404
    assert alice.post(f"/pads/{pad}/delete/").status_code == 302
    assert alice.get(f"/pads/{pad}/").status_code == 404


def test_every_write_shows_in_the_next_note_page_and_sidebar(client, auth, make_pad, make_note):
    """The note page reads outside the request's transaction and the sidebar's pads come from the
    cache under the data version: each write still shows in the very next page."""
    auth.signup_and_signin()
    work = make_pad("Work")
    note = make_note("first", text="first text", pad=work)

    def note_page() -> str:
        response = client.get(f"/notes/{note}/")
        assert response.status_code == 200
        return response.data.decode()

    assert "first text" in note_page() and ">Work</a>" in note_page()  # pads now cached
    assert (
        client.post(f"/notes/{note}/edit/", data={"name": "second", "text": "second text", "pad": str(work)})
    ).status_code == 302
    page = note_page()
    assert "second text" in page and "first text" not in page
    assert client.post(f"/pads/{work}/edit/", data={"name": "Office"}).status_code == 302
    page = note_page()
    assert ">Office</a>" in page and ">Work</a>" not in page  # the note's pad and the sidebar
    spare = make_pad("Spare")
    assert f'href="/pads/{spare}/"' in note_page()  # a new pad shows in the sidebar at once
    assert client.post(f"/pads/{spare}/delete/").status_code == 302
    assert f'href="/pads/{spare}/"' not in note_page()
    assert client.post(f"/notes/{note}/delete/").status_code == 302
    assert client.get(f"/notes/{note}/").status_code == 404


def test_a_page_holding_the_sessions_csrf_token_is_never_stored(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.test_request_context("/"):
        from flask import session
        from flask_wtf.csrf import generate_csrf

        signed = generate_csrf()
        cache = page_cache()
        assert not store_page(("leaky",), f"<input value={signed}>")
        assert not store_page(("raw",), f"<p>{session['csrf_token']}</p>")
        assert cache.get(("leaky",)) is None and cache.get(("raw",)) is None
        assert store_page(("safe",), f"<input value={CSRF_PLACEHOLDER}>")
        assert cache.get(("safe",)) is not None


def test_a_form_page_rendered_with_the_visitors_token_is_not_cached(make_app, monkeypatch):
    # A template that called the real csrf_token() shows the visitor's token: store_page refuses
    # the page, and the next visitor gets their own token, not the first one's.
    from flask_wtf.csrf import generate_csrf

    import notejam.pagecache

    real_render = notejam.pagecache.render_template
    monkeypatch.setattr(
        notejam.pagecache,
        "render_template",
        lambda *args, **kwargs: real_render(*args, **kwargs) + f'<i id="leak">{generate_csrf()}</i>',
    )
    app = make_app(WTF_CSRF_ENABLED=True)
    first, second = app.test_client(), app.test_client()
    one, two = first.get("/signin/").data.decode(), second.get("/signin/").data.decode()
    assert csrf_token_in(one.encode()) != csrf_token_in(two.encode())
    assert csrf_token_in(one.encode()) not in two
    assert len(app.extensions["notejam.page_cache"]) == 0


def test_note_rows_link_through_url_for_under_a_script_root(client, auth, make_pad, make_note):
    auth.signup_and_signin()
    pad = make_pad("Work")
    note = make_note("linked", pad=pad)
    page = client.get("/", base_url="http://localhost/app").data.decode()
    assert f'href="/app/notes/{note}/"' in page and f'href="/app/pads/{pad}/"' in page
