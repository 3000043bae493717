"""Every write to a record goes through here: one transaction, the change, and its audit event.

Functions are keyword-only and named ``reclamation_<verb>``. They lock the record (SELECT ... FOR
UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions serialise writers), re-check the state the
caller saw, apply the change, and write the event in the same transaction, so a change is never
recorded without its event, nor an event without its change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from . import sla, tokens, workflow
from .audit import record_event
from .models import (
    Action,
    ActionStatus,
    Communication,
    CommunicationKind,
    EventKind,
    Reclamation,
    ReferenceCounter,
)
from .models.reclamation import priority_for
from .workflow import Step

Actor = AbstractBaseUser | None


class WorkflowError(Exception):
    """A change refused for a reason the user can act on; ``str(error)`` is the French message."""


class StepIncomplete(WorkflowError):
    def __init__(self, state: str, missing: list[str]) -> None:
        self.state = state
        self.missing = missing
        super().__init__(workflow.refusal_message(state, missing))


class StaleState(WorkflowError):
    """Someone else moved the record since the page was shown."""


@dataclass(frozen=True)
class CreatedReclamation:
    reclamation: Reclamation
    token: str  # the only time the clear token exists: put it in the acknowledgement, never store it


# Fields a handler may edit, grouped by the step that asks for them. Anything else (state,
# deadlines, reference, fulfilment times) changes only through a dedicated service below.
EDITABLE_FIELDS = frozenset(
    {
        "kind",
        "stakeholder_type",
        "channel",
        "complainant_name",
        "complainant_role",
        "complainant_organisation",
        "complainant_phone",
        "complainant_email",
        "complainant_address",
        "service",
        "training_action",
        "subject",
        "description",
        "wished_solution",
        "reformulation",
        "severity",
        "complexity",
        "repercussions",
        "decision",
        "answer",
        "compensation_type",
        "compensation_description",
        "compensation_amount",
        "conclusion",
        "root_cause_category",
        "root_cause_analysis",
        "complementary_offer",
    }
)
ACTION_FIELDS = frozenset({"description", "kind", "owner", "due_date", "status", "done_at", "result"})


# --- Helpers -------------------------------------------------------------------------------------
def _lock(reclamation: Reclamation | int) -> Reclamation:
    pk = reclamation if isinstance(reclamation, int) else reclamation.pk
    return Reclamation.objects.select_for_update().get(pk=pk)


def _check_state(reclamation: Reclamation, expected_state: str | None) -> None:
    if expected_state is not None and reclamation.state != expected_state:
        raise StaleState(
            "Cette réclamation a changé entre-temps (elle est maintenant à l'étape "
            f"« {workflow.step_label(reclamation.state)} »). Rechargez la page pour voir la situation à jour."
        )


def _check_open(reclamation: Reclamation) -> None:
    if not reclamation.is_open:
        raise WorkflowError(
            f"Cette réclamation est {workflow.step_label(reclamation.state).lower()} : rouvrez-la pour la modifier."
        )


def _display(value: Any) -> Any:
    """A value as the audit log keeps it: related objects by name, dates and decimals as text."""
    if value is None:
        return None
    if hasattr(value, "_meta"):
        return str(value)
    if isinstance(value, (datetime, date, Decimal)):
        return value.isoformat() if not isinstance(value, Decimal) else str(value)
    return value


def _next_reference(year: int) -> str:
    # The counter row is locked until commit, so two concurrent creations get two numbers; a
    # rolled-back creation rolls its number back with it, so no issued reference is ever reused.
    counter, _ = ReferenceCounter.objects.select_for_update().get_or_create(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"R-{year}-{counter.last_number:04d}"


# --- Creation ------------------------------------------------------------------------------------
def reclamation_create(
    *,
    actor: Actor,
    kind: str,
    channel: str,
    subject: str,
    description: str,
    received_at: datetime | None = None,
    label: str | None = None,
    **fields: Any,
) -> CreatedReclamation:
    """Register a record in step 1 with its reference, secret token and stored deadlines.

    ``fields`` are the other editable fields (complainant identity, service, wished solution...).
    ``received_at`` is the real reception date for complaints received by letter, phone...
    """
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"unexpected fields: {sorted(unknown)}")
    now = timezone.now()
    received_at = received_at or now
    if received_at > now:
        raise WorkflowError("La date de réception ne peut pas être dans le futur.")
    token, token_hash = tokens.new_token()
    with transaction.atomic():
        ack_due_at, answer_due_at = sla.compute_deadlines(received_at)
        reclamation = Reclamation(
            reference=_next_reference(timezone.localtime(received_at).year),
            kind=kind,
            channel=channel,
            subject=subject,
            description=description,
            received_at=received_at,
            ack_due_at=ack_due_at,
            answer_due_at=answer_due_at,
            token_hash=token_hash,
            created_by=actor if actor is not None and actor.is_authenticated else None,
            **fields,
        )
        reclamation.full_clean(exclude=["token_hash", "reference", "state"])
        reclamation.save()
        record_event(
            kind=EventKind.CREATED,
            reclamation=reclamation,
            actor=actor,
            label=label,
            summary=f"{reclamation.get_kind_display()} enregistrée ({reclamation.get_channel_display()}).",
            data={
                "channel": channel,
                "received_at": received_at,
                "ack_due_at": ack_due_at,
                "answer_due_at": answer_due_at,
            },
            public=True,
        )
    return CreatedReclamation(reclamation=reclamation, token=token)


def reclamation_rotate_token(*, reclamation: Reclamation, actor: Actor = None, label: str | None = None) -> str:
    """Give the record a new follow-up token (lost link): the old link stops working."""
    token, token_hash = tokens.new_token()
    with transaction.atomic():
        Reclamation.objects.filter(pk=reclamation.pk).update(token_hash=token_hash)
        record_event(
            kind=EventKind.UPDATED,
            reclamation=reclamation,
            actor=actor,
            label=label,
            summary="Nouveau lien de suivi envoyé au réclamant.",
        )
    return token


# --- Editing -------------------------------------------------------------------------------------
def reclamation_update(
    *, reclamation: Reclamation, actor: Actor, changes: dict[str, Any], expected_state: str | None = None
) -> Reclamation:
    """Change editable fields; the event keeps each field's value before and after."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"not editable here: {sorted(unknown)}")
    with transaction.atomic():
        r = _lock(reclamation)
        _check_state(r, expected_state)
        _check_open(r)
        diff = {}
        for name, value in changes.items():
            before = getattr(r, name)
            if before != value:
                setattr(r, name, value)
                diff[name] = {"before": _display(before), "after": _display(value)}
        if {"severity", "complexity", "repercussions"} & set(diff):
            new_priority = priority_for(r.severity, r.complexity, r.repercussions)
            if new_priority != r.priority:
                diff["priority"] = {"before": r.priority, "after": new_priority}
                r.priority = new_priority
        if not diff:
            return r
        r.full_clean(exclude=["token_hash", "reference", "state"])
        r.save()
        labels = ", ".join(str(Reclamation._meta.get_field(n).verbose_name) for n in diff)
        record_event(
            kind=EventKind.UPDATED,
            reclamation=r,
            actor=actor,
            summary=f"Modification : {labels}.",
            data={"changes": diff},
        )
    return r


