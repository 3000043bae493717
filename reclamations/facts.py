"""The facts the evidence pack's figures rest on, bound to the journal.

Convention. A service that writes one of :data:`FACT_FIELDS` of a record writes, in the same
transaction, an event whose ``data["facts"]`` holds the value of each field it wrote *after* the
change, e.g. ``{"facts": {"acknowledged_at": "2026-01-19T08:12:00.000000+00:00"}}``
(:func:`facts_of` builds it). Dates are ISO 8601 in UTC with microseconds; codes, numbers and
yes/no as stored; ``null`` for a value emptied (a reopening empties the closure date).

Verification (:class:`LoggedFacts`, fed by ``journal.verify_chain`` as it walks the log). For each
record and each field, the *latest* event carrying that field says what the record must hold; a
different stored value is a mismatch, named in French with the record, the field and both values.
A field no event ever carried is not checked: events written before this convention carry no
facts, and an old record is checked from the first event that carried each field onwards. The
records are then read in one query, however many there are.

The configuration the pack relies on is held to its log the same way (:class:`LoggedConfiguration`):
each field of a row from the first CONFIGURATION_CHANGED event that logged it (``services.configuration``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import workflow
from .models import (
    Decision,
    Event,
    EventKind,
    OpeningHours,
    Organisation,
    Reclamation,
    RootCauseCategory,
    Service,
    Solved,
)

# The stored fields the pack's figures, register and sheets read (reception, deadlines, each
# fulfilment, the decision, the step, closure, the survey). Their French names are the model's.
FACT_FIELDS: tuple[str, ...] = (
    "received_at",
    "ack_due_at",
    "answer_due_at",
    "acknowledged_at",
    "answered_at",
    "decision",
    "state",
    "closed_at",
    "reopened_at",
    "feedback_requested_at",
    "feedback_received_at",
    "feedback_satisfaction",
    "feedback_solved",
    "feedback_answer_clear",
    "feedback_delay_acceptable",
    "feedback_no_answer",
)
FACTS_KEY = "facts"
_FACT_SET = frozenset(FACT_FIELDS)


def fact_value(value: Any) -> Any:
    """A stored value as an event keeps it: one spelling per moment, whatever the time zone."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, Decimal):
        return str(value)
    return value


def facts_of(reclamation: Reclamation, *fields: str) -> dict[str, Any]:
    """``{field: value}`` of the named fact fields of ``reclamation``, for an event's ``data["facts"]``."""
    unknown = set(fields) - set(FACT_FIELDS)
    if unknown:
        raise ValueError(f"not fact fields: {sorted(unknown)}")
    return {name: fact_value(getattr(reclamation, name)) for name in fields}


def _is_datetime_field(name: str) -> bool:
    return isinstance(Reclamation._meta.get_field(name), models.DateTimeField)


def _same(name: str, stored: Any, logged: Any) -> bool:
    if _is_datetime_field(name):
        moment = parse_datetime(logged) if isinstance(logged, str) else None
        if logged is not None and moment is None:
            return False
        return stored == moment
    return fact_value(stored) == logged


def _shown(name: str, value: Any) -> str:
    """A value in the words of the record's page."""
    if value is None or value == "":
        return "vide"
    if _is_datetime_field(name):
        moment = parse_datetime(value) if isinstance(value, str) else value
        if not isinstance(moment, datetime):
            return f"« {value} »"
        local = timezone.localtime(moment)
        # Seconds shown, and the fraction when that is where the difference lies.
        return f"{local:%d/%m/%Y à %H:%M:%S}" + (f",{local.microsecond:06d}" if local.microsecond else "")
    if isinstance(value, bool):
        return "oui" if value else "non"
    if name == "decision":
        return f"« {dict(Decision.choices).get(value, value)} »"
    if name == "feedback_solved":
        return f"« {dict(Solved.choices).get(value, value)} »"
    if name == "state" and isinstance(value, str):
        try:
            return f"« {workflow.step_label(value)} »"
        except (KeyError, ValueError):
            return f"« {value} »"
    return f"« {value} »" if isinstance(value, str) else str(value)


def field_label(name: str) -> str:
    return str(Reclamation._meta.get_field(name).verbose_name)


@dataclass(frozen=True)
class FactMismatch:
    reference: str
    field: str
    stored: Any
    logged: Any
    sequence: int  # the event that logged the value

    @property
    def message(self) -> str:
        return (
            f"Réclamation {self.reference} : « {field_label(self.field)} » vaut {_shown(self.field, self.stored)} "
            f"dans la base, mais {_shown(self.field, self.logged)} dans le journal (événement "
            f"n° {self.sequence}) — valeur modifiée hors de l'application."
        )


