"""The search document: what the staff list's search reads of a record (``reclamations.search``)."""
from __future__ import annotations

from django.db import models


class SearchDocument(models.Model):
    """Derived data, rebuilt whole by ``services.search`` whenever a searched text changes.

    A table of its own rather than a column of the record: the record's row is read in full by
    every service (``lock``), the admin and the exports, and this text grows with every exchange.
    It holds personal data like the texts it copies: anonymisation rebuilds it from the erased
    record (``services.personal_data``).
    """

    reclamation = models.OneToOneField(
        "reclamations.Reclamation", on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    # Folded (``search.fold``), one line per text: what ``LIKE '%word%'`` reads. On PostgreSQL a
    # trigram index answers it (migration 0016).
    folded = models.TextField(blank=True)
    # [[label, original text], ...]: the list's excerpt, with accents and capitals, for a page of
    # records without reading their exchanges and actions.
    parts = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "texte de recherche"

    def __str__(self) -> str:
        return f"Texte de recherche de la réclamation {self.reclamation_id}"
