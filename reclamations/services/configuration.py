"""Changes to the configuration the procedure and the evidence pack rely on, each one logged.

The delays, the clock mode and opening hours (the deadlines), the responsible person, the mediator,
the organisation's identity, the services and root-cause categories the figures are counted by:
an auditor must be able to tell which configuration was in force on any day of a period. Every
save or deletion of these rows — from the admin (``admin.LoggedConfigurationAdmin``) or any other
caller — goes through these functions, which write a CONFIGURATION_CHANGED event with who, and
each changed field's value before and after, in the transaction of the change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models, transaction

from ..facts import CONFIGURATION_MODELS
from ..facts import configuration_snapshot as _snapshot
from ..journal import record_event
from ..models import Event, EventKind, Organisation
from .base import Actor

LOGGED_MODELS: tuple[type[models.Model], ...] = tuple(CONFIGURATION_MODELS.values())
_SHOWN_IN_SUMMARY = 160  # characters of a value in the event's one-line summary (the data keeps it all)


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "(vide)"
    if isinstance(value, bool):
        return "oui" if value else "non"
    text = " ".join(str(value).split())
    return text if len(text) <= _SHOWN_IN_SUMMARY else text[: _SHOWN_IN_SUMMARY - 1] + "…"


def _check(instance: models.Model) -> None:
    if not isinstance(instance, LOGGED_MODELS):
        raise TypeError(f"not a logged configuration model: {type(instance).__name__}")


def _log(
    *,
    instance: models.Model,
    actor: Actor,
    before: dict[str, Any],
    after: dict[str, Any],
    what: str,
    label: str | None,
    object_id: Any,
    described: str,
) -> Event | None:
    opts = instance._meta
    changes = {
        name: {"label": str(opts.get_field(name).verbose_name), "before": before.get(name), "after": value}
        for name, value in (after or dict.fromkeys(before)).items()
        if before.get(name) != value
    }
    if not changes and what != "supprimé":
        return None
    details = "; ".join(
        f"{change['label']} : {_shown(change['before'])} → {_shown(change['after'])}" for change in changes.values()
    )
    return record_event(
        kind=EventKind.CONFIGURATION_CHANGED,
        actor=actor,
        label=label,
        summary=f"Configuration — {opts.verbose_name} « {described} » {what}" + (f" : {details}" if details else "."),
        data={
            "model": opts.model_name,
            "object": described,
            "object_id": object_id,
            "action": what,
            "changes": changes,
        },
    )


def configuration_save(*, instance: models.Model, actor: Actor, label: str | None = None) -> Event | None:
    """Save a configuration row and log what changed (nothing logged when nothing changed).

    The row as stored is read under lock first, so the "before" is what was in force, not what the
    form that is being saved was built from.
    """
    _check(instance)
    model = type(instance)
    with transaction.atomic():
        stored = model.objects.select_for_update().filter(pk=instance.pk).first() if instance.pk else None
        if stored is None and model is Organisation:
            stored = model.objects.select_for_update().filter(pk=1).first()  # one row, always pk 1
        before = _snapshot(stored)
        instance.save()
        return _log(
            instance=instance,
            actor=actor,
            before=before,
            after=_snapshot(instance),
            what="modifié" if stored is not None else "créé",
            label=label,
            object_id=instance.pk,
            described=str(instance),
        )


def configuration_delete(*, instances: Iterable[models.Model], actor: Actor, label: str | None = None) -> int:
    """Delete configuration rows (all or none), each deletion logged with the values it had."""
    count = 0
    with transaction.atomic():
        for instance in instances:
            _check(instance)
            before, object_id, described = _snapshot(instance), instance.pk, str(instance)
            instance.delete()
            _log(
                instance=instance,
                actor=actor,
                before=before,
                after={},
                what="supprimé",
                label=label,
                object_id=object_id,
                described=described,
            )
            count += 1
    return count
