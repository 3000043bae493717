"""Messages to the client written in the back-office, from editable starting texts.

The quality lead edits the starting texts (``MessageTemplate`` rows, one per purpose) in the admin;
until a row exists, the defaults below apply. A starting text may use the placeholders
``{reference}``, ``{nom}``, ``{objet}``, ``{organisme}`` and ``{date_reponse}``: they are replaced
by a deliberately dumb formatter (no attribute access, no format specification, unknown names left
as typed), never by the Django template engine, so a text stored in the database cannot run code
or read anything but these five values.

The handler adapts the text, then :func:`reclamation_send_message` records it as a public
communication (it appears on the client's follow-up page) and puts the e-mail in the outbox, in
one transaction.
"""
from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import formats, timezone
from post_office.models import Email

from .. import emails, search, workflow
from ..facts import facts_of
from ..journal import record_event
from ..models import (
    Communication,
    CommunicationKind,
    EventKind,
    MessageTemplate,
    Organisation,
    Reclamation,
)
from ..uploads import CheckedUpload
from ..workflow import Step
from .attachments import atomic_with_uploads
from .base import Actor, WorkflowError, check_open, check_state, lock
from .communications import reclamation_log_communication, record_communication
from .outgoing_files import (
    attach_to_email,
    email_context,
    keep_on_communication,
    reclamation_gather_outgoing_files,
)
from .records import reclamation_rotate_token
from .search import search_document_refresh
from .steps import step_effect

Purpose = Communication.Purpose

PLACEHOLDERS = ("reference", "nom", "objet", "organisme", "date_reponse")

_SIGNATURE = "\n\nCordialement,\n{organisme}"

# The starting texts used until the quality lead writes their own in the admin.
DEFAULT_MESSAGES: dict[str, tuple[str, str]] = {
    Purpose.ACKNOWLEDGEMENT: (
        "Accusé de réception de votre demande {reference}",
        "Bonjour {nom},\n\nNous avons bien reçu votre demande « {objet} ». Elle est enregistrée sous la "
        "référence {reference}.\n\nLe responsable du traitement va reprendre contact avec vous pour bien "
        "comprendre votre demande, puis nous vous apporterons une réponse argumentée au plus tard le "
        "{date_reponse}." + _SIGNATURE,
    ),
    Purpose.INFORMATION_REQUEST: (
        "Demande de précisions — votre demande {reference}",
        "Bonjour {nom},\n\nPour traiter votre demande « {objet} » (référence {reference}), nous avons besoin "
        "des précisions suivantes :\n\n- \n\nVous pouvez nous répondre depuis votre page de suivi." + _SIGNATURE,
    ),
    Purpose.PROGRESS: (
        "Point d'avancement — votre demande {reference}",
        "Bonjour {nom},\n\nVoici où en est le traitement de votre demande « {objet} » (référence "
        "{reference}) :\n\n\n\nNous restons à votre disposition." + _SIGNATURE,
    ),
    Purpose.ANSWER: (
        "Réponse à votre demande {reference}",
        "Bonjour {nom},\n\nVous nous avez fait part de votre demande « {objet} » (référence {reference}). "
        "Après examen, voici notre réponse :\n\n\n\nNous restons à votre disposition pour en parler."
        + _SIGNATURE,
    ),
    Purpose.CLOSURE: (
        "Clôture de votre demande {reference}",
        "Bonjour {nom},\n\nLe traitement de votre demande « {objet} » (référence {reference}) est terminé. "
        "Pourriez-vous nous dire si vous en êtes satisfait(e) ? Votre avis nous aide à nous améliorer."
        + _SIGNATURE,
    ),
}

MESSAGE_PURPOSES = Communication.MESSAGE_PURPOSES

NO_EMAIL_WARNING = (
    "Ce réclamant n'a pas d'adresse électronique : le message est enregistré et visible sur sa page de "
    "suivi, mais il ne part pas par courriel. Transmettez-le aussi par un autre moyen (courrier, téléphone)."
)


