"""Writing and verifying the journal. Events are written here and nowhere else."""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone

from . import journal_chain
from .models import Event, EventKind, JournalChainHead, Reclamation
from .models.journal import GENESIS_HASH

CLIENT_LABEL = "Client (lien de suivi)"
SYSTEM_LABEL = "Système"


def actor_label(actor: Any) -> str:
    if actor is None:
        return SYSTEM_LABEL
    return actor.get_full_name() or actor.get_username()


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    # Hash what the database will give back: dates as ISO strings, decimals as strings...
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


_LAST_HEAD_ATTR = "reclamations_journal_last_head"


def _link(event: Event, last_sequence: int, last_hash: str, key: bytes) -> None:
    event.sequence = last_sequence + 1
    event.prev_hash = last_hash
    event.content_hash = event.compute_content_hash()
    event.hash = event.compute_hash(key)


def _advance_head(event: Event, last_sequence: int, last_hash: str, key: bytes, key_fingerprint: str) -> bool:
    """Link ``event`` after the head we believe in, and move the head to it if it is still there."""
    _link(event, last_sequence, last_hash, key)
    return JournalChainHead.objects.filter(
        pk=1, last_sequence=last_sequence, last_hash=last_hash, key_fingerprint=key_fingerprint
    ).update(last_sequence=event.sequence, last_hash=event.hash) == 1


def _adopt_key(head: JournalChainHead, key: bytes, key_fingerprint: str) -> None:
    """Start linking with this process's key: logged, unless the chain is still empty.

    Called under the head's lock when the head's fingerprint is not ours: the upgrade of a log
    written unkeyed, a rotated key, or a process started with another key (which shows in the log
    as key changes back and forth — a configuration error an auditor should see).
    """
    previous = head.key_fingerprint
    if head.last_sequence == 0:
        # Nothing to bridge: the very first link is keyed, and verification finds its key.
        head.keyed_from, head.key_fingerprint = 1, key_fingerprint
        JournalChainHead.objects.filter(pk=1).update(keyed_from=1, key_fingerprint=key_fingerprint)
        return
    if previous:
        summary = (f"Clé de chaînage du journal changée (empreinte de clé {previous} → {key_fingerprint}) : "
                   "les événements suivants sont liés avec la nouvelle clé.")
    else:
        summary = (f"Chaînage à clé (HMAC-SHA256) mis en service (empreinte de clé {key_fingerprint}) : "
                   "les événements précédents restent vérifiés tels qu'ils ont été écrits.")
    event = Event(created_at=timezone.now(), actor_label=SYSTEM_LABEL, kind=EventKind.CHAIN_KEY, summary=summary,
                  data={"fingerprint": key_fingerprint, "previous": previous})
    # This event is the first link made with the new key: the fingerprint it carries is covered
    # by that key's link, so it cannot be changed to point verification at another key.
    _link(event, head.last_sequence, head.last_hash, key)
    keyed_from = head.keyed_from or event.sequence
    JournalChainHead.objects.filter(pk=1).update(last_sequence=event.sequence, last_hash=event.hash,
                                               keyed_from=keyed_from, key_fingerprint=key_fingerprint)
    event.save()
    head.last_sequence, head.last_hash = event.sequence, event.hash
    head.keyed_from, head.key_fingerprint = keyed_from, key_fingerprint


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
    key, key_fingerprint = journal_chain.current_key()
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
    # events in a row): one conditional UPDATE both checks it and locks the row, in one round trip.
    # If anyone moved the head since — another process, or a savepoint rolled back with our last
    # event — nothing is updated and the head is read under lock instead. The hash is part of the
    # condition (a rolled-back sequence number may have been reused by another writer), and so is
    # the key's fingerprint, so that a change of key always goes through the locked path that logs it.
    last = getattr(connection, _LAST_HEAD_ATTR, None)
    if last is None or last[2] != key_fingerprint or not _advance_head(event, last[0], last[1], key, key_fingerprint):
        head = JournalChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            JournalChainHead.objects.get_or_create(pk=1)
            head = JournalChainHead.objects.select_for_update().get(pk=1)
        if head.key_fingerprint != key_fingerprint:
            _adopt_key(head, key, key_fingerprint)
        _link(event, head.last_sequence, head.last_hash, key)
        JournalChainHead.objects.filter(pk=1).update(last_sequence=event.sequence, last_hash=event.hash)
    event.save()
    setattr(connection, _LAST_HEAD_ATTR, (event.sequence, event.hash, key_fingerprint))
    return event


