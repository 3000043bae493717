"""The sweep's writes: SLA alerts and action-plan reminders (the survey's reminder and expiry are
``services.survey``'s, run by the same sweep).

Each alert or reminder is *claimed* by a conditional UPDATE on the field that remembers it
(``ack_late_alert_at`` IS NULL and the delay still late, say): only the worker whose UPDATE changed
the row goes on, so a sweep run twice, or on two workers at once, sends nothing twice. The claim,
the journal event and the queued e-mails are one transaction: an alert is never recorded without
its e-mails, nor sent without its event.

Claims only test the claimed row's own columns (no join): on PostgreSQL a second UPDATE that
waited for the first re-checks exactly those columns on the committed row.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .. import emails, roles, workflow
from ..journal import record_event
from ..models import (
    Action,
    ActionStatus,
    EventKind,
    Organisation,
    Reclamation,
)
from ..sla import Clock, format_hours_left
from .base import display, lock

OPEN_ACTION_STATUSES = (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS)


@dataclass(frozen=True)
class SlaAlert:
    """One threshold of one delay: which queryset finds it and which field remembers it."""

    code: str
    which: str  # "ack" or "answer"
    late: bool
    label: str  # French, for the e-mail and the journal

    @property
    def claim_field(self) -> str:
        return f"{self.code}_alert_at"

    @property
    def selector(self) -> str:
        """The ``ReclamationQuerySet`` filter: ack_at_risk, ack_late, answer_at_risk, answer_late."""
        return f"{self.which}_{'late' if self.late else 'at_risk'}"


SLA_ALERTS: dict[str, SlaAlert] = {
    alert.code: alert
    for alert in (
        # Late first: a record found already late (sweep stopped for a while) gets the late alert.
        SlaAlert("ack_late", "ack", True, "accusé de réception en retard"),
        SlaAlert("answer_late", "answer", True, "réponse argumentée en retard"),
        SlaAlert("ack_risk", "ack", False, "accusé de réception à risque"),
        SlaAlert("answer_risk", "answer", False, "réponse argumentée à risque"),
    )
}


# --- Who is told ---------------------------------------------------------------------------------
def person_name(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()


def _staff_recipients(reclamation: Reclamation) -> list[tuple[str, str]]:
    """(name, address) of the handler and the quality leads, each address once; the organisation's
    contact address when nobody has one, so that an alert is never lost silently."""
    people = []
    handler = reclamation.handler
    if handler is not None and handler.is_active and handler.email:
        people.append(handler)
    people += roles.quality_leads()
    recipients: dict[str, str] = {}
    for person in people:
        recipients.setdefault(person.email.strip().lower(), person_name(person))
    if not recipients:
        contact = Organisation.current().contact_email.strip()
        if contact:
            recipients[contact] = "adresse de contact de l'organisme"
    return [(name, address) for address, name in recipients.items()]


# --- SLA alerts ----------------------------------------------------------------------------------
def reclamation_send_sla_alert(
    *, reclamation_id: int, alert: str, now: datetime, clock: Clock | None = None
) -> Reclamation | None:
    """Claim one alert and, if this call won it, queue its e-mails and write its event.

    Returns the record when the alert was sent by this call, None when it was not due, no longer
    due (acknowledged, answered, closed in the meantime) or already claimed by another sweep.
    The claim's time stays on the record; with the due time it is what the statistics read.
    """
    spec = SLA_ALERTS[alert]
    with transaction.atomic():
        claimed = (
            getattr(Reclamation.objects, spec.selector)(now)
            .filter(pk=reclamation_id, **{f"{spec.claim_field}__isnull": True})
            .update(**{spec.claim_field: now})
        )
        if not claimed:
            return None
        r = Reclamation.objects.select_related("handler").get(pk=reclamation_id)
        due_at = r.ack_due_at if spec.which == "ack" else r.answer_due_at
        risk_at = r.ack_risk_at if spec.which == "ack" else r.answer_risk_at
        clock = clock or Clock.from_config()
        recipients = _staff_recipients(r)
        context = {
            "reclamation": r,
            "organisation": Organisation.current(),
            "alert": spec,
            "due_at": due_at,
            "time_left": format_hours_left(clock.hours_left(due_at, now)),
            "backoffice_url": emails.backoffice_url(r),
        }
        email_ids = [e.pk for e in emails.queue_each(
            name="sla_alert", addresses=[address for _name, address in recipients], context=context)]
        names = [name for name, _address in recipients]
        local_due = timezone.localtime(due_at)
        record_event(
            kind=EventKind.SLA_ALERT,
            reclamation=r,
            actor=None,
            summary=f"Alerte : {spec.label} (échéance {'dépassée depuis' if spec.late else 'le'} "
            f"{local_due:%d/%m/%Y %H:%M}) — "
            + (f"avisés : {', '.join(names)}." if names else "aucun destinataire n'a d'adresse électronique."),
            data={
                "alert": spec.code,
                "late": spec.late,
                "due_at": due_at,
                "risk_at": risk_at,
                "alerted_at": now,
                "recipients": names,
                "emails": email_ids,
            },
        )
    return r


# --- Action-plan reminders (steps 5 and 6) -------------------------------------------------------
def _action_reminder_q(reminder: str, today: date) -> Q:
    """Actions whose reminder is due. A reminder sent for an earlier due date does not count: if
    the owner moved the date, the new date gets its own reminder."""
    if reminder == "due":
        return Q(due_date=today) & (Q(due_reminder_at__isnull=True) | Q(due_reminder_at__date__lt=F("due_date")))
    return Q(due_date__lt=today) & (
        Q(overdue_reminder_at__isnull=True) | Q(overdue_reminder_at__date__lte=F("due_date"))
    )


def actions_to_remind(reminder: str, now: datetime) -> list[int]:
    """Ids of the open actions of open records whose ``reminder`` ("due" or "overdue") is due."""
    return list(
        Action.objects.filter(
            _action_reminder_q(reminder, timezone.localdate(now)),
            reclamation__state__in=workflow.OPEN_STEPS,
            status__in=OPEN_ACTION_STATUSES,
            owner__isnull=False,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def reclamation_remind_action(*, action_id: int, reminder: str, now: datetime) -> Action | None:
    """Claim and send the "due today" or "overdue" reminder of one action to its owner."""
    if reminder not in ("due", "overdue"):
        raise ValueError(f"unknown reminder: {reminder!r}")
    claim_field = f"{reminder}_reminder_at"
    today = timezone.localdate(now)
    with transaction.atomic():
        reclamation_id = Action.objects.filter(pk=action_id).values_list("reclamation_id", flat=True).first()
        if reclamation_id is None:
            return None
        r = lock(reclamation_id)  # the record's writers (done, cancelled, closed) wait for us
        if not r.is_open:
            return None
        claimed = Action.objects.filter(
            _action_reminder_q(reminder, today), pk=action_id, status__in=OPEN_ACTION_STATUSES, owner__isnull=False
        ).update(**{claim_field: now})
        if not claimed:
            return None
        action = Action.objects.select_related("owner", "reclamation").get(pk=action_id)
        owner = action.owner
        email_ids = []
        if owner.is_active and owner.email:
            email_ids.append(
                emails.queue(
                    name="action_reminder",
                    to=[owner.email],
                    context={
                        "reclamation": r,
                        "action": action,
                        "overdue": reminder == "overdue",
                        "organisation": Organisation.current(),
                        "backoffice_url": emails.backoffice_url(r),
                    },
                ).pk
            )
        when = "à réaliser aujourd'hui" if reminder == "due" else f"en retard (échéance le {action.due_date:%d/%m/%Y})"
        if email_ids:
            sent = f"Rappel envoyé à {person_name(owner)}"
        else:
            sent = f"Rappel non envoyé : {person_name(owner)} n'a pas d'adresse électronique active"
        record_event(
            kind=EventKind.REMINDER,
            reclamation=r,
            actor=None,
            summary=f"{sent} — action {when} : « {action.description[:80]} ».",
            data={
                "reminder": f"action_{reminder}",
                "action": action.pk,
                "due_date": display(action.due_date),
                "owner": person_name(owner),
                "emails": email_ids,
            },
        )
    return action
