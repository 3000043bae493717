"""The facts the evidence pack's figures rest on, bound to the audit log.

Convention. A service that writes one of :data:`FACT_FIELDS` of a record writes, in the same
transaction, an event whose ``data["facts"]`` holds the value of each field it wrote *after* the
change, e.g. ``{"facts": {"acknowledged_at": "2026-01-19T08:12:00.000000+00:00"}}``
(:func:`facts_of` builds it). Dates are ISO 8601 in UTC with microseconds; codes, numbers and
yes/no as stored; ``null`` for a value emptied (a reopening empties the closure date).

Verification (:class:`LoggedFacts`, fed by ``audit.verify_chain`` as it walks the log). For each
record and each field, the *latest* event carrying that field says what the record must hold; a
different stored value is a mismatch, named in French with the record, the field and both values.
A field no event ever carried is not checked: events written before this convention carry no
facts, and an old record is checked from the first event that carried each field onwards. The
records are then read in one query, however many there are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import workflow
from .models import Decision, Event, Reclamation, Solved

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
