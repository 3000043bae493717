"""The action plan (steps 4 to 6)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from ..audit import record_event
from ..models import (
    Action,
    ActionStatus,
    EventKind,
    Reclamation,
)
from .base import (
    ACTION_FIELDS,
    Actor,
    check_open,
    display,
    lock,
)
from .search import search_document_refresh


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
        r = lock(reclamation)
        check_open(r)
        action = Action(reclamation=r, description=description, kind=kind, owner=owner, due_date=due_date)
        action.full_clean()
        action.save()
        search_document_refresh(r)
        record_event(
            kind=EventKind.ACTION_ADDED,
            reclamation=r,
            actor=actor,
            summary=f"Action ajoutée au plan : {action}",
            data={"action": action.pk, "kind": kind, "owner": display(owner), "due_date": due_date},
        )
    return action


def reclamation_update_action(*, action: Action, actor: Actor, changes: dict[str, Any]) -> Action:
    unknown = set(changes) - ACTION_FIELDS
    if unknown:
        raise TypeError(f"not editable here: {sorted(unknown)}")
    with transaction.atomic():
        r = lock(action.reclamation_id)
        check_open(r)
        action = Action.objects.get(pk=action.pk, reclamation=r)
        if changes.get("status") == ActionStatus.DONE and not changes.get("done_at", action.done_at):
            changes = {**changes, "done_at": timezone.localdate()}
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
