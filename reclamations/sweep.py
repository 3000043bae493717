"""The SLA sweep: what Celery beat runs every ``SLA_SWEEP_SECONDS`` (and ``manage.py sla_sweep``).

It reads the deadlines stored on the records with indexed queries — never a countdown in the
broker — and, for each record or action that crossed a threshold since the last sweep:

* SLA alerts: acknowledgement or answer **at risk** (the configured share of the delay used) or
  **late**, to the handler and the quality leads, once per record and threshold;
* action-plan reminders (steps 5 and 6): to the owner, when an action is due today and when it is
  overdue, once each;
* the satisfaction survey (step 9): its one reminder to the client after the configured days, and
  the closing of records whose survey ran out unanswered ("pas de réponse"). Both belong to
  ``services.survey``; the sweep only runs them.

Every item is claimed by a conditional UPDATE (``services.alerts``, ``services.survey``), so the sweep can run twice,
or on two workers at once, and still send each alert once. One item that fails (a broken
template, a database hiccup) is logged and left unclaimed for the next sweep; the others go on.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from . import emails
from .models import Action, Reclamation
from .services import alerts, improvement, survey
from .sla import Clock

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """What one sweep sent: one French line per alert or reminder."""

    alerts: list[str] = field(default_factory=list)
    action_reminders: list[str] = field(default_factory=list)
    survey_reminders: int = 0
    surveys_closed: int = 0
    improvement_reminders: int = 0
    errors: int = 0

    @property
    def total(self) -> int:
        return (len(self.alerts) + len(self.action_reminders) + self.survey_reminders + self.surveys_closed
                + self.improvement_reminders)

    def short(self) -> str:
        text = (f"{len(self.alerts)} alerte(s) de délai, {len(self.action_reminders)} rappel(s) d'action, "
                f"{self.survey_reminders} relance(s) d'enquête, {self.surveys_closed} enquête(s) close(s), "
                f"{self.improvement_reminders} rappel(s) du plan d'amélioration")
        return text + (f", {self.errors} erreur(s)" if self.errors else "")

    def lines(self) -> list[str]:
        out = []
        for title, items in (("Alertes de délai", self.alerts), ("Rappels d'actions", self.action_reminders)):
            out.append(f"{title} : {len(items)}")
            out += [f"  - {item}" for item in items]
        out.append(f"Relances de l'enquête de satisfaction : {self.survey_reminders}")
        out.append(f"Enquêtes closes sans réponse (délai écoulé) : {self.surveys_closed}")
        out.append(f"Rappels du plan d'amélioration continue : {self.improvement_reminders}")
        if self.errors:
            out.append(f"Erreurs : {self.errors} (voir le journal ; nouvel essai au prochain passage)")
        return out


def _candidates(spec: alerts.SlaAlert, now: datetime) -> list[int]:
    queryset = getattr(Reclamation.objects, spec.selector)(now)
    return list(queryset.filter(**{f"{spec.claim_field}__isnull": True}).order_by("pk").values_list("pk", flat=True))


def run(now: datetime | None = None) -> SweepReport:
    """One sweep. Each e-mail is queued with its claim; one send task is published at the end."""
    now = now or timezone.now()
    report = SweepReport()
    clock = Clock.from_config()
    with emails.deferred_dispatch():
        for spec in alerts.SLA_ALERTS.values():
            for pk in _candidates(spec, now):
                try:
                    r = alerts.reclamation_send_sla_alert(reclamation_id=pk, alert=spec.code, now=now, clock=clock)
                except Exception:
                    report.errors += 1
                    logger.exception("sla sweep: alert %s failed for reclamation %s", spec.code, pk)
                    continue
                if r is not None:
                    report.alerts.append(f"{r.reference} : {spec.label}")
        for reminder in ("overdue", "due"):
            for pk in alerts.actions_to_remind(reminder, now):
                try:
                    action = alerts.reclamation_remind_action(action_id=pk, reminder=reminder, now=now)
                except Exception:
                    report.errors += 1
                    logger.exception("sla sweep: %s reminder failed for action %s", reminder, pk)
                    continue
                if action is not None:
                    report.action_reminders.append(_action_line(action, reminder))
        try:
            report.survey_reminders = survey.survey_send_reminders(now)
            report.surveys_closed = survey.survey_expire(now)
        except Exception:
            report.errors += 1
            logger.exception("sla sweep: survey reminders or expiry failed")
        try:
            report.improvement_reminders = improvement.improvement_send_reminders(now)
        except Exception:
            report.errors += 1
            logger.exception("sla sweep: improvement reminders failed")
    return report


def _action_line(action: Action, reminder: str) -> str:
    state = "échéance aujourd'hui" if reminder == "due" else f"en retard depuis le {action.due_date:%d/%m/%Y}"
    owner = alerts.person_name(action.owner)
    return f"{action.reclamation.reference} : action n° {action.pk} ({state}), rappel à {owner}"
