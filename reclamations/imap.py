"""Polling the organisation's mailbox over IMAP (``INBOUND_IMAP_URL``), for Celery beat.

One poll reads every message of the folder, hands each to ``services.inbound_message_receive``
(which commits), and only then moves the handled ones to ``INBOUND_IMAP_DONE_FOLDER``. If the
server or the worker goes away in between, the messages not moved yet are read again by the next
poll and found already imported (their Message-ID is unique): nothing is lost, nothing doubled.

Messages are fetched without the \\Seen flag being set (BODY.PEEK), in groups bounded in count and
bytes, so a mailbox of thousands of messages is read in bounded memory. An oversize message is
never downloaded: only its headers, to say so to staff.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.utils import timezone
from imap_tools import BaseMailBox, MailBox, MailBoxUnencrypted
from imap_tools.errors import (
    ImapToolsError,
    MailboxCopyError,
    MailboxDeleteError,
    MailboxFolderCreateError,
    MailboxMoveError,
)

from . import emails
from .models import InboundSource, InboundStatus, MailboxPoll
from .services import inbound

logger = logging.getLogger(__name__)

# One FETCH brings at most this many messages, or this many bytes (whichever comes first).
GROUP_MESSAGES = 100
GROUP_BYTES = 16 * 1024 * 1024
# A poll holds the mailbox this long at most; a worker that died frees it when this runs out.
LEASE = timedelta(minutes=10)

_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')


class ImapError(Exception):
    """The server refused a command we need."""


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    secure: bool
    user: str
    password: str
    folder: str


@dataclass(frozen=True)
class _Meta:
    size: int
    arrived_at: datetime | None


@dataclass
class PollReport:
    seen: int = 0
    imported: int = 0
    duplicates: int = 0
    kept_aside: int = 0
    moved: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def short(self) -> str:
        return (f"{self.seen} seen, {self.imported} imported, {self.duplicates} already imported, "
                f"{self.kept_aside} kept aside, {self.moved} moved")


def parse_url(url: str) -> ImapConfig:
    """``imaps://user:password@host[:port]/FOLDER`` (``imap://`` without TLS, for loopback)."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise ImproperlyConfigured("INBOUND_IMAP_URL must look like imaps://user:password@host/INBOX")
    secure = parts.scheme == "imaps"
    return ImapConfig(
        host=parts.hostname, port=parts.port or (993 if secure else 143), secure=secure,
        user=unquote(parts.username), password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
    )


def connect(config: ImapConfig) -> BaseMailBox:
    timeout = settings.INBOUND_IMAP_TIMEOUT_SECONDS
    if config.secure:
        mailbox: BaseMailBox = MailBox(config.host, config.port, timeout=timeout)
    else:
        mailbox = MailBoxUnencrypted(config.host, config.port, timeout=timeout)
    mailbox.login(config.user, config.password, initial_folder=config.folder)
    # imaplib keeps the capabilities announced before login; servers announce MOVE only after it,
    # and without MOVE a message is copied then deleted (two steps, and a copy left by a crash).
    status, data = mailbox.client.capability()
    if status == "OK" and data and data[-1]:
        mailbox.client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())
    return mailbox


# --- One poll ----------------------------------------------------------------------------------------
def poll(*, url: str | None = None) -> PollReport:
    """Import every message of the folder, then move the handled ones. Raises when the server
    fails (what was committed stays committed; what was not moved is read again next time)."""
    config = parse_url(url or settings.INBOUND_IMAP_URL)
    report = PollReport()
    done = settings.INBOUND_IMAP_DONE_FOLDER
    # One "send the outbox" message to the broker for the whole poll, not one per message.
    with connect(config) as mailbox, emails.deferred_dispatch():
        _ensure_folder(mailbox, done)
        uids = mailbox.uids("ALL")
        meta = _meta(mailbox, uids)
        for group in _groups([uid for uid in uids if uid in meta], meta):
            limit = settings.INBOUND_MAX_MESSAGE_BYTES
            whole = _fetch(mailbox, [uid for uid in group if meta[uid].size <= limit], "BODY.PEEK[]")
            heads = _fetch(mailbox, [uid for uid in group if meta[uid].size > limit], "BODY.PEEK[HEADER]")
            handled = []
            for uid in group:
                raw = whole.get(uid, heads.get(uid))
                if raw is None:
                    continue  # gone meanwhile (another poll moved it)
                received = inbound.inbound_message_receive(
                    raw=raw, source=InboundSource.IMAP, arrived_at=meta[uid].arrived_at, size=meta[uid].size)
                _count(report, received)
                handled.append(uid)
            report.moved += _move(mailbox, handled, done)
    return report


