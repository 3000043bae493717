"""The SLA sweep: at-risk and late alerts once per record and threshold, action-plan reminders,
the satisfaction-survey reminder, `manage.py sla_sweep`, and two sweeps at once sending once."""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from celery.app.task import Task
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import call_command
from django.db import connection
from post_office.models import STATUS, Email

from reclamations import services, sweep, tasks
from reclamations.models import Action, Event, EventKind, Organisation, Reclamation
from reclamations.sla import SlaStatus
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, UserFactory, advance

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # Tuesday 10 March 2026, 10:00 in Paris


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _sweep(capture, when: datetime) -> sweep.SweepReport:
    """One sweep at ``when``, its e-mails sent (the outbox task runs after commit, eagerly)."""
    with time_machine.travel(when, tick=False), capture(execute=True):
        return sweep.run()


def _alerts(reclamation: Reclamation) -> list[str]:
    return [e.data["alert"] for e in Event.objects.filter(reclamation=reclamation, kind=EventKind.SLA_ALERT)]


@pytest.fixture
def organisation(db):
    organisation = Organisation.current()
    organisation.ack_delay_hours, organisation.answer_delay_hours = 48, 96
    organisation.save()
    return organisation


@pytest.fixture
def record(organisation, handler, quality_lead):
    with time_machine.travel(T0, tick=False):
        reclamation = ReclamationFactory()
        services.reclamation_assign(reclamation=reclamation, actor=handler, handler=handler)
    return reclamation


# --- SLA alerts ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_it_alerts_the_handler_and_the_quality_lead_at_each_threshold_once(
    record, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    assert _sweep(capture, at(35.9)).total == 0

    report = _sweep(capture, at(36))  # 75 % of 48 h
    assert report.alerts == [f"{record.reference} : accusé de réception à risque"]
    assert sorted(m.to[0] for m in mail.outbox) == ["gestionnaire@example.org", "qualite@example.org"]
    assert mail.outbox[0].subject == f"Délai bientôt atteint — {record.reference} : accusé de réception à risque"
    assert "reste 12 h" in mail.outbox[0].body
    assert _sweep(capture, at(40)).total == 0  # once per threshold, however often the sweep runs

    assert _sweep(capture, at(48)).alerts == [f"{record.reference} : accusé de réception en retard"]
    assert _sweep(capture, at(72)).alerts == [f"{record.reference} : réponse argumentée à risque"]
    assert _sweep(capture, at(96.5)).alerts == [f"{record.reference} : réponse argumentée en retard"]
    assert _sweep(capture, at(200)).total == 0

    assert _alerts(record) == ["ack_risk", "ack_late", "answer_risk", "answer_late"]
    assert len(mail.outbox) == 8
    late = mail.outbox[-1]
    assert late.subject == f"Délai dépassé — {record.reference} : réponse argumentée en retard"
    assert "en retard de 30 min" in late.body
    assert f"/backoffice/reclamations/{record.pk}/" in late.body


@pytest.mark.django_db
def test_a_breach_keeps_its_time_for_the_statistics(record, handler, django_capture_on_commit_callbacks):
    _sweep(django_capture_on_commit_callbacks, at(50))
    with time_machine.travel(at(52), tick=False):
        services.reclamation_record_acknowledgement(reclamation=record, actor=handler)

    record.refresh_from_db()
    assert record.ack_late_alert_at == at(50)
    assert record.ack_due_at == at(48)
    assert record.ack_status(at(60)) == SlaStatus.DONE_LATE
    event = Event.objects.get(reclamation=record, kind=EventKind.SLA_ALERT, data__alert="ack_late")
    assert event.data["due_at"] == "2026-03-12T09:00:00Z"
    assert event.data["alerted_at"] == "2026-03-12T11:00:00Z"
    assert event.actor_label == "Système"
    assert "échéance dépassée depuis 12/03/2026 10:00" in event.summary
    assert "avisés : Camille Martin, Dominique Bernard." in event.summary


