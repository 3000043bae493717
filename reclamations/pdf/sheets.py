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
class Sheet(DelayLabels):
    reclamation: Reclamation
    steps: tuple[StepLine, ...]
    events: tuple[Event, ...]
    communications: tuple[Communication, ...]
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
                 queryset=Communication.objects.select_related("author").order_by("occurred_at", "id")),
        Prefetch("actions", queryset=Action.objects.select_related("owner").order_by("created_at", "id")),
        Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "id").only(
            "original_name", "content_type", "size", "sha256", "public", "created_at", "reclamation_id")),
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


def build_sheets(records: Iterable[Reclamation], *, now: datetime) -> list[Sheet]:
    sheets = []
    for reclamation in records:
        events = tuple(reclamation.events.all())
        sheets.append(Sheet(
            reclamation=reclamation,
            steps=_step_lines(reclamation, events),
            events=events,
            communications=tuple(reclamation.communications.all()),
            actions=tuple(reclamation.actions.all()),
            attachments=tuple(reclamation.attachments.all()),
            ack_outcome=ack_outcome(reclamation, now),
            answer_outcome=answer_outcome(reclamation, now),
            anomalies=tuple(anomalies_of(reclamation, events, now=now)),
            corrections=tuple(received_at_corrections(events)),
        ))
    return sheets
