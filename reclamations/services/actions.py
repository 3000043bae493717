"""The action plan (steps 4 to 6)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..journal import record_event
from ..models import (
    Action,
    ActionStatus,
    EventKind,
    Reclamation,
)
from ..workflow import Step
from .base import (
    ACTION_FIELDS,
    Actor,
    check_open,
    check_step_reached,
    display,
    lock,
)
from .search import search_document_refresh

# --- Dates that make sense --------------------------------------------------------------------------
PAST_DUE = ("Cette échéance est déjà passée. S'il s'agit d'un plan enregistré après coup, cochez "
            "« Échéance passée : je confirme » puis enregistrez à nouveau.")


def _check_dates(
    r: Reclamation, *, due_date: date | None, new_due_date: bool, done_at: date | None, past_due_confirmed: bool
) -> None:
    """Nothing is due or done before the complaint arrived, nothing is done in the future, and a
    deadline already past is set only knowingly (a plan recorded after the fact)."""
    received, today = timezone.localdate(r.received_at), timezone.localdate()
    errors: dict[str, str] = {}
    if due_date and due_date < received:
        errors["due_date"] = f"L'échéance ne peut pas précéder la réception de la réclamation ({received:%d/%m/%Y})."
    elif due_date and new_due_date and due_date < today and not past_due_confirmed:
        errors["due_date"] = PAST_DUE
    if done_at and done_at > today:
        errors["done_at"] = "Cette date est dans le futur : indiquez une date passée."
    elif done_at and done_at < received:
        errors["done_at"] = ("Une action ne peut pas être réalisée avant la réception de la réclamation "
                             f"({received:%d/%m/%Y}).")
    if errors:
        raise ValidationError(errors)


# --- Action plan ---------------------------------------------------------------------------------
def reclamation_add_action(
    *,
    reclamation: Reclamation,
    actor: Actor,
    description: str,
    kind: str,
    owner: AbstractBaseUser | None = None,
    due_date: date | None = None,
    past_due_confirmed: bool = False,
) -> Action:
    with transaction.atomic():
        r = lock(reclamation)
        check_open(r)
        check_step_reached(r, Step.ACTION_PROPOSAL, "Plan d'action")
        _check_dates(r, due_date=due_date, new_due_date=True, done_at=None, past_due_confirmed=past_due_confirmed)
        action = Action(reclamation=r, description=description, kind=kind, owner=owner, due_date=due_date)
        action.full_clean()
        action.save()
        data = {"action": action.pk, "kind": kind, "owner": display(owner), "due_date": due_date}
        if due_date and due_date < timezone.localdate():
            data["past_due_confirmed"] = True
        search_document_refresh(r)
        record_event(
            kind=EventKind.ACTION_ADDED,
            reclamation=r,
            actor=actor,
            summary=f"Action ajoutée au plan : {action}",
            data=data,
        )
    return action


def reclamation_update_action(
    *, action: Action, actor: Actor, changes: dict[str, Any], past_due_confirmed: bool = False
) -> Action:
    unknown = set(changes) - ACTION_FIELDS
    if unknown:
        raise TypeError(f"not editable here: {sorted(unknown)}")
    with transaction.atomic():
        r = lock(action.reclamation_id)
        check_open(r)
        action = Action.objects.get(pk=action.pk, reclamation=r)
        if changes.get("status") == ActionStatus.DONE and not changes.get("done_at", action.done_at):
            changes = {**changes, "done_at": timezone.localdate()}
        due_date = changes.get("due_date", action.due_date)
        _check_dates(r, due_date=due_date, new_due_date=due_date != action.due_date,
                     done_at=changes.get("done_at", action.done_at), past_due_confirmed=past_due_confirmed)
        diff = {}
        for name, value in changes.items():
            before = getattr(action, name)
            if before != value:
                setattr(action, name, value)
                diff[name] = {"before": display(before), "after": display(value)}
        if not diff:
            return action
        action.full_clean()
        action.save()
        if {"description", "result"} & set(diff):
            search_document_refresh(r)
        record_event(
            kind=EventKind.ACTION_UPDATED,
            reclamation=r,
            actor=actor,
            summary=f"Action modifiée : {action}",
            data={"action": action.pk, "changes": diff},
        )
    return action
