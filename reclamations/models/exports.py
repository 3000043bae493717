"""Long exports (the evidence pack) produced in the background by a Celery worker."""
from __future__ import annotations

from django.conf import settings
from django.db import models


class ExportJob(models.Model):
    """One requested document: the quality lead follows its progress and downloads it when done."""

    class Kind(models.TextChoices):
        PACK = "pack", "Dossier de preuves (PDF)"
        REGISTER_XLSX = "register_xlsx", "Registre (XLSX)"
        REGISTER_CSV = "register_csv", "Registre (CSV)"

    class Status(models.TextChoices):
        QUEUED = "queued", "En attente"
        RUNNING = "running", "En cours"
        DONE = "done", "Prêt"
        FAILED = "failed", "Échec"

    kind = models.CharField("document", max_length=14, choices=Kind.choices)
    period_start = models.DateField("du")
    period_end = models.DateField("au")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="demandé par"
    )
    status = models.CharField("état", max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField("avancement (%)", default=0)
    progress_label = models.CharField("étape en cours", max_length=200, blank=True)
    error = models.TextField("erreur", blank=True)
    # Stored in private storage like the attachments; served only through an authorised view.
    file = models.FileField(upload_to="exports/", max_length=200, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    record_count = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField("demandé le", auto_now_add=True)
    # Claimed by a conditional UPDATE (queued -> running); a job whose worker died is re-queued
    # once its lease has expired.
    started_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "export"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} du {self.period_start:%d/%m/%Y} au {self.period_end:%d/%m/%Y}"
