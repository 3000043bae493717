"""Per-person display choices of the back-office (``StaffPreference``)."""

from __future__ import annotations

from typing import Any

from ..models import StaffPreference


def preference_set_conversation_order(*, user: Any, newest_first: bool) -> StaffPreference:
    """Remember in which order this person reads a record's conversation (every record, every
    device). Not an audit event: it changes nobody's record."""
    preference, _created = StaffPreference.objects.update_or_create(
        user=user, defaults={"conversation_newest_first": newest_first}
    )
    return preference