def reclamation_assign(
    *, reclamation: Reclamation, actor: Actor, handler: AbstractBaseUser, expected_state: str | None = None
) -> Reclamation:
    """Name the handler (responsable du traitement); a handler may assign themself."""
    with transaction.atomic():
        r = _lock(reclamation)
        _check_state(r, expected_state)
        _check_open(r)
        if r.handler_id == handler.pk:
            return r
        before = str(r.handler) if r.handler_id else None
        r.handler = handler
        r.save(update_fields=["handler", "updated_at"])
        record_event(
            kind=EventKind.ASSIGNED,
            reclamation=r,
            actor=actor,
            summary=f"Responsable du traitement : {handler.get_full_name() or handler.get_username()}.",
            data={"before": before, "after": str(handler.pk)},
        )
    return r


def reclamation_correct_received_at(
    *, reclamation: Reclamation, actor: Actor, received_at: datetime, reason: str
) -> Reclamation:
    """Correct the reception date; the stored deadlines are recomputed and the change logged."""
    if not reason.strip():
        raise WorkflowError("Indiquez le motif de la correction de la date de réception.")
    if received_at > timezone.now():
        raise WorkflowError("La date de réception ne peut pas être dans le futur.")
    with transaction.atomic():
        r = _lock(reclamation)
        before = {"received_at": r.received_at, "ack_due_at": r.ack_due_at, "answer_due_at": r.answer_due_at}
        r.received_at = received_at
        r.ack_due_at, r.answer_due_at = sla.compute_deadlines(received_at)
        r.save(update_fields=["received_at", "ack_due_at", "answer_due_at", "updated_at"])
        after = {"received_at": r.received_at, "ack_due_at": r.ack_due_at, "answer_due_at": r.answer_due_at}
        record_event(
            kind=EventKind.DEADLINES_RECOMPUTED,
            reclamation=r,
            actor=actor,
            summary=f"Date de réception corrigée : {reason.strip()}",
            data={"before": before, "after": after, "reason": reason.strip()},
        )
    return r