def _count(report: PollReport, received: inbound.Received) -> None:
    report.seen += 1
    if received.duplicate:
        report.duplicates += 1
        return
    report.statuses[received.status] = report.statuses.get(received.status, 0) + 1
    if received.status in (InboundStatus.NEW_RECORD, InboundStatus.CLIENT_MESSAGE):
        report.imported += 1
    else:
        report.kept_aside += 1


def _ensure_folder(mailbox: BaseMailBox, name: str) -> None:
    if mailbox.folder.exists(name):
        return
    try:
        mailbox.folder.create(name)
    except MailboxFolderCreateError:
        if not mailbox.folder.exists(name):  # not just created by a poll running at the same time
            raise


def _command(mailbox: BaseMailBox, uids: list[str], items: str) -> list:
    status, data = mailbox.client.uid("FETCH", ",".join(uids), items)
    if status != "OK":
        raise ImapError(f"FETCH refused: {status}")
    return data


def _meta(mailbox: BaseMailBox, uids: list[str]) -> dict[str, _Meta]:
    """Size and arrival (INTERNALDATE) of each message, without downloading any."""
    found: dict[str, _Meta] = {}
    for start in range(0, len(uids), 500):
        for item in _command(mailbox, uids[start:start + 500], "(UID RFC822.SIZE INTERNALDATE)"):
            line = item[0] if isinstance(item, tuple) else item
            if not isinstance(line, bytes) or not (uid := _UID.search(line)) or not (size := _SIZE.search(line)):
                continue
            date = _INTERNALDATE.search(line)
            found[uid.group(1).decode()] = _Meta(int(size.group(1)), _internaldate(date.group(1)) if date else None)
    return found


def _internaldate(value: bytes) -> datetime | None:
    try:
        return datetime.strptime(value.decode("ascii").strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def _groups(uids: list[str], meta: dict[str, _Meta]) -> Iterator[list[str]]:
    group: list[str] = []
    size = 0
    for uid in uids:
        weight = min(meta[uid].size, settings.INBOUND_MAX_MESSAGE_BYTES)
        if group and (len(group) >= GROUP_MESSAGES or size + weight > GROUP_BYTES):
            yield group
            group, size = [], 0
        group.append(uid)
        size += weight
    if group:
        yield group


def _fetch(mailbox: BaseMailBox, uids: list[str], part: str) -> dict[str, bytes]:
    """UID → bytes of ``part``. The UID may come before or after the literal, as servers choose."""
    if not uids:
        return {}
    data = _command(mailbox, uids, f"(UID {part})")
    found: dict[str, bytes] = {}
    for index, item in enumerate(data):
        if not isinstance(item, tuple):
            continue
        uid = _UID.search(item[0])
        if uid is None and index + 1 < len(data) and isinstance(data[index + 1], bytes):
            uid = _UID.search(data[index + 1])
        if uid is not None:
            found[uid.group(1).decode()] = item[1]
    return found


def _move(mailbox: BaseMailBox, uids: list[str], folder: str) -> int:
    if not uids:
        return 0
    try:
        mailbox.move(uids, folder)
    except (MailboxMoveError, MailboxCopyError, MailboxDeleteError):
        # Moved by a poll running at the same time: they are imported, the next poll sees them gone.
        logger.warning("inbound: %d message(s) not moved (already moved?)", len(uids))
        return 0
    return len(uids)


# --- The periodic task's claim -------------------------------------------------------------------------
def describe_error(exc: BaseException) -> str:
    """What staff read about a failed poll (never the password)."""
    if isinstance(exc, ImproperlyConfigured):
        return f"Adresse de la boîte aux lettres mal écrite : {exc}"
    if isinstance(exc, ImapToolsError) and "login" in type(exc).__name__.lower():
        return "Le serveur IMAP refuse l'identifiant ou le mot de passe de la boîte aux lettres."
    if isinstance(exc, OSError):
        return f"Serveur IMAP injoignable ({type(exc).__name__}: {exc})."
    return f"Relève interrompue ({type(exc).__name__}: {str(exc)[:300]}) ; elle reprend à la prochaine relève."


def poll_claimed() -> PollReport | None:
    """Beat's poll: nothing when no mailbox is configured or another poll holds it (conditional
    UPDATE on the one ``MailboxPoll`` row); the outcome is kept for staff to see."""
    if not settings.INBOUND_IMAP_URL:
        return None
    MailboxPoll.objects.get_or_create(pk=1)
    now = timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
    if not MailboxPoll.objects.filter(free, pk=1).update(claimed_until=now + LEASE, last_poll_at=now):
        return None
    report, error = None, ""
    try:
        report = poll()
    except Exception as exc:  # the server went away, or refused us: the next poll resumes
        error = describe_error(exc)
        logger.warning("inbound: mailbox poll failed (%s)", type(exc).__name__, exc_info=True)
    finished = {"claimed_until": None, "last_error": error}
    if not error:
        finished["last_success_at"] = timezone.now()
    MailboxPoll.objects.filter(pk=1).update(**finished)
    return report
