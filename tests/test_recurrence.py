"""Recurrence: the same root cause or the same service coming back within the configured window is
flagged, with the records it concerns; older groups, discarded records and far-apart ones are not."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from reclamations import analysis, services
from reclamations.models import Organisation
from reclamations.statistics import Period
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, RootCauseCategoryFactory, ServiceFactory, UserFactory, advance

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)
YEAR_2026 = Period(start=date(2026, 1, 1), end=date(2026, 12, 31))


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _record(day: date, *, cause=None, service=None, actor=None):
    kwargs = {"service": service} if service is not None else {}
    reclamation = ReclamationFactory(received_at=datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC), **kwargs)
    if cause is not None:
        # The root cause is recorded at step 8 (Conclusion): the record is driven there first.
        actor = actor or UserFactory(role="handler", username="gestionnaire-causes")
        reclamation = advance(reclamation, Step.CONCLUSION, actor)
        services.reclamation_update(reclamation=reclamation, actor=actor, changes={"root_cause_category": cause})
        reclamation.refresh_from_db()
    return reclamation


def _flags(period: Period = YEAR_2026, **kwargs):
    return [(f.dimension, f.label, [r.reference for r in f.records]) for f in analysis.recurrences(period, **kwargs)]


def test_the_same_root_cause_within_the_window_is_flagged_with_its_records():
    late_mail = RootCauseCategoryFactory(name="Convocation tardive")
    other = RootCauseCategoryFactory(name="Formateur absent")
    first = _record(date(2026, 2, 1), cause=late_mail, service=ServiceFactory(name="Inter"))
    second = _record(date(2026, 6, 15), cause=late_mail, service=ServiceFactory(name="Intra"))
    _record(date(2026, 3, 1), cause=other, service=ServiceFactory(name="Conseil"))

    (flag,) = analysis.recurrences(YEAR_2026)

    assert (flag.dimension, flag.dimension_label, flag.label) == ("root_cause", "Cause racine", "Convocation tardive")
    assert [r.reference for r in flag.records] == [first.reference, second.reference]
    assert flag.records[1].url == f"/backoffice/reclamations/{second.pk}/"
    assert flag.span_days == 134 and flag.window_days == 180


def test_records_further_apart_than_the_window_are_not_a_recurrence():
    cause = RootCauseCategoryFactory(name="Salle indisponible")
    _record(date(2026, 1, 5), cause=cause, service=ServiceFactory(name="A"))
    _record(date(2026, 8, 1), cause=cause, service=ServiceFactory(name="B"))  # 208 days later

    assert _flags() == []
    assert _flags(window=210) == [("root_cause", "Salle indisponible", [
        r.reference for r in analysis.recurrences(YEAR_2026, window=210)[0].records])]


def test_the_window_is_the_quality_leads_setting():
    organisation = Organisation.current()
    organisation.recurrence_window_days = 30
    organisation.save()
    cause = RootCauseCategoryFactory(name="Salle indisponible")
    _record(date(2026, 3, 1), cause=cause, service=ServiceFactory(name="A"))
    _record(date(2026, 4, 15), cause=cause, service=ServiceFactory(name="B"))

    assert _flags() == []


def test_a_cause_that_keeps_coming_back_forms_one_chain():
    cause = RootCauseCategoryFactory(name="Convocation tardive")
    records = [_record(date(2026, 1, 10) + timedelta(days=150 * i), cause=cause, service=ServiceFactory(name=f"S{i}"))
               for i in range(3)]

    assert _flags() == [("root_cause", "Convocation tardive", [r.reference for r in records])]


def test_the_same_service_is_flagged_too():
    service = ServiceFactory(name="Formation SST")
    first = _record(date(2026, 5, 1), service=service)
    second = _record(date(2026, 5, 20), service=service)

    assert _flags() == [("service", "Formation SST", [first.reference, second.reference])]


def test_an_earlier_occurrence_counts_but_a_group_wholly_before_the_period_does_not():
    cause = RootCauseCategoryFactory(name="Convocation tardive")
    old = _record(date(2025, 11, 20), cause=cause, service=ServiceFactory(name="A"))
    new = _record(date(2026, 1, 10), cause=cause, service=ServiceFactory(name="B"))
    other = RootCauseCategoryFactory(name="Formateur absent")
    _record(date(2025, 9, 1), cause=other, service=ServiceFactory(name="C"))
    _record(date(2025, 10, 1), cause=other, service=ServiceFactory(name="D"))

    (flag,) = analysis.recurrences(YEAR_2026)

    assert [(r.reference, r.in_period) for r in flag.records] == [(old.reference, False), (new.reference, True)]


def test_discarded_records_never_make_a_recurrence(handler):
    service = ServiceFactory(name="Formation SST")
    _record(date(2026, 5, 1), service=service)
    spam = _record(date(2026, 5, 2), service=service)
    services.reclamation_discard(reclamation=spam, actor=handler, reason="Doublon.")

    assert _flags() == []


def test_a_record_lists_its_recurrences_before_and_after_it():
    cause = RootCauseCategoryFactory(name="Convocation tardive")
    before = _record(date(2026, 3, 1), cause=cause, service=ServiceFactory(name="A"))
    record = _record(date(2026, 5, 1), cause=cause, service=ServiceFactory(name="B"))
    after = _record(date(2026, 7, 1), cause=cause, service=ServiceFactory(name="C"))
    _record(date(2025, 1, 1), cause=cause, service=ServiceFactory(name="D"))  # too far

    found = analysis.recurrences_for_record(record)

    assert [r.reference for r in found["root_cause"]] == [before.reference, after.reference]
    assert found["service"] == []
