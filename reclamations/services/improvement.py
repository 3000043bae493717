"""The continual-improvement plan (plan d'amélioration continue, indicator 32).

An improvement action comes from one or more records, a survey result, an audit...; it has an
owner, a due date, a status and, once done, an effectiveness check (planned date, result, comment).
A corrective or preventive action recorded on a record is promoted to the plan in one click
(:func:`reclamation_promote_action`). Every change is an ``IMPROVEMENT`` event written in the same
transaction; an action about exactly one record logs on that record, others log with no record.

Reminders (the due date reached, the effectiveness check due) go out through the SLA sweep:
:func:`improvement_send_reminders` claims each one with a conditional UPDATE, like the sweep's own.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from .. import emails, roles
from ..journal import record_event
from ..models import (
    Action,
    ActionKind,
    ActionStatus,
    Effectiveness,
    EventKind,
    ImprovementAction,
    ImprovementOrigin,
    ImprovementStatus,
    Organisation,
    Reclamation,
)
from .alerts import person_name
from .base import Actor, WorkflowError, display, lock

logger = logging.getLogger(__name__)

IMPROVEMENT_FIELDS = frozenset(
    {"origin", "title", "description", "owner", "due_date", "status", "done_at", "check_planned_on"}
)
OPEN_STATUSES = (ImprovementStatus.PLANNED, ImprovementStatus.IN_PROGRESS)
_ACTION_STATUS = {
    ActionStatus.PLANNED: ImprovementStatus.PLANNED,
    ActionStatus.IN_PROGRESS: ImprovementStatus.IN_PROGRESS,
    ActionStatus.DONE: ImprovementStatus.DONE,
}


def check_delay() -> timedelta:
    """How long after an action is done its effectiveness check is proposed (a setting)."""
    return timedelta(days=settings.IMPROVEMENT_CHECK_DAYS)


# --- Reads ---------------------------------------------------------------------------------------
def plan_queryset() -> QuerySet[ImprovementAction]:
    """The plan with what a list row shows (owner, records), in a fixed number of queries."""
    return ImprovementAction.objects.select_related("owner", "source_action").prefetch_related("reclamations")


def in_period(start: date, end: date) -> QuerySet[ImprovementAction]:
    """Actions that lived in the period (for the digest and the evidence pack): created, due, done
    or checked in it, or still open at its end."""
    created = Q(created_at__date__gte=start, created_at__date__lte=end)
    touched = (Q(due_date__gte=start, due_date__lte=end) | Q(done_at__gte=start, done_at__lte=end)
               | Q(checked_at__gte=start, checked_at__lte=end))
    still_open = Q(created_at__date__lte=end, status__in=OPEN_STATUSES)
    return plan_queryset().filter(created | touched | still_open).order_by("due_date", "pk")


def is_overdue(improvement: ImprovementAction, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return improvement.status in OPEN_STATUSES and improvement.due_date is not None and improvement.due_date < today


def check_due(improvement: ImprovementAction, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return (improvement.status == ImprovementStatus.DONE and not improvement.check_result
            and improvement.check_planned_on is not None and improvement.check_planned_on <= today)


# --- Helpers -------------------------------------------------------------------------------------
def _lock(improvement: ImprovementAction | int) -> ImprovementAction:
    pk = improvement if isinstance(improvement, int) else improvement.pk
    return ImprovementAction.objects.select_for_update().get(pk=pk)


def _single_record(records: Iterable[Reclamation]) -> Reclamation | None:
    """The record an event is logged on: the only one concerned, else none (a cross-record action)."""
    records = list(records)
    return records[0] if len(records) == 1 else None


def _references(records: Iterable[Reclamation]) -> list[str]:
    return sorted(r.reference for r in records)


def _check(improvement: ImprovementAction, records: list[Reclamation]) -> None:
    """The plan's rules, in French for the quality lead."""
    today = timezone.localdate()
    if not improvement.title.strip():
        raise WorkflowError("Indiquez l'intitulé de l'action.")
    if not improvement.description.strip():
        raise WorkflowError("Décrivez l'action d'amélioration.")
    if improvement.origin not in ImprovementOrigin.values:
        raise WorkflowError("Choisissez l'origine de l'action.")
    if improvement.origin == ImprovementOrigin.RECORDS and not records:
        raise WorkflowError("Une action issue de réclamations doit citer au moins une réclamation.")
    if improvement.status not in ImprovementStatus.values:
        raise WorkflowError("Choisissez le statut de l'action.")
    if improvement.done_at and improvement.done_at > today:
        raise WorkflowError("La date de réalisation ne peut pas être dans le futur.")
    if improvement.status == ImprovementStatus.DONE and improvement.check_planned_on and improvement.done_at and (
        improvement.check_planned_on < improvement.done_at
    ):
        raise WorkflowError("La vérification de l'efficacité se prévoit après la réalisation de l'action.")


