"""Acknowledgement, calls, letters and messages: the record of every exchange.

The argued answer, an e-mail written from a starting text, is sent by ``services.messages``.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .. import search, workflow
from ..facts import facts_of
from ..journal import record_event
from ..models import (
    Communication,
    EventKind,
    Reclamation,
)
from .base import (
    Actor,
    WorkflowError,
    check_not_anonymised,
    check_open,
    lock,
)
from .search import search_document_refresh
from .steps import reclamation_complete_automatically

logger = logging.getLogger(__name__)


# --- Communications --------------------------------------------------------------------------------
def reclamation_record_acknowledgement(
    *,
    reclamation: Reclamation,
    actor: Actor,
    sent_at: datetime | None = None,
    means: str = "courriel",
    label: str | None = None,
) -> bool:
    """Record that the acknowledgement reached the client. Idempotent: only the first one counts.

    Returns False when the acknowledgement was already recorded (e.g. the outbox reported the same
    e-mail twice), so callers never log it twice.
    """
    sent_at = sent_at or timezone.now()
    if sent_at > timezone.now():
        raise WorkflowError("La date d'envoi ne peut pas être dans le futur.")
    with transaction.atomic():
        current = Reclamation.objects.only("received_at", "answered_at", "acknowledged_at").get(pk=reclamation.pk)
        check_acknowledgement_date(current, sent_at)
        claimed = Reclamation.objects.filter(
            pk=reclamation.pk, acknowledged_at__isnull=True, state__in=workflow.OPEN_STEPS
        ).update(acknowledged_at=sent_at, updated_at=timezone.now())
        if not claimed:
            if current.acknowledged_at is None:
                check_open(lock(reclamation))  # closed or discarded: say so rather than "already recorded"
            return False
        r = Reclamation.objects.get(pk=reclamation.pk)
        on_time = sent_at <= r.ack_due_at
        record_event(
            kind=EventKind.ACKNOWLEDGED,
            reclamation=r,
            actor=actor,
            label=label,
            public=True,
            summary=f"Accusé de réception envoyé ({means}){'' if on_time else ' — hors délai'}.",
            data={"sent_at": sent_at, "means": means, "on_time": on_time, "facts": facts_of(r, "acknowledged_at")},
        )
        # Step 1 asks for nothing else: it completes by itself (workflow.STEPS, ``automatic``).
        reclamation_complete_automatically(reclamation=r)
    return True


def check_acknowledgement_date(reclamation: Reclamation, sent_at: datetime) -> None:
    """The acknowledgement comes after the complaint and before the answer (chronology)."""
    if sent_at < reclamation.received_at:
        raise WorkflowError(
            "L'accusé de réception ne peut pas précéder la réception de la réclamation "
            f"({timezone.localtime(reclamation.received_at):%d/%m/%Y à %H:%M}).")
    if reclamation.answered_at is not None and sent_at > reclamation.answered_at:
        raise WorkflowError(
            "L'accusé de réception ne peut pas suivre la réponse argumentée "
            f"({timezone.localtime(reclamation.answered_at):%d/%m/%Y à %H:%M}).")


def reclamation_log_communication(
    *,
    reclamation: Reclamation,
    actor: Actor,
    kind: str,
    direction: str,
    body: str,
    purpose: str = Communication.Purpose.GENERAL,
    public: bool = False,
    subject: str = "",
    occurred_at: datetime | None = None,
    duration_minutes: int | None = None,
    label: str | None = None,
) -> Communication:
    """Log a call, letter, e-mail, client message or internal note, with its event.

    Refused on a closed or discarded record: its file is what the evidence pack shows (reopen it).
    """
    with transaction.atomic():
        r = lock(reclamation)
        check_not_anonymised(r)
        check_open(r)
        return record_communication(
            reclamation=reclamation, actor=actor, kind=kind, direction=direction, body=body, purpose=purpose,
            public=public, subject=subject, occurred_at=occurred_at, duration_minutes=duration_minutes, label=label)


def record_communication(
    *,
    reclamation: Reclamation,
    actor: Actor,
    kind: str,
    direction: str,
    body: str,
    purpose: str = Communication.Purpose.GENERAL,
    public: bool = False,
    subject: str = "",
    occurred_at: datetime | None = None,
    duration_minutes: int | None = None,
    label: str | None = None,
) -> Communication:
    """``reclamation_log_communication`` whatever the record's state: for the services that write
    to a record as they close it (the closure notice), never for a person's input."""
    if not body.strip():
        raise WorkflowError("Le contenu de l'échange est vide.")
    occurred_at = occurred_at or timezone.now()
    if occurred_at > timezone.now():
        raise WorkflowError("La date de l'échange ne peut pas être dans le futur.")
    if direction == Communication.Direction.INTERNAL:
        public = False
    with transaction.atomic():
        r = lock(reclamation)
        check_not_anonymised(r)
        communication = Communication.objects.create(
            reclamation=r,
            kind=kind,
            direction=direction,
            purpose=purpose,
            public=public,
            occurred_at=occurred_at,
            duration_minutes=duration_minutes,
            subject=subject,
            body=body,
            author=actor if actor is not None and actor.is_authenticated else None,
        )
        if search.is_searched_communication(direction, communication.author_id):
            search_document_refresh(r)
        what = f"{communication.get_kind_display()} ({communication.get_direction_display().lower()})"
        if purpose != Communication.Purpose.GENERAL:
            what += f" — {communication.get_purpose_display().lower()}"
        record_event(
            kind=EventKind.COMMUNICATION,
            reclamation=r,
            actor=actor,
            label=label,
            public=public,
            summary=what + ".",
            data={
                "communication": communication.pk,
                "kind": kind,
                "direction": direction,
                "purpose": purpose,
                "occurred_at": occurred_at,
                "duration_minutes": duration_minutes,
            },
        )
    return communication


def reclamation_sync_sent_emails() -> int:
    """Record what the outbox has actually sent: an acknowledgement counts from its sending time.

    Called by the outbox task after each run; idempotent (the acknowledgement is claimed by a
    conditional UPDATE), so running it twice or on two workers records each one once.
    """
    from post_office.models import STATUS

    pending = (
        Communication.objects.filter(
            purpose=Communication.Purpose.ACKNOWLEDGEMENT,
            email__status=STATUS.sent,
            reclamation__acknowledged_at__isnull=True,
        )
        .select_related("email", "reclamation")
        .order_by("pk")
    )
    recorded = 0
    for communication in pending:
        try:
            done = reclamation_record_acknowledgement(
                reclamation=communication.reclamation, actor=None, sent_at=communication.email.last_updated,
                means="courriel",
            )
        except WorkflowError as exc:  # e.g. sent after an answer: left for a person, the others go on
            logger.warning("acknowledgement of %s not recorded: %s", communication.reclamation.reference, exc)
            continue
        recorded += int(done)
    return recorded
