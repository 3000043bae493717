"""Completing the steps of workflow.STEPS, discarding, reopening."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from .. import roles, workflow
from ..journal import record_event
from ..models import (
    EventKind,
    Reclamation,
)
from ..workflow import Step
from .base import (
    Actor,
    StaleState,
    StepIncomplete,
    WorkflowError,
    check_not_anonymised,
    check_open,
    check_state,
    lock,
)

# --- The steps -------------------------------------------------------------------------------------
Effect = Callable[..., object]

# What entering a step (workflow.StepSpec.on_enter) or closing (workflow.ON_CLOSE) does, in the
# transaction of the completion: the client hears of it at once or not at all. Filled by the
# modules that build on this one (survey, messages) with ``@step_effect``: they complete steps
# themselves, so this module cannot import them.
EFFECTS: dict[str, Effect] = {}


def step_effect(name: str) -> Callable[[Effect], Effect]:
    """Register a service called as ``service(reclamation=r)`` under an effect name of workflow."""
    def register(service: Effect) -> Effect:
        EFFECTS[name] = service
        return service
    return register


def reclamation_complete_step(*, reclamation: Reclamation, actor: Actor, expected_state: str) -> Reclamation:
    """Complete the step in progress, or raise :class:`StepIncomplete` saying what is missing.

    ``expected_state`` is the step the user saw: if two handlers complete the same step at once,
    the second one gets :class:`StaleState` instead of completing the next step by accident.
    """
    with transaction.atomic():
        r = lock(reclamation)
        check_state(r, expected_state)
        check_open(r)
        missing = workflow.missing_for(r)
        if missing:
            raise StepIncomplete(r.state, missing)
        source = r.state
        try:
            r.complete_step()
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
        entered = workflow.step_spec(r.state)
        effect = entered.on_enter if entered else workflow.ON_CLOSE if r.state == Step.CLOSED else ""
        if effect:
            # Every effect of workflow is registered when reclamations.services is imported, which
            # any import of this module does first (tests/test_workflow_table.py checks it).
            EFFECTS[effect](reclamation=r)
    return r


def reclamation_discard(
    *, reclamation: Reclamation, actor: Actor, reason: str, expected_state: str | None = None
) -> Reclamation:
    """Classer sans suite (spam, doublon, retrait) from any open step; the reason is mandatory."""
    if not reason.strip():
        raise WorkflowError("Indiquez le motif du classement sans suite.")
    with transaction.atomic():
        r = lock(reclamation)
        check_state(r, expected_state)
        check_open(r)
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
    """Reopen a closed record at an open step (by default 4: new evaluation and action plan).

    Only the quality lead reopens (a closed record is evidence: nothing else may change it). The
    steps after the one reopened are to be done again: the event lists them, and the evidence pack
    shows their first completion as reset and the new one as « refaite ».
    """
    if not reason.strip():
        raise WorkflowError("Indiquez le motif de la réouverture.")
    if not workflow.is_step(step):
        raise WorkflowError("Choisissez l'étape à laquelle reprendre le traitement.")
    with transaction.atomic():
        r = lock(reclamation)
        check_not_anonymised(r)
        if r.state != Step.CLOSED:
            raise WorkflowError("Seule une réclamation clôturée peut être rouverte.")
        if not roles.is_quality_lead(actor):
            raise WorkflowError("Seul le responsable qualité peut rouvrir une réclamation clôturée.")
        r.reopen(step)
        r.closed_at = None
        # The answer, follow-up and survey of the previous round stay in the history, but the
        # guards only count what happens from now on (workflow.since_reopening).
        r.reopened_at = timezone.now()
        r.feedback_no_answer = False
        r.feedback_requested_at = None
        try:
            r.save(
                update_fields=[
                    "state",
                    "closed_at",
                    "reopened_at",
                    "feedback_no_answer",
                    "feedback_requested_at",
                    "updated_at",
                ]
            )
        except ConcurrentTransition as exc:
            raise StaleState(
                "Cette réclamation vient d'être modifiée par quelqu'un d'autre. Rechargez la page."
            ) from exc
        number = workflow.step_number(step)
        reset = list(range(number + 1, workflow.step_count() + 1))
        redo = (f" Étapes {reset[0]} à {reset[-1]} à refaire." if len(reset) > 1
                else f" Étape {reset[0]} à refaire." if reset else "")
        record_event(
            kind=EventKind.REOPENED,
            reclamation=r,
            actor=actor,
            public=True,
            summary=f"Réouverte à l'étape {number} : {_sentence(reason)}{redo}",
            data={"to": step, "reason": reason.strip(), "step": number, "reset_steps": reset},
        )
    return r


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def reclamation_advance(
    *, reclamation: Reclamation, to: str, actor: Actor, fill: Callable[[Reclamation], None]
) -> Reclamation:
    """Record what each step needs (``fill``, called with the record at that step), then complete
    it, until the record reaches step ``to`` (or is closed). The one loop that drives a record
    forward for the demo data (seed_demo) and the tests' factories, through the real services."""
    targets = (*workflow.OPEN_STEPS, Step.CLOSED.value)
    if to not in targets:
        raise WorkflowError(f"Étape inconnue : {to}.")
    r = Reclamation.objects.get(pk=reclamation.pk)
    while workflow.is_step(r.state) and targets.index(r.state) < targets.index(to):
        fill(r)
        r = reclamation_complete_step(
            reclamation=Reclamation.objects.get(pk=r.pk), actor=actor, expected_state=r.state)
    return r
