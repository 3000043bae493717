"""A person's saved views of the list ("mes vues"): saving one under a name, deleting it.

A view is a person's own setting, not a change to any record: no audit event is written.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ..models import SavedView
from .base import WorkflowError

# Enough for the views a person uses every day; more is a list nobody reads in a sidebar.
MAX_SAVED_VIEWS = 20


def saved_view_save(*, user: Any, name: str, query: str) -> tuple[SavedView, bool]:
    """Save the list's ``query`` as ``user``'s view ``name``; a view of that name gets the new filters.

    Returns the view and whether it was created (False: replaced).
    """
    name = " ".join(name.split())
    if not name:
        raise WorkflowError("Donnez un nom à la vue.")
    with transaction.atomic():
        existing = SavedView.objects.select_for_update().filter(user=user, name=name).first()
        if existing is not None:
            existing.query = query
            existing.save(update_fields=["query"])
            return existing, False
        if SavedView.objects.filter(user=user).count() >= MAX_SAVED_VIEWS:
            raise WorkflowError(
                f"Vous avez déjà {MAX_SAVED_VIEWS} vues enregistrées : supprimez-en une avant d'en ajouter."
            )
        return SavedView.objects.create(user=user, name=name, query=query), True


def saved_view_delete(*, user: Any, pk: int) -> str:
    """Delete ``user``'s view ``pk`` (never someone else's); returns its name."""
    view = SavedView.objects.filter(user=user, pk=pk).first()
    if view is None:
        raise WorkflowError("Cette vue n'existe plus.")
    view.delete()
    return view.name
