"""RGPD: anonymising a record, the retention sweep, and what the quality lead does for one person
(export everything held on them, erase it on request).

Anonymising a record erases what identifies the person or what they or staff wrote about the case,
and keeps what the statistics and the evidence pack count, so that their figures stay the same:

- erased: complainant identity and contact details, subject (a neutral placeholder, as it is
  required), description, wished solution, training action, reformulation, answer, compensation
  description, conclusion, root-cause analysis, complementary offer, feedback comment, discard
  reason, the reasons of steps declared *sans objet* (their keys stay: the delay rules read them);
  action descriptions and results; communication subjects and bodies; attachment files and names;
  every outbox e-mail about the record (deleted with their sending logs: they held the clear
  follow-up or survey link, the address and the texts); evidence-pack and register files already
  generated for a period that contains the record (they can be made again, with the same figures);
  the text of the record's journal events (``journal.redact_events``: summary replaced, structural data
  keys kept, the chain still verifies);
- kept: reference, dates and deadlines, kind, channel, service, stakeholder type, state, handler,
  evaluation and priority, decision, compensation type and amount, root-cause category, satisfaction
  answers (scores, yes/no), the rows of actions, communications (kind, direction, purpose, date,
  duration) and attachments (size, type, SHA-256), and the events' places in the chain;
- the follow-up and survey links stop working at once.

One ANONYMISED event (without personal data) says when and why. A second call does nothing.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import zipfile
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from post_office.models import Email

from .. import emails, selectors, tokens, workflow
from ..journal import record_event, redact_events
from ..models import (
    Attachment,
    Communication,
    Event,
    EventKind,
    ExportJob,
    InboundMessage,
    Organisation,
    Reclamation,
    RecordEmail,
)
from ..models.related import Action
from ..uploads import ALLOWED_TYPES
from .attachments import delete_stored_files
from .base import Actor, WorkflowError, lock
from .search import search_document_refresh

logger = logging.getLogger(__name__)

# Placeholders for the text fields a record, an action, a message or a file cannot be without.
ERASED_SUBJECT = "Réclamation anonymisée"
ERASED_TEXT = "Texte effacé (RGPD)."
ERASED_FILE_NAME = "Pièce effacée (RGPD)"
ERASED_REASON = "Motif effacé (RGPD)."

# Optional text fields of a record, emptied. (tests/test_rgpd_retention.py checks that every text
# field of the model is either here, replaced by a placeholder, or knowingly kept.)
BLANKED_FIELDS: tuple[str, ...] = (
    "complainant_name",
    "complainant_role",
    "complainant_organisation",
    "complainant_phone",
    "complainant_email",
    "complainant_address",
    "training_action",
    "wished_solution",
    "reformulation",
    "answer",
    "compensation_description",
    "conclusion",
    "root_cause_analysis",
    "complementary_offer",
    "feedback_comment",
    "discard_reason",
)
REPLACED_FIELDS: dict[str, str] = {"subject": ERASED_SUBJECT, "description": ERASED_TEXT}

# Data keys of events kept by the redaction: ids, codes, dates, numbers and yes/no — what the record
# sheet (step completions), the timeline (which message or file an event recorded) and an auditor
# reading the history need. Free text ("reason", "changes", "name", "created", "check") goes.
KEPT_EVENT_KEYS = frozenset({
    "step", "from", "to", "channel", "received_at", "ack_due_at", "answer_due_at",
    "alert", "late", "due_at", "risk_at", "alerted_at", "sent_at", "means", "on_time",
    "decision", "compensation_type", "compensation_amount", "emailed",
    "satisfaction", "solved", "answer_clear", "delay_acceptable", "no_answer", "expired_at", "requested_at",
    "sent", "expires_at", "survey_sent_at", "with_link", "reminder", "due_date", "code", "permanent",
    "communication", "attachment", "action", "email", "emails", "improvement", "template",
    "kind", "direction", "purpose", "occurred_at", "duration_minutes", "size", "content_type", "sha256",
    "document", "start", "end", "records", "job",
})
# Keys whose meaning depends on the event: kept only where they hold no text.
KEPT_EVENT_KEYS_BY_KIND: dict[str, frozenset[str]] = {
    EventKind.DEADLINES_RECOMPUTED: frozenset({"before", "after"}),  # dates only
    EventKind.FEEDBACK: frozenset({"comment"}),  # whether there was a comment (True/False)
}

OPEN_REFUSAL = (
    "La réclamation {reference} est encore en cours de traitement ({state}) : clôturez-la ou classez-la "
    "sans suite avant d'effacer ses données personnelles."
)
NOTHING_HELD = "Aucune donnée personnelle n'est conservée pour cette personne : aucune réclamation ne correspond."
EXPORT_ERASED = (
    "Fichier supprimé le {date} : il contenait des données personnelles effacées depuis (RGPD). "
    "Préparez un nouveau dossier pour la même période : ses chiffres seront les mêmes."
)


# --- One record ----------------------------------------------------------------------------------
def reclamation_anonymise(
    *,
    reclamation: Reclamation | int,
    actor: Actor = None,
    reason: str,
    closed_before: datetime | None = None,
) -> bool:
    """Erase the personal data of a closed or discarded record; True if done now, False if it was
    already anonymised (or, with ``closed_before``, is no longer closed before that moment).

    ``reason`` says why in the ANONYMISED event (retention period over, the person's request and
    its motif): it must hold no personal data. An open record is refused with a French message.
    """
    reason = " ".join(reason.split())
    if not reason:
        raise WorkflowError("Indiquez pourquoi les données personnelles sont effacées.")
    now = timezone.now()
    with transaction.atomic():
        r = lock(reclamation)
        if r.anonymised_at is not None:
            return False
        if closed_before is not None and (r.closed_at is None or r.closed_at >= closed_before):
            return False  # reopened (and maybe closed again) since it was picked: not due any more
        if r.state not in workflow.TERMINAL_STEPS:
            raise WorkflowError(OPEN_REFUSAL.format(reference=r.reference, state=workflow.step_label(r.state).lower()))
        # The claim: of two workers (or a worker and the quality lead) only one changes the row.
        if not Reclamation.objects.filter(pk=r.pk, anonymised_at__isnull=True).update(anonymised_at=now):
            return False
        r.anonymised_at = now

        events = list(Event.objects.filter(reclamation=r).order_by("sequence"))
        email_ids = _email_ids_in(events)
        redacted = _redact(events)

        communications = Communication.objects.filter(reclamation=r)
        email_ids |= set(communications.exclude(email=None).values_list("email_id", flat=True))
        communication_count = communications.update(subject="", body=ERASED_TEXT, email=None)
        action_count = Action.objects.filter(reclamation=r).update(description=ERASED_TEXT, result="")

        attachments = Attachment.objects.filter(reclamation=r)
        files = [name for name in attachments.values_list("file", flat=True) if name]
        attachment_count = attachments.update(original_name=ERASED_FILE_NAME, file="")
        # The e-mails received for it: their raw copy and what they said of the sender.
        inbound = InboundMessage.objects.filter(reclamation=r)
        files += [name for name in inbound.values_list("raw", flat=True) if name]
        inbound.update(raw="", sender="", sender_name="", subject="", reason="")

        # Every e-mail about the record is linked to it (by a communication, above, or a RecordEmail)
        # and carries its reference in a header, staff notices included; both are read, so that an
        # e-mail missing either is still erased.
        email_ids |= set(RecordEmail.objects.filter(reclamation=r).values_list("email_id", flat=True))
        email_ids |= set(Email.objects.filter(**{f"headers__{emails.RECORD_HEADER}": r.reference})
                         .values_list("pk", flat=True))
        _deleted, per_model = Email.objects.filter(pk__in=email_ids).delete()

        day = timezone.localdate(r.received_at)
        packs = ExportJob.objects.filter(status=ExportJob.Status.DONE, period_start__lte=day,
                                         period_end__gte=day).exclude(file="")
        files += [name for name in packs.values_list("file", flat=True) if name]
        pack_count = packs.update(
            file="", status=ExportJob.Status.FAILED,
            error=EXPORT_ERASED.format(date=f"{timezone.localtime(now):%d/%m/%Y}"),
        )

        for name in BLANKED_FIELDS:
            setattr(r, name, "")
        for name, placeholder in REPLACED_FIELDS.items():
            setattr(r, name, placeholder)
        r.not_applicable = {step: ERASED_REASON for step in (r.not_applicable or {})}
        # A new hash of a token nobody holds, already expired: every follow-up link is dead.
        r.token_hash = tokens.new_token()[1]
        r.token_expires_at = now
        r.follow_up_links.all().delete()
        r.survey_token_hash = None
        if r.survey_expires_at is not None and r.survey_expires_at > now:
            r.survey_expires_at = now
        r.save(update_fields=[*BLANKED_FIELDS, *REPLACED_FIELDS, "not_applicable", "token_hash",
                              "token_expires_at", "survey_token_hash", "survey_expires_at"])
        # The search read the erased texts too: rebuilt from what is left (the reference, the
        # placeholders), the record is no longer found by the person's name or words.
        search_document_refresh(r)
        record_event(
            kind=EventKind.ANONYMISED,
            reclamation=r,
            actor=actor,
            summary=f"Données personnelles effacées : {reason.rstrip('.')}.",
            data={
                "reason": reason,
                "events_redacted": redacted,
                "communications": communication_count,
                "actions": action_count,
                "attachments": attachment_count,
                "emails_deleted": per_model.get(Email._meta.label, 0),
                "exports_deleted": pack_count,
            },
        )
        # Last, once every row is written: a failure here rolls the whole anonymisation back (the
        # next run does it again), and a file is never left on disk once its row forgot it.
        _delete_files(files)
    return True


def _email_ids_in(events: list[Event]) -> set[int]:
    found: set[int] = set()
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        if isinstance(data.get("email"), int):
            found.add(data["email"])
        found.update(pk for pk in data.get("emails") or () if isinstance(pk, int))
    return found


def _neutral_summary(event: Event) -> str:
    step = event.data.get("step") if isinstance(event.data, dict) else None
    if event.kind == EventKind.STEP_COMPLETED and isinstance(step, int) and 1 <= step <= workflow.step_count():
        return f"Étape {step} terminée : {workflow.steps()[step - 1].label}."
    return f"{event.get_kind_display()} — texte effacé (RGPD)."


def _redact(events: list[Event]) -> int:
    count = 0
    for event in events:
        keep = KEPT_EVENT_KEYS | KEPT_EVENT_KEYS_BY_KIND.get(event.kind, frozenset())
        count += redact_events([event], summary=_neutral_summary(event), keep_data_keys=keep)
    return count


def _delete_files(names: list[str]) -> None:
    # A file already missing is not an error; an attachment folder left empty goes too.
    delete_stored_files(names)


# --- The retention period ------------------------------------------------------------------------
def retention_cutoff(now: datetime | None = None) -> datetime:
    """Records closed before this moment have passed ``PERSONAL_DATA_RETENTION_YEARS``."""
    local = timezone.localtime(now or timezone.now())
    years = settings.PERSONAL_DATA_RETENTION_YEARS
    try:
        return local.replace(year=local.year - years)
    except ValueError:  # 29 February
        return local.replace(year=local.year - years, day=28)


def retention_reason() -> str:
    years = settings.PERSONAL_DATA_RETENTION_YEARS
    return f"durée de conservation écoulée ({years} an{'s' if years > 1 else ''} après la clôture)"


def anonymise_expired(*, now: datetime | None = None) -> list[str]:
    """Anonymise every record whose retention period is over, each in its own transaction; return
    the references anonymised by this run (those another worker took meanwhile are not counted)."""
    cutoff = retention_cutoff(now)
    reason = retention_reason()
    done = []
    for pk, reference in selectors.records_past_retention(closed_before=cutoff).values_list("pk", "reference"):
        try:
            if reclamation_anonymise(reclamation=pk, reason=reason, closed_before=cutoff):
                done.append(reference)
        except WorkflowError:
            continue  # reopened since the query: not due any more
        except Exception:
            # One record's failure must not stop the others; it is tried again at the next run.
            logger.exception("retention: anonymisation of reclamation %s failed", pk)
    return done


def reclamation_anonymise_expired(*, now: datetime | None = None) -> int:
    """The beat task's work: how many records this run anonymised."""
    return len(anonymise_expired(now=now))


