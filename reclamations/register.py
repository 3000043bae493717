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

from django.db.models import QuerySet
from django.utils import timezone

from .models import Reclamation
from .statistics import DelayLabels, Period, ack_outcome, answer_outcome, received_in


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
    closed_at: datetime | None
    satisfaction: int | None


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
    ("Clôturée le", "closed_at", 17, "datetime"),
    ("Satisfaction (1 à 5)", "satisfaction", 12, "integer"),
)


def _name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def register_queryset(period: Period) -> QuerySet[Reclamation]:
    return _as_register(received_in(period))


def selection_queryset(pks: Iterable[int]) -> QuerySet[Reclamation]:
    """The records ticked on the list, read and ordered as the register reads a period's."""
    return _as_register(Reclamation.objects.filter(pk__in=list(pks)))


def _as_register(records: QuerySet[Reclamation]) -> QuerySet[Reclamation]:
    # One place for what a register row reads: a period's register and a selection never differ.
    return records.select_related("service", "handler", "root_cause_category").order_by("received_at", "pk")


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
            closed_at=r.closed_at,
            satisfaction=r.feedback_satisfaction,
        )
        for r in records
    ]
