"""Outgoing e-mails: rendered from ``templates/emails/<name>.{subject.txt,txt,html}`` and stored in
the outbox (django-post-office) inside the caller's transaction; a Celery task sends them after
commit. If the broker is down, the e-mail waits in the database for the periodic outbox task.

Sending itself (claims, retries, failures) is ``reclamations.outbox``.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Iterator
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from post_office.models import PRIORITY, STATUS, Email
from post_office.settings import get_message_id_enabled, get_message_id_fqdn
from post_office.signals import email_queued
from post_office.utils import parse_emails

from . import dispatch
from .models import RecordEmail
from .validators import validate_sendable_address

logger = logging.getLogger(__name__)

# Every e-mail about a record carries its reference in this header (for whoever reads it), and is
# linked to the record, by the ``Communication`` that keeps it there (messages to the client) or by
# a ``RecordEmail`` row (staff notices and alerts), so that staff find a failed or stuck e-mail on
# the record's page, whoever it was sent to (reclamations.outbox).
RECORD_HEADER = "X-Reclamation-Reference"

# After a failed publish, this process stops trying for a few seconds: a web request that queues
# several e-mails must not wait for a dead broker once per e-mail. The e-mails wait in the outbox
# for the periodic re-queue (beat), so skipping a publish loses nothing.
_broker_down_until = 0.0
# Inside ``deferred_dispatch()`` (the SLA sweep), queued e-mails are dispatched once at the end.
_deferred: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar("outbox_deferred", default=None)
# Inside ``sent_by_this_run()`` (the outbox run writing staff notices), nothing is dispatched: the
# run itself sends what was queued, right after.
_sent_by_this_run: contextvars.ContextVar[bool] = contextvars.ContextVar("outbox_sent_by_this_run", default=False)


def render(name: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of one message. Subject lines never carry a line break."""
    subject = " ".join(render_to_string(f"emails/{name}.subject.txt", context).split())
    text = render_to_string(f"emails/{name}.txt", context)
    html = render_to_string(f"emails/{name}.html", context)
    return subject, text, html


def _dispatch_after_commit() -> None:
    """Ask a worker to send the outbox now. Never raises: a down broker only delays the e-mail."""
    global _broker_down_until

    if time.monotonic() < _broker_down_until:
        return
    try:
        dispatch.publish(dispatch.SEND_OUTBOX)
    except dispatch.UnknownTask:
        raise  # a bug, not a broker outage: never silenced as one
    except Exception:  # the broker is down: the periodic outbox run will send it
        _broker_down_until = time.monotonic() + settings.OUTBOX_BROKER_RETRY_SECONDS
        logger.warning("broker unavailable, e-mail left in the outbox for the next periodic run", exc_info=True)


def request_send() -> None:
    """Ask for the outbox to be sent once the current transaction commits (e.g. after a re-send).

    Once per transaction, however many e-mails it queues (a Contact submission queues three): the
    task sends the whole outbox, and each publish is a round trip to the broker. A request already
    made at the same level (same savepoints) is kept or rolled back with this one, so it is enough.
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        level = set(connection.savepoint_ids)
        if any(sids == level and func is _dispatch_after_commit for sids, func, _robust in connection.run_on_commit):
            return
    transaction.on_commit(_dispatch_after_commit)


@contextlib.contextmanager
def deferred_dispatch() -> Iterator[None]:
    """Queue many e-mails in many transactions but publish one send task at the end (the sweep).

    Each e-mail is still stored in the transaction of the change that causes it; only the
    "send now" message to the broker is grouped.
    """
    pending: list[bool] = []
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
        if pending:
            transaction.on_commit(_dispatch_after_commit)


@contextlib.contextmanager
def sent_by_this_run() -> Iterator[None]:
    """Queue e-mails that the caller, an outbox run, sends next: no task published for them (it
    would find nothing left to send). Should the run die first, beat's re-queue finds them."""
    token = _sent_by_this_run.set(True)
    try:
        yield
    finally:
        _sent_by_this_run.reset(token)


