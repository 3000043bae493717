"""Writing and verifying the audit log. Events are written here and nowhere else."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.template.defaultfilters import pluralize
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


_LAST_HEAD_ATTR = "reclamations_audit_last_head"


def _link(event: Event, last_sequence: int, last_hash: str) -> None:
    event.sequence = last_sequence + 1
    event.prev_hash = last_hash
    event.content_hash = event.compute_content_hash()
    event.hash = event.compute_hash()


def _advance_head(event: Event, last_sequence: int, last_hash: str) -> bool:
    """Link ``event`` after the head we believe in, and move the head to it if it is still there."""
    _link(event, last_sequence, last_hash)
    return AuditChainHead.objects.filter(pk=1, last_sequence=last_sequence, last_hash=last_hash).update(
        last_sequence=event.sequence, last_hash=event.hash
    ) == 1


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
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("record_event must run inside the transaction of the change it records")
    event = Event(
        created_at=timezone.now(),
        reclamation=reclamation,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=label or actor_label(actor),
        kind=kind,
        summary=summary[:500],
        data=_json_safe(data or {}),
        public=public,
    )
    # The head this connection last wrote is most often still the head (a submission writes three
    # events in a row): one conditional UPDATE both checks it and locks the row, where a locking
    # SELECT then an UPDATE were two round trips per event. If anyone moved the head since — another
    # process, or a savepoint rolled back with our last event — nothing is updated and the head is
    # read under lock as before. The hash is part of the condition: a rolled-back sequence number
    # may have been reused by another writer.
    last = getattr(connection, _LAST_HEAD_ATTR, None)
    if last is None or not _advance_head(event, *last):
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            AuditChainHead.objects.get_or_create(pk=1)
            head = AuditChainHead.objects.select_for_update().get(pk=1)
        _link(event, head.last_sequence, head.last_hash)
        AuditChainHead.objects.filter(pk=1).update(last_sequence=event.sequence, last_hash=event.hash)
    event.save()
    setattr(connection, _LAST_HEAD_ATTR, (event.sequence, event.hash))
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
    redacted = 0
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
        # A redacted event's text is gone on purpose; its digest still takes part in the link.
        content_changed = event.redacted_at is None and event.compute_content_hash() != event.content_hash
        if content_changed or event.compute_hash() != event.hash:
            return ChainReport(
                False, checked, f"Événement n° {event.sequence} : contenu modifié.", broken_sequence=event.sequence
            )
        prev_hash = event.hash
        expected_sequence += 1
        checked += 1
        redacted += event.redacted_at is not None
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_sequence != checked or head.last_hash != prev_hash):
        return ChainReport(
            False,
            checked,
            "La tête de chaîne ne correspond pas au dernier événement (événements supprimés en fin de journal ?).",
            broken_sequence=checked + 1,
        )
    message = f"Chaîne intacte : {checked} événement{pluralize(checked)} vérifié{pluralize(checked)}"
    if redacted:
        message += f", dont {redacted} au texte effacé (RGPD)"
    return ChainReport(True, checked, message + ".", head_hash=prev_hash)


def redact_events(events: Iterable[Event], *, summary: str, keep_data_keys: Iterable[str] = ()) -> int:
    """Erase the text of events (RGPD) without breaking the chain; return how many were redacted.

    The one sanctioned rewrite of the log: ``summary`` replaces the original summary, ``data`` keeps
    only ``keep_data_keys`` (structural values such as a step name, never free text), and
    ``redacted_at`` is set. ``content_hash`` — which the chain links — is left as it was, so the
    chain verifies and an auditor can still prove what was *there*. Must run inside the transaction
    that anonymises the record (which writes its own event saying so).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("redact_events must run inside the transaction of the anonymisation")
    keep = set(keep_data_keys)
    now = timezone.now()
    count = 0
    for event in events:
        if event.redacted_at is not None:
            continue
        data = {key: value for key, value in event.data.items() if key in keep}
        # Bypass the append-only guard deliberately (plain QuerySet.update), for these fields only.
        models.QuerySet.update(
            Event.objects.filter(pk=event.pk), summary=summary[:500], data=_json_safe(data), redacted_at=now
        )
        count += 1
    return count


def mark_verified(report: ChainReport) -> None:
    """Remember when the chain was last found intact (shown in the evidence pack)."""
    if report.intact:
        AuditChainHead.objects.update_or_create(
            pk=1, defaults={"verified_at": timezone.now(), "verified_hash": report.head_hash}
        )