# --- One person: export and erasure ----------------------------------------------------------------
README = """Données personnelles détenues par {organisation}
Export du {date} à la demande de la personne concernée (droit d'accès, article 15 du RGPD).

donnees.json : toutes les réclamations enregistrées à votre nom ou à votre adresse électronique,
avec ce que vous nous avez écrit, nos réponses, les échanges, le plan d'action, votre avis et
l'historique du traitement.
pieces/ : les pièces justificatives, un dossier par réclamation (le nom d'origine de chaque
fichier est indiqué dans donnees.json).
"""


def _person(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def _record_payload(r: Reclamation, archive: zipfile.ZipFile) -> dict[str, Any]:
    attachments = []
    for a in r.attachments.all():
        path = f"pieces/{r.reference}/{a.pk}{ALLOWED_TYPES.get(a.content_type, ('', ''))[1]}"
        try:
            with a.file.open("rb") as stored:
                archive.writestr(path, stored.read())
        except (OSError, ValueError):  # lost from storage: say so rather than fail the whole export
            path = None
        attachments.append({"nom": a.original_name, "type": a.content_type, "taille": a.size, "sha256": a.sha256,
                            "recue_le": a.created_at, "fichier": path})
    return {
        "reference": r.reference,
        "nature": r.get_kind_display(),
        "canal": r.get_channel_display(),
        "partie_prenante": r.get_stakeholder_type_display(),
        "etat": r.get_state_display(),
        "recue_le": r.received_at,
        "cloturee_le": r.closed_at,
        "consentement_le": r.consent_at,
        "reclamant": {
            "nom": r.complainant_name, "fonction": r.complainant_role, "organisation": r.complainant_organisation,
            "telephone": r.complainant_phone, "courriel": r.complainant_email, "adresse": r.complainant_address,
        },
        "service": r.service.name if r.service else "",
        "action_de_formation": r.training_action,
        "objet": r.subject,
        "description": r.description,
        "solution_souhaitee": r.wished_solution,
        "reformulation": r.reformulation,
        "decision": r.get_decision_display(),
        "reponse": r.answer,
        "reponse_envoyee_le": r.answered_at,
        "dedommagement": {"type": r.get_compensation_type_display() if r.compensation_type else "",
                          "description": r.compensation_description, "montant": r.compensation_amount},
        "conclusion": r.conclusion,
        "cause_racine": {"categorie": r.root_cause_category.name if r.root_cause_category else "",
                         "analyse": r.root_cause_analysis},
        "offre_complementaire": r.complementary_offer,
        "avis": {
            "recu_le": r.feedback_received_at, "satisfaction": r.feedback_satisfaction,
            "probleme_resolu": r.get_feedback_solved_display(), "reponse_claire": r.feedback_answer_clear,
            "delai_acceptable": r.feedback_delay_acceptable, "commentaire": r.feedback_comment,
        },
        "motif_de_classement": r.discard_reason,
        "etapes_sans_objet": {workflow.step_label(step): reason for step, reason in (r.not_applicable or {}).items()},
        "actions": [
            {"type": a.get_kind_display(), "description": a.description, "statut": a.get_status_display(),
             "echeance": a.due_date, "realisee_le": a.done_at, "resultat": a.result}
            for a in r.actions.all()
        ],
        "echanges": [
            {"date": c.occurred_at, "moyen": c.get_kind_display(), "sens": c.get_direction_display(),
             "objet": c.subject, "contenu": c.body, "visible_par_le_client": c.public,
             "duree_minutes": c.duration_minutes}
            for c in r.communications.all()
        ],
        "pieces": attachments,
        "historique": [
            {"n": e.sequence, "date": e.created_at, "type": e.get_kind_display(), "par": e.actor_label,
             "resume": e.summary}
            for e in r.events.all()
        ],
    }


def personal_data_export(*, actor: Actor, email: str = "", name: str = "") -> bytes:
    """A ZIP of everything held on one person: ``donnees.json``, their files under ``pieces/``, a
    ``LISEZMOI.txt``. Each record gets a PERSONAL_DATA event (the ZIP's SHA-256, not its content).

    Refused (French message) when nothing is held: no record, or only anonymised ones.
    """
    records = list(
        selectors.personal_data_find(email=email, name=name)
        .select_related("root_cause_category")
        .prefetch_related("attachments", "actions", "communications", "events")
    )
    if not records:
        raise WorkflowError(NOTHING_HELD)
    now = timezone.now()
    organisation = Organisation.current().name
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        payload = {
            "organisme": organisation,
            "genere_le": now,
            "reclamations": [_record_payload(r, archive) for r in records],
        }
        files = sum(1 for record in payload["reclamations"] for piece in record["pieces"] if piece["fichier"])
        archive.writestr("donnees.json", json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2))
        archive.writestr("LISEZMOI.txt", README.format(organisation=organisation,
                                                       date=f"{timezone.localtime(now):%d/%m/%Y à %H:%M}"))
    content = buffer.getvalue()
    sha256 = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        for r in records:
            record_event(
                kind=EventKind.PERSONAL_DATA,
                reclamation=r,
                actor=actor,
                summary=f"Données personnelles exportées à la demande de la personne concernée "
                        f"({len(records)} réclamation{'s' if len(records) > 1 else ''}, {files} pièce"
                        f"{'s' if files > 1 else ''}).",
                data={"document": "personal_data_zip", "sha256": sha256, "records": len(records), "files": files},
            )
    return content


