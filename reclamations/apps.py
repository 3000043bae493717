from __future__ import annotations

from django.apps import AppConfig


class ReclamationsConfig(AppConfig):
    name = "reclamations"
    verbose_name = "Réclamations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # django.contrib.admin comes first in INSTALLED_APPS: every admin module is loaded by now.
        from django.contrib import admin

        from .admin import restrict_list_filters

        restrict_list_filters(admin.site)
        # Registers the Celery tasks in every process (web, worker, commands): the layers below
        # publish them by name (reclamations.dispatch) and must find them, eager mode included.
        from . import tasks  # noqa: F401
