"""Outgoing e-mails: rendered from ``templates/emails/<name>.{subject.txt,txt,html}`` and stored in
the outbox (django-post-office) inside the caller's transaction; a Celery task sends them after
commit. If the broker is down, the e-mail waits in the database for the periodic outbox task.

Sending itself (claims, retries, failures) is ``reclamations.outbox``.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import secrets
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from post_office import mail
from post_office.models import Email

logger = logging.getLogger(__name__)

# Every e-mail about a record carries its reference in this header, so that staff find a failed
# or stuck e-mail on the record's page, whoever it was sent to (reclamations.outbox).
RECORD_HEADER = "X-Reclamation-Reference"

# After a failed publish, this process stops trying for a few seconds: a web request that queues
# several e-mails must not wait for a dead broker once per e-mail. The e-mails wait in the outbox
# for the periodic re-queue (beat), so skipping a publish loses nothing.
_broker_down_until = 0.0
# Inside ``deferred_dispatch()`` (the SLA sweep), queued e-mails are dispatched once at the end.
_deferred: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar("outbox_deferred", default=None)


def render(name: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of one message. Subject lines never carry a line break."""
    subject = " ".join(render_to_string(f"emails/{name}.subject.txt", context).split())
    text = render_to_string(f"emails/{name}.txt", context)
    html = render_to_string(f"emails/{name}.html", context)
    return subject, text, html


def _dispatch_after_commit() -> None:
    """Ask a worker to send the outbox now. Never raises: a down broker only delays the e-mail."""
    global _broker_down_until
    from .tasks import send_outbox

    if time.monotonic() < _broker_down_until:
        return
    try:
        send_outbox.delay()
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


def follow_up_url(token: str) -> str:
    """The client's follow-up link, absolute: e-mails are read far from any request."""
    return settings.SITE_URL + reverse("public:follow_up", args=[token])


def backoffice_url(reclamation: Any) -> str:
    """The record's page in the back-office, for staff notifications (never the client's token)."""
    return f"{settings.SITE_URL}/backoffice/reclamations/{reclamation.pk}/"


def _literal(rendered: str) -> str:
    """``rendered`` protected from post_office, which renders subject and bodies *again* as Django
    templates (``post_office.mail.create``): text a client typed, such as ``{{ 7*7 }}`` or
    ``{% include ... %}``, would be interpreted (or fail with a 500). A ``verbatim`` block with an
    unguessable name keeps it as it is: no typed text can close it."""
    if not rendered:
        return rendered
    block = f"verbatim{secrets.token_hex(16)}"
    return f"{{% verbatim {block} %}}{rendered}{{% endverbatim {block} %}}"


def queue(*, name: str, to: list[str], context: dict[str, Any]) -> Email:
    """Store one message in the outbox within the current transaction."""
    subject, text, html = render(name, context)
    reference = getattr(context.get("reclamation"), "reference", "")
    email = mail.send(
        recipients=to,
        sender=settings.DEFAULT_FROM_EMAIL,
        subject=_literal(subject),
        message=_literal(text),
        html_message=_literal(html),
        priority="medium",
        headers={RECORD_HEADER: reference} if reference else None,
    )
    deferred = _deferred.get()
    if deferred is not None:
        deferred.append(True)
    else:
        request_send()
    return email
