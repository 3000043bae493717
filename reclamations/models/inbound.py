"""E-mails received in the organisation's mailbox (IMAP) or piped by its mail server.

One row per message, keyed by its Message-ID: the unique constraint is what makes a second import
of the same message (two workers, a retry, the mail server delivering again) change nothing.
"""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class InboundSource(models.TextChoices):
    IMAP = "imap", "Boîte aux lettres (IMAP)"
    PIPE = "pipe", "Serveur de messagerie (receive_email)"
    STAFF = "staff", "Déposé par l'équipe"


class InboundStatus(models.TextChoices):
    NEW_RECORD = "new_record", "Nouveau dossier"
    CLIENT_MESSAGE = "client_message", "Message ajouté au dossier"
    TO_SORT = "to_sort", "À trier"
    AUTOMATIC = "automatic", "Courriel automatique (mis de côté)"
    REJECTED = "rejected", "Illisible ou trop volumineux (mis de côté)"
    CONVERTED = "converted", "Transformé en dossier"
    DISCARDED = "discarded", "Écarté"


# What a handler may still act on: turn it into a record, or discard it.
ACTIONABLE = (InboundStatus.TO_SORT, InboundStatus.AUTOMATIC)
# Shown on "Courriels à trier": waiting for a decision, or kept aside for a reason staff should see.
KEPT_ASIDE = (InboundStatus.TO_SORT, InboundStatus.AUTOMATIC, InboundStatus.REJECTED)


def inbound_path(instance: InboundMessage, filename: str) -> str:
    # A random name, never the sender's words: the file is the message as received (RFC 822).
    return f"inbound/{instance.received_at:%Y/%m}/{uuid.uuid4().hex}.eml"


class InboundMessage(models.Model):
    """One received e-mail and what became of it. Its raw copy is kept in private storage."""

    # The Message-ID header with its angle brackets (as References quote it), or "sha256:<hex>" of
    # the raw message when it has none or one too long to index.
    message_id = models.CharField("Message-ID", max_length=255, unique=True)
    source = models.CharField("arrivé par", max_length=8, choices=InboundSource.choices)
    status = models.CharField("suite donnée", max_length=16, choices=InboundStatus.choices)
    reason = models.TextField("motif", blank=True)
    received_at = models.DateTimeField("reçu le")
    created_at = models.DateTimeField("importé le", auto_now_add=True)
    # What the sender claims (From:), lower-cased; never proof of identity.
    sender = models.CharField("expéditeur", max_length=254, blank=True)
    sender_name = models.CharField("nom de l'expéditeur", max_length=200, blank=True)
    subject = models.CharField("objet", max_length=300, blank=True)
    size = models.PositiveIntegerField("taille (octets)", default=0)
    raw = models.FileField("courriel d'origine", upload_to=inbound_path, max_length=200, blank=True)
    reclamation = models.ForeignKey(
        "reclamations.Reclamation", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="inbound_messages", verbose_name="dossier",
    )
    communication = models.ForeignKey(
        "reclamations.Communication", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="trié par",
    )
    handled_at = models.DateTimeField("trié le", null=True, blank=True)

    class Meta:
        verbose_name = "courriel reçu"
        verbose_name_plural = "courriels reçus"
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "received_at"], name="inbound_status_received"),
            # The same sender writing again within minutes (one acknowledgement for a burst).
            models.Index(fields=["sender", "received_at"], name="inbound_sender_received"),
        ]

    def __str__(self) -> str:
        return f"{self.subject or '(sans objet)'} ({self.received_at:%d/%m/%Y %H:%M})"


class MailboxPoll(models.Model):
    """The IMAP poll's claim and last outcome (one row, pk=1), shown to staff when it fails."""

    claimed_until = models.DateTimeField(null=True, blank=True)
    last_poll_at = models.DateTimeField("dernière relève", null=True, blank=True)
    last_success_at = models.DateTimeField("dernière relève réussie", null=True, blank=True)
    last_error = models.TextField("dernière erreur", blank=True)

    class Meta:
        verbose_name = "relève de la boîte aux lettres"

    def __str__(self) -> str:
        return f"relève du {self.last_poll_at:%d/%m/%Y %H:%M}" if self.last_poll_at else "jamais relevée"
