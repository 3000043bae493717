"""Files under the private ``attachments/`` folder that no attachment row names.

They should not exist: a transaction that stores files deletes them when it rolls back
(``attachments.atomic_with_uploads``). But a process killed between writing and committing, or an
older version of the software (whose folders were named by record ids, and which left the files of
refused Contact submissions behind), leaves files that the RGPD erasure of a record can never
reach, since it deletes what the record's rows name. The periodic check counts them for the quality
lead; only the quality lead deletes them, and the deletion is a journal event.

A file younger than ``ORPHAN_FILES_GRACE_MINUTES`` is never reported: its upload may still be in
its transaction.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import Storage
from django.db import transaction
from django.utils import timezone

from ..journal import record_event
from ..models import Attachment, EventKind, OrphanFileReport
from ..models.related import ATTACHMENTS_FOLDER
from .attachments import attachment_storage, delete_stored_files
from .base import Actor

logger = logging.getLogger(__name__)

# The journal event lists the names (random, no personal data) up to this many; the count is exact.
EVENT_NAMES_LIMIT = 500


@dataclass(frozen=True)
class OrphanFile:
    name: str  # the storage name, e.g. attachments/35/3f2a…
    size: int
    modified_at: datetime


def grace_period() -> timedelta:
    return timedelta(minutes=settings.ORPHAN_FILES_GRACE_MINUTES)


def _walk(storage: Storage, folder: str) -> Iterator[str]:
    folders, files = storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for sub in folders:
        yield from _walk(storage, f"{folder}/{sub}")


def orphan_files_find(*, now: datetime | None = None) -> list[OrphanFile]:
    """Files under ``attachments/`` older than the grace period that no attachment names, by name."""
    storage = attachment_storage()
    if not storage.exists(ATTACHMENTS_FOLDER):
        return []
    cutoff = (now or timezone.now()) - grace_period()
    # Read before the walk: a row committed meanwhile names a file younger than the grace period,
    # which is skipped anyway.
    known = set(Attachment.objects.exclude(file="").values_list("file", flat=True))
    found = []
    for name in _walk(storage, ATTACHMENTS_FOLDER):
        if name in known:
            continue
        try:
            modified_at = storage.get_modified_time(name)
            size = storage.size(name)
        except FileNotFoundError:  # deleted while we walked (an erasure, a rollback)
            continue
        if modified_at > cutoff:
            continue
        found.append(OrphanFile(name=name, size=size, modified_at=modified_at))
    return sorted(found, key=lambda orphan: orphan.name)


def _save_report(orphans: list[OrphanFile], *, now: datetime) -> None:
    OrphanFileReport.objects.update_or_create(
        pk=1, defaults={"checked_at": now, "count": len(orphans), "size": sum(o.size for o in orphans)},
    )


def orphan_files_check() -> list[OrphanFile]:
    """The periodic check: find the orphan files, keep their count for the dashboard, log a
    warning when there are some. Returns them."""
    now = timezone.now()
    orphans = orphan_files_find(now=now)
    if orphans:
        logger.warning("%s file(s) under %s/ belong to no attachment (%s bytes); the quality lead may "
                       "delete them from the back-office", len(orphans), ATTACHMENTS_FOLDER,
                       sum(o.size for o in orphans))
    with transaction.atomic():
        _save_report(orphans, now=now)
    return orphans


def orphan_files_delete(*, actor: Actor) -> int:
    """Delete the orphan files found now (never a list sent by a browser); how many were deleted.

    One FILES_DELETED event names them. The files go last, once the event is written, as in the
    RGPD erasure: a failure before that deletes nothing.
    """
    now = timezone.now()
    orphans = orphan_files_find(now=now)
    with transaction.atomic():
        if orphans:
            # A row naming one of them since the walk (none should: new names are random) keeps it.
            claimed = set(Attachment.objects.filter(file__in=[o.name for o in orphans]).values_list("file", flat=True))
            orphans = [o for o in orphans if o.name not in claimed]
        if orphans:
            size = sum(o.size for o in orphans)
            record_event(
                kind=EventKind.FILES_DELETED,
                actor=actor,
                summary=f"{len(orphans)} fichier{'s' if len(orphans) > 1 else ''} sans pièce jointe "
                        f"supprimé{'s' if len(orphans) > 1 else ''} du stockage privé.",
                data={"count": len(orphans), "size": size,
                      "files": [o.name for o in orphans[:EVENT_NAMES_LIMIT]]},
            )
        _save_report([], now=now)
        delete_stored_files([o.name for o in orphans])
    return len(orphans)
