"""Outgoing e-mails: rendered from ``templates/emails/<name>.{subject.txt,txt,html}`` and stored in
the outbox (django-post-office) inside the caller's transaction; a Celery task sends them after
commit. If the broker is down, the e-mail waits in the database for the periodic outbox task.
"""
from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from post_office import mail
from post_office.models import Email

logger = logging.getLogger(__name__)


def render(name: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of one message. Subject lines never carry a line break."""
    subject = " ".join(render_to_string(f"emails/{name}.subject.txt", context).split())
    text = render_to_string(f"emails/{name}.txt", context)
    html = render_to_string(f"emails/{name}.html", context)
    return subject, text, html


def _dispatch_after_commit() -> None:
    from .tasks import send_outbox

    try:
        send_outbox.delay()
    except Exception:  # the broker is down: the periodic outbox run will send it
        logger.warning("broker unavailable, e-mail left in the outbox for the next periodic run", exc_info=True)


def queue(*, name: str, to: list[str], context: dict[str, Any]) -> Email:
    """Store one message in the outbox within the current transaction."""
    subject, text, html = render(name, context)
    email = mail.send(
        recipients=to,
        sender=settings.DEFAULT_FROM_EMAIL,
        subject=subject,
        message=text,
        html_message=html,
        priority="medium",
    )
    transaction.on_commit(_dispatch_after_commit)
    return email
