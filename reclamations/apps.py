from __future__ import annotations

from django.apps import AppConfig


class ReclamationsConfig(AppConfig):
    name = "reclamations"
    verbose_name = "Réclamations"
    default_auto_field = "django.db.models.BigAutoField"
