"""Deadlines as stored on each record when it is received: business hours across weekends and
French public holidays (Alsace-Moselle included), outside opening hours, calendar mode; the
correction of the reception date; the SQL filters and the time left shown in the same clock.

The clock itself is tested in test_sla_clock.py. Here the opening hours are Monday to Friday,
09:00–17:00 (8 business hours a day), so 48 business hours are six working days and the 75 %
"at risk" threshold is 36 hours: four and a half working days.
"""
from __future__ import annotations

import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.template import Context, Template

from reclamations import services
from reclamations.models import Event, EventKind, OpeningHours, Organisation, Reclamation
from reclamations.sla import SlaStatus
from tests.factories import ReclamationFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def business(db):
    organisation = Organisation.current()
    organisation.clock_mode = "business"
    organisation.ack_delay_hours = organisation.answer_delay_hours = 48
    organisation.save()
    for weekday in range(5):
        OpeningHours.objects.create(weekday=weekday, opens_at=time(9), closes_at=time(17))
    return organisation


def received(when: datetime, **fields) -> Reclamation:
    """A record received (and registered) at ``when``."""
    with time_machine.travel(when, tick=False):
        return ReclamationFactory(**fields)


def test_a_record_received_on_friday_evening_is_due_after_the_weekend(business):
    r = received(paris(2026, 2, 6, 18, 0))  # Friday, after closing: counting starts Monday 09:00

    assert r.ack_due_at == r.answer_due_at == paris(2026, 2, 16, 17, 0)  # Mon 9 … Mon 16
    assert r.ack_risk_at == r.answer_risk_at == paris(2026, 2, 13, 13, 0)  # 36 h: Friday 13 at 13:00
    stored = Reclamation.objects.get(pk=r.pk)
    assert (stored.ack_due_at, stored.ack_risk_at) == (r.ack_due_at, r.ack_risk_at)
    created = Event.objects.get(reclamation=r, kind=EventKind.CREATED)
    assert created.data["ack_due_at"] == "2026-02-16T16:00:00Z"


def test_a_record_received_before_opening_counts_from_the_opening(business):
    r = received(paris(2026, 3, 10, 7, 30))  # Tuesday, 07:30

    assert r.ack_due_at == paris(2026, 3, 17, 17, 0)
    assert r.ack_risk_at == paris(2026, 3, 16, 13, 0)


def test_a_record_received_on_a_saturday_counts_from_monday(business):
    r = received(paris(2026, 3, 14, 11, 0))

    assert r.ack_due_at == paris(2026, 3, 23, 17, 0)  # Mon 16 … Mon 23


def test_easter_monday_is_not_counted(business):
    r = received(paris(2026, 4, 2, 17, 0))  # Thursday at closing time; Easter Monday is 6 April

    assert r.ack_due_at == paris(2026, 4, 13, 17, 0)  # Fri 3, Tue 7 … Fri 10, Mon 13


def test_good_friday_and_easter_monday_are_not_counted_in_alsace_moselle(business):
    business.alsace_moselle = True
    business.save()

    r = received(paris(2026, 4, 2, 17, 0))

    assert r.ack_due_at == paris(2026, 4, 14, 17, 0)  # Tue 7 … Fri 10, Mon 13, Tue 14


def test_the_14th_of_july_is_not_counted(business):
    r = received(paris(2026, 7, 13, 17, 0))  # Monday at closing time; Tuesday 14 July is off

    assert r.ack_due_at == paris(2026, 7, 22, 17, 0)  # Wed 15 … Wed 22


def test_christmas_and_new_year_are_not_counted(business):
    r = received(paris(2025, 12, 24, 9, 0))  # Wednesday

    assert r.ack_due_at == paris(2026, 1, 2, 17, 0)  # 24, 26, 29, 30, 31 Dec, 2 Jan


def test_the_26th_of_december_is_not_counted_in_alsace_moselle(business):
    business.alsace_moselle = True
    business.save()

    r = received(paris(2025, 12, 24, 9, 0))

    assert r.ack_due_at == paris(2026, 1, 5, 17, 0)  # 24, 29, 30, 31 Dec, 2 and 5 Jan


def test_calendar_mode_counts_every_hour(db):
    organisation = Organisation.current()
    organisation.clock_mode = "calendar"
    organisation.save()

    r = received(paris(2026, 2, 6, 18, 0))

    assert r.ack_due_at == paris(2026, 2, 8, 18, 0)
    assert r.ack_risk_at == paris(2026, 2, 8, 6, 0)


