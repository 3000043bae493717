"""Clients that fill in the public Contact form the way a browser does.

Each client has its own cookies and its own address, which the reverse proxy would pass in
``X-Real-IP`` (the smoke's web processes run with ``CLIENT_IP_HEADER=HTTP_X_REAL_IP``). For
each submission it loads the page, takes the CSRF token and the signed "form shown at" time, waits
the minimal fill time, posts the form as multipart (as the page's ``enctype`` says) and reads the
reference and the follow-up link on the confirmation page.
"""
from __future__ import annotations

import http.cookiejar
import re
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser

CONTACT_PATH = "/contact/"
DONE_PATH = "/contact/merci/"
# Ignore http_proxy & co.: the server under test is on the loopback.
_NO_PROXY = urllib.request.ProxyHandler({})


class _FormParser(HTMLParser):
    """The inputs, radio choices, select options and stylesheet links of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden: dict[str, str] = {}
        self.radios: dict[str, list[str]] = {}
        self.options: dict[str, list[str]] = {}
        self.stylesheets: list[str] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "input" and a.get("type") == "hidden":
            self.hidden[a.get("name", "")] = a.get("value", "")
        elif tag == "input" and a.get("type") == "radio":
            self.radios.setdefault(a.get("name", ""), []).append(a.get("value", ""))
        elif tag == "select":
            self._select = a.get("name", "")
            self.options[self._select] = []
        elif tag == "option" and self._select and a.get("value"):
            self.options[self._select].append(a["value"])
        elif tag == "link" and a.get("rel") == "stylesheet":
            self.stylesheets.append(a.get("href", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


@dataclass(frozen=True)
class FormPage:
    fields: dict[str, str]  # the hidden fields to send back: CSRF token, "started"
    radios: dict[str, list[str]]
    options: dict[str, list[str]]
    stylesheets: list[str]
    shown_at: float  # monotonic


@dataclass
class Submission:
    client: int
    number: int
    email: str
    status: int = 0
    reference: str = ""
    follow_up_url: str = ""
    get_seconds: float = 0.0
    post_seconds: float = 0.0  # the POST and its redirect to the confirmation page
    posted_at: float = 0.0  # monotonic, when the form was sent
    finished_at: float = 0.0  # monotonic
    error: str = ""


_REFERENCE = re.compile(r'data-testid="reference">([^<]+)<')
_FOLLOW_UP = re.compile(r'class="text-break">(https?://[^<]+)<')


def _multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "----smoke" + secrets.token_hex(12)
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class FormClient:
    """One browser at one client address."""

    def __init__(self, *, base_url: str, address: str, timeout: float = 30.0) -> None:
        self.base_url, self.address, self.timeout = base_url.rstrip("/"), address, timeout
        self.opener = urllib.request.build_opener(
            _NO_PROXY, urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def _request(self, path: str, *, data: bytes | None = None, content_type: str = "") -> urllib.request.Request:
        request = urllib.request.Request(self.base_url + path, data=data)  # noqa: S310 - our own http URL
        request.add_header("X-Real-IP", self.address)  # what the reverse proxy sets
        request.add_header("User-Agent", "prod-smoke")
        if data is not None:
            request.add_header("Content-Type", content_type)
            request.add_header("Origin", self.base_url)  # as a browser sends it with a POST
        return request

    def get(self, path: str) -> tuple[int, str, str]:
        """(status, final URL, body); an HTTP error status is returned, not raised."""
        try:
            with self.opener.open(self._request(path), timeout=self.timeout) as response:
                return response.status, response.url, response.read().decode("utf-8", errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.url, exc.read().decode("utf-8", errors="replace")

    def load_form(self) -> FormPage:
        status, _url, body = self.get(CONTACT_PATH)
        if status != 200:
            raise RuntimeError(f"GET {CONTACT_PATH}: HTTP {status}")
        parser = _FormParser()
        parser.feed(body)
        missing = {"csrfmiddlewaretoken", "started"} - set(parser.hidden)
        if missing:
            raise RuntimeError(f"GET {CONTACT_PATH}: no {', '.join(sorted(missing))} field on the page")
        return FormPage(
            fields={name: parser.hidden[name] for name in ("csrfmiddlewaretoken", "started")},
            radios=parser.radios,
            options=parser.options,
            stylesheets=parser.stylesheets,
            shown_at=time.monotonic(),
        )

    def post_form(self, page: FormPage, answers: dict[str, str]) -> tuple[int, str, str]:
        """Send the form back with ``answers``; (status, final URL, body) after the redirect."""
        body, content_type = _multipart({**page.fields, "website": "", **answers})
        request = self._request(CONTACT_PATH, data=body, content_type=content_type)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return response.status, response.url, response.read().decode("utf-8", errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.url, exc.read().decode("utf-8", errors="replace")


def answers_for(number: int, page: FormPage, email: str) -> dict[str, str]:
    """A plausible, valid filling of the form for submission ``number``, with the page's choices."""
    kinds = page.radios.get("kind") or ["complaint"]
    stakeholders = page.radios.get("stakeholder_type") or ["learner"]
    services = page.options.get("service") or []
    answers = {
        "kind": kinds[number % len(kinds)],
        "stakeholder_type": stakeholders[number % len(stakeholders)],
        "complainant_name": f"Client Essai {number:03d}",
        "complainant_email": email,
        "complainant_phone": f"06 12 34 {number // 100:02d} {number % 100:02d}",
        "training_action": "Sauveteur secouriste du travail, session de mars",
        "subject": f"Convocation reçue trop tard (essai {number:03d})",
        "description": (
            "La convocation à la session est arrivée la veille au soir : impossible de m'organiser.\n"
            f"Essai de charge n° {number:03d} — accents, guillemets « » et apostrophe ’ compris."
        ),
        "wished_solution": "Une nouvelle date de session.",
        "consent": "on",
    }
    if services:
        answers["service"] = services[number % len(services)]
    return answers


def submit_one(client: FormClient, *, client_index: int, number: int, email: str,
               fill_seconds: float) -> Submission:
    """Load the form, wait the minimal fill time, send it; never raises (errors are in the result)."""
    result = Submission(client=client_index, number=number, email=email)
    try:
        started = time.monotonic()
        page = client.load_form()
        result.get_seconds = time.monotonic() - started
        time.sleep(max(0.0, fill_seconds - (time.monotonic() - page.shown_at)))
        result.posted_at = time.monotonic()
        status, url, body = client.post_form(page, answers_for(number, page, email))
        result.post_seconds = time.monotonic() - result.posted_at
        result.status = status
        if status != 200 or not url.endswith(DONE_PATH):
            result.error = f"POST {CONTACT_PATH}: HTTP {status}, ended on {url}"
        elif (reference := _REFERENCE.search(body)) is None or (link := _FOLLOW_UP.search(body)) is None:
            result.error = "confirmation page without a reference or a follow-up link"
        else:
            result.reference, result.follow_up_url = reference.group(1).strip(), link.group(1).strip()
    except Exception as exc:  # a client's failure is a finding to report, not a crash of the run
        result.error = f"{type(exc).__name__}: {exc}"
    result.finished_at = time.monotonic()
    return result
