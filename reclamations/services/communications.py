"""Acknowledgement, calls, letters, messages and the argued answer: the record of every exchange."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .. import workflow
from ..audit import record_event
from ..models import (
    Communication,
    CommunicationKind,
    EventKind,
    Reclamation,
)
from ..workflow import Step
from .base import (
    Actor,
    WorkflowError,
    check_state,
    lock,
)


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
        claimed = Reclamation.objects.filter(
            pk=reclamation.pk, acknowledged_at__isnull=True, state__in=workflow.OPEN_STEPS
        ).update(acknowledged_at=sent_at, updated_at=timezone.now())
        if not claimed:
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
            data={"sent_at": sent_at, "means": means, "on_time": on_time},
        )
    return True


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
    """Log a call, letter, e-mail, client message or internal note, with its event."""
    if not body.strip():
        raise WorkflowError("Le contenu de l'échange est vide.")
    occurred_at = occurred_at or timezone.now()
    if occurred_at > timezone.now():
        raise WorkflowError("La date de l'échange ne peut pas être dans le futur.")
    if direction == Communication.Direction.INTERNAL:
        public = False
    with transaction.atomic():
        r = lock(reclamation)
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


def reclamation_send_answer(
    *, reclamation: Reclamation, actor: Actor, expected_state: str | None = None, sent_at: datetime | None = None
) -> Reclamation:
    """Send the argued answer (step 6): it becomes a public communication and the answer time.

    ``sent_at`` is for an answer already given by letter or phone, registered afterwards.
    """
    with transaction.atomic():
        r = lock(reclamation)
        check_state(r, expected_state)
        if r.state != Step.ACTION:
            raise WorkflowError("La réponse argumentée s'envoie à l'étape 6 (Action concrète).")
        if not r.decision or not r.answer.strip():
            raise WorkflowError("Renseignez la décision et la réponse argumentée avant de l'envoyer.")
        if workflow.since_reopening(r, r.answered_at):
            raise WorkflowError("La réponse argumentée a déjà été envoyée.")
        now = sent_at or timezone.now()
        if now > timezone.now():
            raise WorkflowError("La date d'envoi ne peut pas être dans le futur.")
        Communication.objects.create(
            reclamation=r,
            kind=CommunicationKind.EMAIL,
            direction=Communication.Direction.OUTBOUND,
            purpose=Communication.Purpose.ANSWER,
            public=True,
            occurred_at=now,
            subject=f"Réponse à votre réclamation {r.reference}",
            body=r.answer,
            author=actor if actor is not None and actor.is_authenticated else None,
        )
        r.answered_at = now
        r.save(update_fields=["answered_at", "updated_at"])
        on_time = now <= r.answer_due_at
        record_event(
            kind=EventKind.ANSWER_SENT,
            reclamation=r,
            actor=actor,
            public=True,
            summary=f"Réponse argumentée envoyée ({r.get_decision_display().lower()})"
            f"{'' if on_time else ' — hors délai'}.",
            data={
                "decision": r.decision,
                "compensation_type": r.compensation_type,
                "compensation_amount": r.compensation_amount,
                "on_time": on_time,
            },
        )
    return r


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
        if reclamation_record_acknowledgement(
            reclamation=communication.reclamation, actor=None, sent_at=communication.email.last_updated,
            means="courriel",
        ):
            recorded += 1
    return recorded