def test_each_delay_has_its_own_length_and_threshold(business):
    business.ack_delay_hours, business.answer_delay_hours, business.at_risk_percent = 8, 16, 50
    business.save()

    r = received(paris(2026, 3, 10, 9, 0))

    assert (r.ack_risk_at, r.ack_due_at) == (paris(2026, 3, 10, 13, 0), paris(2026, 3, 10, 17, 0))
    assert (r.answer_risk_at, r.answer_due_at) == (paris(2026, 3, 10, 17, 0), paris(2026, 3, 11, 17, 0))


def test_a_later_change_of_settings_does_not_move_stored_deadlines(business):
    r = received(paris(2026, 3, 10, 9, 0))
    business.clock_mode = "calendar"
    business.save()

    r.refresh_from_db()
    assert r.ack_due_at == paris(2026, 3, 17, 17, 0)


# --- Correcting the reception date ---------------------------------------------------------------
def test_correcting_the_reception_date_recomputes_the_deadlines_and_logs_it(business, handler):
    with time_machine.travel(paris(2026, 3, 13, 10, 0), tick=False):
        r = ReclamationFactory(channel="letter", received_at=paris(2026, 3, 12, 9, 0))
        assert r.ack_due_at == paris(2026, 3, 19, 17, 0)

        r = services.reclamation_correct_received_at(
            reclamation=r, actor=handler, received_at=paris(2026, 3, 9, 9, 0),
            reason="Le cachet de la poste fait foi : lettre reçue le lundi.")

    stored = Reclamation.objects.get(pk=r.pk)
    assert stored.received_at == paris(2026, 3, 9, 9, 0)
    assert stored.ack_due_at == stored.answer_due_at == paris(2026, 3, 16, 17, 0)
    assert stored.ack_risk_at == paris(2026, 3, 13, 13, 0)
    event = Event.objects.get(reclamation=r, kind=EventKind.DEADLINES_RECOMPUTED)
    assert event.actor == handler
    assert event.summary == "Date de réception corrigée : Le cachet de la poste fait foi : lettre reçue le lundi."
    assert event.data["before"]["ack_due_at"] == "2026-03-19T16:00:00Z"
    assert event.data["after"]["ack_due_at"] == "2026-03-16T16:00:00Z"


def test_an_alert_whose_threshold_the_correction_moves_later_can_fire_again(business, handler):
    from reclamations import sweep

    with time_machine.travel(paris(2026, 3, 18, 10, 0), tick=False):
        r = ReclamationFactory(channel="letter", received_at=paris(2026, 3, 12, 9, 0), actor=handler)
        services.reclamation_assign(reclamation=r, actor=handler, handler=handler)
        sweep.run()  # 34 business hours used: nothing yet; the letter really arrived later
        assert Reclamation.objects.get(pk=r.pk).ack_risk_alert_at is None
    with time_machine.travel(paris(2026, 3, 18, 16, 0), tick=False):
        sweep.run()  # 40 h used: at risk
        assert Reclamation.objects.get(pk=r.pk).ack_risk_alert_at is not None
        services.reclamation_correct_received_at(reclamation=r, actor=handler, received_at=paris(2026, 3, 17, 9, 0),
                                                 reason="Lettre reçue le mardi 17, enregistrée par erreur le 12.")
        assert Reclamation.objects.get(pk=r.pk).ack_risk_alert_at is None
    with time_machine.travel(paris(2026, 3, 23, 14, 0), tick=False):  # 37 h after the corrected date
        sweep.run()
    alerts = [e.data["alert"] for e in Event.objects.filter(reclamation=r, kind=EventKind.SLA_ALERT)]
    # Both delays are 48 h: acknowledgement and answer at risk, before and again after the correction.
    assert sorted(alerts) == sorted(alerts[:2] * 2)
    assert len(alerts) == 4 and len(set(alerts)) == 2


def test_a_correction_needs_a_reason_and_a_past_date(business, handler):
    with time_machine.travel(paris(2026, 3, 13, 10, 0), tick=False):
        r = ReclamationFactory()
        with pytest.raises(services.WorkflowError, match="Indiquez le motif"):
            services.reclamation_correct_received_at(reclamation=r, actor=handler,
                                                     received_at=paris(2026, 3, 12, 9, 0), reason=" ")
        with pytest.raises(services.WorkflowError, match="dans le futur"):
            services.reclamation_correct_received_at(reclamation=r, actor=handler,
                                                     received_at=paris(2026, 3, 14, 9, 0), reason="Erreur")

    assert not Event.objects.filter(reclamation=r, kind=EventKind.DEADLINES_RECOMPUTED).exists()


