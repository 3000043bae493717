"""HTML to PDF with WeasyPrint, within a time and a memory bound.

The layout runs in a forked child process: the parent builds the HTML (database, templates), the
child only lays it out and writes the PDF, under an address-space limit (``RLIMIT_AS``), and the
parent kills it when the time is up. A runaway document (a huge text, a layout WeasyPrint struggles
with) costs one child, never the web or Celery worker, and the user gets a French message.

The child never touches the database: it inherits the parent's connections but leaves with
``os._exit`` without closing them, so the parent's stay usable.

Settings (all optional): ``PDF_RENDER_SECONDS`` (default 300), ``PDF_RENDER_MEMORY_MB`` (memory the
child may add to what it inherits, default 3072), ``PDF_RENDER_ISOLATED`` (default True; False
lays out in-process, without bounds, for debugging).
"""
from __future__ import annotations

import logging
import os
import pickle
import resource
import select
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from . import fetcher
from .fetcher import BASE_URL, Resource

# WeasyPrint logs each layout step at INFO: noise in the application's logs, one line per step.
# WeasyPrint itself is imported lazily, in ``_layout``: importing it parses its user-agent
# stylesheets (and logged "Step 2 - Fetching and parsing CSS" lines), which every process that
# merely imports the app (manage.py makemigrations, a web worker) would otherwise pay for.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

DEFAULT_SECONDS = 300
# Headroom for one laid-out document. The evidence pack is laid out in parts (``pack.py``), each
# well under 400 MiB; a single huge record sheet is what this bound is for.
DEFAULT_MEMORY_MB = 3072


class RenderError(Exception):
    """The PDF could not be produced; ``str(error)`` is the French message for the user."""


class RenderTimeout(RenderError):
    pass


class RenderTooLarge(RenderError):
    pass


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    pages: int
    served: tuple[str, ...]  # URLs the fetcher served
    refused: tuple[str, ...]  # URLs it refused
    peak_rss_kib: int  # the rendering process's peak resident memory (the child's, when isolated)
    # Where things landed, for documents laid out in parts: element id -> 0-based page index, and
    # the bookmarks as (0-based page index, level, label), in document order.
    anchors: Mapping[str, int] = field(default_factory=dict)
    bookmarks: tuple[tuple[int, int, str], ...] = ()
    parts: int = 1  # documents laid out and joined into this one (reclamations.pdf.pack)


@dataclass(frozen=True)
class Limits:
    seconds: float
    memory_bytes: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            seconds=float(getattr(settings, "PDF_RENDER_SECONDS", DEFAULT_SECONDS)),
            memory_bytes=int(getattr(settings, "PDF_RENDER_MEMORY_MB", DEFAULT_MEMORY_MB)) * 1024 * 1024,
        )


TIMEOUT_MESSAGE = (
    "La mise en page du PDF a dépassé le temps autorisé ({seconds} s). Choisissez une période plus courte, "
    "ou réessayez plus tard."
)
MEMORY_MESSAGE = (
    "La mise en page du PDF a dépassé la mémoire autorisée. Choisissez une période plus courte."
)
FAILED_MESSAGE = "La mise en page du PDF a échoué. Réessayez ; si le problème persiste, prévenez l'administrateur."


def _layout(html: str, resources: Mapping[str, Resource], write: bool = True) -> Rendered:
    from weasyprint import HTML

    safe = fetcher.SafeFetcher(resources)
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=safe).render()
    anchors: dict[str, int] = {}
    bookmarks: list[tuple[int, int, str]] = []
    for index, page in enumerate(document.pages):
        for name in page.anchors:
            anchors.setdefault(name, index)
        bookmarks.extend((index, level, label) for level, label, _position, _state in page.bookmarks)
    # No attachments option, no forms: the PDF holds the pages and nothing else.
    pdf = document.write_pdf() if write else b""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return Rendered(pdf=pdf, pages=len(document.pages), served=tuple(safe.served),
                    refused=tuple(safe.refused), peak_rss_kib=peak, anchors=anchors, bookmarks=tuple(bookmarks))


def render_pdf(html: str, *, resources: Mapping[str, Resource] | None = None, limits: Limits | None = None,
               write: bool = True) -> Rendered:
    """Lay ``html`` out as a PDF; raise :class:`RenderError` (French message) when it cannot be done.

    ``write=False`` lays the document out without writing the PDF (``pdf`` is empty): enough to
    know its page count and where its anchors fall.
    """
    resources = dict(resources or {})
    if not getattr(settings, "PDF_RENDER_ISOLATED", True) or not hasattr(os, "fork"):
        return _layout(html, resources, write)
    return _render_in_child(html, resources, limits or Limits.from_settings(), write)


def _virtual_size() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _child(html: str, resources: Mapping[str, Resource], limits: Limits, write_fd: int, write: bool) -> None:
    """Runs in the forked child; never returns."""
    code = 0
    try:
        inherited = _virtual_size()
        if inherited is not None:
            ceiling = inherited + limits.memory_bytes
            resource.setrlimit(resource.RLIMIT_AS, (ceiling, resource.getrlimit(resource.RLIMIT_AS)[1]))
        outcome: tuple[str, Any] = ("ok", _layout(html, resources, write))
    except (MemoryError, SystemError):
        # Under RLIMIT_AS a refused allocation surfaces as MemoryError, or as a C extension
        # returning NULL without an exception (SystemError).
        outcome, code = ("memory", None), 1
    except BaseException as exc:  # report anything, the parent decides
        outcome, code = ("error", f"{type(exc).__name__}: {exc}"[:2000]), 1
    try:
        payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(payload)
        while view:
            written = os.write(write_fd, view)
            view = view[written:]
    except BaseException:
        code = 2
    finally:
        os._exit(code)


def _render_in_child(html: str, resources: Mapping[str, Resource], limits: Limits, write: bool = True) -> Rendered:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(read_fd)
        _child(html, resources, limits, write_fd, write)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + limits.seconds
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if timed_out:
        raise RenderTimeout(TIMEOUT_MESSAGE.format(seconds=round(limits.seconds)))
    if not chunks:
        # Killed by a signal (the kernel refusing memory often ends in SIGSEGV or SIGKILL).
        if os.WIFSIGNALED(status):
            raise RenderTooLarge(MEMORY_MESSAGE)
        raise RenderError(FAILED_MESSAGE)
    kind, value = pickle.loads(b"".join(chunks))  # noqa: S301 - our own child's bytes, through our own pipe
    if kind == "ok":
        return value
    if kind == "memory":
        raise RenderTooLarge(MEMORY_MESSAGE)
    raise RenderError(f"{FAILED_MESSAGE} ({value})")
