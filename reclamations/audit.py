"""Writing and verifying the audit log. Events are written here and nowhere else."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from .models import AuditChainHead, Event, Reclamation
from .models.audit import GENESIS_HASH

CLIENT_LABEL = "Client (lien de suivi)"
SYSTEM_LABEL = "Système"


def actor_label(actor: Any) -> str:
    if actor is None:
        return SYSTEM_LABEL
    return actor.get_full_name() or actor.get_username()


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    # Hash what the database will give back: dates as ISO strings, decimals as strings...
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def record_event(
    *,
    kind: str,
    summary: str,
    reclamation: Reclamation | None = None,
    actor: Any = None,
    label: str | None = None,
    data: dict[str, Any] | None = None,
    public: bool = False,
) -> Event:
    """Append one event to the chain. Must run inside the transaction of the change it records."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event must run inside the transaction of the change it records")
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditChainHead.objects.get_or_create(pk=1)
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    event = Event(
        sequence=head.last_sequence + 1,
        created_at=timezone.now(),
        reclamation=reclamation,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=label or actor_label(actor),
        kind=kind,
        summary=summary[:500],
        data=_json_safe(data or {}),
        public=public,
        prev_hash=head.last_hash,
    )
    event.hash = event.compute_hash()
    event.save()
    head.last_sequence = event.sequence
    head.last_hash = event.hash
    head.save(update_fields=["last_sequence", "last_hash"])
    return event


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    checked: int
    message: str
    head_hash: str = ""
    broken_sequence: int | None = None


def verify_chain() -> ChainReport:
    """Recompute every link; name the first event whose content or link does not match."""
    prev_hash = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    for event in Event.objects.order_by("sequence").iterator(chunk_size=2000):
        if event.sequence != expected_sequence:
            return ChainReport(
                False,
                checked,
                f"Événement n° {expected_sequence} manquant (trouvé n° {event.sequence}).",
                broken_sequence=expected_sequence,
            )
        if event.prev_hash != prev_hash:
            return ChainReport(
                False,
                checked,
                f"Événement n° {event.sequence} : lien rompu avec le précédent.",
                broken_sequence=event.sequence,
            )
        if event.compute_hash() != event.hash:
            return ChainReport(
                False, checked, f"Événement n° {event.sequence} : contenu modifié.", broken_sequence=event.sequence
            )
        prev_hash = event.hash
        expected_sequence += 1
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_sequence != checked or head.last_hash != prev_hash):
        return ChainReport(
            False,
            checked,
            "La tête de chaîne ne correspond pas au dernier événement (événements supprimés en fin de journal ?).",
            broken_sequence=checked + 1,
        )
    return ChainReport(True, checked, f"Chaîne intacte : {checked} événement(s) vérifié(s).", head_hash=prev_hash)


def mark_verified(report: ChainReport) -> None:
    """Remember when the chain was last found intact (shown in the evidence pack)."""
    if report.intact:
        AuditChainHead.objects.update_or_create(
            pk=1, defaults={"verified_at": timezone.now(), "verified_hash": report.head_hash}
        )
