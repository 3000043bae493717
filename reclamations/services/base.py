"""Shared by the services: the errors users read, the record lock, the state checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from .. import workflow
from ..models import (
    Reclamation,
)

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
# deadlines, reference, fulfilment times) changes only through a dedicated service.
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

# The step whose form records each editable field. A form posts at its own step or later (a
# correction while the record is open), never before: a conclusion written at step 1 would be
# printed in the evidence pack as if the procedure had been followed.
_FIELDS_BY_STEP: dict[str, tuple[str, ...]] = {
    workflow.Step.RECEIVED: (
        "kind", "stakeholder_type", "channel", "complainant_name", "complainant_role", "complainant_organisation",
        "complainant_phone", "complainant_email", "complainant_address", "service", "training_action", "subject",
        "description", "wished_solution",
    ),
    workflow.Step.REFORMULATION: ("reformulation",),
    workflow.Step.ACTION_PROPOSAL: ("severity", "complexity", "repercussions"),
    workflow.Step.ACTION: ("decision", "answer", "compensation_type", "compensation_description",
                           "compensation_amount"),
    workflow.Step.CONCLUSION: ("conclusion", "root_cause_category", "root_cause_analysis", "complementary_offer"),
}
FIELD_STEPS: dict[str, str] = {name: step for step, names in _FIELDS_BY_STEP.items() for name in names}


# --- Helpers -------------------------------------------------------------------------------------
def lock(reclamation: Reclamation | int) -> Reclamation:
    pk = reclamation if isinstance(reclamation, int) else reclamation.pk
    return Reclamation.objects.select_for_update().get(pk=pk)


def check_state(reclamation: Reclamation, expected_state: str | None) -> None:
    if expected_state is not None and reclamation.state != expected_state:
        raise StaleState(
            "Cette réclamation a changé entre-temps (elle est maintenant à l'étape "
            f"« {workflow.step_label(reclamation.state)} »). Rechargez la page pour voir la situation à jour."
        )


def check_open(reclamation: Reclamation) -> None:
    if reclamation.state == workflow.Step.DISCARDED:
        raise WorkflowError("Cette réclamation est classée sans suite : elle ne peut plus être modifiée.")
    if not reclamation.is_open:
        raise WorkflowError(
            f"Cette réclamation est {workflow.step_label(reclamation.state).lower()} : seul le responsable qualité "
            "peut la rouvrir pour la modifier."
        )


def check_step_reached(reclamation: Reclamation, step: str, what: str) -> None:
    """Refuse what belongs to ``step`` while the record has not reached it (``what``: « Conclusion »)."""
    if workflow.is_step(reclamation.state) and workflow.step_number(reclamation.state) < workflow.step_number(step):
        raise WorkflowError(
            f"{what} : à enregistrer à partir de {workflow.step_phrase(step)} ; cette réclamation est à "
            f"{workflow.step_phrase(reclamation.state)}. Rien n'a été enregistré : terminez d'abord les étapes "
            "précédentes."
        )


# What the client received with the argued answer: once sent, the record keeps it as sent, so the
# evidence pack never prints an answer other than the one in the message (reopening allows a new one).
ANSWER_FIELDS = frozenset(_FIELDS_BY_STEP[workflow.Step.ACTION])


def check_answer_unsent(reclamation: Reclamation, fields: Any) -> None:
    """Refuse changing the decision, the answer or the compensation once the answer is sent."""
    if not workflow.since_reopening(reclamation, reclamation.answered_at) or not ANSWER_FIELDS & set(fields):
        return
    raise WorkflowError(
        "La réponse argumentée a été envoyée le "
        f"{timezone.localtime(reclamation.answered_at):%d/%m/%Y à %H:%M} : la décision, la réponse et le "
        "dédommagement restent tels que le réclamant les a reçus. Pour les compléter ou les corriger, "
        "écrivez-lui un message."
    )


def check_fields_reached(reclamation: Reclamation, fields: Any) -> None:
    """Refuse changing a field whose step the record has not reached (see ``FIELD_STEPS``)."""
    early = [name for name in fields
             if workflow.step_number(FIELD_STEPS.get(name, workflow.Step.RECEIVED))
             > workflow.step_number(reclamation.state)]
    if not early:
        return
    step = min((FIELD_STEPS[name] for name in early), key=workflow.step_number)
    labels = [str(Reclamation._meta.get_field(name).verbose_name) for name in early if FIELD_STEPS[name] == step]
    what = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " et " + labels[-1]
    check_step_reached(reclamation, step, what[0].upper() + what[1:])


def check_not_anonymised(reclamation: Reclamation) -> None:
    """Nothing may be added to a record whose personal data were erased (RGPD): it would bring
    personal data back onto a record that the retention rule or the person's request emptied."""
    if reclamation.anonymised_at is not None:
        raise WorkflowError(
            f"Cette réclamation a été anonymisée le {timezone.localtime(reclamation.anonymised_at):%d/%m/%Y} "
            "(RGPD) : elle ne peut plus être modifiée ni complétée."
        )


def display(value: Any) -> Any:
    """A value as the journal keeps it: related objects by name, dates and decimals as text."""
    if value is None:
        return None
    if hasattr(value, "_meta"):
        return str(value)
    if isinstance(value, (datetime, date, Decimal)):
        return value.isoformat() if not isinstance(value, Decimal) else str(value)
    return value
