"""The client's feedback on the handling (step 9)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .. import workflow
from ..audit import record_event
from ..models import (
    EventKind,
    Reclamation,
)
from ..workflow import Step
from .base import (
    Actor,
    WorkflowError,
    lock,
)


# --- Feedback (step 9) ---------------------------------------------------------------------------
def reclamation_record_feedback(
    *,
    reclamation: Reclamation,
    satisfaction: int,
    comment: str = "",
    actor: Actor = None,
    label: str | None = None,
) -> Reclamation:
    """The client's answer to the satisfaction survey on the handling of their complaint."""
    if not 1 <= satisfaction <= 5:
        raise WorkflowError("La satisfaction se note de 1 à 5.")
    with transaction.atomic():
        r = lock(reclamation)
        if r.state != Step.FEEDBACK:
            raise WorkflowError("L'enquête de satisfaction n'est pas ouverte pour cette réclamation.")
        if workflow.since_reopening(r, r.feedback_received_at):
            raise WorkflowError("Vous avez déjà répondu à l'enquête. Merci !")
        r.feedback_received_at = timezone.now()
        r.feedback_satisfaction = satisfaction
        r.feedback_comment = comment.strip()
        r.save(update_fields=["feedback_received_at", "feedback_satisfaction", "feedback_comment", "updated_at"])
        record_event(
            kind=EventKind.COMMUNICATION,
            reclamation=r,
            actor=actor,
            label=label,
            public=True,
            summary=f"Avis du client reçu (satisfaction {satisfaction}/5).",
            data={"satisfaction": satisfaction},
        )
    return r


def reclamation_record_no_feedback(*, reclamation: Reclamation, actor: Actor = None) -> Reclamation:
    """The survey's waiting time ran out: "pas de réponse" is recorded so that step 9 can close."""
    with transaction.atomic():
        r = lock(reclamation)
        if r.state != Step.FEEDBACK or r.feedback_received_at or r.feedback_no_answer:
            return r
        r.feedback_no_answer = True
        r.save(update_fields=["feedback_no_answer", "updated_at"])
        record_event(
            kind=EventKind.COMMUNICATION,
            reclamation=r,
            actor=actor,
            summary="Enquête de satisfaction : pas de réponse dans le délai.",
        )
    return r
