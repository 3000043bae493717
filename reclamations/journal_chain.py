"""What keeps the journal chain honest against someone who holds the database and nothing else.

- **The key.** Links are HMAC-SHA256 with ``settings.JOURNAL_KEY``, which lives in the
  environment or a file, never in the database: rewriting an event and recomputing the hashes needs
  it. The database keeps only a fingerprint of the key in use (``JournalChainHead.key_fingerprint``)
  so that a change of key is noticed and logged; earlier keys stay usable for verification through
  ``JOURNAL_KEY_FALLBACKS``.
- **The checkpoints.** The head (sequence, hash) is appended to ``JOURNAL_CHECKPOINT_FILE``, one JSON
  line each, hourly (beat), at each evidence pack and at each digest. Deleting the last events and
  moving the head back is consistent inside the database; it no longer matches these lines.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

FINGERPRINT_LENGTH = 16


def key_bytes(key: str) -> bytes:
    return key.encode()


def fingerprint(key: str) -> str:
    """A short name for a key that reveals nothing of it (an HMAC of a fixed label, not a hash of the
    key itself, so it cannot serve as a test of guessed keys either way more cheaply than a link)."""
    return hmac.new(key_bytes(key), b"reclamations.journal-chain.fingerprint", hashlib.sha256).hexdigest()[
        :FINGERPRINT_LENGTH
    ]


def current_key() -> tuple[bytes, str]:
    """The key new links are made with, and its fingerprint."""
    key = settings.JOURNAL_KEY
    if not key:
        raise RuntimeError("JOURNAL_KEY est vide : le journal ne peut pas être chaîné "
                           "(docs/operations.md).")
    return key_bytes(key), fingerprint(key)


def keyring() -> dict[str, bytes]:
    """Every key verification may need, by fingerprint: the current one and the fallbacks."""
    keys = [settings.JOURNAL_KEY, *getattr(settings, "JOURNAL_KEY_FALLBACKS", [])]
    return {fingerprint(key): key_bytes(key) for key in keys if key}


# --- Checkpoints ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checkpoint:
    time: str
    sequence: int
    hash: str
    reason: str = ""
    keyed_from: int | None = None
    line: int = 0  # where in the file, to name it in a report

    @property
    def time_label(self) -> str:
        try:
            return f"{timezone.localtime(datetime.fromisoformat(self.time)):%d/%m/%Y à %H:%M:%S}"
        except (TypeError, ValueError):
            return self.time


def checkpoint_path() -> Path:
    return Path(settings.JOURNAL_CHECKPOINT_FILE)


def append_checkpoint(*, sequence: int, hash: str, keyed_from: int | None, reason: str) -> Checkpoint:
    """Append one line to the checkpoint file (O_APPEND, one write: lines from several processes
    never interleave), flushed to disk before returning."""
    checkpoint = Checkpoint(time=timezone.now().isoformat(timespec="seconds"), sequence=sequence, hash=hash,
                            reason=reason, keyed_from=keyed_from)
    line = json.dumps({"time": checkpoint.time, "sequence": sequence, "hash": hash, "keyed_from": keyed_from,
                       "reason": reason}, ensure_ascii=False) + "\n"
    path = checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return checkpoint


def read_checkpoints() -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint of the file, and the French description of each line that cannot be read."""
    path = checkpoint_path()
    if not path.exists():
        return [], []
    checkpoints: list[Checkpoint] = []
    unreadable: list[str] = []
    with path.open(encoding="utf-8") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                item: dict[str, Any] = json.loads(raw)
                checkpoints.append(Checkpoint(time=str(item["time"]), sequence=int(item["sequence"]),
                                              hash=str(item["hash"]), reason=str(item.get("reason", "")),
                                              keyed_from=item.get("keyed_from"), line=number))
            except (ValueError, KeyError, TypeError):
                unreadable.append(f"Fichier de points de contrôle, ligne {number} : illisible.")
    return checkpoints, unreadable


def latest_checkpoint() -> Checkpoint | None:
    checkpoints, _unreadable = read_checkpoints()
    return checkpoints[-1] if checkpoints else None


def checkpoint_head(*, reason: str) -> Checkpoint | None:
    """Copy the committed head to the checkpoint file (beat, packs, digests).

    Called outside a transaction it writes at once; inside one, when it commits — a head that is
    rolled back afterwards must never be in the file, or every later verification would fail.
    Returns the checkpoint when written now.
    """
    from .models import JournalChainHead  # the models import this module's helpers

    def write() -> Checkpoint | None:
        head = JournalChainHead.objects.filter(pk=1).first()
        if head is None or head.last_sequence == 0:
            return None  # nothing to pin yet
        return append_checkpoint(sequence=head.last_sequence, hash=head.last_hash, keyed_from=head.keyed_from,
                                 reason=reason)

    if _in_transaction():
        transaction.on_commit(write)
        return None
    return write()


def _in_transaction() -> bool:
    # The blocks a test case opens around each test are not the application's transactions: their
    # data counts as committed (Django's own durable=True check reads the same marker).
    connection = transaction.get_connection()
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)
