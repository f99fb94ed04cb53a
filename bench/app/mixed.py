"""The mixed workload of the Notejam benchmark: many signed-in users reading and editing.

Seeding goes through the app over HTTP, as users would: each user signs up, signs in, creates
their pads and notes with the app's own forms (CSRF tokens and all). The users file handed to
wrk (bench/app/mixed.lua) holds each user's session cookie, CSRF token, pads and notes.
"""

from __future__ import annotations

import http.cookiejar
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PER_PAGE = 50  # NOTES_PER_PAGE, the app's default
PASSWORD = "mixed benchmark password"  # noqa: S105 - throwaway accounts in a throwaway database


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class SeededUser:
    email: str
    cookie: str = ""
    csrf: str = ""
    pads: dict[int, int] = field(default_factory=dict)  # pad id -> its number of notes
    notes: dict[int, int] = field(default_factory=dict)  # note id -> pad id (0: no pad)

    def line(self) -> str:
        pages = max(1, math.ceil(len(self.notes) / PER_PAGE))
        pads = ",".join(f"{pad}:{max(1, math.ceil(n / PER_PAGE))}" for pad, n in self.pads.items())
        notes = ",".join(f"{note}:{pad}" for note, pad in self.notes.items())
        return "\t".join([self.cookie, self.csrf, str(pages), pads, notes])


class Browser:
    """One user's browser: a cookie jar, a user agent, redirects not followed."""

    def __init__(self, base: str, user_agent: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)
        self.opener.addheaders = [("User-Agent", user_agent)]

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path: str, form: dict[str, str]) -> str:
        """POST a form; the Location it redirects to (a form that answers 200 failed validation)."""
        data = urllib.parse.urlencode(form).encode()
        try:
            with self.opener.open(self.base + path, data=data, timeout=30) as response:
                raise RuntimeError(
                    f"POST {path} answered {response.status}, not a redirect: the form was refused"
                )
        except urllib.error.HTTPError as answer:
            if answer.code in (301, 302, 303):
                return answer.headers["Location"]
            raise

    def token(self, path: str) -> str:
        return TOKEN.search(self.get(path)).group(1)

    def cookie(self) -> str:
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.jar)


def _id_from(location: str, kind: str) -> int:
    return int(re.search(rf"/{kind}/(\d+)/$", location).group(1))


def seed_user(base: str, user_agent: str, number: int, pads: int, notes: int) -> SeededUser:
    user = SeededUser(email=f"mixed{number:03d}@example.com")
    browser = Browser(base, user_agent)
    token = browser.token("/signup/")
    browser.post(
        "/signup/",
        {"csrf_token": token, "email": user.email, "password": PASSWORD, "repeat_password": PASSWORD},
    )
    token = browser.token("/signin/")
    landed = browser.post("/signin/", {"csrf_token": token, "email": user.email, "password": PASSWORD})
    if urllib.parse.urlsplit(landed).path != "/":
        raise RuntimeError(f"sign-in of {user.email} landed on {landed}")
    token = browser.token("/pads/create/")  # the session's token serves every form of the session
    pad_ids = []
    for n in range(pads):
        location = browser.post("/pads/create/", {"csrf_token": token, "name": f"Pad {n + 1}"})
        pad_ids.append(_id_from(location, "pads"))
        user.pads[pad_ids[-1]] = 0
    for n in range(notes):
        # Every sixth note has no pad; the rest spread over the pads.
        pad = 0 if n % 6 == 5 or not pad_ids else pad_ids[n % len(pad_ids)]
        form = {
            "csrf_token": token,
            "name": f"Note {n:04d}: groceries, plans & ideas",
            "text": ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 8).strip(),
            "pad": str(pad) if pad else "",
        }
        location = browser.post("/notes/create/", form)
        note_id = _id_from(location, "notes")
        user.notes[note_id] = pad
        if n % 10 == 9:
            # Now and then follow the redirect, as the browser does every time: showing the note
            # page takes the flashed messages out of the session cookie, which would grow.
            browser.get(urllib.parse.urlsplit(location).path)
        if pad:
            user.pads[pad] += 1
    # The signed-in session as wrk will send it; the sign-in's flash was consumed by the list.
    browser.get("/")
    user.cookie, user.csrf = browser.cookie(), token
    return user


def seed_over_http(
    base: str, user_agent: str, users: int, pads: int, notes: int, parallel: int = 4
) -> list[SeededUser]:
    with ThreadPoolExecutor(parallel) as pool:
        futures = [pool.submit(seed_user, base, user_agent, n, pads, notes) for n in range(users)]
        return [future.result() for future in futures]


def write_users_file(users: list[SeededUser], path: Path) -> None:
    path.write_text("".join(user.line() + "\n" for user in users))
    path.chmod(0o600)
