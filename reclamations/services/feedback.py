"""The client's feedback on the handling (step 9)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import workflow
from ..journal import record_event
from ..models import (
    EventKind,
    Reclamation,
    Solved,
)
from ..workflow import Step
from .base import (
    Actor,
    WorkflowError,
    lock,
)

_YES_NO = {True: "oui", False: "non"}


# --- Feedback (step 9) ---------------------------------------------------------------------------
def reclamation_record_feedback(
    *,
    reclamation: Reclamation,
    satisfaction: int,
    comment: str = "",
    solved: str = "",
    answer_clear: bool | None = None,
    delay_acceptable: bool | None = None,
    actor: Actor = None,
    label: str | None = None,
) -> Reclamation:
    """The client's answer to the satisfaction survey on the handling of their complaint.

    Only the overall satisfaction is required: a handler who collects the opinion by phone may not
    get every answer. The survey page (``services.survey``) asks all of them and then closes the record.
    """
    if not 1 <= satisfaction <= 5:
        raise WorkflowError("La satisfaction se note de 1 à 5.")
    if solved not in ("", *Solved.values):
        raise WorkflowError("Indiquez si le problème est résolu : oui, en partie ou non.")
    with transaction.atomic():
        r = lock(reclamation)
        if r.state != Step.FEEDBACK:
            raise WorkflowError("L'enquête de satisfaction n'est pas ouverte pour cette réclamation.")
        if workflow.since_reopening(r, r.feedback_received_at):
            raise WorkflowError("Vous avez déjà répondu à l'enquête. Merci !")
        r.feedback_received_at = timezone.now()
        r.feedback_satisfaction = satisfaction
        r.feedback_comment = comment.strip()
        r.feedback_solved = solved
        r.feedback_answer_clear = answer_clear
        r.feedback_delay_acceptable = delay_acceptable
        r.save(update_fields=["feedback_received_at", "feedback_satisfaction", "feedback_comment", "feedback_solved",
                              "feedback_answer_clear", "feedback_delay_acceptable", "updated_at"])
        details = [f"satisfaction {satisfaction}/5"]
        if solved:
            details.append(f"problème résolu : {Solved(solved).label.lower()}")
        if answer_clear is not None:
            details.append(f"réponse claire : {_YES_NO[answer_clear]}")
        if delay_acceptable is not None:
            details.append(f"délai acceptable : {_YES_NO[delay_acceptable]}")
        record_event(
            kind=EventKind.FEEDBACK,
            reclamation=r,
            actor=actor,
            label=label,
            public=True,
            summary=f"Avis du client reçu ({', '.join(details)}).",
            data={
                "satisfaction": satisfaction,
                "solved": solved,
                "answer_clear": answer_clear,
                "delay_acceptable": delay_acceptable,
                "comment": bool(r.feedback_comment),
            },
        )
    return r


def reclamation_record_no_feedback(
    *, reclamation: Reclamation, actor: Actor = None, expired_at: datetime | None = None
) -> Reclamation:
    """The survey's waiting time ran out: "pas de réponse" is recorded so that step 9 can close.

    Claimed by a conditional UPDATE, so two callers at once (the sweep on two workers, a handler)
    record it once. ``expired_at`` is the survey's end, written in the event when the sweep calls.
    """
    with transaction.atomic():
        r = lock(reclamation)
        answered = Q(feedback_received_at__isnull=False) & (
            Q(feedback_received_at__gte=r.reopened_at) if r.reopened_at else Q()
        )
        claimed = (
            Reclamation.objects.filter(pk=r.pk, state=Step.FEEDBACK, feedback_no_answer=False)
            .exclude(answered)
            .update(feedback_no_answer=True, updated_at=timezone.now())
        )
        if not claimed:
            return r
        r.refresh_from_db(fields=["feedback_no_answer", "updated_at"])
        summary = "Enquête de satisfaction : pas de réponse dans le délai"
        if expired_at is not None:
            summary += f" (fin de l'enquête le {timezone.localtime(expired_at):%d/%m/%Y})"
        record_event(
            kind=EventKind.FEEDBACK,
            reclamation=r,
            actor=actor,
            summary=summary + ".",
            data={"no_answer": True, "expired_at": expired_at, "requested_at": r.feedback_requested_at},
        )
    return r

