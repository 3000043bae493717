"""Keeping each record's search document (``models.SearchDocument``) equal to what it holds.

Each service that writes a searched text calls one of these inside its own transaction, after its
writes: the document is rebuilt whole from what is stored then, never patched, so it cannot drift
from the record (an edited message, an erased one). ``search_documents_rebuild`` does the same for
many records at once: the data migration, and rows inserted without the services (the benchmark's
bulk loader, tests that need thousands of records).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import search
from ..models import Action, Communication, Reclamation, SearchDocument

_COMMUNICATION_COLUMNS = ("reclamation_id", "direction", "author_id", "subject", "body")
_ACTION_COLUMNS = ("reclamation_id", "description", "result")


def search_document_create(reclamation: Reclamation) -> None:
    """A new record's document: its own fields only (no exchange nor action yet), no read."""
    parts = search.document_parts({name: getattr(reclamation, name) for name in search.SEARCHED_FIELDS})
    SearchDocument.objects.create(reclamation=reclamation, folded=search.folded_text(parts), parts=parts)


def search_document_refresh(reclamation: Reclamation) -> None:
    """Rebuild one record's document; ``reclamation`` is the instance the caller just saved (its
    fields are taken from it, its exchanges and actions read)."""
    communications = (
        (subject, body)
        for _r, direction, author_id, subject, body in Communication.objects.filter(reclamation=reclamation)
        .order_by("occurred_at", "pk").values_list(*_COMMUNICATION_COLUMNS)
        if search.is_searched_communication(direction, author_id)
    )
    actions = Action.objects.filter(reclamation=reclamation).order_by("pk").values_list("description", "result")
    parts = search.document_parts({name: getattr(reclamation, name) for name in search.SEARCHED_FIELDS},
                                  communications, actions)
    folded = search.folded_text(parts)
    if not SearchDocument.objects.filter(pk=reclamation.pk).update(folded=folded, parts=parts):
        SearchDocument.objects.create(reclamation=reclamation, folded=folded, parts=parts)


def search_documents_rebuild(
    ids: Iterable[int], *, models: Any = None, batch_size: int = 500
) -> int:
    """Rebuild the documents of the records ``ids`` by batches (three reads and two writes each);
    returns how many were written. ``models``: an app registry (a migration's ``apps``) to use its
    historical models instead of today's."""
    if models is not None:
        record_model = models.get_model("reclamations", "Reclamation")
        communication_model = models.get_model("reclamations", "Communication")
        action_model = models.get_model("reclamations", "Action")
        document_model = models.get_model("reclamations", "SearchDocument")
    else:
        record_model, communication_model, action_model, document_model = (
            Reclamation, Communication, Action, SearchDocument)
    ids = list(ids)
    fields = sorted(search.SEARCHED_FIELDS)
    written = 0
    for start in range(0, len(ids), batch_size):
        batch = ids[start:start + batch_size]
        records = {row[0]: dict(zip(fields, row[1:], strict=True))
                   for row in record_model.objects.filter(pk__in=batch).values_list("pk", *fields)}
        communications: dict[int, list[tuple[str, str]]] = {pk: [] for pk in records}
        for pk, direction, author_id, subject, body in (
            communication_model.objects.filter(reclamation_id__in=batch).order_by("occurred_at", "pk")
            .values_list(*_COMMUNICATION_COLUMNS)
        ):
            if search.is_searched_communication(direction, author_id):
                communications[pk].append((subject, body))
        actions: dict[int, list[tuple[str, str]]] = {pk: [] for pk in records}
        for pk, description, result in (
            action_model.objects.filter(reclamation_id__in=batch).order_by("pk").values_list(*_ACTION_COLUMNS)
        ):
            actions[pk].append((description, result))
        documents = []
        for pk, values in records.items():
            parts = search.document_parts(values, communications[pk], actions[pk])
            documents.append(document_model(reclamation_id=pk, folded=search.folded_text(parts), parts=parts))
        document_model.objects.filter(pk__in=batch).delete()
        document_model.objects.bulk_create(documents)
        written += len(documents)
    return written
