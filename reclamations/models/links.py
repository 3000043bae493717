"""Follow-up links sent again on request ("lien perdu"), and the requests waiting for the worker."""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from .reclamation import Reclamation


class FollowUpLink(models.Model):
    """A further follow-up link for a record. It works beside the first one (``Reclamation.token_hash``)
    until ``expires_at``: asking for a new link never kills the one the client already holds."""

    reclamation = models.ForeignKey(Reclamation, on_delete=models.CASCADE, related_name="follow_up_links")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(editable=False)

    class Meta:
        verbose_name = "lien de suivi supplémentaire"
        verbose_name_plural = "liens de suivi supplémentaires"
        indexes = [models.Index(fields=["reclamation", "created_at"])]

    def __str__(self) -> str:
        return f"Lien de suivi du dossier {self.reclamation_id} (jusqu'au {self.expires_at:%d/%m/%Y})"


class LinkRequest(models.Model):
    """A "lien perdu" form sent by someone: stored as it is, looked up later by the worker, so the
    page answers in the same time whether or not anything matches. Deleted once handled."""

    email = models.EmailField(max_length=254)
    reference = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "demande de lien de suivi"
        verbose_name_plural = "demandes de lien de suivi"

    def __str__(self) -> str:
        return f"Demande de lien n° {self.pk}"
