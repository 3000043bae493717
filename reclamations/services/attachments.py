"""Storing pièces justificatives, with their event."""
from __future__ import annotations

from django.db import transaction

from ..audit import record_event
from ..models import Attachment, Communication, EventKind, Reclamation
from ..uploads import CheckedUpload
from .base import Actor, check_not_anonymised, lock


def reclamation_add_attachments(
    *,
    reclamation: Reclamation,
    actor: Actor,
    uploads: list[CheckedUpload],
    public: bool = True,
    communication: Communication | None = None,
    label: str | None = None,
) -> list[Attachment]:
    """Store already-checked uploads (``uploads.check_uploads``) under random names, one event each.

    Runs inside the caller's transaction when there is one, so a record and its files are saved
    together or not at all. (A file written to disk by a transaction that then rolls back is left
    as an orphan, never as a half-saved record.)
    """
    stored = []
    with transaction.atomic():
        r = lock(reclamation)
        check_not_anonymised(r)
        for upload in uploads:
            attachment = Attachment(
                reclamation=r, communication=communication, original_name=upload.original_name,
                content_type=upload.content_type, size=upload.size, sha256=upload.sha256, public=public,
                uploaded_by=actor if actor is not None and actor.is_authenticated else None,
            )
            attachment.file.save(upload.original_name, upload.file, save=False)
            attachment.save()
            record_event(
                kind=EventKind.ATTACHMENT_ADDED, reclamation=r, actor=actor, label=label, public=public,
                summary=f"Pièce jointe ajoutée : {upload.original_name}",
                data={"attachment": attachment.pk, "name": upload.original_name, "size": upload.size,
                      "content_type": upload.content_type, "sha256": upload.sha256},
            )
            stored.append(attachment)
    return stored
