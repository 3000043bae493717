"""A local SMTP server that keeps every message it accepts, so the smoke test counts what was really
delivered over SMTP — not what the database says was sent.

aiosmtpd (requirements-dev.txt) runs in a thread of the smoke process.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

# The header every e-mail about a record carries (reclamations.emails.RECORD_HEADER).
RECORD_HEADER = "X-Reclamation-Reference"


@dataclass(frozen=True)
class Received:
    """One message as the SMTP server got it: envelope recipients and the parts the checks read."""

    recipients: tuple[str, ...]
    message_id: str
    reference: str
    subject: str
    text: str
    received_at: float


def _plain_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""


class _Handler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[Received] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        received = Received(
            recipients=tuple(address.lower() for address in envelope.rcpt_tos),
            message_id=str(message.get("Message-ID", "")),
            reference=str(message.get(RECORD_HEADER, "")),
            subject=str(message.get("Subject", "")),
            text=_plain_text(message),
            received_at=time.monotonic(),
        )
        with self.lock:
            self.messages.append(received)
        return "250 Message accepted for delivery"


class SmtpSink:
    """``start()`` listens on host:port; ``messages()`` is a copy of what arrived so far."""

    def __init__(self, *, host: str, port: int) -> None:
        self._handler = _Handler()
        self._controller = Controller(self._handler, hostname=host, port=port)
        self._running = False

    def start(self) -> None:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every connection at INFO
        self._controller.start()
        self._running = True

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._controller.stop()

    def messages(self) -> list[Received]:
        with self._handler.lock:
            return list(self._handler.messages)

    def count(self) -> int:
        with self._handler.lock:
            return len(self._handler.messages)
