"""The delay clock: calendar and business hours, French holidays, DST, deadlines and labels.

Expected instants are worked out by hand in Europe/Paris local time. The default opening hours
are Monday–Friday 09:00–12:30 and 13:30–17:30, i.e. 7.5 business hours a day.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from reclamations.models import OpeningHours, Organisation
from reclamations.sla import DEFAULT_OPENING, Clock, compute_deadlines, format_hours_left, used_share

PARIS = ZoneInfo("Europe/Paris")


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


CALENDAR = Clock("calendar", {})
BUSINESS = Clock("business", DEFAULT_OPENING)
BUSINESS_ALSACE = Clock("business", DEFAULT_OPENING, alsace_moselle=True)


# -- calendar mode ------------------------------------------------------------------------------


def test_it_counts_48_calendar_hours_as_two_days():
    due = CALENDAR.add_hours(paris(2026, 2, 3, 10, 15), 48)  # Tuesday

    assert due == paris(2026, 2, 5, 10, 15)
    assert due.tzinfo is UTC


def test_it_counts_real_hours_across_the_spring_dst_change_in_calendar_mode():
    # Clocks go forward on Sunday 29 March 2026: 48 real hours after Saturday 10:00 CET
    # (09:00 UTC) is Monday 09:00 UTC, which is 11:00 CEST.
    due = CALENDAR.add_hours(paris(2026, 3, 28, 10), 48)

    assert due == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    assert due.astimezone(PARIS).hour == 11


def test_it_counts_real_hours_across_the_autumn_dst_change_in_calendar_mode():
    # Clocks go back on Sunday 25 October 2026: Saturday 10:00 CEST + 48 h = Monday 09:00 CET.
    assert CALENDAR.add_hours(paris(2026, 10, 24, 10), 48) == paris(2026, 10, 26, 9)


def test_it_measures_calendar_hours_between_across_dst():
    # Saturday 10:00 to Monday 10:00 local spans the lost hour of 29 March 2026.
    assert CALENDAR.hours_between(paris(2026, 3, 28, 10), paris(2026, 3, 30, 10)) == 47
    assert CALENDAR.hours_between(paris(2026, 3, 30, 10), paris(2026, 3, 28, 10)) == -47


def test_it_ignores_weekends_and_holidays_in_calendar_mode():
    # 14 July 2026 is a Tuesday; calendar hours run through it.
    assert CALENDAR.add_hours(paris(2026, 7, 13, 17), 24) == paris(2026, 7, 14, 17)


# -- business mode: weekends, breaks, out-of-hours receptions -------------------------------------


def test_it_skips_the_weekend_in_business_hours():
    # Friday 6 February 2026 16:00: 1.5 h until 17:30, then Monday 3.5 h in the morning and
    # 2.5 h after lunch.
    assert BUSINESS.add_hours(paris(2026, 2, 6, 16), 7.5) == paris(2026, 2, 9, 16)


def test_it_counts_48_business_hours_over_six_and_a_half_days():
    # 6 full days (Mon 2 to Mon 9 February) are 45 h; 3 h more on Tuesday ends at 12:00.
    due = BUSINESS.add_hours(paris(2026, 2, 2, 9), 48)

    assert due == paris(2026, 2, 10, 12)
    assert due.tzinfo is UTC


def test_it_pauses_for_the_lunch_break():
    # Tuesday 12:00: 30 min until 12:30, then 30 min from 13:30.
    assert BUSINESS.add_hours(paris(2026, 2, 3, 12), 1) == paris(2026, 2, 3, 14)


def test_a_reception_during_the_lunch_break_starts_at_the_afternoon_opening():
    assert BUSINESS.add_hours(paris(2026, 2, 3, 12, 45), 1) == paris(2026, 2, 3, 14, 30)


def test_a_reception_in_the_evening_starts_counting_the_next_morning():
    assert BUSINESS.add_hours(paris(2026, 2, 3, 20), 2) == paris(2026, 2, 4, 11)


def test_a_reception_on_sunday_starts_counting_on_monday_morning():
    assert BUSINESS.add_hours(paris(2026, 2, 8, 15), 2) == paris(2026, 2, 9, 11)


def test_a_count_ending_at_closing_time_ends_there_not_at_the_next_opening():
    assert BUSINESS.add_hours(paris(2026, 2, 3, 16, 30), 1) == paris(2026, 2, 3, 17, 30)


def test_it_keeps_opening_hours_in_local_time_across_the_spring_dst_change():
    # Friday 27 March 16:30 CET: 1 h until 17:30, then Monday 30 March 09:00 CEST + 1 h.
    due = BUSINESS.add_hours(paris(2026, 3, 27, 16, 30), 2)

    assert due == paris(2026, 3, 30, 10)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_an_opening_period_spanning_a_dst_change_holds_real_hours():
    night = Clock("business", {6: ((time(0, 0), time(6, 0)),)})  # Sundays 00:00–06:00

    # 29 March 2026 loses an hour (5 real hours), 25 October 2026 gains one (7 real hours).
    assert night.hours_between(paris(2026, 3, 29, 0), paris(2026, 3, 29, 6)) == 5
    assert night.hours_between(paris(2026, 10, 25, 0), paris(2026, 10, 25, 6)) == 7
    assert night.add_hours(paris(2026, 3, 29, 0), 5) == datetime(2026, 3, 29, 4, 0, tzinfo=UTC)


def test_it_can_count_business_hours_backwards():
    assert BUSINESS.add_hours(paris(2026, 2, 9, 16), -7.5) == paris(2026, 2, 6, 16)
    assert BUSINESS.add_hours(paris(2026, 2, 3, 14), -1) == paris(2026, 2, 3, 12)


def test_zero_hours_is_the_start_itself():
    assert BUSINESS.add_hours(paris(2026, 2, 8, 15), 0) == paris(2026, 2, 8, 15)


def test_it_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="fuseau horaire"):
        BUSINESS.add_hours(datetime(2026, 2, 3, 10), 1)


def test_it_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="Mode de décompte"):
        Clock("weekly", DEFAULT_OPENING)


# -- business mode: public holidays ---------------------------------------------------------------


def test_it_skips_easter_monday_2026():
    # Friday 3 April 17:00: 30 min, then the weekend and Easter Monday 6 April, then Tuesday.
    assert BUSINESS.is_holiday(date(2026, 4, 6))
    assert BUSINESS.add_hours(paris(2026, 4, 3, 17), 1) == paris(2026, 4, 7, 9, 30)


def test_good_friday_is_worked_outside_alsace_moselle():
    assert not BUSINESS.is_holiday(date(2026, 4, 3))
    assert BUSINESS.add_hours(paris(2026, 4, 2, 17), 1) == paris(2026, 4, 3, 9, 30)


def test_good_friday_is_a_holiday_in_alsace_moselle():
    assert BUSINESS_ALSACE.is_holiday(date(2026, 4, 3))
    assert BUSINESS_ALSACE.add_hours(paris(2026, 4, 2, 17), 1) == paris(2026, 4, 7, 9, 30)


def test_it_skips_14_july():
    # 14 July 2026 is a Tuesday.
    assert BUSINESS.is_holiday(date(2026, 7, 14))
    assert BUSINESS.add_hours(paris(2026, 7, 13, 17), 1) == paris(2026, 7, 15, 9, 30)


def test_it_skips_christmas_day():
    # 25 December 2026 is a Friday: Thursday 17:00 + 1 h ends on Monday 28 December.
    assert BUSINESS.is_holiday(date(2026, 12, 25))
    assert BUSINESS.add_hours(paris(2026, 12, 24, 17), 1) == paris(2026, 12, 28, 9, 30)


def test_26_december_is_a_holiday_only_in_alsace_moselle():
    # 25 December 2025 is a Thursday and 26 December a Friday.
    assert not BUSINESS.is_holiday(date(2025, 12, 26))
    assert BUSINESS_ALSACE.is_holiday(date(2025, 12, 26))
    assert BUSINESS.add_hours(paris(2025, 12, 24, 17), 1) == paris(2025, 12, 26, 9, 30)
    assert BUSINESS_ALSACE.add_hours(paris(2025, 12, 24, 17), 1) == paris(2025, 12, 29, 9, 30)


def test_an_ordinary_day_is_not_a_holiday():
    assert not BUSINESS_ALSACE.is_holiday(date(2026, 2, 3))


# -- hours_between and hours_left -----------------------------------------------------------------


def test_it_measures_business_hours_across_a_weekend():
    assert BUSINESS.hours_between(paris(2026, 2, 6, 16), paris(2026, 2, 9, 16)) == 7.5
    assert BUSINESS.hours_between(paris(2026, 2, 9, 16), paris(2026, 2, 6, 16)) == -7.5


def test_no_business_hours_pass_overnight():
    assert BUSINESS.hours_between(paris(2026, 2, 3, 20), paris(2026, 2, 4, 9)) == 0


def test_it_measures_a_holiday_week_in_business_hours():
    # Monday 13 to Friday 17 July 2026 with 14 July off: 4 days of 7.5 h.
    assert BUSINESS.hours_between(paris(2026, 7, 13, 0), paris(2026, 7, 18, 0)) == 30


# Starts inside and outside opening hours, at lunch, at closing time, on a weekend, on holidays
# and around both DST changes; delays from one minute to more than a month of business hours.
SYMMETRY_STARTS = [
    paris(2026, 2, 3, 10, 7),
    paris(2026, 2, 3, 12, 30),
    paris(2026, 2, 3, 12, 59),
    paris(2026, 2, 3, 17, 30),
    paris(2026, 2, 3, 23, 45),
    paris(2026, 2, 7, 11),
    paris(2026, 3, 27, 16, 45),
    paris(2026, 3, 29, 2, 30),
    paris(2026, 4, 3, 9, 15),
    paris(2026, 7, 14, 10),
    paris(2026, 10, 23, 17),
    paris(2025, 12, 24, 16, 10),
]
SYMMETRY_HOURS = [1 / 60, 0.5, 3.5, 7.5, 10 + 17 / 60, 48, 250]


@pytest.mark.parametrize("alsace_moselle", [False, True])
@pytest.mark.parametrize("hours", SYMMETRY_HOURS)
@pytest.mark.parametrize("start", SYMMETRY_STARTS, ids=lambda value: f"{value:%Y-%m-%d %H:%M}")
def test_hours_between_is_the_inverse_of_add_hours(start, hours, alsace_moselle):
    clock = Clock("business", DEFAULT_OPENING, alsace_moselle=alsace_moselle)

    later = clock.add_hours(start, hours)
    earlier = clock.add_hours(start, -hours)

    assert later > start > earlier
    assert clock.hours_between(start, later) == pytest.approx(hours, abs=1e-6)
    assert clock.hours_between(later, start) == pytest.approx(-hours, abs=1e-6)
    assert clock.hours_between(earlier, start) == pytest.approx(hours, abs=1e-6)


def test_hours_left_counts_from_now():
    due = paris(2026, 2, 10, 12)  # 48 business hours after Monday 2 February 09:00

    with time_machine.travel(paris(2026, 2, 4, 10), tick=False):
        # Wednesday 10:00: 2.5 h + 4 h that day, then Thu, Fri, Mon (22.5 h) and Tue 3 h.
        assert BUSINESS.hours_left(due) == 32
        assert CALENDAR.hours_left(due) == 6 * 24 + 2

    assert BUSINESS.hours_left(due, now=paris(2026, 2, 10, 14)) == -1


# -- missing opening hours ------------------------------------------------------------------------


@pytest.mark.parametrize("opening", [{}, {0: ()}, {2: ((time(12), time(9)),)}])
def test_business_hours_without_opening_hours_raise_a_value_error(opening):
    clock = Clock("business", opening)

    with pytest.raises(ValueError, match="horaire d'ouverture"):
        clock.add_hours(paris(2026, 2, 3, 10), 1)
    with pytest.raises(ValueError, match="horaire d'ouverture"):
        clock.hours_between(paris(2026, 2, 3, 10), paris(2026, 2, 4, 10))


def test_calendar_mode_needs_no_opening_hours():
    assert Clock("calendar", {}).add_hours(paris(2026, 2, 3, 10), 1) == paris(2026, 2, 3, 11)


def test_overlapping_periods_are_not_counted_twice():
    clock = Clock("business", {1: ((time(9), time(12)), (time(11), time(13)))})

    assert clock.opening == {1: ((time(9), time(13)),)}
    assert clock.hours_between(paris(2026, 2, 3, 0), paris(2026, 2, 4, 0)) == 4


# -- configuration --------------------------------------------------------------------------------


def test_from_config_defaults_to_weekday_opening_hours(db):
    organisation = Organisation.current()
    organisation.clock_mode = "business"
    organisation.save()

    clock = Clock.from_config()

    assert clock.mode == "business"
    assert clock.alsace_moselle is False
    assert clock.opening == {
        weekday: ((time(9, 0), time(12, 30)), (time(13, 30), time(17, 30))) for weekday in range(5)
    }


def test_from_config_reads_the_configured_opening_hours(db):
    organisation = Organisation.current()
    organisation.clock_mode = "business"
    organisation.alsace_moselle = True
    organisation.save()
    OpeningHours.objects.create(weekday=5, opens_at=time(9), closes_at=time(12))
    OpeningHours.objects.create(weekday=0, opens_at=time(14), closes_at=time(18))
    OpeningHours.objects.create(weekday=0, opens_at=time(8), closes_at=time(12))

    clock = Clock.from_config()

    assert clock.alsace_moselle is True
    assert clock.opening == {
        0: ((time(8), time(12)), (time(14), time(18))),
        5: ((time(9), time(12)),),
    }
    # Saturday 7 February 2026 11:00: 1 h until noon, then Monday 08:00 + 1 h.
    assert clock.add_hours(paris(2026, 2, 7, 11), 2) == paris(2026, 2, 9, 9)


def test_compute_deadlines_reads_the_configuration(db):
    organisation = Organisation.current()
    organisation.clock_mode = "business"
    organisation.ack_delay_hours = 16
    organisation.answer_delay_hours = 48
    organisation.save()

    ack_due_at, answer_due_at = compute_deadlines(paris(2026, 2, 2, 9))

    # 16 h: two full days (15 h) and 1 h on Wednesday; 48 h: see the 6.5-day case above.
    assert ack_due_at == paris(2026, 2, 4, 10)
    assert answer_due_at == paris(2026, 2, 10, 12)


def test_compute_deadlines_in_calendar_hours_by_default(db):
    ack_due_at, answer_due_at = compute_deadlines(paris(2026, 2, 3, 10, 15))

    assert ack_due_at == answer_due_at == paris(2026, 2, 5, 10, 15)


def test_compute_deadlines_with_a_given_clock_and_organisation():
    organisation = Organisation(ack_delay_hours=2, answer_delay_hours=7)  # not saved: no query

    ack_due_at, answer_due_at = compute_deadlines(
        paris(2026, 2, 6, 16), clock=BUSINESS, organisation=organisation
    )

    assert ack_due_at == paris(2026, 2, 9, 9, 30)
    assert answer_due_at == paris(2026, 2, 9, 15, 30)


# -- used share and labels ------------------------------------------------------------------------


def test_used_share_in_business_hours():
    start, due = paris(2026, 2, 2, 9), paris(2026, 2, 10, 12)  # 48 business hours

    assert used_share(start, due, paris(2026, 2, 4, 10), BUSINESS) == pytest.approx(16 / 48)
    assert used_share(start, due, due, BUSINESS) == 1.0
    # Wednesday 11 February 09:00: 52.5 h used (48 + 0.5 + 4 on Tuesday).
    assert used_share(start, due, paris(2026, 2, 11, 9), BUSINESS) == pytest.approx(52.5 / 48)
    assert used_share(start, due, paris(2026, 1, 30, 9), BUSINESS) == 0.0


def test_used_share_in_calendar_hours():
    start = paris(2026, 2, 3, 10)

    assert used_share(start, paris(2026, 2, 5, 10), paris(2026, 2, 4, 22), CALENDAR) == 0.75


def test_used_share_of_an_empty_delay():
    start = paris(2026, 2, 3, 10)

    assert used_share(start, start, paris(2026, 2, 3, 9), CALENDAR) == 0.0
    assert used_share(start, start, start, CALENDAR) == 1.0


@pytest.mark.parametrize(
    ("hours", "label"),
    [
        (3 + 20 / 60, "reste 3 h 20"),
        (3 + 5 / 60, "reste 3 h 05"),
        (5, "reste 5 h"),
        (0.5, "reste 30 min"),
        (24, "reste 24 h"),
        (52, "reste 2 j 4 h"),
        (52 + 50 / 60, "reste 2 j 4 h"),
        (48, "reste 2 j"),
        (-5, "en retard de 5 h"),
        (-(1 + 15 / 60), "en retard de 1 h 15"),
        (-30, "en retard de 1 j 6 h"),
        (0, "échéance atteinte"),
        (0.2 / 60, "échéance atteinte"),
        (-0.2 / 60, "échéance atteinte"),
    ],
)
def test_format_hours_left(hours, label):
    assert format_hours_left(hours) == label
