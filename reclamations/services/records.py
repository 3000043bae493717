"""Registering a record and editing what the handler records on it (steps 1 to 3, 8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from .. import emails, roles, search, sla, tokens, workflow
from ..facts import FACT_FIELDS, facts_of
from ..journal import record_event
from ..models import (
    EventKind,
    Organisation,
    Reclamation,
    ReferenceCounter,
)
from ..models.reclamation import priority_for
from .base import (
    EDITABLE_FIELDS,
    Actor,
    CreatedReclamation,
    WorkflowError,
    check_answer_unsent,
    check_fields_reached,
    check_not_anonymised,
    check_open,
    check_state,
    display,
    lock,
)
from .reading import reclamation_mark_unread
from .search import search_document_create, search_document_refresh

_INCREMENT = "UPDATE {table} SET last_number = last_number + 1 WHERE year = %s RETURNING last_number"


def _update_returning() -> bool:
    """Whether the database has UPDATE … RETURNING: PostgreSQL, SQLite from 3.35 (Django 5.2 runs
    on SQLite from 3.31)."""
    return connection.features.can_return_columns_from_insert


def _next_reference(year: int) -> str:
    # One statement takes the number and locks the counter's row until commit, so two concurrent
    # creations get two numbers; a rolled-back creation rolls its number back with it, so no issued
    # reference is ever reused; and the write lock is held for one round trip, not two.
    if _update_returning():
        with connection.cursor() as cursor:
            cursor.execute(_INCREMENT.format(table=connection.ops.quote_name(ReferenceCounter._meta.db_table)),
                           [year])
            row = cursor.fetchone()
        if row is not None:
            return f"R-{year}-{row[0]:04d}"
    # The year's first record, or an older SQLite: create the counter if needed (a concurrent first
    # creation waits on the row or fails the unique key and is retried by get_or_create), then take
    # the number under the lock.
    counter, _ = ReferenceCounter.objects.select_for_update().get_or_create(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"R-{year}-{counter.last_number:04d}"


# --- Creation ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewReclamation:
    """A record built and checked, not yet written (``prepare_reclamation``)."""

    reclamation: Reclamation
    token: str
    actor: Actor
    label: str | None


def prepare_reclamation(
    *,
    actor: Actor,
    kind: str,
    channel: str,
    subject: str,
    description: str,
    received_at: datetime | None = None,
    label: str | None = None,
    consent: bool = False,
    staff_notice_pending: bool = False,
    **fields: Any,
) -> NewReclamation:
    """The record's values, deadlines and token, checked, without writing anything.

    Separate from ``insert_reclamation`` so that a caller holding a transaction (the Contact form)
    does this work before it: the deadlines walk the opening hours, the checks read the database,
    and neither needs the write lock that the reference counter takes.
    """
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"unexpected fields: {sorted(unknown)}")
    now = timezone.now()
    received_at = received_at or now
    if received_at > now:
        raise WorkflowError("La date de réception ne peut pas être dans le futur.")
    token, token_hash = tokens.new_token()
    deadlines = sla.compute_deadline_set(received_at)
    reclamation = Reclamation(
        kind=kind,
        channel=channel,
        subject=subject,
        description=description,
        received_at=received_at,
        ack_due_at=deadlines.ack_due_at,
        answer_due_at=deadlines.answer_due_at,
        ack_risk_at=deadlines.ack_risk_at,
        answer_risk_at=deadlines.answer_risk_at,
        token_hash=token_hash,
        consent_at=received_at if consent else None,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        staff_notice_pending=staff_notice_pending,
        **fields,
    )
    # A related object passed as an instance was read from the database by the caller (a form's
    # choice): Django would check that it exists with one more query; the foreign key's constraint
    # still guards the insert. An id passed as such is checked.
    read = [name for name, value in fields.items() if isinstance(value, Model) and value.pk is not None]
    reclamation.full_clean(exclude=["token_hash", "reference", "state", *read])
    return NewReclamation(reclamation=reclamation, token=token, actor=actor, label=label)


def insert_reclamation(new: NewReclamation) -> CreatedReclamation:
    """Write a prepared record: its reference, the row, its creation event. Inside a transaction."""
    reclamation = new.reclamation
    # No savepoint inside a caller's transaction (the Contact submission): only a database error
    # can fail from here, and it fails the caller's transaction anyway.
    with transaction.atomic(savepoint=False):
        reclamation.reference = _next_reference(timezone.localtime(reclamation.received_at).year)
        reclamation.save()
        search_document_create(reclamation)
        record_event(
            kind=EventKind.CREATED,
            reclamation=reclamation,
            actor=new.actor,
            label=new.label,
            summary=f"{reclamation.get_kind_display()} enregistrée ({reclamation.get_channel_display()}).",
            data={
                "channel": reclamation.channel,
                "received_at": reclamation.received_at,
                "ack_due_at": reclamation.ack_due_at,
                "answer_due_at": reclamation.answer_due_at,
                "facts": facts_of(reclamation, "received_at", "ack_due_at", "answer_due_at", "state"),
            },
            public=True,
        )
    return CreatedReclamation(reclamation=reclamation, token=new.token)


def reclamation_create(
    *,
    actor: Actor,
    kind: str,
    channel: str,
    subject: str,
    description: str,
    received_at: datetime | None = None,
    label: str | None = None,
    consent: bool = False,
    staff_notice_pending: bool = False,
    **fields: Any,
) -> CreatedReclamation:
    """Register a record in step 1 with its reference, secret token and stored deadlines.

    ``fields`` are the other editable fields (complainant identity, service, wished solution...).
    ``received_at`` is the real reception date for complaints received by letter, phone...
    ``consent``: the complainant agreed to the processing of their data when sending it (Contact
    form); ``consent_at`` is set once, here, to the reception time (it is not editable later).
    ``staff_notice_pending``: a worker is to tell staff (``intake.reclamation_announce_submission``).
    A refused value raises before anything is written, leaving a caller's transaction usable.
    """
    return insert_reclamation(prepare_reclamation(
        actor=actor, kind=kind, channel=channel, subject=subject, description=description,
        received_at=received_at, label=label, consent=consent, staff_notice_pending=staff_notice_pending,
        **fields,
    ))


def reclamation_rotate_token(*, reclamation: Reclamation, actor: Actor = None, label: str | None = None) -> str:
    """Give the record a new follow-up token (lost link): the old link stops working."""
    token, token_hash = tokens.new_token()
    with transaction.atomic():
        Reclamation.objects.filter(pk=reclamation.pk).update(token_hash=token_hash)
        record_event(
            kind=EventKind.UPDATED,
            reclamation=reclamation,
            actor=actor,
            label=label,
            summary="Nouveau lien de suivi envoyé au réclamant.",
        )
    return token


# --- Editing -------------------------------------------------------------------------------------
def reclamation_update(
    *, reclamation: Reclamation, actor: Actor, changes: dict[str, Any], expected_state: str | None = None
) -> Reclamation:
    """Change editable fields; the event keeps each field's value before and after."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"not editable here: {sorted(unknown)}")
    with transaction.atomic():
        r = lock(reclamation)
        check_state(r, expected_state)
        check_open(r)
        changed = [name for name, value in changes.items() if getattr(r, name) != value]
        check_fields_reached(r, changed)
        check_answer_unsent(r, changed)
        diff = {}
        for name, value in changes.items():
            before = getattr(r, name)
            if before != value:
                setattr(r, name, value)
                diff[name] = {"before": display(before), "after": display(value)}
        if {"severity", "complexity", "repercussions"} & set(diff):
            new_priority = priority_for(r.severity, r.complexity, r.repercussions)
            if new_priority != r.priority:
                diff["priority"] = {"before": r.priority, "after": new_priority}
                r.priority = new_priority
        if not diff:
            return r
        r.full_clean(exclude=["token_hash", "reference", "state"])
        r.save()
        if search.SEARCHED_FIELDS & set(diff):
            search_document_refresh(r)
        labels = ", ".join(str(Reclamation._meta.get_field(n).verbose_name) for n in diff)
        data: dict[str, Any] = {"changes": diff}
        if changed_facts := [name for name in diff if name in FACT_FIELDS]:  # the decision
            data["facts"] = facts_of(r, *changed_facts)
        record_event(
            kind=EventKind.UPDATED,
            reclamation=r,
            actor=actor,
            summary=f"Modification : {labels}.",
            data=data,
        )
    return r


