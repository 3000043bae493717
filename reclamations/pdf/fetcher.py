"""The only way WeasyPrint may read anything: the app's own static files and the resources we hand it.

WeasyPrint fetches every URL a document names (stylesheets, images, fonts, ``<link rel=attachment>``
files it would embed in the PDF). Records hold text typed by clients; templates escape it, and this
fetcher is the second wall: whatever a document asks for, it can read

- ``https://pdf.invalid/static/<path>``: a file found by Django's static files finders (or in
  ``STATIC_ROOT``), with an extension from a short list;
- ``https://pdf.invalid/_resources/<name>``: bytes prepared in Python beforehand (the logo, read
  from private storage and checked there).

Everything else is refused without being opened: ``file:``, ``http(s):`` to any other host, ``data:``,
``ftp:``... ``.invalid`` is reserved (RFC 2606) and never resolves, and nothing here opens a socket.
"""
from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.utils._os import safe_join

HOST = "pdf.invalid"
BASE_URL = f"https://{HOST}/"
RESOURCES_PATH = "/_resources/"
STATIC_EXTENSIONS = frozenset({".css", ".png", ".jpg", ".jpeg", ".svg", ".woff", ".woff2", ".ttf", ".otf"})
MAX_STATIC_BYTES = 5 * 1024 * 1024


class FetchRefused(ValueError):
    """A URL the evidence pack may not read."""


@dataclass(frozen=True)
class Resource:
    body: bytes
    content_type: str


def resource_url(name: str) -> str:
    return f"{BASE_URL.rstrip('/')}{RESOURCES_PATH}{name}"


def static_url(path: str) -> str:
    return f"{BASE_URL.rstrip('/')}{settings.STATIC_URL}{path.lstrip('/')}"


def find_static(relative: str) -> Path | None:
    """The file behind a static path, or None. No ``..``, no absolute path, known extensions only."""
    pure = PurePosixPath(relative)
    if (not relative or "\\" in relative or "\x00" in relative or pure.is_absolute()
            or any(part in ("..", ".", "") for part in relative.split("/"))):
        return None
    if pure.suffix.lower() not in STATIC_EXTENSIONS:
        return None
    try:
        found = finders.find(relative)
        if not found and settings.STATIC_ROOT:
            candidate = safe_join(str(settings.STATIC_ROOT), relative)
            found = candidate if Path(candidate).is_file() else None
    except SuspiciousFileOperation:
        return None
    if isinstance(found, list):  # find(..., find_all=True) shape; not expected, be strict anyway
        found = found[0] if found else None
    return Path(found) if found else None


def __getattr__(name: str) -> Any:
    """``SafeFetcher`` is built on first use: it subclasses WeasyPrint's fetcher, and importing
    WeasyPrint parses its stylesheets, which a process that never lays out a PDF should not pay for."""
    if name == "SafeFetcher":
        cls = _safe_fetcher_class()
        globals()["SafeFetcher"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _safe_fetcher_class() -> type:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SafeFetcher(URLFetcher):
        """A WeasyPrint URL fetcher that serves static files and prepared resources, nothing else.

        ``served`` and ``refused`` list what a rendering asked for, in order: the tests read them, and
        the bounded renderer sends them back from its child process.
        """

        def __init__(self, resources: Mapping[str, Resource] | None = None) -> None:
            super().__init__(timeout=1, allowed_protocols=("https",), allow_redirects=False, fail_on_errors=False)
            self.resources = dict(resources or {})
            self.served: list[str] = []
            self.refused: list[str] = []

        def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
            try:
                body, content_type = self._read(url)
            except FetchRefused:
                self.refused.append(url)
                raise
            self.served.append(url)
            return URLFetcherResponse(url, body, {"Content-Type": content_type})

        def _read(self, url: str) -> tuple[bytes, str]:
            try:
                parts = urlsplit(url)
            except ValueError as exc:
                raise FetchRefused(f"URL illisible : {url[:200]}") from exc
            if parts.scheme != "https" or parts.netloc != HOST or parts.query:
                raise FetchRefused(f"URL refusée : {url[:200]}")
            path = unquote(parts.path)
            if path.startswith(RESOURCES_PATH):
                resource = self.resources.get(path.removeprefix(RESOURCES_PATH))
                if resource is None:
                    raise FetchRefused(f"Ressource inconnue : {url[:200]}")
                return resource.body, resource.content_type
            if path.startswith(settings.STATIC_URL):
                found = find_static(path.removeprefix(settings.STATIC_URL))
                if found is None or found.stat().st_size > MAX_STATIC_BYTES:
                    raise FetchRefused(f"Fichier statique introuvable : {url[:200]}")
                content_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
                return found.read_bytes(), content_type
            raise FetchRefused(f"URL refusée : {url[:200]}")

    return SafeFetcher
