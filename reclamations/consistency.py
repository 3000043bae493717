"""Chronology checks: what a record's dates and its log say that the procedure does not allow.

The services refuse these orders where a person enters a date (services.records, .communications,
.messages, .steps), but a record may still carry one from an import, old data or a direct change in
the database. One function, :func:`anomalies_of`, says what is wrong with a record; the record's
sheet in the evidence pack, the pack's « Contrôles de cohérence » section and the record's page all
read it. The reception-date corrections (who, when, why) are read here too: they decide whether a
delay was kept.

Reads only the record and its events (prefetched by :func:`with_consistency_data` for a period).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from . import workflow
from .models import Event, EventKind, Reclamation

# The events the checks read (the step completions and reopenings, the date corrections).
CHECKED_EVENTS = (EventKind.STEP_COMPLETED, EventKind.REOPENED, EventKind.DEADLINES_RECOMPUTED)


def _at(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%d/%m/%Y à %H:%M}"


@dataclass(frozen=True)
class DateCorrection:
    """A correction of the reception date: « date corrigée » on the sheet and in the register."""

    at: datetime  # when it was corrected
    by: str  # who corrected it (the event's author)
    reason: str
    before: str  # the reception date before, as logged (ISO text)
    after_acknowledgement: bool

    @property
    def before_date(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.before)
        except (TypeError, ValueError):
            return None


def received_at_corrections(events: Iterable[Event]) -> list[DateCorrection]:
    """The reception-date corrections among a record's events, oldest first."""
    corrections = []
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        if event.kind != EventKind.DEADLINES_RECOMPUTED or "reason" not in data:
            continue
        before = data.get("before") if isinstance(data.get("before"), dict) else {}
        corrections.append(
            DateCorrection(
                at=event.created_at,
                by=event.actor_label,
                reason=str(data.get("reason", "")),
                before=str(before.get("received_at", "")),
                after_acknowledgement=bool(data.get("after_acknowledgement")),
            )
        )
    return corrections


def _step_order(events: Iterable[Event]) -> list[str]:
    """Steps completed before the one they follow, replayed from the log (a reopening resets the
    steps from the one reopened)."""
    found = []
    last_done: dict[int, datetime] = {}
    for event in sorted(events, key=lambda e: e.sequence):
        data = event.data if isinstance(event.data, dict) else {}
        if event.kind == EventKind.REOPENED:
            to = data.get("to")
            if workflow.is_step(str(to)):
                number = workflow.step_number(str(to))
                last_done = {step: at for step, at in last_done.items() if step < number}
        elif event.kind == EventKind.STEP_COMPLETED and isinstance(data.get("step"), int):
            number = data["step"]
            previous = last_done.get(number - 1)
            label = workflow.steps()[number - 1].label if 0 < number <= workflow.step_count() else ""
            if number > 1 and previous is None:
                found.append(
                    f"Étape {number} ({label}) terminée le {_at(event.created_at)} sans que l'étape "
                    f"{number - 1} l'ait été."
                )
            elif previous is not None and event.created_at < previous:
                found.append(
                    f"Étape {number} ({label}) terminée le {_at(event.created_at)}, avant l'étape "
                    f"{number - 1} (terminée le {_at(previous)})."
                )
            last_done[number] = event.created_at
    return found


def anomalies_of(
    reclamation: Reclamation, events: Iterable[Event] | None = None, *, now: datetime | None = None
) -> list[str]:
    """What the record's dates and log show that the procedure does not allow, in French; empty
    when all is in order. ``events``: the record's events (all, or at least ``CHECKED_EVENTS``)."""
    r = reclamation
    now = now or timezone.now()
    events = list(r.events.all() if events is None else events)
    found: list[str] = []
    dated = (
        ("Réception", r.received_at),
        ("Accusé de réception", r.acknowledged_at),
        ("Réponse argumentée", r.answered_at),
        ("Clôture", r.closed_at),
        ("Envoi de l'enquête de satisfaction", r.feedback_requested_at),
        ("Réponse à l'enquête de satisfaction", r.feedback_received_at),
    )
    for what, moment in dated:
        if moment is not None and moment > now:
            found.append(f"{what} : date dans le futur ({_at(moment)}).")
    ack, answer, closed = r.acknowledged_at, r.answered_at, r.closed_at
    if ack is not None and ack < r.received_at:
        found.append(f"Accusé de réception envoyé le {_at(ack)}, avant la réception ({_at(r.received_at)}).")
    if answer is not None and answer < r.received_at:
        found.append(f"Réponse argumentée envoyée le {_at(answer)}, avant la réception ({_at(r.received_at)}).")
    if answer is not None and ack is not None and answer < ack:
        found.append(f"Réponse argumentée envoyée le {_at(answer)}, avant l'accusé de réception ({_at(ack)}).")
    if closed is not None and answer is not None and closed < answer:
        found.append(f"Clôture le {_at(closed)}, avant la réponse argumentée ({_at(answer)}).")
    if closed is not None and ack is not None and closed < ack:
        found.append(f"Clôture le {_at(closed)}, avant l'accusé de réception ({_at(ack)}).")
    requested, received = r.feedback_requested_at, r.feedback_received_at
    if received is not None and requested is not None and received < requested:
        found.append(f"Enquête de satisfaction répondue le {_at(received)}, avant son envoi ({_at(requested)}).")
    if requested is not None and answer is not None and requested < answer:
        found.append(
            f"Enquête de satisfaction envoyée le {_at(requested)}, avant la réponse argumentée ({_at(answer)})."
        )
    found += _step_order(events)
    return found


def with_consistency_data(records: QuerySet[Reclamation]) -> QuerySet[Reclamation]:
    """The records with the events the checks read, in one more query."""
    return records.prefetch_related(
        Prefetch(
            "events",
            queryset=Event.objects.filter(kind__in=CHECKED_EVENTS)
            .order_by("sequence")
            .only("sequence", "created_at", "actor_label", "kind", "data", "reclamation_id"),
        )
    )


@dataclass(frozen=True)
class RecordAnomalies:
    reference: str
    subject: str
    anomalies: tuple[str, ...]


def period_anomalies(records: Iterable[Reclamation], *, now: datetime | None = None) -> list[RecordAnomalies]:
    """The records of a period that show an anomaly, each with its list (``with_consistency_data``)."""
    found = []
    for r in records:
        anomalies = anomalies_of(r, r.events.all(), now=now)
        if anomalies:
            found.append(RecordAnomalies(reference=r.reference, subject=r.subject, anomalies=tuple(anomalies)))
    return found


def corrected_receptions(records: QuerySet[Reclamation]) -> dict[str, DateCorrection]:
    """The last reception-date correction of each record that had one, by reference (one query)."""
    events = (
        Event.objects.filter(reclamation__in=records, kind=EventKind.DEADLINES_RECOMPUTED)
        .select_related(None)
        .only("sequence", "created_at", "actor_label", "kind", "data", "reclamation_id")
        .order_by("sequence")
    )
    references = dict(records.values_list("pk", "reference"))
    found: dict[str, DateCorrection] = {}
    for event in events:
        for correction in received_at_corrections([event]):
            found[references[event.reclamation_id]] = correction
    return found
