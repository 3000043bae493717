"""Received e-mails: a new complaint, a client's answer, or something kept aside for staff.

Both ways in (the IMAP poll, ``manage.py receive_email``) hand each message to
:func:`inbound_message_receive`, which in one transaction stores the message's row (unique
Message-ID: a second import changes nothing) and does what the Contact form or the follow-up page
would have done, through the same functions (``intake.reclamation_submit_email``,
``intake.reclamation_add_client_message``). The caller marks the message handled in the mailbox
only after this returns, i.e. after the commit.

Where a message goes:

* written by a machine (auto-reply, bounce, list) → kept aside, never answered;
* answering one of our e-mails (In-Reply-To / References), or naming a record's reference in its
  subject *and* sent from that record's complainant address → a message on that record;
* from an address that opened a record less than ``INBOUND_GROUPING_MINUTES`` ago → joins it
  (a burst of e-mails gets one acknowledgement);
* anything else → a new record with the Contact form's acknowledgement, or "Courriels à trier"
  when the quality lead switched that off (``Organisation.email_intake_creates_records``).

A sender address is only a claim: an e-mail never changes the complainant's identity, and reaches
a record of another address only through the thread headers of an e-mail we sent.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from .. import inbound_mail
from ..inbound_mail import ParsedMail, UnreadableMessage
from ..journal import record_event
from ..models import (
    Communication,
    EventKind,
    InboundMessage,
    InboundStatus,
    Organisation,
    Reclamation,
)
from ..models.inbound import ACTIONABLE
from ..uploads import CheckedUpload, check_upload, clean_name, human_size
from .attachments import atomic_with_uploads
from .base import Actor, CreatedReclamation, WorkflowError
from .intake import reclamation_add_client_message, reclamation_submit_email

logger = logging.getLogger(__name__)

NO_TEXT = "(Courriel sans texte.)"
NO_SUBJECT = "(sans objet)"
# A Received: date is our mail server's, but only trusted within what an MTA keeps a message queued.
_RECEIVED_TRUSTED_FOR = timedelta(days=5)
# Errors of the database itself: temporary, the message must stay where it is and be tried again.
TEMPORARY_ERRORS = (OperationalError, InterfaceError)


@dataclass(frozen=True)
class Received:
    message: InboundMessage
    duplicate: bool  # already imported: nothing changed

    @property
    def status(self) -> str:
        return self.message.status


# --- Receiving -------------------------------------------------------------------------------------
def inbound_message_receive(
    *, raw: bytes, source: str, arrived_at: datetime | None = None, size: int | None = None
) -> Received:
    """Import one received message, once (see the module docstring).

    ``raw``: the whole message; for an oversize message left on the IMAP server, only its header
    block, with ``size`` its real size. ``arrived_at``: when our server got it (IMAP INTERNALDATE);
    else our server's Received: stamp, else now. Raises only a temporary error (the database is
    away): anything wrong with the message itself ends kept aside with the reason.
    """
    size = len(raw) if size is None else size
    limit = settings.INBOUND_MAX_MESSAGE_BYTES
    if size > limit:
        where = ("laissé sur le serveur de messagerie, dans le dossier des messages traités" if len(raw) < size
                 else "conservé tel quel, sans être lu")
        return _keep_unread(
            raw=raw, source=source, arrived_at=arrived_at, size=size,
            reason=f"Courriel trop volumineux ({human_size(size)} ; limite {human_size(limit)}) : {where}.",
        )
    try:
        mail = inbound_mail.parse(raw)
    except UnreadableMessage as exc:
        return _keep_unread(raw=raw, source=source, arrived_at=arrived_at, size=size, reason=str(exc))
    existing = InboundMessage.objects.filter(message_id=mail.key).first()
    if existing is not None:
        return Received(existing, duplicate=True)
    arrival = _arrival(arrived_at, mail.received_at)
    try:
        # The raw copy and the attachments are deleted again if the import rolls back.
        with atomic_with_uploads() as written:
            # Inserted first: a concurrent import of the same Message-ID waits on this row's unique
            # key and then fails, so only one of them goes on to create anything.
            row = InboundMessage.objects.create(
                message_id=mail.key, source=source, status=InboundStatus.TO_SORT, received_at=arrival,
                sender=mail.sender, sender_name=mail.sender_name, subject=mail.subject, size=size,
            )
            row.raw.save("message.eml", ContentFile(raw), save=False)
            written.append(row.raw.name)
            _route(row, mail)
            row.save()
        return Received(row, duplicate=False)
    except IntegrityError:
        existing = InboundMessage.objects.filter(message_id=mail.key).first()
        if existing is None:
            raise
        return Received(existing, duplicate=True)
    except TEMPORARY_ERRORS:
        raise
    except Exception as exc:
        # A message that breaks the import must not block the mailbox: kept for a handler.
        logger.exception("inbound message could not be imported; kept aside")
        return _keep(
            key=mail.key, raw=raw, source=source, arrived_at=arrival, size=size, status=InboundStatus.TO_SORT,
            sender=mail.sender, sender_name=mail.sender_name, subject=mail.subject,
            reason=f"L'import automatique a échoué ({type(exc).__name__}) : à traiter à la main.",
        )


def _arrival(arrived_at: datetime | None, received_header: datetime | None) -> datetime:
    now = timezone.now()
    if arrived_at is None and received_header is not None and received_header >= now - _RECEIVED_TRUSTED_FOR:
        arrived_at = received_header
    return min(arrived_at or now, now)  # a clock ahead of ours never puts a reception in the future


def _route(row: InboundMessage, mail: ParsedMail) -> None:
    """Decide and do, inside the row's transaction; sets the row's status, reason and links."""
    target, note = _thread(mail)
    if mail.automatic:
        row.status, row.reason, row.reclamation = InboundStatus.AUTOMATIC, mail.automatic, target
    elif not mail.sender:
        row.status = InboundStatus.REJECTED
        row.reason = "Adresse de l'expéditeur absente ou invalide : impossible de lui répondre."
    elif target is not None:
        _add_to_record(row, mail, target, note)
    elif note:
        row.status, row.reason = InboundStatus.TO_SORT, note
    elif not Organisation.current().email_intake_creates_records:
        row.status = InboundStatus.TO_SORT
        row.reason = "Aucun dossier correspondant ; la création automatique de dossiers par courriel est désactivée."
    elif (recent := _recent_record(mail.sender, row.received_at)) is not None:
        _add_to_record(row, mail, recent, f"Même expéditeur que le dossier {recent.reference}, ouvert il y a moins "
                                          f"de {settings.INBOUND_GROUPING_MINUTES} minutes.")
    else:
        uploads, refused = checked_files(mail)
        created = reclamation_submit_email(
            subject=mail.subject or NO_SUBJECT, description=with_refusals(mail.text or NO_TEXT, refused),
            complainant_email=mail.sender, complainant_name=mail.sender_name, received_at=row.received_at,
            uploads=uploads,
        )
        row.status, row.reclamation = InboundStatus.NEW_RECORD, created.reclamation
        row.reason = "\n".join(refused)
    _log(row)


def _add_to_record(row: InboundMessage, mail: ParsedMail, target: Reclamation, note: str) -> None:
    uploads, refused = checked_files(mail)
    try:
        communication = reclamation_add_client_message(
            reclamation=target, body=with_refusals(mail.text or NO_TEXT, refused), uploads=uploads,
            email_subject=mail.subject or NO_SUBJECT, occurred_at=row.received_at,
        )
    except WorkflowError as exc:  # closed or anonymised: a handler decides (reopen, new record...)
        row.status, row.reclamation = InboundStatus.TO_SORT, target
        row.reason = f"{note} {exc}".strip()
        return
    row.status, row.reclamation, row.communication = InboundStatus.CLIENT_MESSAGE, target, communication
    row.reason = "\n".join([note, *refused]).strip()


def _thread(mail: ParsedMail) -> tuple[Reclamation | None, str]:
    """The record this message answers, with how it was found; or (None, why it was not attached)."""
    if mail.thread_ids:
        answered = (Communication.objects.filter(email__message_id__in=mail.thread_ids,
                                                 direction=Communication.Direction.OUTBOUND)
                    .select_related("reclamation").order_by("-pk").first())
        if answered is not None:
            return answered.reclamation, f"Réponse à notre courriel du dossier {answered.reclamation.reference}."
        earlier = (InboundMessage.objects.filter(message_id__in=mail.thread_ids, reclamation__isnull=False)
                   .select_related("reclamation").order_by("-pk").first())
        if earlier is not None:
            return earlier.reclamation, f"Suite d'un courriel du dossier {earlier.reclamation.reference}."
    references = list(dict.fromkeys(inbound_mail.REFERENCE_RE.findall(mail.subject)))
    records = {r.reference: r for r in Reclamation.objects.filter(reference__in=references)}
    for reference in references:
        record = records.get(reference)
        if record is not None and mail.sender and record.complainant_email.strip().lower() == mail.sender:
            return record, f"Référence {reference} dans l'objet, envoyé par le réclamant du dossier."
    if records:
        # Anyone can type a reference: without our thread headers, another address gets nowhere.
        return None, (f"L'objet cite le dossier {', '.join(records)}, mais l'expéditeur n'est pas son "
                      "réclamant : vérifiez avant de le rattacher ou d'ouvrir un dossier.")
    return None, ""


def _recent_record(sender: str, at: datetime) -> Reclamation | None:
    since = at - timedelta(minutes=settings.INBOUND_GROUPING_MINUTES)
    row = (InboundMessage.objects.filter(sender=sender, status=InboundStatus.NEW_RECORD, received_at__gte=since,
                                         reclamation__isnull=False)
           .select_related("reclamation").order_by("-received_at", "-pk").first())
    return row.reclamation if row is not None and row.reclamation.is_open else None


def checked_files(mail: ParsedMail) -> tuple[list[CheckedUpload], list[str]]:
    """The attached files that pass the upload checks, and a French sentence per file refused (the
    file itself stays in the message's raw copy)."""
    uploads: list[CheckedUpload] = []
    refused: list[str] = []
    for part in mail.files:
        name = clean_name(part.name)
        if len(uploads) >= settings.ATTACHMENT_MAX_FILES:
            refused.append(f"Le fichier « {name} » n'est pas retenu : au plus {settings.ATTACHMENT_MAX_FILES} "
                           "pièces jointes par message.")
        elif len(part.payload) > settings.INBOUND_MAX_ATTACHMENT_BYTES:
            refused.append(f"Le fichier « {name} » dépasse la taille maximale de "
                           f"{human_size(settings.INBOUND_MAX_ATTACHMENT_BYTES)}.")
        else:
            try:
                uploads.append(check_upload(SimpleUploadedFile(name, part.payload, content_type=part.content_type)))
            except ValidationError as exc:
                refused.extend(exc.messages)
    return uploads, refused


def with_refusals(text: str, refused: list[str]) -> str:
    if not refused:
        return text
    return text + "\n\n---\nPièces jointes non retenues :\n" + "\n".join(f"- {line}" for line in refused)


def _log(row: InboundMessage, *, actor: Actor = None, summary: str = "") -> None:
    # No address nor subject in the summary: the log is append-only, the row can be erased (RGPD).
    record_event(
        kind=EventKind.INBOUND_EMAIL,
        reclamation=row.reclamation,
        actor=actor,
        summary=summary or f"Courriel reçu ({row.get_source_display()}) : {row.get_status_display().lower()}.",
        data={"inbound": row.pk, "status": row.status, "source": row.source},
    )


def _keep_unread(*, raw: bytes, source: str, arrived_at: datetime | None, size: int, reason: str) -> Received:
    key, sender, name, subject = inbound_mail.summary(raw)
    return _keep(key=key, raw=raw, source=source, arrived_at=_arrival(arrived_at, None), size=size,
                 status=InboundStatus.REJECTED, reason=reason, sender=sender, sender_name=name, subject=subject)


def _keep(*, key: str, raw: bytes, source: str, arrived_at: datetime, size: int, status: str, reason: str,
          sender: str, sender_name: str, subject: str) -> Received:
    """Store a message set aside, once, with its raw copy and the reason staff will read."""
    existing = InboundMessage.objects.filter(message_id=key).first()
    if existing is not None:
        return Received(existing, duplicate=True)
    try:
        with atomic_with_uploads() as written:
            row = InboundMessage(message_id=key, source=source, status=status, reason=reason, received_at=arrived_at,
                                 sender=sender, sender_name=sender_name, subject=subject, size=size)
            row.raw.save("message.eml", ContentFile(raw), save=False)
            written.append(row.raw.name)
            row.save()
            _log(row)
        return Received(row, duplicate=False)
    except IntegrityError:
        existing = InboundMessage.objects.filter(message_id=key).first()
        if existing is None:
            raise
        return Received(existing, duplicate=True)


# --- Staff sorting ---------------------------------------------------------------------------------
def read_kept(message: InboundMessage) -> ParsedMail | None:
    """A kept message as staff read it (text only); None when it cannot be read."""
    if not message.raw:
        return None
    try:
        with message.raw.open("rb") as stored:
            return inbound_mail.parse(stored.read())
    except (OSError, UnreadableMessage):
        return None


def _claim(message: InboundMessage, status: str, actor: Actor) -> InboundMessage:
    """Take a message waiting for a decision; two staff members clicking at once: the second is told."""
    taken = InboundMessage.objects.filter(pk=message.pk, status__in=ACTIONABLE).update(
        status=status, handled_by=actor, handled_at=timezone.now())
    row = InboundMessage.objects.select_related("reclamation").get(pk=message.pk)
    if not taken:
        raise WorkflowError(f"Ce courriel a déjà été trié ({row.get_status_display().lower()}) : la liste est à jour.")
    return row


def inbound_message_convert(*, message: InboundMessage, actor: Actor) -> CreatedReclamation:
    """A handler turns a kept message into a record, exactly as the automatic intake would have:
    received at the message's arrival, with its files and the acknowledgement to the sender."""
    with atomic_with_uploads():
        row = _claim(message, InboundStatus.CONVERTED, actor)
        mail = read_kept(row)
        if mail is None or not mail.sender:
            raise WorkflowError("Ce courriel est illisible ou n'a pas d'adresse d'expéditeur valide : enregistrez la "
                                "demande depuis « Enregistrer » et écartez-le.")
        uploads, refused = checked_files(mail)
        created = reclamation_submit_email(
            subject=mail.subject or NO_SUBJECT, description=with_refusals(mail.text or NO_TEXT, refused),
            complainant_email=mail.sender, complainant_name=mail.sender_name, received_at=row.received_at,
            uploads=uploads,
        )
        row.reclamation = created.reclamation
        row.save(update_fields=["reclamation"])
        _log(row, actor=actor, summary="Courriel à trier transformé en dossier.")
    return created


def inbound_message_discard(*, message: InboundMessage, actor: Actor, reason: str) -> InboundMessage:
    """A handler discards a kept message, with the reason (logged); the message itself is kept."""
    reason = reason.strip()
    if not reason:
        raise WorkflowError("Indiquez pourquoi ce courriel est écarté.")
    with transaction.atomic():
        row = _claim(message, InboundStatus.DISCARDED, actor)
        row.reason = f"{row.reason}\nÉcarté : {reason}".strip()
        row.save(update_fields=["reason"])
        _log(row, actor=actor, summary=f"Courriel reçu écarté : {reason[:300]}")
    return row


def describe(received: Received) -> dict[str, Any]:
    """What a caller logs about one import (ids only, never an address)."""
    return {"inbound": received.message.pk, "status": received.status, "duplicate": received.duplicate,
            "reclamation": received.message.reclamation_id}
