"""One sheet per record: what was recorded at each step, and the full history (who did what, when).

Sheets are built from a queryset with everything prefetched, so a pack of a thousand records costs a
handful of queries, not a thousand.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import Prefetch, QuerySet

from .. import workflow
from ..consistency import DateCorrection, anomalies_of, received_at_corrections
from ..models import Action, Attachment, Communication, Event, EventKind, Reclamation
from ..statistics import DelayLabels, ack_outcome, answer_outcome


@dataclass(frozen=True)
class StepDone:
    at: datetime
    by: str
    redone: bool = False  # completed again after a reopening reset it
    reset_at: datetime | None = None  # when a reopening reset this completion (the step was to be redone)


@dataclass(frozen=True)
class StepLine:
    number: int
    label: str
    completions: tuple[StepDone, ...]
    not_applicable: str  # the recorded reason, "" when not declared
    current: bool


@dataclass(frozen=True)
class HistoryLine:
    """A journal entry as printed: its kind left out when the summary already starts with it
    ("Modification : Modification : …" otherwise)."""

    event: Event
    kind: str


@dataclass(frozen=True)
class RecordedAcknowledgement:
    """An acknowledgement recorded without a kept message (sent by letter, or registered after the fact):
    the exchanges still show it, from the event that recorded it."""

    at: datetime
    means: str
    by: str
    recorded_acknowledgement: bool = True  # tells it from a Communication in the exchanges


@dataclass(frozen=True)
class Sheet(DelayLabels):
    reclamation: Reclamation
    steps: tuple[StepLine, ...]
    events: tuple[Event, ...]
    history: tuple[HistoryLine, ...]
    communications: tuple[Communication, ...]
    exchanges: tuple[Communication | RecordedAcknowledgement, ...]  # by date, the acknowledgement included
    actions: tuple[Action, ...]
    attachments: tuple[Attachment, ...]
    ack_outcome: str
    answer_outcome: str
    anomalies: tuple[str, ...] = ()  # consistency.anomalies_of: what the procedure does not allow
    corrections: tuple[DateCorrection, ...] = ()  # the reception date corrected (who, when, why)


def with_sheet_data(records: QuerySet[Reclamation]) -> QuerySet[Reclamation]:
    """The records with everything a sheet reads, in reception order."""
    return records.select_related("service", "handler", "root_cause_category", "created_by").prefetch_related(
        Prefetch(
            "events",
            queryset=Event.objects.order_by("sequence").only(
                "sequence", "created_at", "actor_label", "kind", "summary", "data", "reclamation_id"
            ),
        ),
        Prefetch("communications",
                 queryset=Communication.objects.select_related("author", "email").order_by("occurred_at", "id")),
        Prefetch("actions", queryset=Action.objects.select_related("owner").order_by("created_at", "id")),
        # Names, sizes and who added them: a sheet never reads a file's content.
        Prefetch("attachments", queryset=Attachment.objects.select_related("uploaded_by").order_by(
            "created_at", "id").only("original_name", "content_type", "size", "sha256", "public", "created_at",
                                     "reclamation_id", "communication_id", "uploaded_by")),
    ).order_by("received_at", "pk")


def _step_lines(reclamation: Reclamation, events: Iterable[Event]) -> tuple[StepLine, ...]:
    # Replayed from the log: a reopening at step N resets the completions of steps N and after
    # (kept, marked as reset); a step completed again after that is « refaite ».
    done: dict[int, list[StepDone]] = {}
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        if event.kind == EventKind.REOPENED and workflow.is_step(str(data.get("to"))):
            reopened = workflow.step_number(str(data["to"]))
            for number, completions in done.items():
                if number >= reopened:
                    completions[:] = [c if c.reset_at else replace(c, reset_at=event.created_at) for c in completions]
        elif event.kind == EventKind.STEP_COMPLETED and "step" in data:
            number = int(data["step"])
            redone = any(c.reset_at for c in done.get(number, ()))
            done.setdefault(number, []).append(StepDone(event.created_at, event.actor_label, redone=redone))
    declared = reclamation.not_applicable or {}
    return tuple(
        StepLine(
            number=number,
            label=step.label,
            completions=tuple(done.get(number, ())),
            not_applicable=str(declared.get(step.code, "")),
            current=reclamation.state == step.code,
        )
        for number, step in enumerate(workflow.steps(), start=1)
    )


def _history(events: Iterable[Event]) -> tuple[HistoryLine, ...]:
    lines = []
    for event in events:
        kind = event.get_kind_display()
        lines.append(HistoryLine(event=event, kind="" if event.summary.startswith(f"{kind} ") else kind))
    return tuple(lines)


def _recorded_acknowledgement(
    reclamation: Reclamation, events: Iterable[Event], communications: Iterable[Communication]
) -> RecordedAcknowledgement | None:
    """The acknowledgement as an exchange when no message of the record carries it."""
    if reclamation.acknowledged_at is None or any(
            c.purpose == Communication.Purpose.ACKNOWLEDGEMENT and c.direction == Communication.Direction.OUTBOUND
            for c in communications):
        return None
    event = next((e for e in events if e.kind == EventKind.ACKNOWLEDGED), None)
    data = event.data if event is not None and isinstance(event.data, dict) else {}
    return RecordedAcknowledgement(at=reclamation.acknowledged_at, means=str(data.get("means") or ""),
                                   by=event.actor_label if event is not None else "")


def _exchanges(
    reclamation: Reclamation, events: Iterable[Event], communications: tuple[Communication, ...]
) -> tuple[Communication | RecordedAcknowledgement, ...]:
    acknowledgement = _recorded_acknowledgement(reclamation, events, communications)
    if acknowledgement is None:
        return communications
    # Before the messages of the same moment: it answers the request they follow.
    before = tuple(c for c in communications if c.occurred_at <= acknowledgement.at)
    return (*before, acknowledgement, *communications[len(before):])


def build_sheets(records: Iterable[Reclamation], *, now: datetime) -> list[Sheet]:
    sheets = []
    for reclamation in records:
        events = tuple(reclamation.events.all())
        communications = tuple(reclamation.communications.all())
        sheets.append(Sheet(
            reclamation=reclamation,
            steps=_step_lines(reclamation, events),
            events=events,
            history=_history(events),
            communications=communications,
            exchanges=_exchanges(reclamation, events, communications),
            actions=tuple(reclamation.actions.all()),
            attachments=tuple(reclamation.attachments.all()),
            ack_outcome=ack_outcome(reclamation, now),
            answer_outcome=answer_outcome(reclamation, now),
            anomalies=tuple(anomalies_of(reclamation, events, now=now)),
            corrections=tuple(received_at_corrections(events)),
        ))
    return sheets
