"""Reading one received e-mail (RFC 822 bytes): who claims to send it, what it answers, its text and
files, and whether a machine wrote it. No database here: ``services.inbound`` decides what to do.

The HTML part is never kept nor shown: it is cleaned by nh3 (no script, no style, no image, no
link) and turned into plain text, so no remote image is ever loaded and no markup reaches a page.
"""
from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

import nh3
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# "R-2026-0042", as references are written (services.records._next_reference).
REFERENCE_RE = re.compile(r"\bR-\d{4}-\d{4,}\b")
_MESSAGE_ID_RE = re.compile(r"<[^<>\s]{1,250}>")
# The last ones of a long References header are the closest ancestors; a client will not quote more.
MAX_THREAD_IDS = 50

_AUTOMATIC_PRECEDENCE = {"bulk", "auto_reply", "list", "junk"}
_DAEMON_SENDERS = {"mailer-daemon", "postmaster"}


class UnreadableMessage(Exception):
    """The message cannot be read; ``str(error)`` is the French reason staff read."""


@dataclass(frozen=True)
class MailFile:
    name: str
    content_type: str
    payload: bytes


@dataclass(frozen=True)
class ParsedMail:
    key: str  # what makes it unique: the Message-ID with its brackets, or "sha256:<hex>"
    sender: str  # lower-cased address, "" when From: holds none that is valid
    sender_name: str
    subject: str
    text: str
    thread_ids: list[str]  # In-Reply-To then References, as written (with brackets)
    automatic: str  # why a machine wrote it, or ""
    received_at: datetime | None  # our own server's Received: stamp, when there is one
    files: list[MailFile] = field(default_factory=list)


# --- Headers -----------------------------------------------------------------------------------------
def raw_key(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def message_key(message_id: str, raw: bytes) -> str:
    """The Message-ID as References quote it; the content's digest when it has none usable."""
    found = _MESSAGE_ID_RE.search(message_id or "")
    return found.group(0) if found and len(found.group(0)) <= 255 else raw_key(raw)


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the policy cannot parse is read as if absent
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def _sender(message: EmailMessage) -> tuple[str, str]:
    """(address, display name) of From:, the address lower-cased; ("", "") when none is valid."""
    for name, address in getaddresses([_header(message, "From")]):
        address = address.strip().lower()
        try:
            validate_email(address)
        except ValidationError:
            continue
        return address, " ".join(name.split())[:200]
    return "", ""


def thread_ids(message: EmailMessage) -> list[str]:
    ids = _MESSAGE_ID_RE.findall(_header(message, "In-Reply-To"))
    references = _MESSAGE_ID_RE.findall(_header(message, "References"))
    ids += [found for found in reversed(references) if found not in ids]
    return (_reported_ids(message) + ids)[:MAX_THREAD_IDS]


def _reported_ids(message: EmailMessage) -> list[str]:
    """A bounce quotes the message it reports on: its Message-ID tells staff which of our e-mails
    did not arrive (the bounce itself stays aside, never a client's message)."""
    if message.get_content_type() != "multipart/report":
        return []
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            quoted = payload[0] if isinstance(payload, list) and payload else None
            if quoted is not None:
                return _MESSAGE_ID_RE.findall(_header(quoted, "Message-ID"))[:1]
        if part.get_content_type() == "text/rfc822-headers":
            headers = email.message_from_string(_part_text(part), policy=email.policy.default)
            return _MESSAGE_ID_RE.findall(_header(headers, "Message-ID"))[:1]  # type: ignore[arg-type]
    return []


def automatic_reason(message: EmailMessage, sender: str) -> str:
    """Why the message was written by a machine (auto-reply, out of office, bounce, list), or "".

    Such a message never opens a record and is never answered: answering it is how mail loops start.
    """
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Courriel automatique (Auto-Submitted: {auto_submitted[:40]})."
    precedence = _header(message, "Precedence").lower()
    if precedence in _AUTOMATIC_PRECEDENCE:
        return f"Courriel automatique ou de liste (Precedence: {precedence})."
    if message.get_content_type() == "multipart/report":
        return "Avis de non-remise ou accusé de lecture (multipart/report)."
    if sender.split("@")[0] in _DAEMON_SENDERS or _header(message, "Return-Path") == "<>":
        return "Avis du serveur de messagerie (MAILER-DAEMON, postmaster)."
    for name in ("X-Autoreply", "X-Autorespond"):
        if message.get(name) is not None:
            return f"Réponse automatique ({name})."
    return ""


def _received_at(message: EmailMessage) -> datetime | None:
    """When our own server took the message: the date of the topmost Received: header (the sender's
    Date: is whatever their clock or their words say)."""
    try:
        received = message.get_all("Received") or []
    except Exception:
        return None
    for stamp in received[:1]:
        _, _, when = str(stamp).rpartition(";")
        try:
            moment = parsedate_to_datetime(when.strip())
        except (TypeError, ValueError, IndexError):
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


# --- Text ------------------------------------------------------------------------------------------
_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "tr", "table", "blockquote", "pre", "h1", "h2", "h3", "h4",
               "h5", "h6", "hr"}
