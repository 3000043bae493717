"""Completing the steps of workflow.STEPS, discarding, reopening."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from .. import roles, workflow
from ..facts import facts_of
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


def reclamation_complete_step(
    *, reclamation: Reclamation, actor: Actor, expected_state: str, automatic: bool = True
) -> Reclamation:
    """Complete the step in progress, or raise :class:`StepIncomplete` saying what is missing.

    ``expected_state`` is the step the user saw: if two handlers complete the same step at once,
    the second one gets :class:`StaleState` instead of completing the next step by accident.
    Then each following step whose requirement is already met and which the table marks
    ``automatic`` completes by itself (``automatic=False``: stop at the next step, for the
    factories and the demo which fill every step themselves).
    """
    with transaction.atomic():
        r = lock(reclamation)
        check_state(r, expected_state)
        check_open(r)
        _complete(r, actor)
        if automatic:
            _complete_met_steps(r)
    return r


def _complete(r: Reclamation, actor: Actor, reason: str = "") -> None:
    """Complete ``r``'s step (locked by the caller, in its transaction), with its event and effects."""
    missing = workflow.missing_for(r)
    if missing:
        raise StepIncomplete(r.state, missing)
    source = r.state
    try:
        r.complete_step()
    except TransitionNotAllowed as exc:  # the guard said yes a moment ago; be safe anyway
        raise StepIncomplete(source, workflow.missing_for(r) or ["les informations requises"]) from exc
    update_fields = ["state", "updated_at"]
    written = ["state"]
    if r.state == Step.CLOSED:
        r.closed_at = timezone.now()
        update_fields.append("closed_at")
        written.append("closed_at")
    try:
        r.save(update_fields=update_fields)
    except ConcurrentTransition as exc:
        raise StaleState("Cette étape vient d'être terminée par quelqu'un d'autre. Rechargez la page.") from exc
    number = workflow.step_number(source)
    summary = (f"Étape {number} terminée automatiquement : {reason}." if reason
               else f"Étape {number} terminée : {workflow.step_label(source)}.")
    record_event(
        kind=EventKind.STEP_COMPLETED,
        reclamation=r,
        actor=None if reason else actor,
        public=True,
        summary=summary,
        data={"from": source, "to": r.state, "step": number, **({"automatic": True} if reason else {}),
              "facts": facts_of(r, *written)},
    )
    entered = workflow.step_spec(r.state)
    effect = entered.on_enter if entered else workflow.ON_CLOSE if r.state == Step.CLOSED else ""
    if effect:
        # Every effect of workflow is registered when reclamations.services is imported, which
        # any import of this module does first (tests/test_workflow_table.py checks it).
        EFFECTS[effect](reclamation=r)


def _complete_met_steps(r: Reclamation) -> list[int]:
    """Complete, one after the other, the automatic steps whose requirement is already met."""
    done = []
    while (spec := workflow.step_spec(r.state)) and spec.automatic and workflow.can_complete(r):
        done.append(workflow.step_number(r.state))
        _complete(r, None, reason=spec.automatic)
    return done


def reclamation_complete_automatically(*, reclamation: Reclamation) -> Reclamation:
    """After something happened (the acknowledgement sent, the client's feedback received): the
    step in progress completes by itself when the table marks it automatic and nothing is missing,
    and so do the automatic steps after it. Nothing happens otherwise; never raises StepIncomplete."""
    with transaction.atomic():
        r = lock(reclamation)
        if r.is_open:
            _complete_met_steps(r)
    return r


@dataclass(frozen=True)
class StepOutcome:
    """What "Enregistrer et terminer l'étape" did: the data is saved; the step completed or not."""

    reclamation: Reclamation
    completed: bool
    refusal: str = ""  # the guard's French message when the step could not complete


def reclamation_save_and_complete_step(
    *,
    reclamation: Reclamation,
    actor: Actor,
    expected_state: str,
    save: Callable[[Reclamation], object] | None = None,
) -> StepOutcome:
    """Save the step's data (``save``: a service call, e.g. ``reclamation_update`` of the step's
    form) then complete the step when its guard allows, in one transaction.

    When the guard refuses, the data stays saved (nothing the handler typed is lost) and the
    outcome carries the guard's message; a refusal of ``save`` itself saves nothing.
    """
    with transaction.atomic():
        r = lock(reclamation)
        check_state(r, expected_state)
        check_open(r)
        if save is not None:
            save(r)
        r = lock(r)  # as saved
        if r.state != expected_state:  # the save itself completed the step (the acknowledgement sent)
            return StepOutcome(r, completed=True)
        missing = workflow.missing_for(r)
        if missing:
            return StepOutcome(r, completed=False, refusal=workflow.refusal_message(r.state, missing))
        _complete(r, actor)
        _complete_met_steps(r)
    return StepOutcome(r, completed=True)


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
            data={"from": source, "reason": r.discard_reason, "facts": facts_of(r, "state", "closed_at")},
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
            data={"to": step, "reason": reason.strip(), "step": number, "reset_steps": reset,
                  "facts": facts_of(r, "state", "closed_at", "reopened_at", "feedback_no_answer",
                                    "feedback_requested_at")},
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
        filled = Reclamation.objects.get(pk=r.pk)
        if filled.state != r.state:  # the filling completed the step by itself (the acknowledgement)
            r = filled
            continue
        r = reclamation_complete_step(reclamation=filled, actor=actor, expected_state=r.state, automatic=False)
    return r