@dataclass(frozen=True)
class ChainReport:
    """What verification found. ``intact`` only when the links, the checkpoints and the redactions
    all agree; otherwise ``problems`` names each one in French (``message`` joins them)."""

    intact: bool
    checked: int
    message: str
    head_hash: str = ""
    broken_sequence: int | None = None
    problems: tuple[str, ...] = ()
    checkpoints: int = 0


def _link_problem(event: Event, prev_hash: str, keyed: bool, key: bytes | None) -> str | None:
    if event.prev_hash != prev_hash:
        return f"Événement n° {event.sequence} : lien rompu avec le précédent."
    # A redacted event's text is gone on purpose; its digest still takes part in the link.
    if event.redacted_at is None and event.compute_content_hash() != event.content_hash:
        return f"Événement n° {event.sequence} : contenu modifié."
    if not keyed:
        if event.compute_hash() != event.hash:
            return f"Événement n° {event.sequence} : contenu modifié."
        return None
    if key is None or not hmac.compare_digest(event.compute_hash(key), event.hash):
        return (f"Événement n° {event.sequence} : contenu modifié — son empreinte ne correspond à aucune clé de "
                "chaînage connue (chaîne recalculée sans la clé ? Ou bien une ancienne clé manque dans "
                "JOURNAL_KEY_FALLBACKS).")
    return None


def _segment_key(event: Event, keys: dict[str, bytes]) -> tuple[bytes | None, str | None]:
    """The key of a keyed segment that starts at ``event``, or a French problem.

    A CHAIN_KEY event names its key by fingerprint; the first segment of a chain keyed from its
    very first event has no such event, so each known key is tried on it.
    """
    if event.kind == EventKind.CHAIN_KEY and isinstance(event.data, dict) and event.data.get("fingerprint"):
        named = str(event.data["fingerprint"])
        if named not in keys:
            return None, (f"Événement n° {event.sequence} : clé de chaînage d'empreinte {named} inconnue — "
                          "ajoutez l'ancienne clé à JOURNAL_KEY_FALLBACKS pour vérifier les événements "
                          "qu'elle a liés.")
        return keys[named], None
    for key in keys.values():
        if hmac.compare_digest(event.compute_hash(key), event.hash):
            return key, None
    return None, None  # reported by the link check