class LoggedFacts:
    """The latest logged value of each fact of each record, fed event by event in sequence order."""

    def __init__(self) -> None:
        self._latest: dict[int, dict[str, tuple[Any, int]]] = {}

    def add(self, event: Event) -> None:
        data = event.data
        if event.reclamation_id is None or not isinstance(data, dict):
            return
        facts = data.get(FACTS_KEY)
        if not isinstance(facts, dict):
            return
        known = {name: (value, event.sequence) for name, value in facts.items() if name in _FACT_SET}
        if known:
            self._latest.setdefault(event.reclamation_id, {}).update(known)

    @property
    def records(self) -> int:
        return len(self._latest)

    def mismatches(self) -> list[FactMismatch]:
        """Every stored fact that differs from its latest logged value, by reference then field order.

        One query: every record is read (in chunks, by one cursor), the few without facts skipped;
        a ``pk IN (...)`` of 50,000 ids would be slower and hit SQLite's parameter limit.
        """
        if not self._latest:
            return []
        found: list[FactMismatch] = []
        rows = Reclamation.objects.order_by("pk").values_list("pk", "reference", *FACT_FIELDS)
        for pk, reference, *values in rows.iterator(chunk_size=2000):
            logged = self._latest.get(pk)
            if not logged:
                continue
            for name, stored in zip(FACT_FIELDS, values, strict=True):
                if name in logged and not _same(name, stored, logged[name][0]):
                    found.append(FactMismatch(reference, name, stored, logged[name][0], logged[name][1]))
        found.sort(key=lambda m: (m.reference, FACT_FIELDS.index(m.field)))
        return found


def logged_facts(events: Iterable[Event]) -> LoggedFacts:
    collected = LoggedFacts()
    for event in events:
        collected.add(event)
    return collected


# --- The configuration -------------------------------------------------------------------------------
# What services.configuration logs (CONFIGURATION_CHANGED events, ``data["changes"][field]["after"]``)
# is held against the rows the same way: a field is checked from the first event that logged it.
CONFIGURATION_MODELS: dict[str, type[models.Model]] = {
    model._meta.model_name: model for model in (Organisation, OpeningHours, Service, RootCauseCategory)
}
DELETED = "supprimé"


def configuration_value(instance: models.Model, field: models.Field) -> Any:
    """A configuration field's value as the log keeps it and a reader understands it: labels of
    choices, names of related rows and files, times and dates as ISO text, yes/no in words, nothing
    as None. JSON-native, so it reads back from the log equal to itself."""
    value = getattr(instance, field.name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "oui" if value else "non"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, FieldFile):
        return value.name or None
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def configuration_snapshot(instance: models.Model | None) -> dict[str, Any]:
    if instance is None:
        return {}
    return {
        field.name: configuration_value(instance, field)
        for field in instance._meta.concrete_fields
        if not field.primary_key
    }


class LoggedConfiguration:
    """The latest logged value of each configuration field, and the logged deletions."""

    def __init__(self) -> None:
        self._latest: dict[tuple[str, Any], dict[str, tuple[Any, int]]] = {}
        self._names: dict[tuple[str, Any], str] = {}
        self._deleted: dict[tuple[str, Any], int] = {}

    def add(self, event: Event) -> None:
        data = event.data
        if event.kind != EventKind.CONFIGURATION_CHANGED or not isinstance(data, dict):
            return
        if data.get("model") not in CONFIGURATION_MODELS or data.get("object_id") is None:
            return
        key = (data["model"], data["object_id"])
        self._names[key] = str(data.get("object", ""))
        if data.get("action") == DELETED:
            self._latest.pop(key, None)
            self._deleted[key] = event.sequence
            return
        self._deleted.pop(key, None)
        changes = data.get("changes")
        if isinstance(changes, dict):
            latest = self._latest.setdefault(key, {})
            for name, change in changes.items():
                if isinstance(change, dict) and "after" in change:
                    latest[name] = (change["after"], event.sequence)

    def problems(self) -> list[str]:
        """Every configuration row that differs from its log, in French. One query per model logged."""
        found: list[str] = []
        keys = set(self._latest) | set(self._deleted)
        for model_name in sorted({model_name for model_name, _pk in keys}):
            model = CONFIGURATION_MODELS[model_name]
            rows = {row.pk: row for row in model.objects.all()}
            what = str(model._meta.verbose_name)
            for (name, pk), fields in sorted(self._latest.items(), key=lambda item: str(item[0])):
                if name != model_name:
                    continue
                row = rows.get(pk)
                label = f"Configuration — {what} « {self._names[(name, pk)]} »"
                if row is None:
                    last = max(sequence for _value, sequence in fields.values()) if fields else 0
                    found.append(
                        f"{label} : absent de la base, sans suppression inscrite au journal "
                        f"(dernière modification : événement n° {last})."
                    )
                    continue
                stored = configuration_snapshot(row)
                for field_name, (logged, sequence) in fields.items():
                    # A related account is shown by name, which may change (or be emptied when the
                    # account is deleted) without any change of configuration: logged, not checked.
                    if field_name not in stored or model._meta.get_field(field_name).is_relation:
                        continue
                    if stored[field_name] != logged:
                        verbose = model._meta.get_field(field_name).verbose_name
                        found.append(
                            f"{label} : « {verbose} » vaut {_shown_setting(stored[field_name])} dans la "
                            f"base, mais {_shown_setting(logged)} dans le journal (événement n° {sequence}) "
                            "— modification non journalisée."
                        )
            for (name, pk), sequence in sorted(self._deleted.items(), key=lambda item: str(item[0])):
                if name == model_name and pk in rows:
                    found.append(
                        f"Configuration — {what} « {self._names[(name, pk)]} » : supprimé au journal "
                        f"(événement n° {sequence}) mais toujours présent dans la base."
                    )
        return found


def _shown_setting(value: Any) -> str:
    return "vide" if value is None else f"« {value} »" if isinstance(value, str) else str(value)