# --- Starting texts ------------------------------------------------------------------------------
class _Placeholders(string.Formatter):
    """``{name}`` → value for the five known names; anything else is left exactly as typed."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__()
        self.values = values

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[str, str]:
        if field_name in self.values:
            return self.values[field_name], field_name
        return "{" + field_name + "}", field_name

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        return value  # no !r / !s / !a

    def format_field(self, value: Any, format_spec: str) -> str:
        return str(value)  # no padding or width: a template cannot blow up a message


def placeholder_values(reclamation: Reclamation, organisation: Organisation | None = None) -> dict[str, str]:
    organisation = organisation or Organisation.current()
    due = formats.date_format(timezone.localtime(reclamation.answer_due_at), "j F Y à H:i")
    return {
        "reference": reclamation.reference,
        "nom": reclamation.complainant_name or "Madame, Monsieur",
        "objet": reclamation.subject,
        "organisme": organisation.name,
        "date_reponse": due,
    }


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    try:
        return _Placeholders(values).format(text)
    except (ValueError, IndexError, KeyError):
        # An unbalanced brace typed in the admin: show the text as written rather than fail.
        return text


def message_template(purpose: str) -> tuple[str, str]:
    """(subject, body) as configured for ``purpose``, or the default when the admin has none."""
    row = MessageTemplate.objects.filter(purpose=purpose).first()
    if row is not None:
        return row.subject, row.body
    return DEFAULT_MESSAGES.get(purpose, ("Votre demande {reference}", "Bonjour {nom},\n\n" + _SIGNATURE))


def prefilled_message(reclamation: Reclamation, purpose: str) -> tuple[str, str]:
    """The subject and text the handler starts from, placeholders filled in for this record."""
    subject, body = message_template(purpose)
    values = placeholder_values(reclamation)
    return " ".join(fill_placeholders(subject, values).split()), fill_placeholders(body, values)


# --- The e-mail ------------------------------------------------------------------------------------
def queue_client_email(
    *, reclamation: Reclamation, subject: str, body: str, extra: dict[str, Any] | None = None
) -> Email:
    """Put one message to the complainant in the outbox (inside the caller's transaction); the
    caller keeps it on the record as the communication's ``email``."""
    context = {
        "reclamation": reclamation,
        "organisation": Organisation.current(),
        "subject": subject,
        "body": body,
        **(extra or {}),
    }
    return emails.queue(name="client_message", to=[reclamation.complainant_email], context=context, carried=True)


def answer_email_extra(reclamation: Reclamation) -> dict[str, Any]:
    """The decision and compensation, stated under the argued answer in its e-mail."""
    return {
        "decision": reclamation.get_decision_display() if reclamation.decision else "",
        "compensation": reclamation.get_compensation_type_display() if reclamation.compensation_type else "",
        "compensation_description": reclamation.compensation_description,
        "compensation_amount": reclamation.compensation_amount,
        "show_recourse": True,
    }


@dataclass(frozen=True)
class SentMessage:
    communication: Communication
    emailed: bool


def reclamation_send_message(
    *,
    reclamation: Reclamation,
    actor: Actor,
    purpose: str,
    subject: str,
    body: str,
    expected_state: str | None = None,
    attachment_ids: Sequence[int] = (),
    new_files: Sequence[CheckedUpload] = (),
) -> SentMessage:
    """Record a message to the client (public, on the follow-up page) and queue its e-mail.

    Without an e-mail address the message is still recorded (``emailed`` is False): the handler is
    told to send it by another means. A first acknowledgement carries a fresh follow-up link, since a
    record registered in the back-office has never given the client one (an older link, if any,
    stops working). ``attachment_ids`` (files of this record only) and ``new_files`` (stored on the
    record) go with it: see ``services.outgoing_files``.
    """
    if purpose not in MESSAGE_PURPOSES:
        raise WorkflowError("Choisissez l'objet du message.")
    subject = " ".join(subject.split())
    if not subject:
        raise WorkflowError("Indiquez le sujet du message.")
    if not body.strip():
        raise WorkflowError("Le message est vide.")
    with atomic_with_uploads() as written:
        r = lock(reclamation)
        check_state(r, expected_state)
        check_open(r)
        emailed = bool(r.complainant_email)
        files = reclamation_gather_outgoing_files(reclamation=r, actor=actor, attachment_ids=attachment_ids,
                                                  new_files=new_files, emailed=emailed)
        communication = reclamation_log_communication(
            reclamation=r,
            actor=actor,
            kind=CommunicationKind.EMAIL if emailed else CommunicationKind.MESSAGE,
            direction=Communication.Direction.OUTBOUND,
            purpose=purpose,
            public=True,
            subject=subject,
            body=body.strip(),
        )
        keep_on_communication(communication=communication, files=files)
        if emailed:
            # The argued answer and the closure state how to escalate (Qualiopi reading guide, ind. 31).
            extra: dict[str, Any] = {"show_recourse": purpose in (Purpose.ANSWER, Purpose.CLOSURE)}
            if purpose == Purpose.ACKNOWLEDGEMENT and r.acknowledged_at is None:
                # The client has no working link from us yet (or its first e-mail never left).
                extra["follow_up_url"] = emails.follow_up_url(reclamation_rotate_token(reclamation=r, actor=actor))
            extra |= email_context(reclamation=r, files=files)
            communication.email = queue_client_email(reclamation=r, subject=subject, body=body.strip(), extra=extra)
            communication.save(update_fields=["email"])
            attach_to_email(email=communication.email, files=files.attached, written=written)
    return SentMessage(communication=communication, emailed=emailed)


CLOSURE_SUBJECT = "Clôture de votre demande {reference}"


def _closure_body(r: Reclamation) -> str:
    greeting = f"Bonjour {r.complainant_name}," if r.complainant_name else "Bonjour,"
    lines = [greeting, "",
             f"Le traitement de votre {r.get_kind_display().lower()} « {r.subject} » est terminé : "
             "votre dossier est clos."]
    if workflow.since_reopening(r, r.feedback_received_at):
        lines += ["", "Merci d'avoir répondu à notre enquête de satisfaction : votre avis nous aide à "
                      "améliorer notre organisation."]
    elif r.feedback_no_answer:
        lines += ["", "Nous n'avons pas reçu de réponse à notre enquête de satisfaction ; vous pouvez "
                      "toujours nous écrire en répondant à ce message."]
    return "\n".join(lines) + _SIGNATURE.format(organisme=Organisation.current().name)


@step_effect("closure_notice")
def reclamation_send_closure_notice(*, reclamation: Reclamation) -> Communication | None:
    """Tell the client their record is closed, with how to escalate (Qualiopi reading guide, ind. 31).

    Called in the transaction that closes the record at step 9 (survey answered, survey run out,
    or completed by a handler). Nothing is sent without an e-mail address, nor when a handler
    already sent a closure message by hand since the record was (re)opened.
    """
    r = reclamation
    if not r.complainant_email or r.anonymised_at is not None:
        return None
    by_hand = Communication.objects.filter(reclamation=r, purpose=Purpose.CLOSURE, public=True)
    if r.reopened_at:
        by_hand = by_hand.filter(occurred_at__gte=r.reopened_at)
    if by_hand.exists():
        return None
    subject, body = CLOSURE_SUBJECT.format(reference=r.reference), _closure_body(r)
    communication = record_communication(
        reclamation=r, actor=None, label="Envoi automatique", kind=CommunicationKind.EMAIL,
        direction=Communication.Direction.OUTBOUND, purpose=Purpose.CLOSURE, public=True,
        subject=subject, body=body,
    )
    communication.email = queue_client_email(reclamation=r, subject=subject, body=body,
                                             extra={"show_recourse": True})
    communication.save(update_fields=["email"])
    return communication


def reclamation_send_answer(
    *,
    reclamation: Reclamation,
    actor: Actor,
    expected_state: str | None = None,
    sent_at: datetime | None = None,
    means: str | None = None,
    attachment_ids: Sequence[int] = (),
    new_files: Sequence[CheckedUpload] = (),
) -> Reclamation:
    """Send the argued answer (step 6): it becomes a public communication and the answer time.

    Sent now (no ``sent_at``) to a complainant with an e-mail address, the answer e-mail is queued
    in the outbox in this transaction and linked to the communication. ``sent_at`` (with ``means``,
    a ``CommunicationKind`` such as ``letter`` or ``call``) is for an answer already given by letter
    or phone, registered afterwards: nothing is e-mailed then. ``attachment_ids`` and ``new_files``:
    the files that go with it, as for a message (``services.outgoing_files``).
    """
    with atomic_with_uploads() as written:
        r = lock(reclamation)
        check_state(r, expected_state)
        if r.state != Step.ACTION:
            raise WorkflowError(f"La réponse argumentée s'envoie à {workflow.step_phrase(Step.ACTION)}.")
        if not r.decision or not r.answer.strip():
            raise WorkflowError("Renseignez la décision et la réponse argumentée avant de l'envoyer.")
        if workflow.since_reopening(r, r.answered_at):
            raise WorkflowError("La réponse argumentée a déjà été envoyée.")
        now = sent_at or timezone.now()
        if now > timezone.now():
            raise WorkflowError("La date d'envoi ne peut pas être dans le futur.")
        # The client hears of the answer after being told their complaint was received (procedure).
        if r.acknowledged_at is not None and now < r.acknowledged_at:
            raise WorkflowError(
                "La réponse argumentée ne peut pas être datée avant l'accusé de réception "
                f"(envoyé le {timezone.localtime(r.acknowledged_at):%d/%m/%Y à %H:%M}).")
        if now < r.received_at:
            raise WorkflowError(
                "La réponse argumentée ne peut pas être datée avant la réception de la réclamation "
                f"({timezone.localtime(r.received_at):%d/%m/%Y à %H:%M}).")
        emailed = sent_at is None and bool(r.complainant_email)
        files = reclamation_gather_outgoing_files(reclamation=r, actor=actor, attachment_ids=attachment_ids,
                                                  new_files=new_files, emailed=emailed)
        subject = prefilled_message(r, Communication.Purpose.ANSWER)[0] if emailed else (
            f"Réponse à votre réclamation {r.reference}")
        communication = Communication.objects.create(
            reclamation=r,
            kind=CommunicationKind.EMAIL if emailed else (means or CommunicationKind.MESSAGE),
            direction=Communication.Direction.OUTBOUND,
            purpose=Communication.Purpose.ANSWER,
            public=True,
            occurred_at=now,
            subject=subject,
            body=r.answer,
            author=actor if actor is not None and actor.is_authenticated else None,
        )
        keep_on_communication(communication=communication, files=files)
        if emailed:
            communication.email = queue_client_email(
                reclamation=r, subject=subject, body=r.answer,
                extra=answer_email_extra(r) | email_context(reclamation=r, files=files),
            )
            communication.save(update_fields=["email"])
            attach_to_email(email=communication.email, files=files.attached, written=written)
        r.answered_at = now
        r.save(update_fields=["answered_at", "updated_at"])
        if search.is_searched_communication(communication.direction, communication.author_id):
            search_document_refresh(r)
        on_time = now <= r.answer_due_at
        record_event(
            kind=EventKind.ANSWER_SENT,
            reclamation=r,
            actor=actor,
            public=True,
            summary=f"Réponse argumentée envoyée ({r.get_decision_display().lower()})"
            f"{'' if on_time else ' — hors délai'}.",
            data={
                "decision": r.decision,
                "compensation_type": r.compensation_type,
                "compensation_amount": r.compensation_amount,
                "on_time": on_time,
                "communication": communication.pk,
                "emailed": emailed,
                "attachments": [a.pk for a in files.all],
                "facts": facts_of(r, "answered_at", "decision"),
            },
        )
    return r
