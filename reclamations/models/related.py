"""What hangs off a record: action-plan items, communications, attachments, its e-mails."""
from __future__ import annotations

import uuid
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.template.defaultfilters import pluralize


class ActionKind(models.TextChoices):
    IMMEDIATE = "immediate", "Immédiate (recherche de la cause)"
    CORRECTIVE = "corrective", "Corrective"
    PREVENTIVE = "preventive", "Préventive"


class ActionStatus(models.TextChoices):
    PLANNED = "planned", "Prévue"
    IN_PROGRESS = "in_progress", "En cours"
    DONE = "done", "Réalisée"
    CANCELLED = "cancelled", "Annulée"


class Action(models.Model):
    """An item of the action plan (steps 4 to 6)."""

    reclamation = models.ForeignKey("reclamations.Reclamation", on_delete=models.CASCADE, related_name="actions")
    description = models.TextField("description")
    kind = models.CharField("type", max_length=10, choices=ActionKind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="reclamation_actions", verbose_name="responsable",
    )
    due_date = models.DateField("échéance", null=True, blank=True, db_index=True)
    status = models.CharField("statut", max_length=12, choices=ActionStatus.choices, default=ActionStatus.PLANNED)
    done_at = models.DateField("réalisée le", null=True, blank=True)
    result = models.TextField("résultat", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Reminders to the owner, each claimed once by a conditional UPDATE in the sweep.
    due_reminder_at = models.DateTimeField(null=True, blank=True, editable=False)
    overdue_reminder_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "action"
        ordering = ["due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="done") | models.Q(done_at__isnull=False),
                name="action_done_has_date",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} : {self.description[:60]}"


class CommunicationKind(models.TextChoices):
    CALL = "call", "Appel téléphonique"
    EMAIL = "email", "Courriel"
    LETTER = "letter", "Courrier"
    MESSAGE = "message", "Message (page de suivi)"
    MEETING = "meeting", "Entretien"
    NOTE = "note", "Note interne"


class Communication(models.Model):
    """A call, e-mail, letter or message with the client, or an internal note."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Reçu du réclamant"
        OUTBOUND = "outbound", "Envoyé au réclamant"
        INTERNAL = "internal", "Interne"

    class Purpose(models.TextChoices):
        GENERAL = "general", "Échange"
        ACKNOWLEDGEMENT = "acknowledgement", "Accusé de réception"
        INFORMATION_REQUEST = "information_request", "Demande d'information"
        PROGRESS = "progress", "Point d'avancement"
        ANSWER = "answer", "Réponse argumentée"
        CLOSURE = "closure", "Clôture"

    # What a handler may send from the message form. The argued answer goes through step 6
    # (services.reclamation_send_answer), which also records the answer time.
    MESSAGE_PURPOSES: tuple[str, ...] = (
        Purpose.ACKNOWLEDGEMENT,
        Purpose.INFORMATION_REQUEST,
        Purpose.PROGRESS,
        Purpose.CLOSURE,
    )

    reclamation = models.ForeignKey(
        "reclamations.Reclamation", on_delete=models.CASCADE, related_name="communications"
    )
    kind = models.CharField("moyen", max_length=10, choices=CommunicationKind.choices)
    direction = models.CharField("sens", max_length=10, choices=Direction.choices)
    purpose = models.CharField("objet", max_length=20, choices=Purpose.choices, default=Purpose.GENERAL)
    # Public communications appear on the client's follow-up page; internal ones never do.
    public = models.BooleanField("visible par le client", default=False)
    occurred_at = models.DateTimeField("date")
    duration_minutes = models.PositiveSmallIntegerField("durée (minutes)", null=True, blank=True)
    subject = models.CharField("objet", max_length=300, blank=True)
    body = models.TextField("contenu")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", verbose_name="auteur",
    )
    # The outbox e-mail that carries an outbound communication, when it goes by e-mail: its real
    # sending time is what counts (e.g. the acknowledgement is done when this e-mail is sent).
    email = models.ForeignKey(
        "post_office.Email", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The record's files sent with this message or argued answer (chosen from the record, or
    # uploaded while writing it): shown next to it on the follow-up page. A file may go out twice.
    sent_files = models.ManyToManyField(
        "reclamations.Attachment", blank=True, related_name="sent_with", verbose_name="pièces jointes envoyées"
    )

    class Meta:
        verbose_name = "communication"
        ordering = ["occurred_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(direction="internal", public=True), name="internal_never_public"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%d/%m/%Y}"


ATTACHMENTS_FOLDER = "attachments"


def new_attachment_folder() -> str:
    """A folder for one batch of files (those stored together for one record), named at random.

    Never the record's id: a rolled-back insert gives its id to the next record, which would then
    share a folder with whatever the failed one left. Files stored before this scheme keep their
    ``attachments/<id>/<name>`` path, which their rows still hold.
    """
    return f"{ATTACHMENTS_FOLDER}/{uuid.uuid4().hex}"


def attachment_path(instance: Attachment, filename: str) -> str:
    """A random server-side name; the client's file name is only kept as data, never as a path."""
    return f"{new_attachment_folder()}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A pièce justificative, stored in private storage, served only through an authorised view."""

    reclamation = models.ForeignKey(
        "reclamations.Reclamation", on_delete=models.CASCADE, related_name="attachments"
    )
    communication = models.ForeignKey(
        Communication, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=200)
    original_name = models.CharField("nom du fichier", max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField("taille (octets)")
    sha256 = models.CharField(max_length=64)
    # Uploaded by the client (form, follow-up page) or by staff (original letter, scan...).
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    public = models.BooleanField("visible par le client", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "pièce justificative"
        verbose_name_plural = "pièces justificatives"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def extension(self) -> str:
        return PurePath(self.original_name).suffix.lower()


class OrphanFileReport(models.Model):
    """The last periodic check of the private attachments folder (one row): how many files older
    than the grace period no attachment names, shown to the quality lead on the dashboard.

    Kept in the database because the check runs in a worker and the dashboard in the web process;
    walking the folder on every dashboard view would cost far more than one row.
    """

    checked_at = models.DateTimeField("vérifié le")
    count = models.PositiveIntegerField("fichiers orphelins", default=0)
    size = models.PositiveBigIntegerField("taille (octets)", default=0)

    class Meta:
        verbose_name = "contrôle des fichiers orphelins"
        verbose_name_plural = "contrôles des fichiers orphelins"

    def __str__(self) -> str:
        s = pluralize(self.count)
        return f"{self.count} fichier{s} orphelin{s} au {self.checked_at:%d/%m/%Y %H:%M}"


class RecordEmail(models.Model):
    """The record an outbox e-mail is about, when the record does not keep that e-mail as a
    communication (whose ``email`` is the link for messages to the client): staff notices, alerts.

    Written with the e-mail (``reclamations.emails``). The record's page lists its failed or stuck
    e-mails through both links instead of reading the headers of every e-mail still waiting.
    """

    email = models.OneToOneField(
        "post_office.Email", on_delete=models.CASCADE, primary_key=True, related_name="record_link"
    )
    reclamation = models.ForeignKey("reclamations.Reclamation", on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = "courriel d'un dossier"
        verbose_name_plural = "courriels des dossiers"

    def __str__(self) -> str:
        return f"courriel {self.email_id} → dossier {self.reclamation_id}"


class RecordRead(models.Model):
    """Where one staff member stands with one record: something new for them (a client's message
    when they handle it, or the quality lead while nobody does; the record handed over to them)
    sets ``unread_at``; opening the record clears it and sets ``read_at``.

    A row exists only once something was new for that person: "unread" is a row with ``unread_at``
    set, which the list, the dashboard and the navigation count from the partial index.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="record_reads")
    reclamation = models.ForeignKey("reclamations.Reclamation", on_delete=models.CASCADE, related_name="reads")
    unread_at = models.DateTimeField("non lu depuis", null=True, blank=True)
    read_at = models.DateTimeField("lu le", null=True, blank=True)

    class Meta:
        verbose_name = "lecture d'un dossier"
        verbose_name_plural = "lectures des dossiers"
        constraints = [models.UniqueConstraint(fields=["user", "reclamation"], name="record_read_once")]
        indexes = [
            models.Index(fields=["user", "reclamation"], condition=models.Q(unread_at__isnull=False),
                         name="record_read_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.reclamation_id} ({'non lu' if self.unread_at else 'lu'})"