def _names_the_person(motif: str, email: str, name: str, records: list[Reclamation]) -> bool:
    """Whether ``motif`` holds the person's e-mail address (or its local part) or a word of their name."""
    lowered = motif.lower()
    words = set(re.findall(r"\w+", lowered))
    for address in {email, *(r.complainant_email for r in records)}:
        address = address.strip().lower()
        local = address.split("@")[0]
        if address and (address in lowered or (len(local) >= 3 and local in lowered)):
            return True
    for full_name in {name, *(r.complainant_name for r in records)}:
        if {part for part in re.findall(r"\w+", full_name.lower()) if len(part) >= 3} & words:
            return True
    return False


def personal_data_erase(*, actor: Actor, email: str = "", name: str = "", reason: str) -> list[str]:
    """Anonymise every record of one person, on their request; return the references anonymised.

    All or nothing, and only once every record is closed or discarded: an open record is still being
    handled, so the quality lead closes it (or classes it *sans suite*, motif "demande d'effacement")
    first — the refusal lists them. ``reason`` (the request: how and when it came) goes into each
    record's ANONYMISED event, so it must not name the person: it is refused if it does.
    """
    motif = " ".join(reason.split())
    if not motif:
        raise WorkflowError("Indiquez le motif de l'effacement (par exemple : courrier reçu le 03/02/2027).")
    records = list(selectors.personal_data_find(email=email, name=name))
    if not records:
        raise WorkflowError(NOTHING_HELD)
    if _names_the_person(motif, email, name, records):
        raise WorkflowError("Le motif reste au journal : il ne doit contenir ni le nom ni l'adresse "
                            "électronique de la personne. Décrivez seulement la demande (date, moyen).")
    still_open = [r.reference for r in records if r.state not in workflow.TERMINAL_STEPS]
    if still_open:
        raise WorkflowError(
            "Effacement impossible pour l'instant : "
            + (f"la réclamation {still_open[0]} est" if len(still_open) == 1
               else f"les réclamations {', '.join(still_open)} sont")
            + " encore en cours de traitement. Clôturez-les ou classez-les sans suite (motif : demande "
              "d'effacement), puis recommencez."
        )
    done = []
    with transaction.atomic():
        for r in records:
            if reclamation_anonymise(reclamation=r, actor=actor,
                                     reason=f"demande d'effacement de la personne concernée — {motif}"):
                done.append(r.reference)
    return done