@pytest.mark.django_db
def test_a_record_found_already_late_gets_only_the_late_alert(record, django_capture_on_commit_callbacks):
    report = _sweep(django_capture_on_commit_callbacks, at(50))

    assert report.alerts == [f"{record.reference} : accusé de réception en retard"]
    record.refresh_from_db()
    assert record.ack_risk_alert_at is None


@pytest.mark.django_db
def test_a_fulfilled_delay_raises_no_alert(record, handler, django_capture_on_commit_callbacks):
    with time_machine.travel(at(1), tick=False):
        services.reclamation_record_acknowledgement(reclamation=record, actor=handler)

    _sweep(django_capture_on_commit_callbacks, at(73))

    assert _alerts(record) == ["answer_risk"]


@pytest.mark.django_db
def test_a_discarded_record_raises_no_alert(record, handler, django_capture_on_commit_callbacks):
    with time_machine.travel(at(1), tick=False):
        services.reclamation_discard(reclamation=record, actor=handler, reason="Doublon de R-2026-0001.")

    assert _sweep(django_capture_on_commit_callbacks, at(100)).total == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_without_a_handler_the_quality_lead_is_told(organisation, quality_lead, django_capture_on_commit_callbacks):
    with time_machine.travel(T0, tick=False):
        ReclamationFactory()

    _sweep(django_capture_on_commit_callbacks, at(36))

    assert [m.to for m in mail.outbox] == [["qualite@example.org"]]


@pytest.mark.django_db
def test_with_nobody_to_tell_the_organisation_contact_address_gets_the_alert(
    organisation, django_capture_on_commit_callbacks
):
    organisation.contact_email = "contact@organisme.example"
    organisation.save()
    with time_machine.travel(T0, tick=False):
        reclamation = ReclamationFactory()

    _sweep(django_capture_on_commit_callbacks, at(36))

    assert [m.to for m in mail.outbox] == [["contact@organisme.example"]]
    assert Event.objects.get(reclamation=reclamation, kind=EventKind.SLA_ALERT).data["recipients"] == [
        "adresse de contact de l'organisme"]


@pytest.mark.django_db
def test_an_inactive_handler_is_not_written_to(record, handler, django_capture_on_commit_callbacks):
    handler.is_active = False
    handler.save()

    _sweep(django_capture_on_commit_callbacks, at(36))

    assert [m.to for m in mail.outbox] == [["qualite@example.org"]]


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_alert_once(organisation, handler, quality_lead):
    with time_machine.travel(T0, tick=False):
        records = [ReclamationFactory() for _ in range(3)]
        for reclamation in records:
            services.reclamation_assign(reclamation=reclamation, actor=handler, handler=handler)
    barrier = threading.Barrier(2)
    reports: list[sweep.SweepReport] = []

    def run() -> None:
        try:
            barrier.wait()
            reports.append(sweep.run())
        finally:
            connection.close()

    with time_machine.travel(at(50), tick=False):  # every record's acknowledgement is late
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(line for report in reports for line in report.alerts) == sorted(
        f"{r.reference} : accusé de réception en retard" for r in records)
    assert sum(report.errors for report in reports) == 0
    for reclamation in records:
        assert _alerts(reclamation) == ["ack_late"]
    alerts = Email.objects.filter(subject__startswith="Délai dépassé")
    assert alerts.count() == 3 * 2  # three records, two people each
    assert len([m for m in mail.outbox if m.subject.startswith("Délai dépassé")]) == 6


@pytest.mark.django_db
def test_a_quiet_sweep_reads_a_few_queries_however_many_records_are_open(
    organisation, handler, django_assert_max_num_queries
):
    with time_machine.travel(T0, tick=False):
        for _ in range(6):
            ReclamationFactory()

    with time_machine.travel(at(1), tick=False), django_assert_max_num_queries(14):
        report = sweep.run()

    assert report.total == 0


