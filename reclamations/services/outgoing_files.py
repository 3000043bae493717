"""The record's files sent with a message or the argued answer.

The handler picks files of the record, or uploads new ones while writing (checked like every
upload, ``uploads.check_uploads``). They are kept on the communication (``sent_files``: the
follow-up page shows them next to the message) and travel as e-mail attachments while their total
stays within ``OUTGOING_ATTACHMENTS_MAX_BYTES``; the others are named in the e-mail with a link to
the follow-up page, where the client downloads them.

The outbox keeps its own copy of each attached file (a post_office ``Attachment`` row and file,
written in the same transaction as the e-mail): an e-mail waiting for a down SMTP server still has
its files when it leaves, whatever happens to the record's files meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from post_office.models import Attachment as OutboxAttachment
from post_office.models import Email

from .. import emails, tokens, uploads
from ..journal import record_event
from ..models import Attachment, Communication, EventKind, FollowUpLink, Reclamation
from ..uploads import CheckedUpload
from .attachments import reclamation_add_attachments
from .base import Actor, WorkflowError

FOREIGN_FILE = "Ce fichier n'est pas une pièce de cette réclamation : il ne peut pas être joint au message."
ERASED_FILE = "Le fichier « {name} » n'est plus disponible : il ne peut pas être joint au message."


@dataclass(frozen=True)
class OutgoingFiles:
    """What goes with one message: ``attached`` travel in the e-mail, ``linked`` only by link."""

    attached: list[Attachment]
    linked: list[Attachment]
    uploaded: tuple[int, ...] = ()  # the files uploaded while writing it (they came with it)

    @property
    def all(self) -> list[Attachment]:
        return [*self.attached, *self.linked]


def max_bytes() -> int:
    return settings.OUTGOING_ATTACHMENTS_MAX_BYTES


def chosen_files(*, reclamation: Reclamation, attachment_ids: Sequence[int]) -> list[Attachment]:
    """The record's files named by ``attachment_ids``, in that order.

    The object-level check: an id of another record's file (a forged form) is refused, as is a
    file whose content was erased (RGPD) or whose type we no longer accept.
    """
    wanted = list(dict.fromkeys(int(pk) for pk in attachment_ids))
    if not wanted:
        return []
    found = {a.pk: a for a in Attachment.objects.filter(reclamation=reclamation, pk__in=wanted)}
    if len(found) != len(wanted):
        raise WorkflowError(FOREIGN_FILE)
    for attachment in found.values():
        if not attachment.file or attachment.content_type not in uploads.ALLOWED_TYPES:
            raise WorkflowError(ERASED_FILE.format(name=attachment.original_name))
    return [found[pk] for pk in wanted]


def reclamation_gather_outgoing_files(
    *,
    reclamation: Reclamation,
    actor: Actor,
    attachment_ids: Sequence[int] = (),
    new_files: Sequence[CheckedUpload] = (),
    emailed: bool,
) -> OutgoingFiles:
    """Resolve and store the files of one message (inside the caller's ``atomic_with_uploads``).

    Uploaded files become files of the record, visible to the client. A chosen internal file becomes
    visible too: it is being sent to the client. Then they are split by the size limit (all are
    "linked" when nothing is e-mailed).
    """
    files = chosen_files(reclamation=reclamation, attachment_ids=attachment_ids)
    uploaded: tuple[int, ...] = ()
    hidden = [a for a in files if not a.public]
    if hidden:
        Attachment.objects.filter(pk__in=[a.pk for a in hidden]).update(public=True)
        for attachment in hidden:
            attachment.public = True
        names = ", ".join(a.original_name for a in hidden)
        record_event(
            kind=EventKind.UPDATED,
            reclamation=reclamation,
            actor=actor,
            summary=f"Rendu visible au réclamant (envoyé avec un message) : {names}.",
            data={"attachments_made_public": [a.pk for a in hidden]},
        )
    if new_files:
        stored = reclamation_add_attachments(reclamation=reclamation, actor=actor, uploads=list(new_files), public=True)
        files += stored
        uploaded = tuple(a.pk for a in stored)
    if not emailed:
        return OutgoingFiles(attached=[], linked=files, uploaded=uploaded)
    attached: list[Attachment] = []
    linked: list[Attachment] = []
    total = 0
    for attachment in files:
        # In the order chosen, each file that still fits: a big one does not push the small ones out.
        if total + attachment.size <= max_bytes():
            attached.append(attachment)
            total += attachment.size
        else:
            linked.append(attachment)
    return OutgoingFiles(attached=attached, linked=linked, uploaded=uploaded)


def email_context(*, reclamation: Reclamation, files: OutgoingFiles) -> dict[str, object]:
    """What the e-mail says of its files; a file too big for it comes with a fresh follow-up link
    (the client's older links keep working: ``FollowUpLink``)."""
    context: dict[str, object] = {"attached_files": files.attached, "linked_files": files.linked}
    if files.linked:
        token, token_hash = tokens.new_token()
        now = timezone.now()
        FollowUpLink.objects.create(
            reclamation=reclamation,
            token_hash=token_hash,
            created_at=now,
            expires_at=now + timedelta(days=settings.FOLLOW_UP_TOKEN_DAYS),
        )
        context["files_url"] = emails.follow_up_url(token)
    return context


def attach_to_email(*, email: Email, files: Sequence[Attachment], written: list[str]) -> None:
    """Copy the files into the outbox, attached to ``email``. ``written``: the enclosing
    ``atomic_with_uploads`` list, so the copies are deleted should the transaction roll back."""
    for attachment in files:
        copy = OutboxAttachment(name=attachment.original_name, mimetype=attachment.content_type)
        # Stored under a plain name: post_office keeps the client's name's ending as the extension,
        # and a long name without a dot would not fit its column. The e-mail uses ``name``.
        extension = uploads.ALLOWED_TYPES.get(attachment.content_type, ("", ".bin"))[1]
        with attachment.file.open("rb") as source:
            copy.file.save(f"piece{extension}", source, save=False)
        written.append(copy.file.name)
        copy.save()
        copy.emails.add(email)


def keep_on_communication(*, communication: Communication, files: OutgoingFiles) -> None:
    if files.uploaded:
        Attachment.objects.filter(pk__in=files.uploaded).update(communication=communication)
    if files.all:
        communication.sent_files.add(*files.all)


def outbox_copies_of(email_ids: Sequence[int]) -> list[str]:
    """Delete the outbox's copies of the files of these e-mails (RGPD erasure); their file names,
    for the caller to delete once every row is written."""
    copies = OutboxAttachment.objects.filter(emails__in=list(email_ids)).distinct()
    names = [name for name in copies.values_list("file", flat=True) if name]
    OutboxAttachment.objects.filter(pk__in=list(copies.values_list("pk", flat=True))).delete()
    return names
