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
    if not reclamation.is_open:
        raise WorkflowError(
            f"Cette réclamation est {workflow.step_label(reclamation.state).lower()} : rouvrez-la pour la modifier."
        )


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