def _apply_status_rules(improvement: ImprovementAction) -> None:
    """Done: a date (today by default) and an effectiveness check planned (a setting later)."""
    if improvement.status == ImprovementStatus.DONE:
        improvement.done_at = improvement.done_at or timezone.localdate()
        improvement.check_planned_on = improvement.check_planned_on or improvement.done_at + check_delay()
    elif improvement.status in OPEN_STATUSES:
        improvement.done_at = None


def _snapshot(improvement: ImprovementAction) -> dict[str, Any]:
    return {name: display(getattr(improvement, name)) for name in sorted(IMPROVEMENT_FIELDS)}


# --- Writes --------------------------------------------------------------------------------------
def improvement_create(
    *,
    actor: Actor,
    origin: str,
    title: str,
    description: str,
    owner: AbstractBaseUser | None = None,
    due_date: date | None = None,
    status: str = ImprovementStatus.PLANNED,
    done_at: date | None = None,
    check_planned_on: date | None = None,
    reclamations: Iterable[Reclamation] = (),
) -> ImprovementAction:
    """Add an action to the plan."""
    records = list(reclamations)
    improvement = ImprovementAction(
        origin=origin, title=title.strip(), description=description.strip(), owner=owner, due_date=due_date,
        status=status, done_at=done_at, check_planned_on=check_planned_on,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    _apply_status_rules(improvement)
    _check(improvement, records)
    with transaction.atomic():
        improvement.save()
        improvement.reclamations.set(records)
        record_event(
            kind=EventKind.IMPROVEMENT,
            reclamation=_single_record(records),
            actor=actor,
            summary=f"Action d'amélioration ajoutée au plan : « {improvement.title} » "
                    f"({improvement.get_origin_display().lower()}).",
            data={"improvement": improvement.pk, "created": _snapshot(improvement),
                  "reclamations": _references(records)},
        )
    return improvement


def improvement_update(
    *,
    improvement: ImprovementAction,
    actor: Actor,
    changes: dict[str, Any],
    reclamations: Iterable[Reclamation] | None = None,
) -> ImprovementAction:
    """Change what the plan says of an action; logs before/after of each field that changed."""
    unknown = set(changes) - IMPROVEMENT_FIELDS
    if unknown:
        raise TypeError(f"not editable here: {sorted(unknown)}")
    with transaction.atomic():
        item = _lock(improvement)
        before = _snapshot(item)
        old_records = list(item.reclamations.all())
        records = list(reclamations) if reclamations is not None else old_records
        for name, value in changes.items():
            setattr(item, name, value.strip() if isinstance(value, str) and name != "status" else value)
        _apply_status_rules(item)
        _check(item, records)
        after = _snapshot(item)
        diff = {name: {"before": before[name], "after": after[name]} for name in after if before[name] != after[name]}
        old_refs, new_refs = _references(old_records), _references(records)
        if old_refs != new_refs:
            diff["reclamations"] = {"before": old_refs, "after": new_refs}
        if not diff:
            return item
        item.save()
        if old_refs != new_refs:
            item.reclamations.set(records)
        record_event(
            kind=EventKind.IMPROVEMENT,
            reclamation=_single_record(records),
            actor=actor,
            summary=f"Action d'amélioration modifiée : « {item.title} »"
                    + (f" — statut : {item.get_status_display().lower()}" if "status" in diff else "") + ".",
            data={"improvement": item.pk, "changes": diff},
        )
    return item


def improvement_record_check(
    *,
    improvement: ImprovementAction,
    actor: Actor,
    result: str,
    comment: str = "",
    checked_at: date | None = None,
) -> ImprovementAction:
    """Record the effectiveness check of a done action (efficace, partiellement, non efficace)."""
    checked_at = checked_at or timezone.localdate()
    if result not in Effectiveness.values:
        raise WorkflowError(
            "Indiquez le résultat de la vérification : efficace, partiellement efficace ou non efficace."
        )
    if result != Effectiveness.EFFECTIVE and not comment.strip():
        raise WorkflowError("Expliquez pourquoi l'action n'est pas (entièrement) efficace et ce qui est prévu.")
    if checked_at > timezone.localdate():
        raise WorkflowError("La date de vérification ne peut pas être dans le futur.")
    with transaction.atomic():
        item = _lock(improvement)
        if item.status != ImprovementStatus.DONE:
            raise WorkflowError(
                "L'efficacité se vérifie une fois l'action réalisée : passez-la d'abord en « Réalisée »."
            )
        if item.done_at and checked_at < item.done_at:
            raise WorkflowError("La vérification ne peut pas précéder la réalisation de l'action.")
        previous = {"result": item.check_result, "comment": item.check_comment, "checked_at": display(item.checked_at)}
        item.check_result = result
        item.check_comment = comment.strip()
        item.checked_at = checked_at
        item.save(update_fields=["check_result", "check_comment", "checked_at"])
        record_event(
            kind=EventKind.IMPROVEMENT,
            reclamation=_single_record(item.reclamations.all()),
            actor=actor,
            summary=f"Efficacité vérifiée : « {item.title} » — {item.get_check_result_display().lower()}.",
            data={"improvement": item.pk, "check": {"result": result, "comment": item.check_comment,
                                                     "checked_at": display(checked_at)},
                  "previous": previous if previous["result"] else None},
        )
    return item


def _title_from(text: str, limit: int = 120) -> str:
    first = " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def reclamation_promote_action(*, action: Action, actor: Actor) -> tuple[ImprovementAction, bool]:
    """Put a record's corrective or preventive action on the improvement plan, in one click.

    Returns ``(improvement, created)``; promoting the same action again returns the existing one
    (a double click makes one line of the plan). The new line takes the action's text, owner, due
    date and status; a done action gets its effectiveness check planned (``IMPROVEMENT_CHECK_DAYS``).
    """
    with transaction.atomic():
        r = lock(action.reclamation_id)  # serialises two clicks on the same record
        action = Action.objects.select_related("owner").get(pk=action.pk, reclamation=r)
        existing = ImprovementAction.objects.filter(source_action=action).first()
        if existing is not None:
            return existing, False
        if action.kind not in (ActionKind.CORRECTIVE, ActionKind.PREVENTIVE):
            raise WorkflowError("Seule une action corrective ou préventive peut être portée au plan d'amélioration.")
        if action.status == ActionStatus.CANCELLED:
            raise WorkflowError("Cette action a été annulée : elle ne peut pas être portée au plan d'amélioration.")
        description = action.description.strip()
        if action.result.strip():
            description += f"\n\nRésultat constaté sur la réclamation : {action.result.strip()}"
        improvement = ImprovementAction(
            origin=ImprovementOrigin.RECORDS,
            source_action=action,
            title=_title_from(action.description) or f"Action {action.get_kind_display().lower()} {r.reference}",
            description=description,
            owner=action.owner,
            due_date=action.due_date,
            status=_ACTION_STATUS.get(action.status, ImprovementStatus.PLANNED),
            done_at=action.done_at,
            created_by=actor if actor is not None and actor.is_authenticated else None,
        )
        _apply_status_rules(improvement)
        improvement.save()
        improvement.reclamations.set([r])
        record_event(
            kind=EventKind.IMPROVEMENT,
            reclamation=r,
            actor=actor,
            summary=f"Action {action.get_kind_display().lower()} portée au plan d'amélioration continue : "
                    f"« {improvement.title} ».",
            data={"improvement": improvement.pk, "action": action.pk, "created": _snapshot(improvement)},
        )
    return improvement, True


# --- Reminders (called by the SLA sweep) --------------------------------------------------------
def _due_q(today: date) -> Q:
    """Open actions whose due date has come, not yet reminded for this due date (a new date gets
    its own reminder)."""
    return Q(status__in=OPEN_STATUSES, due_date__lte=today) & (
        Q(due_reminder_at__isnull=True) | Q(due_reminder_at__date__lt=F("due_date"))
    )


def _check_q(today: date) -> Q:
    """Done actions whose effectiveness check is due and not recorded, not yet reminded for this date."""
    return Q(status=ImprovementStatus.DONE, check_result="", check_planned_on__lte=today) & (
        Q(check_reminder_at__isnull=True) | Q(check_reminder_at__date__lt=F("check_planned_on"))
    )


_REMINDERS = {"due": ("due_reminder_at", _due_q), "check": ("check_reminder_at", _check_q)}


def improvement_url(improvement: ImprovementAction) -> str:
    return settings.SITE_URL + reverse("quality:improvement_detail", args=[improvement.pk])


def _recipients(improvement: ImprovementAction) -> list[tuple[str, str]]:
    """(name, address) of the owner and the quality leads, each address once; the organisation's
    contact address if nobody has one, so that a reminder is never lost silently."""
    people = []
    if improvement.owner is not None and improvement.owner.is_active and improvement.owner.email:
        people.append(improvement.owner)
    people += roles.quality_leads()
    found: dict[str, str] = {}
    for person in people:
        found.setdefault(person.email.strip().lower(), person_name(person))
    if not found:
        contact = Organisation.current().contact_email.strip()
        if contact:
            found[contact] = "adresse de contact de l'organisme"
    return [(name, address) for address, name in found.items()]


def improvement_remind(*, improvement_id: int, reminder: str, now: datetime) -> ImprovementAction | None:
    """Claim one reminder ("due" or "check") and, if this call won it, queue its e-mails and event."""
    claim_field, condition = _REMINDERS[reminder]
    today = timezone.localdate(now)
    with transaction.atomic():
        claimed = ImprovementAction.objects.filter(condition(today), pk=improvement_id).update(**{claim_field: now})
        if not claimed:
            return None
        item = ImprovementAction.objects.select_related("owner").get(pk=improvement_id)
        records = list(item.reclamations.all())
        recipients = _recipients(item)
        context = {"improvement": item, "reminder": reminder, "url": improvement_url(item),
                   "organisation": Organisation.current(), "reclamations": records,
                   "overdue": reminder == "due" and item.due_date is not None and item.due_date < today}
        email_ids = [e.pk for e in emails.queue_each(
            name="improvement_reminder", addresses=[address for _name, address in recipients], context=context)]
        names = [name for name, _address in recipients]
        if reminder == "due":
            what = f"action d'amélioration « {item.title} » à réaliser pour le {item.due_date:%d/%m/%Y}"
        else:
            what = f"vérification de l'efficacité de « {item.title} » prévue le {item.check_planned_on:%d/%m/%Y}"
        record_event(
            kind=EventKind.REMINDER,
            reclamation=_single_record(records),
            actor=None,
            summary=f"Rappel : {what} — "
                    + (f"avisés : {', '.join(names)}." if names else "aucun destinataire n'a d'adresse électronique."),
            data={"reminder": f"improvement_{reminder}", "improvement": item.pk, "recipients": names,
                  "emails": email_ids},
        )
    return item


def improvement_send_reminders(now: datetime | None = None) -> int:
    """Send every due improvement reminder once (due date reached, effectiveness check due).

    Idempotent: each reminder is claimed by a conditional UPDATE on ``due_reminder_at`` or
    ``check_reminder_at``. One failing item is logged and left for the next sweep. Returns how
    many reminders were sent.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    sent = 0
    for reminder, (_field, condition) in _REMINDERS.items():
        for pk in list(ImprovementAction.objects.filter(condition(today)).order_by("pk").values_list("pk", flat=True)):
            try:
                if improvement_remind(improvement_id=pk, reminder=reminder, now=now) is not None:
                    sent += 1
            except Exception:
                logger.exception("improvement %s reminder failed for improvement action %s", reminder, pk)
    return sent
