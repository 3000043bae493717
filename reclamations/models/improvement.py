"""Continual improvement (indicator 32) and internal communication."""
from __future__ import annotations

from django.conf import settings
from django.db import models


class ImprovementOrigin(models.TextChoices):
    RECORDS = "records", "Réclamation(s)"
    SURVEY = "survey", "Résultat d'enquête"
    AUDIT = "audit", "Audit"
    OTHER = "other", "Autre"


class ImprovementStatus(models.TextChoices):
    PLANNED = "planned", "Prévue"
    IN_PROGRESS = "in_progress", "En cours"
    DONE = "done", "Réalisée"
    CANCELLED = "cancelled", "Abandonnée"


class Effectiveness(models.TextChoices):
    EFFECTIVE = "effective", "Efficace"
    PARTLY = "partly", "Partiellement efficace"
    NOT_EFFECTIVE = "not_effective", "Non efficace"


class ImprovementAction(models.Model):
    """An action of the plan d'amélioration continue, with its effectiveness check."""

    origin = models.CharField("origine", max_length=10, choices=ImprovementOrigin.choices)
    reclamations = models.ManyToManyField(
        "reclamations.Reclamation", blank=True, related_name="improvement_actions", verbose_name="réclamations"
    )
    # The corrective/preventive action of a record this one was promoted from, if any.
    source_action = models.OneToOneField(
        "reclamations.Action", on_delete=models.SET_NULL, null=True, blank=True, related_name="improvement"
    )
    title = models.CharField("intitulé", max_length=200)
    description = models.TextField("description")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="responsable",
    )
    due_date = models.DateField("échéance", null=True, blank=True, db_index=True)
    status = models.CharField(
        "statut", max_length=12, choices=ImprovementStatus.choices, default=ImprovementStatus.PLANNED
    )
    done_at = models.DateField("réalisée le", null=True, blank=True)
    check_planned_on = models.DateField("vérification de l'efficacité prévue le", null=True, blank=True)
    check_result = models.CharField("efficacité", max_length=14, choices=Effectiveness.choices, blank=True)
    check_comment = models.TextField("commentaire de vérification", blank=True)
    checked_at = models.DateField("vérifiée le", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Reminders to the owner, claimed once each by a conditional UPDATE in the sweep.
    due_reminder_at = models.DateTimeField(null=True, blank=True, editable=False)
    check_reminder_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "action d'amélioration"
        verbose_name_plural = "plan d'amélioration continue"
        ordering = ["status", "due_date", "id"]

    def __str__(self) -> str:
        return self.title


class Digest(models.Model):
    """A periodic internal digest sent to every staff member (proof of internal communication)."""

    period_start = models.DateField("du")
    period_end = models.DateField("au")
    created_at = models.DateTimeField(auto_now_add=True)
    # What the digest said, frozen when it was sent: the proof must not change with later data.
    content = models.JSONField("contenu", default=dict)

    class Meta:
        verbose_name = "bilan interne"
        verbose_name_plural = "bilans internes"
        ordering = ["-period_end"]
        constraints = [models.UniqueConstraint(fields=["period_start", "period_end"], name="digest_period_unique")]

    def __str__(self) -> str:
        return f"Bilan du {self.period_start:%d/%m/%Y} au {self.period_end:%d/%m/%Y}"


class DigestReceipt(models.Model):
    """One staff member's copy of a digest, and when they acknowledged reading it."""

    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="receipts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    sent_at = models.DateTimeField("envoyé le", null=True, blank=True)
    acknowledged_at = models.DateTimeField("lu le", null=True, blank=True)

    class Meta:
        verbose_name = "accusé de lecture"
        constraints = [models.UniqueConstraint(fields=["digest", "user"], name="digest_receipt_unique")]

    def __str__(self) -> str:
        return f"{self.digest} — {self.user}"
