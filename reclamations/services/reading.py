"""Unread records: what is new for whom (``RecordRead``).

A client's message makes the record unread for its handler (for the quality lead(s) while nobody
handles it); a record handed over becomes unread for the colleague who receives it. Opening the
record makes it read again, for that person only.

Marking unread happens inside the transaction of the change that causes it (the client's message,
the hand-over), whose journal event records the change. Marking read writes no event: it is a page
being opened, which changes nothing on the record (the access log says who opened what).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from ..models import Reclamation, RecordRead


def reclamation_mark_unread(
    *, reclamation: Reclamation, users: Iterable[Any], at: datetime | None = None
) -> int:
    """The record becomes unread for each of ``users`` (one statement, whatever they read before).

    Returns how many people it is now unread for. Call it inside the change's transaction.
    """
    at = at or timezone.now()
    people = {user.pk: user for user in users if user is not None and user.pk is not None}
    if not people:
        return 0
    RecordRead.objects.bulk_create(
        [RecordRead(user_id=pk, reclamation_id=reclamation.pk, unread_at=at) for pk in sorted(people)],
        update_conflicts=True,
        unique_fields=["user", "reclamation"],
        update_fields=["unread_at"],
    )
    return len(people)


def reclamation_mark_read(*, reclamation: Reclamation, user: Any) -> bool:
    """``user`` opened the record: nothing is new for them on it any more. True if it was unread.

    One conditional UPDATE, which changes nothing (and writes nothing) when the record was read.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(
        RecordRead.objects.filter(user=user, reclamation=reclamation, unread_at__isnull=False)
        .update(unread_at=None, read_at=timezone.now())
    )