# --- Status, filters, time left ------------------------------------------------------------------
def test_the_sql_filters_follow_the_stored_thresholds(business, handler):
    r = received(paris(2026, 3, 10, 9, 0))  # risk Mon 16 at 13:00, due Tue 17 at 17:00
    objects = Reclamation.objects

    before = paris(2026, 3, 16, 12, 59)
    assert not objects.ack_at_risk(before).exists() and not objects.at_risk(before).exists()
    assert r.ack_status(before) == SlaStatus.ON_TIME

    risk = paris(2026, 3, 16, 13, 0)
    assert list(objects.ack_at_risk(risk)) == list(objects.answer_at_risk(risk)) == [r]
    assert list(objects.at_risk(risk)) == [r] and not objects.late(risk).exists()
    assert r.ack_status(risk) == SlaStatus.AT_RISK

    due = paris(2026, 3, 17, 17, 0)
    assert list(objects.ack_late(due)) == list(objects.answer_late(due)) == [r]
    assert list(objects.late(due)) == [r] and not objects.at_risk(due).exists()
    assert r.answer_status(due) == SlaStatus.LATE

    with time_machine.travel(paris(2026, 3, 11, 9, 0), tick=False):
        services.reclamation_record_acknowledgement(reclamation=r, actor=handler)
    assert not objects.ack_late(due).exists()
    assert list(objects.answer_late(due)) == [r]
    assert Reclamation.objects.get(pk=r.pk).ack_status(due) == SlaStatus.DONE


def test_a_discarded_record_is_never_late(business, handler):
    r = received(paris(2026, 3, 10, 9, 0))
    with time_machine.travel(paris(2026, 3, 10, 10, 0), tick=False):
        services.reclamation_discard(reclamation=r, actor=handler, reason="Démarchage commercial.")

    assert not Reclamation.objects.late(paris(2026, 4, 1)).exists()


def test_the_time_left_is_counted_in_the_configured_clock(business):
    r = received(paris(2026, 2, 6, 16, 0))  # Friday 16:00: one hour left today, then Monday
    template = Template('{% load sla_tags %}{% time_left reclamation.ack_risk_at %}|{% sla_badge reclamation "ack" %}')

    with time_machine.travel(paris(2026, 2, 6, 16, 30), tick=False):
        html = template.render(Context({"reclamation": r}))

    # 36 business hours from Friday 16:00 end on Friday 13 February at 12:00; half an hour is used.
    assert r.ack_risk_at == paris(2026, 2, 13, 12, 0)
    assert html.startswith("reste 1 j 11 h|")  # 35.5 business hours, not 6 calendar days
    assert "Dans les délais" in html


def test_the_time_left_over_a_weekend_counts_no_weekend_hours(business):
    r = received(paris(2026, 2, 6, 16, 0))
    with time_machine.travel(paris(2026, 2, 13, 16, 0), tick=False):  # the next Friday, 16:00
        html = Template('{% load sla_tags %}{% time_left due %}').render(Context({"due": r.ack_due_at}))

    assert r.ack_due_at == paris(2026, 2, 16, 16, 0)
    assert html == "reste 8 h"  # Friday 16–17 and Monday 9–16, not the 72 calendar hours


# --- The badge on the back-office list -----------------------------------------------------------
def _row(page: str, reference: str) -> str:
    """One row of the list, tags kept, spaces collapsed."""
    row = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*>{reference}</a>.*?</tr>", page, re.S)
    return " ".join(row.group(0).split())


def test_the_list_badges_give_the_due_time_in_paris_and_the_time_left_or_when_it_was_done(login, handler):
    organisation = Organisation.current()  # calendar hours: 48 real hours, whatever the clock change
    organisation.ack_delay_hours, organisation.answer_delay_hours = 48, 96
    organisation.save()
    # Received on Saturday 28 March 2026 (winter time); France goes to summer time on Sunday 29.
    done = received(paris(2026, 3, 28, 11, 0))  # due Monday 30 at 12:00 (summer time)
    with time_machine.travel(paris(2026, 3, 28, 11, 30), tick=False):
        services.reclamation_record_acknowledgement(reclamation=done, actor=handler)
    late = received(paris(2026, 3, 28, 8, 0))  # due Monday 30 at 09:00, never acknowledged

    with time_machine.travel(paris(2026, 3, 30, 15, 20), tick=False):
        client = login(handler)
        page = client.get("/backoffice/reclamations/").content.decode()
        record_page = " ".join(client.get(f"/backoffice/reclamations/{done.pk}/").content.decode().split())

    # One deadline a row: the answer's once the acknowledgement is sent, the acknowledgement's before.
    row = _row(page, done.reference)
    assert 'title="Réponse : échéance le 01/04/2026 12:00"' in row
    assert "Dans les délais" in row and "reste 1 j 20 h" in row
    row = _row(page, late.reference)
    assert 'title="Accusé de réception : échéance le 30/03/2026 09:00"' in row
    assert "En retard" in row and "en retard de 6 h 20" in row
    # The record page keeps both: the acknowledgement done on time, and when.
    assert "Fait dans les délais" in record_page and "le 28/03/2026 11:30" in record_page
