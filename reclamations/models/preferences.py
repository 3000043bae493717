"""Small per-person choices of the back-office, kept server-side so they follow the person from
one browser or device to the next."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class StaffPreference(models.Model):
    """One row per staff member, written the first time they change a choice (defaults until then)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="staff_preference"
    )
    # The record page's conversation: the newest exchange first (under the reply box) or the oldest.
    conversation_newest_first = models.BooleanField("conversation : le plus récent en premier", default=True)

    class Meta:
        verbose_name = "préférence d'affichage"
        verbose_name_plural = "préférences d'affichage"

    def __str__(self) -> str:
        return f"préférences de {self.user}"