# --- Action-plan reminders -----------------------------------------------------------------------
@pytest.fixture
def planned(organisation, handler):
    """A record in step 6 whose two actions (owner: the handler) are due on 17 March 2026."""
    with time_machine.travel(T0, tick=False):
        reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    assert {a.due_date for a in reclamation.actions.all()} == {date(2026, 3, 17)}
    return reclamation


def _reminders(reclamation: Reclamation) -> list[str]:
    return [e.data["reminder"] for e in Event.objects.filter(reclamation=reclamation, kind=EventKind.REMINDER)]


@pytest.mark.django_db
def test_the_owner_is_reminded_on_the_due_day_and_once_overdue(planned, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    immediate = planned.actions.order_by("pk").first()
    assert _sweep(capture, datetime(2026, 3, 16, 22, 0, tzinfo=UTC)).action_reminders == []  # 23:00 the day before

    report = _sweep(capture, datetime(2026, 3, 17, 5, 0, tzinfo=UTC))
    assert len(report.action_reminders) == 2
    assert f"{planned.reference} : action n° {immediate.pk} (échéance aujourd'hui), rappel à Camille Martin" in (
        report.action_reminders)
    reminders = [m for m in mail.outbox if m.subject.startswith("Action à réaliser aujourd'hui")]
    assert [m.to for m in reminders] == [["gestionnaire@example.org"]] * 2
    assert _sweep(capture, datetime(2026, 3, 17, 15, 0, tzinfo=UTC)).action_reminders == []

    assert len(_sweep(capture, datetime(2026, 3, 18, 8, 0, tzinfo=UTC)).action_reminders) == 2
    assert _sweep(capture, datetime(2026, 3, 25, 8, 0, tzinfo=UTC)).action_reminders == []
    assert _reminders(planned) == ["action_due", "action_due", "action_overdue", "action_overdue"]
    overdue = [m for m in mail.outbox if m.subject.startswith("Action en retard")]
    assert len(overdue) == 2 and "a dépassé son échéance du mardi 17 mars 2026" in overdue[0].body


@pytest.mark.django_db
def test_done_actions_get_no_reminder_and_a_new_due_date_gets_its_own(
    planned, handler, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    immediate, corrective = planned.actions.order_by("pk")
    with time_machine.travel(T0, tick=False):
        services.reclamation_update_action(action=immediate, actor=handler, changes={"status": "done"})
    _sweep(capture, datetime(2026, 3, 17, 8, 0, tzinfo=UTC))
    assert Action.objects.get(pk=immediate.pk).due_reminder_at is None

    with time_machine.travel(datetime(2026, 3, 17, 9, 0, tzinfo=UTC), tick=False):
        services.reclamation_update_action(action=corrective, actor=handler, changes={"due_date": date(2026, 3, 20)})
    assert _sweep(capture, datetime(2026, 3, 18, 8, 0, tzinfo=UTC)).action_reminders == []  # not overdue now
    assert len(_sweep(capture, datetime(2026, 3, 20, 8, 0, tzinfo=UTC)).action_reminders) == 1

    assert _reminders(planned) == ["action_due", "action_due"]


@pytest.mark.django_db
def test_an_owner_without_address_is_not_reminded_but_the_log_says_so(
    planned, handler, django_capture_on_commit_callbacks
):
    handler.email = ""
    handler.save()

    _sweep(django_capture_on_commit_callbacks, datetime(2026, 3, 17, 8, 0, tzinfo=UTC))

    assert not [m for m in mail.outbox if m.subject.startswith("Action")]
    event = Event.objects.filter(reclamation=planned, kind=EventKind.REMINDER).first()
    assert event.summary.startswith("Rappel non envoyé : Camille Martin n'a pas d'adresse électronique active")


# --- Satisfaction survey (services.survey's periodic work, run by the sweep) ---------------------
@pytest.fixture
def surveyed(organisation, handler):
    """A record that entered step 9 at T0: the survey went out then (answer possible 30 days)."""
    with time_machine.travel(T0, tick=False):
        reclamation = advance(ReclamationFactory(), Step.FEEDBACK, handler)
    reclamation.refresh_from_db()
    assert reclamation.feedback_requested_at == T0
    return reclamation


@pytest.mark.django_db
def test_the_sweep_sends_the_one_survey_reminder_after_the_days_set(surveyed, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    assert _sweep(capture, T0 + timedelta(days=7, minutes=-1)).survey_reminders == 0

    report = _sweep(capture, T0 + timedelta(days=7))

    assert report.survey_reminders == 1
    assert _reminders(surveyed) == ["survey"]
    event = Event.objects.get(reclamation=surveyed, kind=EventKind.REMINDER)
    reminder = Email.objects.get(pk=event.data["email"])
    assert reminder.to == ["claire.dupont@example.org"] and reminder.status == STATUS.sent
    assert _sweep(capture, T0 + timedelta(days=8)).survey_reminders == 0


@pytest.mark.django_db
def test_the_sweep_closes_a_record_whose_survey_ran_out(surveyed, django_capture_on_commit_callbacks):
    report = _sweep(django_capture_on_commit_callbacks, T0 + timedelta(days=30, minutes=1))

    assert report.surveys_closed == 1
    surveyed.refresh_from_db()
    assert surveyed.state == Step.CLOSED and surveyed.feedback_no_answer


# --- Improvement plan (services.improvement's reminders, run by the sweep) ----------------------
@pytest.fixture
def improvement_plan(handler, quality_lead):
    """Two actions of the plan: one due on Thursday 12 March 2026 (owner: the handler), one done
    whose effectiveness check is planned the same day (owner: the quality lead)."""
    with time_machine.travel(T0, tick=False):
        due = services.improvement_create(
            actor=quality_lead, origin="audit", title="Former l'accueil à l'écoute active",
            description="Une demi-journée de formation pour l'équipe d'accueil.", owner=handler,
            due_date=date(2026, 3, 12))
        check = services.improvement_create(
            actor=quality_lead, origin="survey", title="Réponses plus claires",
            description="Un modèle de réponse argumentée en trois parties.", owner=quality_lead,
            status="done", done_at=date(2026, 3, 2), check_planned_on=date(2026, 3, 12))
    return due, check


def _plan_mails() -> list[tuple[str, str]]:
    return sorted((m.subject, m.to[0]) for m in mail.outbox)


@pytest.mark.django_db
def test_the_sweep_reminds_a_due_improvement_action_and_a_due_effectiveness_check_once(
    improvement_plan, handler, quality_lead, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    due, check = improvement_plan
    assert _sweep(capture, datetime(2026, 3, 11, 22, 30, tzinfo=UTC)).improvement_reminders == 0  # 23:30 the day before
    assert mail.outbox == []

    report = _sweep(capture, datetime(2026, 3, 11, 23, 30, tzinfo=UTC))  # 00:30 on the 12th in Paris

    assert report.improvement_reminders == 2 and report.errors == 0
    assert _plan_mails() == [
        ("Action d'amélioration à réaliser : Former l'accueil à l'écoute active", handler.email),
        ("Action d'amélioration à réaliser : Former l'accueil à l'écoute active", quality_lead.email),
        ("Efficacité à vérifier : Réponses plus claires", quality_lead.email),
    ]
    to_do = next(m for m in mail.outbox if m.to == [handler.email])
    assert "est à réaliser pour aujourd'hui, 12 mars 2026" in to_do.body
    assert f"/backoffice/qualite/plan/{due.pk}/" in to_do.body
    checking = next(m for m in mail.outbox if m.subject.startswith("Efficacité"))
    assert "La vérification de son efficacité était prévue le 12 mars 2026" in checking.body
    assert f"/backoffice/qualite/plan/{check.pk}/" in checking.body

    # Once only: later sweeps, the same day or days after, send nothing more.
    assert _sweep(capture, datetime(2026, 3, 12, 15, 0, tzinfo=UTC)).improvement_reminders == 0
    assert _sweep(capture, datetime(2026, 3, 16, 8, 0, tzinfo=UTC)).improvement_reminders == 0
    assert len(mail.outbox) == 3
    reminders = Event.objects.filter(kind=EventKind.REMINDER).order_by("sequence")
    assert [e.data["reminder"] for e in reminders] == ["improvement_due", "improvement_check"]


@pytest.mark.django_db
def test_the_command_counts_the_improvement_reminders_it_sent(improvement_plan):
    out, again = StringIO(), StringIO()
    with time_machine.travel(datetime(2026, 3, 12, 7, 0, tzinfo=UTC), tick=False):
        call_command("sla_sweep", "--send-now", stdout=out)
        call_command("sla_sweep", "--send-now", stdout=again)

    text = out.getvalue()
    assert "Rappels du plan d'amélioration continue : 2" in text
    assert "Courriels : 3 envoyé(s), 0 à réessayer, 0 en échec." in text
    assert ("Passage terminé : 0 alerte(s) de délai, 0 rappel(s) d'action, 0 relance(s) d'enquête, "
            "0 enquête(s) close(s), 2 rappel(s) du plan d'amélioration.") in text
    assert "Rappels du plan d'amélioration continue : 0" in again.getvalue()
    assert "0 rappel(s) du plan d'amélioration." in again.getvalue()
    assert "Courriels : 0 envoyé(s)" in again.getvalue()
    assert len(mail.outbox) == 3


# --- The command, the beat schedule, no countdown in the broker ---------------------------------
@pytest.mark.django_db
def test_the_command_runs_one_sweep_and_says_what_it_did(record):
    out = StringIO()
    with time_machine.travel(at(50), tick=False):
        call_command("sla_sweep", "--send-now", stdout=out)
        again = StringIO()
        call_command("sla_sweep", stdout=again)

    text = out.getvalue()
    assert "Alertes de délai : 1" in text
    assert f"  - {record.reference} : accusé de réception en retard" in text
    assert "Relances de l'enquête de satisfaction : 0" in text
    assert "Courriels : 2 envoyé(s), 0 à réessayer, 0 en échec." in text
    assert ("Passage terminé : 1 alerte(s) de délai, 0 rappel(s) d'action, 0 relance(s) d'enquête, "
            "0 enquête(s) close(s), 0 rappel(s) du plan d'amélioration.") in text
    assert "Alertes de délai : 0" in again.getvalue()
    assert len(mail.outbox) == 2


def test_beat_runs_the_sweep_and_the_outbox_re_queue_periodically():
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert schedule["sla-sweep"]["task"] == "reclamations.tasks.sla_sweep"
    assert schedule["sla-sweep"]["schedule"] == float(django_settings.SLA_SWEEP_SECONDS) == 300.0
    assert schedule["outbox"]["task"] == "reclamations.tasks.requeue_outbox"


@pytest.mark.django_db
def test_no_countdown_or_eta_is_ever_put_in_the_broker(monkeypatch, django_capture_on_commit_callbacks):
    published: list[dict] = []
    real_apply_async = Task.apply_async

    def spy(self, args=None, kwargs=None, **options):
        published.append({"task": self.name, **options})
        return real_apply_async(self, args, kwargs, **options)

    monkeypatch.setattr(Task, "apply_async", spy)
    UserFactory(role="quality_lead", username="qualite")
    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.reclamation_submit_contact(kind="complaint", subject="Convocation tardive",
                                            description="Reçue la veille.", complainant_email="c@example.org",
                                            consent=True)
    _sweep(django_capture_on_commit_callbacks, at(50))
    with time_machine.travel(at(51), tick=False):
        tasks.sla_sweep.delay()
        tasks.requeue_outbox.delay()

    assert {p["task"] for p in published} >= {"reclamations.tasks.send_outbox", "reclamations.tasks.sla_sweep"}
    assert all("countdown" not in p and "eta" not in p for p in published)
