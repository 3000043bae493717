"""A person's saved views of the back-office list ("mes vues"): a name and the list's query string."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SavedView(models.Model):
    """Filters, search and sort of the list as one staff member saved them, under a name of theirs.

    ``query`` is the list's query string (``state=ouvertes&handler=moi``) reduced to the list's own
    parameters (``forms.list_tools.SavedViewForm``): opening the view is following a link.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField("nom", max_length=60)
    query = models.CharField("filtres", max_length=1000, blank=True)
    created_at = models.DateTimeField("créée le", auto_now_add=True)

    class Meta:
        verbose_name = "vue enregistrée"
        verbose_name_plural = "vues enregistrées"
        ordering = ["name", "id"]
        # One name per person: saving "En retard" again replaces the filters of that view.
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_view_name_once")]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"
