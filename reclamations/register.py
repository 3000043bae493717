"""The register of a period: one row per record, in the order of reception.

Below both the spreadsheets (``reclamations.exports``) and the evidence pack (``reclamations.pdf``),
so the PDF and the spreadsheets always agree and neither has to import the other.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from .models import Action, ActionKind, ActionStatus, Reclamation
from .statistics import DelayLabels, Period, ack_outcome, answer_outcome, received_in
from .text import shorten

# How much of the root-cause analysis and of each corrective action the register shows: enough to
# say what was found and done, short enough for a row of the PDF register (the record's sheet has
# the full text). The PDF and the spreadsheets print the same extracts, so an auditor comparing
# them finds the same words.
ROOT_CAUSE_EXTRACT_CHARS = 140
ACTION_DESCRIPTION_CHARS = 80
ACTION_RESULT_CHARS = 60


@dataclass(frozen=True)
class RegisterRow(DelayLabels):
    reference: str
    received_at: datetime
    kind: str
    channel: str
    stakeholder: str
    service: str
    subject: str
    handler: str
    status: str
    acknowledged_at: datetime | None
    ack_due_at: datetime
    ack_outcome: str  # a DelayOutcome value
    answered_at: datetime | None
    answer_due_at: datetime
    answer_outcome: str
    decision: str
    compensation: str
    compensation_amount: Decimal | None
    root_cause: str
    root_cause_extract: str  # the analysis, cut between words with "…" (ROOT_CAUSE_EXTRACT_CHARS)
    corrective_actions: tuple[str, ...]  # one short line per corrective action: what, state, result
    closed_at: datetime | None
    satisfaction: int | None

    @property
    def corrective_actions_text(self) -> str:
        """The corrective actions as one spreadsheet cell, one action per line."""
        return "\n".join(self.corrective_actions)


# (header, attribute, column width, kind) — the kind says how each format writes the value.
COLUMNS: tuple[tuple[str, str, int, str], ...] = (
    ("Référence", "reference", 14, "text"),
    ("Reçue le", "received_at", 17, "datetime"),
    ("Nature", "kind", 12, "text"),
    ("Canal", "channel", 22, "text"),
    ("Partie prenante", "stakeholder", 24, "text"),
    ("Service concerné", "service", 26, "text"),
    ("Objet", "subject", 48, "text"),
    ("Responsable du traitement", "handler", 24, "text"),
    ("Étape / statut", "status", 24, "text"),
    ("Accusé de réception envoyé le", "acknowledged_at", 17, "datetime"),
    ("Accusé de réception dû le", "ack_due_at", 17, "datetime"),
    ("Accusé de réception : délai", "ack_label", 16, "text"),
    ("Réponse envoyée le", "answered_at", 17, "datetime"),
    ("Réponse due le", "answer_due_at", 17, "datetime"),
    ("Réponse : délai", "answer_label", 16, "text"),
    ("Décision", "decision", 22, "text"),
    ("Dédommagement", "compensation", 24, "text"),
    ("Montant du dédommagement (€)", "compensation_amount", 14, "amount"),
    ("Cause racine", "root_cause", 26, "text"),
    ("Analyse de la cause (extrait)", "root_cause_extract", 48, "text"),
    ("Actions correctives", "corrective_actions_text", 60, "text"),
    ("Clôturée le", "closed_at", 17, "datetime"),
    ("Satisfaction (1 à 5)", "satisfaction", 12, "integer"),
)


def _name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


CORRECTIVE_ACTIONS_ATTRIBUTE = "register_corrective_actions"


def _corrective_actions() -> QuerySet[Action]:
    # In the order they were decided: the order of the record's sheet and of the pack's section 5.
    return Action.objects.filter(kind=ActionKind.CORRECTIVE).order_by("created_at", "id")


def register_queryset(period: Period) -> QuerySet[Reclamation]:
    return _as_register(received_in(period))


def selection_queryset(pks: Iterable[int]) -> QuerySet[Reclamation]:
    """The records ticked on the list, read and ordered as the register reads a period's."""
    return _as_register(Reclamation.objects.filter(pk__in=list(pks)))


def _as_register(records: QuerySet[Reclamation]) -> QuerySet[Reclamation]:
    # One place for what a register row reads: a period's register and a selection never differ.
    return (
        records.select_related("service", "handler", "root_cause_category")
        .prefetch_related(Prefetch("actions", queryset=_corrective_actions(), to_attr=CORRECTIVE_ACTIONS_ATTRIBUTE))
        .order_by("received_at", "pk")
    )


def action_line(action: Action) -> str:
    """One corrective action in a few words: "Émettre un avoir… — réalisée le 12/03/2026 — résultat : …".

    The state is always written (an action still planned is not one carried out); an open action
    carries its due date, a finished one the day it was done.
    """
    line = f"{shorten(action.description, ACTION_DESCRIPTION_CHARS)} — {action.get_status_display().lower()}"
    if action.status == ActionStatus.DONE and action.done_at:
        line += f" le {action.done_at:%d/%m/%Y}"
    elif action.status in (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS) and action.due_date:
        line += f", échéance le {action.due_date:%d/%m/%Y}"
    if action.result.strip():
        line += f" — résultat : {shorten(action.result, ACTION_RESULT_CHARS)}"
    return line


def _actions_of(record: Reclamation) -> list[Action]:
    prefetched = getattr(record, CORRECTIVE_ACTIONS_ATTRIBUTE, None)
    if prefetched is not None:
        return prefetched
    return list(_corrective_actions().filter(reclamation=record))


def register_rows(records: Iterable[Reclamation], *, now: datetime | None = None) -> list[RegisterRow]:
    now = now or timezone.now()
    return [
        RegisterRow(
            reference=r.reference,
            received_at=r.received_at,
            kind=r.get_kind_display(),
            channel=r.get_channel_display(),
            stakeholder=r.get_stakeholder_type_display() if r.stakeholder_type else "",
            service=r.service.name if r.service_id else "",
            subject=r.subject,
            handler=_name(r.handler) if r.handler_id else "",
            status=r.get_state_display(),
            acknowledged_at=r.acknowledged_at,
            ack_due_at=r.ack_due_at,
            ack_outcome=ack_outcome(r, now),
            answered_at=r.answered_at,
            answer_due_at=r.answer_due_at,
            answer_outcome=answer_outcome(r, now),
            decision=r.get_decision_display() if r.decision else "",
            compensation=r.get_compensation_type_display() if r.compensation_type else "",
            compensation_amount=r.compensation_amount,
            root_cause=r.root_cause_category.name if r.root_cause_category_id else "",
            root_cause_extract=shorten(r.root_cause_analysis, ROOT_CAUSE_EXTRACT_CHARS),
            corrective_actions=tuple(action_line(action) for action in _actions_of(r)),
            closed_at=r.closed_at,
            satisfaction=r.feedback_satisfaction,
        )
        for r in records
    ]
