"""The figures of a period: counts, shares within the delay, medians, decisions, compensation, satisfaction."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from reclamations import services
from reclamations.models import Reclamation
from reclamations.statistics import (
    PARIS,
    DelayOutcome,
    Period,
    ack_outcome,
    answer_outcome,
    compute_figures,
    received_in,
)
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, ServiceFactory, advance

pytestmark = pytest.mark.django_db


def _at(days_ago: float) -> datetime:
    return timezone.now() - timedelta(days=days_ago)


def _period() -> Period:
    return Period.last_twelve_months()


def _answered(reclamation: Reclamation, actor, *, sent_at: datetime, decision: str = "favourable", **answer):
    """Bring a record to step 6 and send its argued answer at ``sent_at``, acknowledged an hour
    before (an answer never precedes the acknowledgement)."""
    services.reclamation_record_acknowledgement(
        reclamation=reclamation, actor=None, sent_at=max(reclamation.received_at, sent_at - timedelta(hours=1)))
    reclamation = advance(reclamation, Step.ACTION, actor)
    for action in reclamation.actions.all():
        services.reclamation_update_action(action=action, actor=actor, changes={"status": "done"})
    services.reclamation_update(reclamation=reclamation, actor=actor, changes={
        "decision": decision, "answer": "Réponse argumentée.", **answer})
    return services.reclamation_send_answer(reclamation=reclamation, actor=actor, sent_at=sent_at)


def test_it_counts_records_by_kind_channel_service_and_stakeholder():
    formation, facturation = ServiceFactory(name="Formation"), ServiceFactory(name="Facturation")
    ReclamationFactory(received_at=_at(10), service=formation)
    ReclamationFactory(received_at=_at(9), service=formation, channel="email", stakeholder_type="company")
    ReclamationFactory(received_at=_at(8), kind="incident", channel="in_person", stakeholder_type="",
                       service=facturation, complainant_name="", complainant_email="", complainant_phone="")

    figures = compute_figures(period=_period())

    assert figures.total == 3
    assert {b.key: b.count for b in figures.by_kind} == {"complaint": 2, "difficulty": 0, "incident": 1}
    assert {b.key: b.count for b in figures.by_channel}["web_form"] == 1
    assert {b.key: b.count for b in figures.by_channel}["email"] == 1
    assert [(b.label, b.count) for b in figures.by_service] == [("Formation", 2), ("Facturation", 1)]
    stakeholders = {b.label: b.count for b in figures.by_stakeholder}
    assert stakeholders["Bénéficiaire / stagiaire"] == 1
    assert stakeholders["Entreprise / employeur"] == 1
    assert stakeholders["Non renseigné"] == 1
    assert [b.count for b in figures.by_status] == [3, 0, 0]


def test_it_counts_by_month_every_month_of_the_period_zeros_included():
    ReclamationFactory(received_at=datetime(2026, 1, 31, 23, 30, tzinfo=PARIS))
    ReclamationFactory(received_at=datetime(2026, 3, 1, 0, 30, tzinfo=PARIS))

    with_travel = compute_figures(period=Period(date(2026, 1, 1), date(2026, 3, 31)))

    assert [(b.key, b.count) for b in with_travel.by_month] == [("2026-01", 1), ("2026-02", 0), ("2026-03", 1)]
    assert [b.label for b in with_travel.by_month] == ["janv. 2026", "févr. 2026", "mars 2026"]


def test_it_takes_records_received_in_the_period_by_paris_days_only():
    inside_first = ReclamationFactory(received_at=datetime(2026, 2, 1, 0, 5, tzinfo=PARIS))
    inside_last = ReclamationFactory(received_at=datetime(2026, 2, 28, 23, 55, tzinfo=PARIS))
    ReclamationFactory(received_at=datetime(2026, 1, 31, 23, 55, tzinfo=PARIS))
    ReclamationFactory(received_at=datetime(2026, 3, 1, 0, 5, tzinfo=PARIS))

    period = Period(date(2026, 2, 1), date(2026, 2, 28))

    assert set(received_in(period)) == {inside_first, inside_last}
    assert compute_figures(period=period).total == 2


def test_it_shares_acknowledgements_within_the_delay_and_counts_the_late_and_pending_apart(handler):
    on_time = ReclamationFactory(received_at=_at(10))
    services.reclamation_record_acknowledgement(reclamation=on_time, actor=None, sent_at=_at(9.5))
    late_sent = ReclamationFactory(received_at=_at(10))
    services.reclamation_record_acknowledgement(reclamation=late_sent, actor=None, sent_at=_at(5))
    ReclamationFactory(received_at=_at(10))  # never acknowledged, due 8 days ago: late
    ReclamationFactory(received_at=_at(0.5))  # not yet due: pending
    declared = ReclamationFactory(received_at=_at(10), kind="incident")
    services.reclamation_mark_not_applicable(reclamation=declared, actor=handler, step=Step.RECEIVED,
                                             reason="Aléa constaté en interne.")
    spam = ReclamationFactory(received_at=_at(10))
    services.reclamation_discard(reclamation=spam, actor=handler, reason="Spam.")

    share = compute_figures(period=_period()).acknowledged

    assert (share.on_time, share.late, share.pending, share.not_applicable) == (1, 2, 1, 2)
    assert share.measured == 3
    assert share.percent == pytest.approx(100 / 3)


def test_it_shares_answers_within_the_delay(handler):
    _answered(ReclamationFactory(received_at=_at(10)), handler, sent_at=_at(9.5))
    _answered(ReclamationFactory(received_at=_at(10)), handler, sent_at=_at(6))

    share = compute_figures(period=_period()).answered

    assert (share.on_time, share.late, share.pending) == (1, 1, 0)
    assert share.percent == 50


def test_the_register_outcome_of_each_record_agrees_with_the_aggregate_shares(handler):
    records = [ReclamationFactory(received_at=_at(10)) for _ in range(3)] + [ReclamationFactory(received_at=_at(1))]
    services.reclamation_record_acknowledgement(reclamation=records[0], actor=None, sent_at=_at(9.9))
    services.reclamation_record_acknowledgement(reclamation=records[1], actor=None, sent_at=_at(2))
    now = timezone.now()

    figures = compute_figures(period=_period(), now=now)
    outcomes = [ack_outcome(r, now) for r in Reclamation.objects.all()]

    assert outcomes.count(DelayOutcome.ON_TIME) == figures.acknowledged.on_time == 1
    assert outcomes.count(DelayOutcome.LATE) == figures.acknowledged.late == 2
    assert outcomes.count(DelayOutcome.PENDING) == figures.acknowledged.pending == 1
    answers = [answer_outcome(r, now) for r in Reclamation.objects.all()]
    assert answers.count(DelayOutcome.LATE) == figures.answered.late == 3


def test_it_gives_median_times_in_calendar_hours(handler):
    for hours in (1, 2, 4, 30):
        record = ReclamationFactory(received_at=_at(10))
        services.reclamation_record_acknowledgement(reclamation=record, actor=None,
                                                    sent_at=record.received_at + timedelta(hours=hours))
    answered = ReclamationFactory(received_at=_at(10))
    _answered(answered, handler, sent_at=answered.received_at + timedelta(hours=36))

    figures = compute_figures(period=_period())

    # The fifth record is acknowledged an hour before its answer, 35 h after reception.
    assert figures.median_ack_hours == pytest.approx(4, abs=0.01)
    assert figures.median_answer_hours == pytest.approx(36, abs=0.01)


def test_it_has_no_median_and_no_share_without_records():
    figures = compute_figures(period=_period())

    assert figures.empty
    assert figures.median_ack_hours is None and figures.median_answer_hours is None
    assert figures.acknowledged.percent is None
    assert all(b.count == 0 for b in figures.by_month)
    assert len(figures.by_month) in (12, 13)


def test_it_counts_decisions_compensation_and_satisfaction(handler):
    _answered(ReclamationFactory(received_at=_at(20)), handler, sent_at=_at(19.5), decision="favourable",
              compensation_type="credit_note", compensation_amount=Decimal("240.00"))
    _answered(ReclamationFactory(received_at=_at(20)), handler, sent_at=_at(19.5), decision="partial",
              compensation_type="apology")
    _answered(ReclamationFactory(received_at=_at(20)), handler, sent_at=_at(19.5), decision="unfavourable")
    satisfied = advance(ReclamationFactory(received_at=_at(20)), Step.CLOSED, handler)  # satisfaction 4

    figures = compute_figures(period=_period())

    assert {b.key: b.count for b in figures.decisions} == {"favourable": 2, "partial": 1, "unfavourable": 1}
    assert figures.compensation.records == 3  # fill_step's answer offers an extra service
    assert {b.key: b.count for b in figures.compensation.by_type}["credit_note"] == 1
    assert figures.compensation.total_amount == Decimal("240.00")
    assert figures.satisfaction.answers == 1
    assert figures.satisfaction.average == 4
    assert [b.count for b in figures.satisfaction.distribution] == [0, 0, 0, 1, 0]
    assert satisfied.root_cause_category is not None
    assert [(b.label, b.count) for b in figures.by_root_cause] == [(satisfied.root_cause_category.name, 1)]


def test_it_costs_the_same_queries_for_one_record_or_many(django_assert_num_queries, handler):
    ReclamationFactory(received_at=_at(3))
    period = _period()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        compute_figures(period=period)
    for days in range(4, 12):
        ReclamationFactory(received_at=_at(days), service=ServiceFactory())

    with django_assert_num_queries(len(one.captured_queries)):
        compute_figures(period=period)


def test_the_default_period_is_the_last_twelve_months():
    assert Period.last_twelve_months(date(2026, 5, 14)) == Period(date(2025, 5, 15), date(2026, 5, 14))
    assert Period.last_twelve_months(date(2028, 2, 29)) == Period(date(2027, 3, 1), date(2028, 2, 29))
    with pytest.raises(ValueError):
        Period(date(2026, 2, 1), date(2026, 1, 31))
