"""Acting on several records at once from the list: assign them, mark them read or unread.

One transaction for the whole selection: each record goes through the same service as the single
action (``reclamation_assign`` writes its own event, e-mail and unread mark), inside a savepoint,
so a record refused (closed since the page was shown, or not the person's to change) is left
untouched and explained while the others are changed; an unexpected error undoes them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from ..models import Reclamation, RecordRead
from .base import Actor, WorkflowError, lock
from .reading import reclamation_mark_unread
from .records import reclamation_assign

# Why ``actor`` may not change this record (``permissions.assign_denial`` bound to the actor and
# the new handler), or None: asked again on the locked row, the page may be minutes old.
Denial = Callable[[Reclamation], str | None]


@dataclass
class BulkOutcome:
    """What happened to each record of a selection, for the message the person reads."""

    done: list[Reclamation] = field(default_factory=list)
    unchanged: list[Reclamation] = field(default_factory=list)  # already in the state asked for
    refused: list[tuple[Reclamation, str]] = field(default_factory=list)  # with the French reason


def reclamation_bulk_assign(
    *,
    reclamations: Iterable[Reclamation],
    actor: Actor,
    handler: AbstractBaseUser,
    denial: Denial,
    note: str = "",
) -> BulkOutcome:
    """Assign every record of the selection to ``handler``, those ``denial`` allows, in one transaction."""
    outcome = BulkOutcome()
    with transaction.atomic():
        # Locked in primary-key order: two people acting on overlapping selections never deadlock.
        for reclamation in sorted(reclamations, key=lambda r: r.pk):
            r = lock(reclamation)
            if reason := denial(r):
                outcome.refused.append((r, reason))
                continue
            if r.handler_id == handler.pk:
                outcome.unchanged.append(r)
                continue
            try:
                with transaction.atomic():  # a savepoint: a refusal leaves nothing of this record
                    outcome.done.append(reclamation_assign(reclamation=r, actor=actor, handler=handler, note=note))
            except WorkflowError as exc:
                outcome.refused.append((r, str(exc)))
    return outcome


def reclamation_bulk_mark_read(*, reclamations: Iterable[Reclamation], user: Any) -> int:
    """Nothing is new for ``user`` on these records any more; how many were unread.

    Like opening each record (``reclamation_mark_read``): a person's own reading, no event.
    """
    pks = [r.pk for r in reclamations]
    return RecordRead.objects.filter(user=user, reclamation_id__in=pks, unread_at__isnull=False).update(
        unread_at=None, read_at=timezone.now()
    )


def reclamation_bulk_mark_unread(*, reclamations: Iterable[Reclamation], user: Any) -> int:
    """The records become unread for ``user`` (to come back to them later); how many were read."""
    records = list(reclamations)
    with transaction.atomic():
        already = set(
            RecordRead.objects.filter(user=user, reclamation__in=records, unread_at__isnull=False).values_list(
                "reclamation_id", flat=True
            )
        )
        now = timezone.now()
        for r in records:
            if r.pk not in already:
                reclamation_mark_unread(reclamation=r, users=[user], at=now)
    return len({r.pk for r in records} - already)