def verify_chain() -> ChainReport:
    """Recompute every link, then hold the chain against the checkpoints kept outside the database
    and the redactions against the anonymisations that allow them; name every problem found.

    After the first broken link the rest of the chain proves nothing more, so the walk stops
    checking links there — but still reads every event for the checkpoints and redactions.
    """
    keys = journal_chain.keyring()
    head = JournalChainHead.objects.filter(pk=1).first()
    keyed_from = head.keyed_from if head is not None else None
    checkpoints, problems = journal_chain.read_checkpoints()
    pinned: dict[int, list[journal_chain.Checkpoint]] = {}
    for checkpoint in checkpoints:
        if checkpoint.sequence > 0:
            pinned.setdefault(checkpoint.sequence, []).append(checkpoint)

    link_problem: str | None = None
    broken_sequence: int | None = None
    prev_hash = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    redacted: list[tuple[int, int | None]] = []
    anonymised_up_to: dict[int, int] = {}  # record → sequence of its last ANONYMISED event
    found: dict[int, str] = {}  # checkpointed sequence → hash found
    key: bytes | None = None
    last_sequence = 0
    for event in Event.objects.order_by("sequence").iterator(chunk_size=2000):
        last_sequence = event.sequence
        if event.sequence in pinned:
            found[event.sequence] = event.hash
        if event.redacted_at is not None:
            redacted.append((event.sequence, event.reclamation_id))
        if event.kind == EventKind.ANONYMISED and event.reclamation_id is not None:
            anonymised_up_to[event.reclamation_id] = event.sequence
        if link_problem is not None:
            continue
        if event.sequence != expected_sequence:
            link_problem = f"Événement n° {expected_sequence} manquant (trouvé n° {event.sequence})."
            broken_sequence = expected_sequence
            continue
        keyed = keyed_from is not None and event.sequence >= keyed_from
        if keyed and (event.sequence == keyed_from or event.kind == EventKind.CHAIN_KEY):
            key, key_problem = _segment_key(event, keys)
            if key_problem:
                link_problem, broken_sequence = key_problem, event.sequence
                continue
        if problem := _link_problem(event, prev_hash, keyed, key):
            link_problem, broken_sequence = problem, event.sequence
            continue
        prev_hash = event.hash
        expected_sequence += 1
        checked += 1

    if link_problem is not None:
        problems.insert(0, link_problem)
    elif head is not None and (head.last_sequence != checked or head.last_hash != prev_hash):
        problems.insert(0, "La tête de chaîne ne correspond pas au dernier événement (événements supprimés en fin "
                           "de journal ?).")
        broken_sequence = checked + 1

    # The checkpoints: the chain must still reach every head copied outside the database.
    for sequence, copies in sorted(pinned.items()):
        for checkpoint in copies:
            where = f"Point de contrôle du {checkpoint.time_label} (événement n° {sequence})"
            if sequence not in found:
                problems.append(f"{where} : cet événement n'existe plus — journal tronqué ou tête de chaîne reculée "
                                f"(dernier événement présent : n° {last_sequence}).")
            elif found[sequence] != checkpoint.hash:
                problems.append(f"{where} : l'empreinte de l'événement n'est plus celle relevée — chaîne réécrite.")
            if checkpoint.keyed_from is not None and keyed_from != checkpoint.keyed_from:
                problems.append(f"{where} : le chaînage à clé commençait à l'événement n° {checkpoint.keyed_from}, "
                                f"la base indique {keyed_from or 'aucun'}.")
            if broken_sequence is None and (sequence not in found or found[sequence] != checkpoint.hash):
                broken_sequence = sequence

    # The redactions: the text of an event may be erased only by the anonymisation of its record,
    # which writes its own ANONYMISED event after the events it redacts.
    for sequence, reclamation_id in redacted:
        if reclamation_id is None or anonymised_up_to.get(reclamation_id, 0) < sequence:
            problems.append(f"Événement n° {sequence} : texte effacé (RGPD) sans anonymisation ni effacement "
                            "enregistré pour sa réclamation.")
            if broken_sequence is None:
                broken_sequence = sequence

    if problems:
        return ChainReport(False, checked, " ".join(problems), broken_sequence=broken_sequence,
                           problems=tuple(problems), checkpoints=len(checkpoints))
    message = f"Chaîne intacte : {checked} événement{pluralize(checked)} vérifié{pluralize(checked)}"
    if redacted:
        message += f", dont {len(redacted)} au texte effacé (RGPD)"
    if checkpoints:
        count = len(checkpoints)
        message += f" ; {count} point{pluralize(count)} de contrôle retrouvé{pluralize(count)}"
    return ChainReport(True, checked, message + ".", head_hash=prev_hash, checkpoints=len(checkpoints))


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
        JournalChainHead.objects.update_or_create(
            pk=1, defaults={"verified_at": timezone.now(), "verified_hash": report.head_hash}
        )