def reclamation_mark_not_applicable(*, reclamation: Reclamation, actor: Actor, step: str, reason: str) -> Reclamation:
    """Declare the client-facing part of a step "sans objet", with the reason, never silently."""
    if step not in workflow.NOT_APPLICABLE_PARTS:
        raise WorkflowError("Cette étape ne peut pas être déclarée sans objet.")
    if not reason.strip():
        raise WorkflowError("Indiquez pourquoi cette étape est sans objet.")
    with transaction.atomic():
        r = _lock(reclamation)
        _check_open(r)
        r.not_applicable = {**(r.not_applicable or {}), step: reason.strip()}
        r.save(update_fields=["not_applicable", "updated_at"])
        part = workflow.NOT_APPLICABLE_PARTS[step]
        record_event(
            kind=EventKind.STEP_NOT_APPLICABLE,
            reclamation=r,
            actor=actor,
            summary=f"Sans objet : {part} — {reason.strip()}",
            data={"step": step, "reason": reason.strip()},
        )
    return r


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
    with transaction.atomic():
        claimed = Reclamation.objects.filter(pk=reclamation.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=sent_at, updated_at=timezone.now()
        )
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
        r = _lock(reclamation)
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
    *, reclamation: Reclamation, actor: Actor, expected_state: str | None = None
) -> Reclamation:
    """Send the argued answer (step 6): it becomes a public communication and the answer time."""
    with transaction.atomic():
        r = _lock(reclamation)
        _check_state(r, expected_state)
        if r.state != Step.ACTION:
            raise WorkflowError("La réponse argumentée s'envoie à l'étape 6 (Action concrète).")
        if not r.decision or not r.answer.strip():
            raise WorkflowError("Renseignez la décision et la réponse argumentée avant de l'envoyer.")
        if r.answered_at:
            raise WorkflowError("La réponse argumentée a déjà été envoyée.")
        now = timezone.now()
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


# --- Action plan ---------------------------------------------------------------------------------
def reclamation_add_action(
    *,
    reclamation: Reclamation,
    actor: Actor,
    description: str,
    kind: str,
    owner: AbstractBaseUser | None = None,
    due_date: date | None = None,
) -> Action:
    with transaction.atomic():
        r = _lock(reclamation)
        _check_open(r)
        action = Action(reclamation=r, description=description, kind=kind, owner=owner, due_date=due_date)
        action.full_clean()
        action.save()
        record_event(
            kind=EventKind.ACTION_ADDED,
            reclamation=r,
            actor=actor,
            summary=f"Action ajoutée au plan : {action}",
            data={"action": action.pk, "kind": kind, "owner": _display(owner), "due_date": due_date},
        )
    return action


def reclamation_update_action(*, action: Action, actor: Actor, changes: dict[str, Any]) -> Action:
    unknown = set(changes) - ACTION_FIELDS
    if unknown:
        raise TypeError(f"not editable here: {sorted(unknown)}")
    if changes.get("status") == ActionStatus.DONE and not changes.get("done_at", action.done_at):
        changes = {**changes, "done_at": timezone.localdate()}
    with transaction.atomic():
        r = _lock(action.reclamation_id)
        _check_open(r)
        action = Action.objects.get(pk=action.pk, reclamation=r)
        diff = {}
        for name, value in changes.items():
            before = getattr(action, name)
            if before != value:
                setattr(action, name, value)
                diff[name] = {"before": _display(before), "after": _display(value)}
        if not diff:
            return action
        action.full_clean()
        action.save()
        record_event(
            kind=EventKind.ACTION_UPDATED,
            reclamation=r,
            actor=actor,
            summary=f"Action modifiée : {action}",
            data={"action": action.pk, "changes": diff},
        )
    return action