def reclamation_assign(
    *,
    reclamation: Reclamation,
    actor: Actor,
    handler: AbstractBaseUser,
    expected_state: str | None = None,
    note: str = "",
) -> Reclamation:
    """Name the handler (responsable du traitement); a handler may assign themself.

    Given to someone else (a hand-over), with an optional ``note`` kept in the event: the colleague
    is e-mailed (the note, the reference, a link to the record) and the record becomes unread for
    them. Who may do it is ``permissions.assign_denial``'s rule.
    """
    note = note.strip()
    with transaction.atomic():
        r = lock(reclamation)
        check_state(r, expected_state)
        check_open(r)
        if r.handler_id == handler.pk:
            return r
        before = str(r.handler) if r.handler_id else None
        r.handler = handler
        r.save(update_fields=["handler", "updated_at"])
        name = handler.get_full_name() or handler.get_username()
        data: dict[str, Any] = {"before": before, "after": str(handler.pk)}
        if note:
            data["note"] = note
        record_event(
            kind=EventKind.ASSIGNED,
            reclamation=r,
            actor=actor,
            summary=f"Responsable du traitement : {name}." + (f" Note de passation : {note}" if note else ""),
            data=data,
        )
        if actor is None or actor.pk != handler.pk:
            _hand_over(reclamation=r, actor=actor, handler=handler, note=note)
    return r