def follow_up_url(token: str) -> str:
    """The client's follow-up link, absolute: e-mails are read far from any request."""
    return settings.SITE_URL + reverse("public:follow_up", args=[token])


def backoffice_url(reclamation: Any) -> str:
    """The record's page in the back-office, for staff notifications (never the client's token)."""
    return f"{settings.SITE_URL}/backoffice/reclamations/{reclamation.pk}/"


def render_text(name: str, context: dict[str, Any]) -> str:
    """The text part only (the copy of an e-mail kept on a record)."""
    return render_to_string(f"emails/{name}.txt", context)


def _headers(reference: str, *, to_client: bool) -> dict[str, str] | None:
    headers = {RECORD_HEADER: reference} if reference else {}
    if to_client and settings.INBOUND_ADDRESS:
        # The client's answer goes to the mailbox the inbound gateway reads, where the Message-ID
        # kept on this row threads it to the record (services.inbound).
        headers["Reply-To"] = settings.INBOUND_ADDRESS
    return headers or None


def _row(*, to: list[str], subject: str, text: str, html: str, reference: str, to_client: bool = False) -> Email:
    """One outbox row, as ``post_office.mail.create`` builds it, from parts already rendered.

    Not through ``mail.send``: it would render subject and bodies *again* as Django templates,
    where text a client typed (``{{ 7*7 }}``, ``{% include ... %}``) would be interpreted, and
    that second pass cost as much as the first. The addresses get post_office's own check, the
    row its model's validation (``Email.save`` runs ``full_clean``). Every recipient first meets
    ``validate_sendable_address``, the rule the forms apply: an address a form took is one we send.
    """
    for address in to:
        validate_sendable_address(address)
    return Email(
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=parse_emails(to),
        subject=subject,
        message=text,
        html_message=html,
        priority=PRIORITY.medium,
        status=STATUS.queued,
        headers=_headers(reference, to_client=to_client),
        message_id=make_msgid(domain=get_message_id_fqdn()) if get_message_id_enabled() else None,
    )


def _store(rows: list[Email], reclamation: Any, *, carried: bool = False) -> list[Email]:
    """Insert the rows, tie them to the record they are about (``RecordEmail``, unless the caller
    keeps them on it as communications: ``carried``) and have them sent after commit (or at the
    end of ``deferred_dispatch``)."""
    for row in rows:
        row.full_clean()  # what Email.save() does, which bulk_create skips
    created = Email.objects.bulk_create(rows)
    if getattr(reclamation, "pk", None) is not None and not carried:
        RecordEmail.objects.bulk_create([RecordEmail(email=email, reclamation=reclamation) for email in created])
    email_queued.send(sender=Email, emails=created)
    deferred = _deferred.get()
    if _sent_by_this_run.get():
        pass
    elif deferred is not None:
        deferred.append(True)
    else:
        request_send()
    return created


def queue(*, name: str, to: list[str], context: dict[str, Any], carried: bool = False,
          rendered: tuple[str, str, str] | None = None) -> Email:
    """Store one message (to every address of ``to``) in the outbox within the current transaction.

    ``carried``: the caller keeps the e-mail on its record as a ``Communication`` (messages to the
    client), which already links the two; no ``RecordEmail`` row is written for it. ``rendered``:
    the message's (subject, text, html), already rendered by the caller from ``name`` and ``context``.
    """
    subject, text, html = rendered or render(name, context)
    reclamation = context.get("reclamation")
    # Carried e-mails are the ones to the complainant: they may answer them.
    row = _row(to=to, subject=subject, text=text, html=html, reference=getattr(reclamation, "reference", ""),
               to_client=carried)
    return _store([row], reclamation, carried=carried)[0]


def queue_each(*, name: str, addresses: list[str], context: dict[str, Any]) -> list[Email]:
    """One message per address, same content (staff notices): rendered once, stored in one insert."""
    if not addresses:
        return []
    subject, text, html = render(name, context)
    reclamation = context.get("reclamation")
    reference = getattr(reclamation, "reference", "")
    rows = [_row(to=[address], subject=subject, text=text, html=html, reference=reference) for address in addresses]
    return _store(rows, reclamation)