# --- The nine steps --------------------------------------------------------------------------------
_TRANSITIONS = {
    Step.RECEIVED: "complete_received",
    Step.IDENTIFICATION: "complete_identification",
    Step.REFORMULATION: "complete_reformulation",
    Step.ACTION_PROPOSAL: "complete_action_proposal",
    Step.SCHEDULING: "complete_scheduling",
    Step.ACTION: "complete_action",
    Step.FOLLOW_UP: "complete_follow_up",
    Step.CONCLUSION: "complete_conclusion",
    Step.FEEDBACK: "complete_feedback",
}


def reclamation_complete_step(*, reclamation: Reclamation, actor: Actor, expected_state: str) -> Reclamation:
    """Complete the step in progress, or raise :class:`StepIncomplete` saying what is missing.

    ``expected_state`` is the step the user saw: if two handlers complete the same step at once,
    the second one gets :class:`StaleState` instead of completing the next step by accident.
    """
    with transaction.atomic():
        r = _lock(reclamation)
        _check_state(r, expected_state)
        _check_open(r)
        missing = workflow.missing_for(r)
        if missing:
            raise StepIncomplete(r.state, missing)
        source = r.state
        try:
            getattr(r, _TRANSITIONS[Step(source)])()
        except TransitionNotAllowed as exc:  # the guard said yes a moment ago; be safe anyway
            raise StepIncomplete(source, workflow.missing_for(r) or ["les informations requises"]) from exc
        update_fields = ["state", "updated_at"]
        if r.state == Step.CLOSED:
            r.closed_at = timezone.now()
            update_fields.append("closed_at")
        try:
            r.save(update_fields=update_fields)
        except ConcurrentTransition as exc:
            raise StaleState("Cette étape vient d'être terminée par quelqu'un d'autre. Rechargez la page.") from exc
        record_event(
            kind=EventKind.STEP_COMPLETED,
            reclamation=r,
            actor=actor,
            public=True,
            summary=f"Étape {workflow.step_number(source)} terminée : {workflow.step_label(source)}.",
            data={"from": source, "to": r.state, "step": workflow.step_number(source)},
        )
    return r


def reclamation_discard(
    *, reclamation: Reclamation, actor: Actor, reason: str, expected_state: str | None = None
) -> Reclamation:
    """Classer sans suite (spam, doublon, retrait) from any open step; the reason is mandatory."""
    if not reason.strip():
        raise WorkflowError("Indiquez le motif du classement sans suite.")
    with transaction.atomic():
        r = _lock(reclamation)
        _check_state(r, expected_state)
        _check_open(r)
        source = r.state
        r.discard_reason = reason.strip()
        r.discard()
        r.closed_at = timezone.now()
        try:
            r.save(update_fields=["state", "discard_reason", "closed_at", "updated_at"])
        except ConcurrentTransition as exc:
            raise StaleState(
                "Cette réclamation vient d'être modifiée par quelqu'un d'autre. Rechargez la page."
            ) from exc
        record_event(
            kind=EventKind.DISCARDED,
            reclamation=r,
            actor=actor,
            public=True,
            summary=f"Classée sans suite : {r.discard_reason}",
            data={"from": source, "reason": r.discard_reason},
        )
    return r


def reclamation_reopen(
    *, reclamation: Reclamation, actor: Actor, reason: str, step: str = Step.ACTION_PROPOSAL
) -> Reclamation:
    """Reopen a closed record at an open step (by default 4: new evaluation and action plan)."""
    if not reason.strip():
        raise WorkflowError("Indiquez le motif de la réouverture.")
    if step not in workflow.OPEN_STEPS:
        raise WorkflowError("Choisissez l'étape à laquelle reprendre le traitement.")
    with transaction.atomic():
        r = _lock(reclamation)
        if r.state != Step.CLOSED:
            raise WorkflowError("Seule une réclamation clôturée peut être rouverte.")
        r.reopen(step)
        r.closed_at = None
        try:
            r.save(update_fields=["state", "closed_at", "updated_at"])
        except ConcurrentTransition as exc:
            raise StaleState(
                "Cette réclamation vient d'être modifiée par quelqu'un d'autre. Rechargez la page."
            ) from exc
        record_event(
            kind=EventKind.REOPENED,
            reclamation=r,
            actor=actor,
            public=True,
            summary=f"Réouverte à l'étape {workflow.step_number(step)} : {reason.strip()}",
            data={"to": step, "reason": reason.strip()},
        )
    return r


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
        r = _lock(reclamation)
        if r.state != Step.FEEDBACK:
            raise WorkflowError("L'enquête de satisfaction n'est pas ouverte pour cette réclamation.")
        if r.feedback_received_at:
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
        r = _lock(reclamation)
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