def _hand_over(*, reclamation: Reclamation, actor: Actor, handler: AbstractBaseUser, note: str) -> None:
    """The colleague who receives the record: unread for them, and told by e-mail if they have an address."""
    reclamation_mark_unread(reclamation=reclamation, users=[handler])
    address = (handler.email or "").strip()
    if not address:
        return
    sender = (actor.get_full_name() or actor.get_username()) if actor is not None else ""
    email = emails.queue(
        name="handover",
        to=[address],
        context={"reclamation": reclamation, "organisation": Organisation.current(), "note": note,
                 "sender": sender, "backoffice_url": emails.backoffice_url(reclamation)},
    )
    record_event(
        kind=EventKind.EMAIL_QUEUED,
        reclamation=reclamation,
        actor=None,
        summary="Passation signalée par courriel au nouveau responsable du traitement (1 destinataire).",
        data={"template": "handover", "emails": [email.pk]},
    )


def reclamation_correct_received_at(
    *, reclamation: Reclamation, actor: Actor, received_at: datetime, reason: str
) -> Reclamation:
    """Correct the reception date; the stored deadlines are recomputed and the change logged.

    The reception date decides whether the acknowledgement and the answer were on time: once the
    acknowledgement is sent, only the quality lead may correct it (the reason is kept and printed
    in the evidence pack), and never to a date after the acknowledgement or the answer.
    """
    if not reason.strip():
        raise WorkflowError("Indiquez le motif de la correction de la date de réception.")
    if received_at > timezone.now():
        raise WorkflowError("La date de réception ne peut pas être dans le futur.")
    with transaction.atomic():
        r = lock(reclamation)
        check_not_anonymised(r)
        check_open(r)
        # Step 1 completed without an acknowledgement (declared sans objet) counts as sent.
        if (r.acknowledged_at is not None or r.step_number > 1) and not roles.is_quality_lead(actor):
            done = "L'accusé de réception est déjà envoyé" if r.acknowledged_at else "La prise en compte est terminée"
            raise WorkflowError(f"{done} : seul le responsable qualité peut encore corriger la date de réception, "
                                "motif à l'appui.")
        if r.acknowledged_at is not None and received_at > r.acknowledged_at:
            raise WorkflowError(
                "La date de réception ne peut pas suivre l'accusé de réception "
                f"(envoyé le {timezone.localtime(r.acknowledged_at):%d/%m/%Y à %H:%M}).")
        if r.answered_at is not None and received_at > r.answered_at:
            raise WorkflowError(
                "La date de réception ne peut pas suivre la réponse argumentée "
                f"(envoyée le {timezone.localtime(r.answered_at):%d/%m/%Y à %H:%M}).")
        before = {"received_at": r.received_at, "ack_due_at": r.ack_due_at, "answer_due_at": r.answer_due_at}
        r.received_at = received_at
        deadlines = sla.compute_deadline_set(received_at)
        r.ack_due_at, r.answer_due_at = deadlines.ack_due_at, deadlines.answer_due_at
        r.ack_risk_at, r.answer_risk_at = deadlines.ack_risk_at, deadlines.answer_risk_at
        # An alert sent for a threshold that the corrected date moves into the future may fire
        # again when that new moment comes.
        now = timezone.now()
        for claim, moment in (("ack_risk_alert_at", r.ack_risk_at), ("ack_late_alert_at", r.ack_due_at),
                              ("answer_risk_alert_at", r.answer_risk_at), ("answer_late_alert_at", r.answer_due_at)):
            if moment > now:
                setattr(r, claim, None)
        r.save(update_fields=["received_at", "ack_due_at", "answer_due_at", "ack_risk_at", "answer_risk_at",
                              "ack_risk_alert_at", "ack_late_alert_at", "answer_risk_alert_at",
                              "answer_late_alert_at", "updated_at"])
        after = {"received_at": r.received_at, "ack_due_at": r.ack_due_at, "answer_due_at": r.answer_due_at}
        record_event(
            kind=EventKind.DEADLINES_RECOMPUTED,
            reclamation=r,
            actor=actor,
            summary=f"Date de réception corrigée : {reason.strip()}",
            data={"before": before, "after": after, "reason": reason.strip(),
                  "facts": facts_of(r, "received_at", "ack_due_at", "answer_due_at"),
                  "after_acknowledgement": r.acknowledged_at is not None or r.step_number > 1},
        )
    return r


def reclamation_mark_not_applicable(*, reclamation: Reclamation, actor: Actor, step: str, reason: str) -> Reclamation:
    """Declare the client-facing part of a step "sans objet", with the reason, never silently."""
    if step not in workflow.NOT_APPLICABLE_PARTS:
        raise WorkflowError("Cette étape ne peut pas être déclarée sans objet.")
    if not reason.strip():
        raise WorkflowError("Indiquez pourquoi cette étape est sans objet.")
    with transaction.atomic():
        r = lock(reclamation)
        check_open(r)
        r.not_applicable = {**(r.not_applicable or {}), step: reason.strip()}
        r.save(update_fields=["not_applicable", "updated_at"])
        part = workflow.NOT_APPLICABLE_PARTS[step]
        record_event(
            kind=EventKind.STEP_NOT_APPLICABLE,
            reclamation=r,
            actor=actor,
            summary=f"Sans objet : {part} — {reason.strip()}",
            data={"step": step, "reason": reason.strip()},
        )
    return r
