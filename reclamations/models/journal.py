"""The append-only, hash-chained journal: the evidence that each step was done, by whom, when.

Every event carries ``hash = HMAC-SHA256(key, prev_hash + canonical content)``, the key living
outside the database (``reclamations.journal_chain``); events written before keyed links existed keep
their plain ``SHA-256(prev_hash + canonical content)`` and are verified as such
(``JournalChainHead.keyed_from``). Events are written only by
``reclamations.journal.record_event`` inside the transaction of the change they describe; they can be
neither updated nor deleted through the ORM, and ``manage.py verify_journal`` recomputes the chain.

The link covers the event's header (sequence, date, record, actor, kind, public) and the digest of its
text (``content_hash`` = SHA-256 of summary + data), not the text itself. That one indirection is what
lets the RGPD retention erase a person's words from the log (``reclamations.journal.redact_events``)
while the chain stays verifiable: a redacted event keeps its digest and its place in the chain, and
``redacted_at`` says when its text was erased.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

GENESIS_HASH = "0" * 64


class EventKind(models.TextChoices):
    CREATED = "created", "Enregistrement"
    STEP_COMPLETED = "step_completed", "Étape terminée"
    STEP_NOT_APPLICABLE = "step_not_applicable", "Étape déclarée sans objet"
    UPDATED = "updated", "Modification"
    ASSIGNED = "assigned", "Attribution"
    ACKNOWLEDGED = "acknowledged", "Accusé de réception"
    COMMUNICATION = "communication", "Communication"
    ACTION_ADDED = "action_added", "Action ajoutée"
    ACTION_UPDATED = "action_updated", "Action modifiée"
    ATTACHMENT_ADDED = "attachment_added", "Pièce jointe ajoutée"
    ANSWER_SENT = "answer_sent", "Réponse envoyée"
    DEADLINES_RECOMPUTED = "deadlines_recomputed", "Échéances recalculées"
    DISCARDED = "discarded", "Classement sans suite"
    REOPENED = "reopened", "Réouverture"
    SLA_ALERT = "sla_alert", "Alerte de délai"
    EMAIL_QUEUED = "email_queued", "Courriel mis en file"
    EMAIL_FAILED = "email_failed", "Courriel en échec"
    EMAIL_RESENT = "email_resent", "Courriel renvoyé"
    INBOUND_EMAIL = "inbound_email", "Courriel reçu"
    REMINDER = "reminder", "Relance"
    SURVEY = "survey", "Enquête de satisfaction"
    FEEDBACK = "feedback", "Avis du client"
    IMPROVEMENT = "improvement", "Amélioration continue"
    DIGEST = "digest", "Communication interne"
    PERSONAL_DATA = "personal_data", "Données personnelles"
    ANONYMISED = "anonymised", "Anonymisation"
    EXPORT = "export", "Export"
    CONFIGURATION = "configuration", "Configuration"
    FILES_DELETED = "files_deleted", "Fichiers orphelins supprimés"
    CHAIN_KEY = "chain_key", "Clé de chaînage"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Le journal est en ajout seul : aucune modification.")

    def delete(self):
        raise PermissionError("Le journal est en ajout seul : aucune suppression.")


class Event(models.Model):
    sequence = models.PositiveBigIntegerField("n°", unique=True, editable=False)
    created_at = models.DateTimeField("date", db_index=True)
    reclamation = models.ForeignKey(
        "reclamations.Reclamation", on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Who acted, kept as text so that the log reads the same if the account is renamed later:
    # a user's full name, "Client (lien de suivi)" or "Système".
    actor_label = models.CharField("auteur", max_length=200)
    kind = models.CharField("type", max_length=24, choices=EventKind.choices, db_index=True)
    summary = models.CharField("résumé", max_length=500)
    data = models.JSONField("détail", default=dict, blank=True, encoder=DjangoJSONEncoder)
    # The client sees an event on the follow-up page only when it is public.
    public = models.BooleanField(default=False)
    content_hash = models.CharField(max_length=64, editable=False)
    # Set when the summary and data were erased for RGPD (the digest above still proves the link).
    redacted_at = models.DateTimeField("texte effacé le", null=True, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = "événement"
        ordering = ["sequence"]
        indexes = [models.Index(fields=["reclamation", "sequence"], name="event_rec_seq")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.get_kind_display()}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None or not self._state.adding:
            raise PermissionError("Le journal est en ajout seul : aucune modification.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Le journal est en ajout seul : aucune suppression.")

    def compute_content_hash(self) -> str:
        """Digest of the event's text: what redaction may erase."""
        return hashlib.sha256(_canonical({"summary": self.summary, "data": self.data}).encode()).hexdigest()

    def canonical_content(self) -> str:
        """The fields the link covers, in a form that reads the same on SQLite and PostgreSQL."""
        return _canonical(
            {
                "sequence": self.sequence,
                "created_at": self.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
                "reclamation": self.reclamation_id,
                "actor": self.actor_id,
                "actor_label": self.actor_label,
                "kind": self.kind,
                "content_hash": self.content_hash,
                "public": self.public,
            }
        )

    def compute_hash(self, key: bytes | None = None) -> str:
        """The link: keyed (HMAC-SHA256) when ``key`` is given, plain SHA-256 for events written before
        keyed links (``JournalChainHead.keyed_from``)."""
        message = (self.prev_hash + self.canonical_content()).encode()
        if key is None:
            return hashlib.sha256(message).hexdigest()
        return hmac.new(key, message, hashlib.sha256).hexdigest()


def _canonical(content: dict) -> str:
    return json.dumps(content, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class JournalChainHead(models.Model):
    """The chain's last link (one row). Locking it serialises writers, so the chain never forks."""

    last_sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    # The first event whose link is keyed; the ones before were written unkeyed and are verified as
    # they are (an existing log stays verifiable). Every event from here on must be keyed: moving
    # this number forward does not help a forger, since the event it would point to must still be
    # linked with the key to the re-hashed events before it. Null: nothing written since the upgrade.
    keyed_from = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    # The fingerprint (never the key) of the key the last links were made with: a process with
    # another key notices the change and logs it as a CHAIN_KEY event before its first link.
    key_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "tête de la chaîne d'audit"

    def __str__(self) -> str:
        return f"#{self.last_sequence} {self.last_hash[:12]}"