_KEPT_TAGS = _BLOCK_TAGS | {"td", "th"}


class _TextOf(HTMLParser):
    """Plain text of markup already cleaned by nh3: line breaks at block edges, nothing else."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(" ".join(data.split()) if data.strip() else (" " if data else ""))


def html_to_text(html: str) -> str:
    """The words of an HTML part. nh3 drops scripts, styles, images, links and every attribute
    first; what is left is read as text only."""
    cleaned = nh3.clean(html, tags=_KEPT_TAGS, attributes={}, clean_content_tags={"script", "style", "title"},
                        strip_comments=True, url_schemes=set())
    parser = _TextOf()
    parser.feed(cleaned)
    parser.close()
    return normalise_text("\n".join(line.strip() for line in "".join(parser.parts).split("\n")))


def normalise_text(text: str) -> str:
    text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    # No control characters but line breaks and tabs (what a textarea would accept).
    return "".join(ch for ch in text if ch in "\n\t" or ord(ch) >= 0x20).strip()


def _part_text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError, ValueError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace")
    return content if isinstance(content, str) else ""


def _text(message: EmailMessage) -> str:
    plain = message.get_body(preferencelist=("plain",))
    if plain is not None:
        return normalise_text(_part_text(plain))
    html = message.get_body(preferencelist=("html",))
    if html is not None:
        return html_to_text(_part_text(html))
    return ""


def _files(message: EmailMessage) -> list[MailFile]:
    """The attached files that have a name; nameless inline parts (signature images) are left out."""
    files = []
    for part in message.iter_attachments():
        name = part.get_filename()
        if not name:
            continue
        if part.get_content_maintype() == "message":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else payload
            data = inner.as_bytes() if hasattr(inner, "as_bytes") else b""
        else:
            data = part.get_payload(decode=True) or b""
        files.append(MailFile(name=str(name), content_type=part.get_content_type(), payload=data))
    return files


# --- The whole message --------------------------------------------------------------------------------
def read_headers(raw: bytes) -> EmailMessage:
    """Only the header block (an oversize message is never read further)."""
    head, _sep, _rest = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw[:1_000_000] else raw.partition(b"\n\n")
    return email.message_from_bytes(head + b"\n\n", policy=email.policy.default)  # type: ignore[return-value]


def summary(raw: bytes) -> tuple[str, str, str, str]:
    """(key, sender, sender name, subject) from the headers alone, never raising: what staff see of
    a message kept aside because it could not be read or is too big."""
    try:
        headers = read_headers(raw)
        sender, name = _sender(headers)
        return message_key(_header(headers, "Message-ID"), raw), sender, name, _header(headers, "Subject")[:300]
    except Exception:
        return raw_key(raw), "", "", ""


def parse(raw: bytes) -> ParsedMail:
    """Read a message; ``UnreadableMessage`` (with the French reason) when it cannot be."""
    if not raw.strip():
        raise UnreadableMessage("Message vide.")
    try:
        message: EmailMessage = email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[assignment]
        if not message.keys():
            raise UnreadableMessage("Aucun en-tête de courriel reconnu : ce n'est pas un message RFC 822.")
        sender, sender_name = _sender(message)
        return ParsedMail(
            key=message_key(_header(message, "Message-ID"), raw),
            sender=sender,
            sender_name=sender_name,
            subject=_header(message, "Subject")[:300],
            text=_text(message),
            thread_ids=thread_ids(message),
            automatic=automatic_reason(message, sender),
            received_at=_received_at(message),
            files=_files(message),
        )
    except UnreadableMessage:
        raise
    except Exception as exc:  # the email package's many ways of failing on broken input
        raise UnreadableMessage(f"Message illisible ({type(exc).__name__}).") from exc
