"""What arrives from the public side: a Contact form submission, a client's message on the follow-up
page (a request for a lost follow-up link: ``services.links``), and the same two by e-mail (a new
complaint, an answer to one of our e-mails), which ``services.inbound`` hands to the same functions.

Each is one transaction: the record (or message), its files, its events and the e-mails it causes
are stored together or not at all. The e-mails wait in the outbox and leave after commit; the
acknowledgement counts as done only once its e-mail is actually sent
(``reclamation_sync_sent_emails``), never at submission.

A Contact submission's notice to staff is the one thing written after the client's request: the
record is stored with ``staff_notice_pending`` set, and the worker that sends the acknowledgement
writes the notices first (``reclamation_announce_submissions``, claimed by a conditional UPDATE so
that one worker writes them, once). The client does not wait for the staff list to be read and
three more e-mails to be rendered; if the broker is down, the beat's outbox re-queue finds the
pending record, as it finds the waiting acknowledgement.
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from post_office.models import Email

from .. import emails, roles, selectors
from ..journal import CLIENT_LABEL, record_event
from ..models import (
    Attachment,
    Channel,
    Communication,
    CommunicationKind,
    EventKind,
    Kind,
    Organisation,
    Reclamation,
)
from ..uploads import CheckedUpload
from .attachments import atomic_with_uploads, reclamation_add_attachments
from .base import CreatedReclamation, WorkflowError, lock
from .communications import reclamation_log_communication
from .reading import reclamation_mark_unread
from .records import NewReclamation, insert_reclamation, prepare_reclamation

logger = logging.getLogger(__name__)

WEB_FORM_LABEL = "Client (formulaire Contact)"
EMAIL_LABEL = "Client (courriel)"
# Kinds a client may file; an aléa (incident) is logged by staff.
PUBLIC_KINDS = (Kind.COMPLAINT.value, Kind.DIFFICULTY.value)
# What the Contact form may set besides kind, subject, description and e-mail address.
CONTACT_FIELDS = frozenset(
    {
        "stakeholder_type",
        "complainant_name",
        "complainant_role",
        "complainant_organisation",
        "complainant_phone",
        "complainant_address",
        "service",
        "training_action",
        "wished_solution",
    }
)
# Stands for the secret link in the copy of an e-mail kept on the record: the clear token is
# written nowhere but in the e-mail itself.
LINK_PLACEHOLDER = "[lien de suivi personnel]"


# --- Who is told ---------------------------------------------------------------------------------
def _addresses(users: Iterable[AbstractBaseUser]) -> list[str]:
    seen: dict[str, None] = {}
    for user in users:
        seen.setdefault(user.email.strip().lower(), None)
    return [address for address in seen if address]


def _staff_addresses(users: Iterable[AbstractBaseUser]) -> list[str]:
    """The users' addresses, else the organisation's contact address, so a notice is never lost."""
    addresses = _addresses(users)
    if not addresses:
        fallback = Organisation.current().contact_email.strip()
        addresses = [fallback] if fallback else []
    return addresses


# --- Shared steps --------------------------------------------------------------------------------
def email_client_with_link(
    *, reclamation: Reclamation, name: str, context: dict[str, Any], purpose: str, token: str,
    rendered: tuple[str, str, str] | None = None,
) -> Communication:
    """Queue an e-mail to the complainant and keep it on the record as a public communication.

    The communication's body is the e-mail's text with the link replaced by a placeholder, so
    the record shows what the client received without keeping the secret token. ``rendered``:
    the e-mail already rendered from ``name`` and the same context (``_render_acknowledgement``).
    """
    follow_up_url = emails.follow_up_url(token)
    email: Email = emails.queue(
        name=name,
        to=[reclamation.complainant_email],
        context={**context, "follow_up_url": follow_up_url},
        carried=True,  # by the communication below
        rendered=rendered,
    )
    kept_text = email.message.replace(follow_up_url, LINK_PLACEHOLDER)
    if token in kept_text:  # the link was written differently (escaped...): render the copy instead
        kept_text = emails.render_text(name, {**context, "follow_up_url": LINK_PLACEHOLDER})
    communication = Communication.objects.create(
        reclamation=reclamation,
        kind=CommunicationKind.EMAIL,
        direction=Communication.Direction.OUTBOUND,
        purpose=purpose,
        public=True,
        occurred_at=timezone.now(),
        subject=email.subject[:300],
        body=kept_text.strip(),
        email=email,
    )
    record_event(
        kind=EventKind.EMAIL_QUEUED,
        reclamation=reclamation,
        actor=None,
        summary=f"Courriel au réclamant mis en file d'envoi : {communication.get_purpose_display().lower()}.",
        data={"communication": communication.pk, "email": email.pk, "template": name, "purpose": purpose},
    )
    return communication


def _notify_staff(*, reclamation: Reclamation, name: str, addresses: list[str], context: dict[str, Any],
                  summary: str) -> int:
    """One e-mail per staff address (none carries the client's token), and one event for them all."""
    if not addresses:
        logger.warning("no staff address to notify about reclamation %s (%s)", reclamation.pk, name)
        return 0
    context = {**context, "reclamation": reclamation, "organisation": Organisation.current(),
               "backoffice_url": emails.backoffice_url(reclamation)}
    email_ids = [email.pk for email in emails.queue_each(name=name, addresses=addresses, context=context)]
    record_event(
        kind=EventKind.EMAIL_QUEUED,
        reclamation=reclamation,
        actor=None,
        summary=f"{summary} ({len(email_ids)} destinataire{'s' if len(email_ids) > 1 else ''}).",
        data={"template": name, "emails": email_ids},
    )
    return len(email_ids)


# --- Contact form --------------------------------------------------------------------------------
def reclamation_submit_contact(
    *,
    kind: str,
    subject: str,
    description: str,
    complainant_email: str,
    consent: bool,
    uploads: Sequence[CheckedUpload] = (),
    **fields: Any,
) -> CreatedReclamation:
    """Register a Contact-form submission in step 1, with its files and the acknowledgement e-mail,
    in one transaction; the notice to the quality lead(s) and the handlers on duty is left to the
    worker (``reclamation_announce_submissions``), which the commit wakes up.

    ``uploads`` must come from ``uploads.check_uploads``. ``fields`` are the other form fields
    (``CONTACT_FIELDS``). The returned token is the only clear copy: it is in the queued e-mail and
    the caller may show it once; it is stored nowhere else.
    """
    unknown = set(fields) - CONTACT_FIELDS
    if unknown:
        raise TypeError(f"unexpected fields: {sorted(unknown)}")
    if kind not in PUBLIC_KINDS:
        raise WorkflowError("Choisissez « Réclamation » ou « Difficulté ».")
    if not consent:
        raise WorkflowError("Votre accord pour le traitement de vos données personnelles est nécessaire.")
    if not complainant_email.strip():
        raise WorkflowError("Indiquez votre adresse électronique.")
    # Built and checked before the transaction: submissions wait for one another's write lock (the
    # reference counter's row on PostgreSQL, the database on SQLite) only while they write.
    new = prepare_reclamation(
        actor=None,
        label=WEB_FORM_LABEL,
        kind=kind,
        channel=Channel.WEB_FORM,
        subject=subject,
        description=description,
        complainant_email=complainant_email,
        consent=True,
        staff_notice_pending=True,
        **fields,
    )
    return _register_with_acknowledgement(new=new, uploads=uploads)


def reclamation_submit_email(
    *,
    subject: str,
    description: str,
    complainant_email: str,
    complainant_name: str = "",
    received_at: datetime,
    uploads: Sequence[CheckedUpload] = (),
) -> CreatedReclamation:
    """Register a complaint that arrived by e-mail (``services.inbound``) exactly as a Contact
    submission: step 1, its files, the same acknowledgement, the staff notice left to the worker.

    ``received_at`` is the message's arrival, so the 48-hour clocks count from it, not from the
    moment a worker got to it. Runs inside the caller's transaction (the inbound message's row).
    """
    new = prepare_reclamation(
        actor=None,
        label=EMAIL_LABEL,
        kind=Kind.COMPLAINT,
        channel=Channel.EMAIL,
        subject=subject,
        description=description,
        complainant_email=complainant_email,
        complainant_name=complainant_name,
        received_at=received_at,
        staff_notice_pending=True,
    )
    return _register_with_acknowledgement(new=new, uploads=uploads)


def _register_with_acknowledgement(*, new: NewReclamation, uploads: Sequence[CheckedUpload]) -> CreatedReclamation:
    """Insert a prepared client submission with its files and queue its acknowledgement, together."""
    organisation = Organisation.current()
    context = {"reclamation": new.reclamation, "organisation": organisation, "attachments": list(uploads)}
    marker, rendered = _render_acknowledgement(new, context)
    # The files are written before the commit: if anything after them fails, they are deleted.
    with atomic_with_uploads():
        created = insert_reclamation(new)
        reclamation = created.reclamation
        if uploads:
            reclamation_add_attachments(
                reclamation=reclamation, actor=None, uploads=list(uploads), label=new.label
            )
        email_client_with_link(
            reclamation=reclamation,
            name="acknowledgement",
            context=context,
            purpose=Communication.Purpose.ACKNOWLEDGEMENT,
            token=created.token,
            rendered=tuple(part.replace(marker, reclamation.reference) for part in rendered),  # type: ignore[arg-type]
        )
    return created


def _render_acknowledgement(new: NewReclamation, context: dict[str, Any]) -> tuple[str, tuple[str, str, str]]:
    """The acknowledgement rendered before the transaction, with an unguessable marker standing for
    the reference (taken inside it, with the write lock): concurrent submissions wait for one
    another only while they write, not while an e-mail is rendered. Returns (marker, parts).

    Everything else the e-mail shows is known before the insert (the files: their names as checked).
    """
    marker = f"R-{secrets.token_hex(12)}"  # no client text can hold it: 96 random bits
    new.reclamation.reference = marker
    try:
        return marker, emails.render(
            "acknowledgement", {**context, "follow_up_url": emails.follow_up_url(new.token)}
        )
    finally:
        new.reclamation.reference = ""


def reclamation_announce_submission(*, reclamation_id: int) -> int:
    """Write the staff notice of one Contact submission, if still pending; how many were queued.

    The conditional UPDATE is the claim: of two workers, the second changes no row and does
    nothing (on PostgreSQL it waits for the first to commit, then finds the flag cleared). Claim,
    e-mails and event commit together, so a worker dying half-way leaves the notice pending.
    """
    with transaction.atomic():
        if not Reclamation.objects.filter(pk=reclamation_id, staff_notice_pending=True).update(
                staff_notice_pending=False):
            return 0
        reclamation = Reclamation.objects.select_related("service").get(pk=reclamation_id)
        if reclamation.anonymised_at is not None:
            return 0  # erased before any worker ran (workers down for long): nothing left to tell
        # The files sent with the form (a later message's files belong to that message).
        attachments = list(Attachment.objects.filter(reclamation=reclamation, communication__isnull=True,
                                                     uploaded_by__isnull=True).order_by("pk"))
        return _notify_staff(
            reclamation=reclamation,
            name="new_reclamation_staff",
            addresses=_staff_addresses([*roles.quality_leads(), *roles.handlers_on_duty()]),
            context={"attachments": attachments},
            summary="Nouvelle demande signalée à l'équipe",
        )


def reclamation_announce_submissions(*, limit: int = 200) -> int:
    """Worker side: the staff notices of the submissions still waiting for one, oldest first.

    One record's failure (logged) leaves its notice pending for the next run and does not stop
    the others.
    """
    pending = list(selectors.submissions_to_announce().order_by("pk").values_list("pk", flat=True)[:limit])
    queued = 0
    for reclamation_id in pending:
        try:
            queued += reclamation_announce_submission(reclamation_id=reclamation_id)
        except Exception:
            logger.exception("staff notice of reclamation %s not written; left pending for the next run",
                             reclamation_id)
    return queued


# --- Follow-up page ------------------------------------------------------------------------------
def reclamation_add_client_message(
    *,
    reclamation: Reclamation,
    body: str,
    uploads: Sequence[CheckedUpload] = (),
    email_subject: str | None = None,
    occurred_at: datetime | None = None,
) -> Communication:
    """The client adds a message (and files) on the follow-up page, or answers one of our e-mails
    (``email_subject`` given, ``services.inbound``), while the record is open.

    It becomes an inbound, public communication with its event; the handler is told by e-mail, or
    the quality lead(s) while nobody handles the record yet, and the record becomes unread for them.
    """
    if not body.strip():
        raise WorkflowError("Écrivez votre message.")
    by_email = email_subject is not None
    label = EMAIL_LABEL if by_email else CLIENT_LABEL
    with atomic_with_uploads():
        r = lock(reclamation)
        if not r.is_open:
            raise WorkflowError(
                "Ce dossier est clôturé : il n'est plus possible d'y ajouter un message. "
                "Pour une nouvelle demande, utilisez le formulaire de contact."
            )
        communication = reclamation_log_communication(
            reclamation=r,
            actor=None,
            label=label,
            kind=CommunicationKind.EMAIL if by_email else CommunicationKind.MESSAGE,
            direction=Communication.Direction.INBOUND,
            public=True,
            subject=(f"Courriel du réclamant : {email_subject}" if by_email
                     else "Message du réclamant (page de suivi)")[:300],
            body=body.strip(),
            occurred_at=occurred_at,
        )
        attachments: list[Attachment] = []
        if uploads:
            attachments = reclamation_add_attachments(
                reclamation=r, actor=None, uploads=list(uploads), communication=communication, label=label
            )
        active = r.handler if r.handler_id and r.handler.is_active else None
        handler = active if active is not None and active.email else None
        leads = [] if handler else roles.quality_leads()
        _notify_staff(
            reclamation=r,
            name="client_message_staff",
            addresses=_staff_addresses([handler] if handler else leads),
            context={"communication": communication, "attachments": attachments, "by_email": by_email},
            summary="Message du réclamant signalé "
            + ("au responsable du traitement" if handler else "au responsable qualité"),
        )
        # New for the handler, and for whoever was told in their stead.
        reclamation_mark_unread(reclamation=r, users=[active, *leads])
    return communication
