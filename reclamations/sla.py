"""The clock that counts the procedure's delays, and the deadline arithmetic built on it.

Indicator 31 asks that complaints be acknowledged and answered within the delays the organisation
announces. Those delays are counted either in calendar hours (24 h a day, 7 days a week) or in
business hours: only the time inside the opening periods of days that are neither closed nor a
French public holiday counts.

All arithmetic is done on aware datetimes. Opening periods are wall-clock times in Europe/Paris,
so each day's periods are placed in local time and only then converted to UTC: this keeps a
09:00 opening at 09:00 on both sides of a daylight-saving change, while the durations themselves
are measured in real elapsed time (an opening period that spans the spring change is one hour
shorter). Results are returned in UTC; templates convert them back for display.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

# Re-exported: the badges are read here by the template tags; their rule sits below the models.
from .delay_status import SlaStatus as SlaStatus
from .delay_status import sla_status as sla_status
from .models import OpeningHours, Organisation

logger = logging.getLogger(__name__)

CALENDAR = "calendar"
BUSINESS = "business"

PARIS = ZoneInfo("Europe/Paris")

Periods = tuple[tuple[time, time], ...]

# The procedure's default opening hours, used until the quality lead enters some in the admin.
_DEFAULT_DAY: Periods = ((time(9, 0), time(12, 30)), (time(13, 30), time(17, 30)))
DEFAULT_OPENING: dict[int, Periods] = {weekday: _DEFAULT_DAY for weekday in range(5)}

# A business clock walks forward day by day looking for opening time. Public holidays never close
# more than a few consecutive days, so a year without any opening time means the configuration
# can never produce a deadline: stop there rather than loop for ever.
_MAX_CLOSED_DAYS = 366
# Days whose periods one clock keeps (a year and a half of walking is more than any page needs).
_MAX_KEPT_DAYS = 550

# Below this many minutes either side of the deadline, "reste 0 min" would only be noise.
_DUE_NOW_MINUTES = 1

_ONE_HOUR = timedelta(hours=1)


@functools.lru_cache(maxsize=64)
def _holiday_dates(year: int, alsace_moselle: bool) -> frozenset[date]:
    """The French public holidays of ``year``; cached because every walked day asks for them."""
    # Subdivision 57 (Moselle) carries the local-law holidays shared by 57, 67 and 68: Good
    # Friday and 26 December.
    calendar = holidays.France(years=year, subdiv="57" if alsace_moselle else None)
    return frozenset(calendar.keys())


def _normalise(opening: dict[int, Periods]) -> dict[int, Periods]:
    """Sort each day's periods, drop empty ones and merge overlaps.

    Overlapping periods (09:00–12:00 and 11:00–13:00, say) would otherwise count the shared hour
    twice; a period that does not close after it opens cannot hold any time.
    """
    result: dict[int, Periods] = {}
    for weekday, periods in opening.items():
        merged: list[tuple[time, time]] = []
        for opens_at, closes_at in sorted(periods):
            if closes_at <= opens_at:
                continue
            if merged and opens_at <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], closes_at))
            else:
                merged.append((opens_at, closes_at))
        if merged:
            result[int(weekday)] = tuple(merged)
    return result


def _require_aware(value: datetime, name: str) -> None:
    # A naive datetime would silently be read in the server's zone: refuse it instead.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} doit être une date avec fuseau horaire.")


@dataclass(frozen=True)
class Clock:
    """Counts hours either on the calendar or inside opening periods of working days."""

    mode: str  # "calendar" or "business"
    opening: dict[int, Periods] = field(default_factory=dict)  # weekday (0=Monday) -> periods
    alsace_moselle: bool = False
    tz: ZoneInfo = PARIS
    # Each day's opening periods as UTC instants, worked out once per clock: the four deadlines of
    # a new record, or the fifty badges of a list page (one clock per request), walk the same days.
    _periods: dict[date, list[tuple[datetime, datetime]]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in (CALENDAR, BUSINESS):
            raise ValueError(f"Mode de décompte inconnu : {self.mode!r}.")
        # Frozen dataclass: normalise through object.__setattr__ once, so every walk is simple.
        object.__setattr__(self, "opening", _normalise(self.opening))

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_config(cls, organisation: Organisation | None = None) -> Clock:
        """The clock configured in the admin (organisation settings and opening hours).

        ``organisation`` may be passed by a caller that has already read it, to save a query.
        """
        if organisation is None:
            organisation = Organisation.current()
        if organisation.clock_mode == CALENDAR:
            # Calendar hours never look at the opening hours: no need to read them.
            return cls(mode=CALENDAR, alsace_moselle=organisation.alsace_moselle)
        opening: dict[int, list[tuple[time, time]]] = {}
        for weekday, opens_at, closes_at in OpeningHours.objects.order_by(
            "weekday", "opens_at"
        ).values_list("weekday", "opens_at", "closes_at"):
            opening.setdefault(weekday, []).append((opens_at, closes_at))
        if not opening:
            # A fresh installation has no rows yet: the procedure's defaults apply.
            return cls(
                mode=organisation.clock_mode,
                opening=dict(DEFAULT_OPENING),
                alsace_moselle=organisation.alsace_moselle,
            )
        return cls(
            mode=organisation.clock_mode,
            opening={weekday: tuple(periods) for weekday, periods in opening.items()},
            alsace_moselle=organisation.alsace_moselle,
        )

    # -- calendar -------------------------------------------------------------------------------

    def is_holiday(self, day: date) -> bool:
        """Whether ``day`` is a French public holiday (with the local ones in Alsace-Moselle)."""
        return day in _holiday_dates(day.year, self.alsace_moselle)

    def _day_periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The opening periods of ``day`` as UTC instants; none on closed days and holidays."""
        known = self._periods.get(day)
        if known is not None:
            return known
        periods = self.opening.get(day.weekday(), ())
        if not periods or self.is_holiday(day):
            found: list[tuple[datetime, datetime]] = []
        else:
            # Place the wall-clock times on the local day first, then convert: this is what keeps
            # 09:00 at 09:00 local across a daylight-saving change.
            found = [
                (
                    datetime.combine(day, opens_at, tzinfo=self.tz).astimezone(UTC),
                    datetime.combine(day, closes_at, tzinfo=self.tz).astimezone(UTC),
                )
                for opens_at, closes_at in periods
            ]
        if len(self._periods) < _MAX_KEPT_DAYS:
            self._periods[day] = found
        return found

    def _check_business_hours(self) -> None:
        if not self.opening:
            raise ValueError(
                "Aucun horaire d'ouverture n'est défini : impossible de décompter des heures "
                "ouvrées. Renseignez les horaires d'ouverture ou passez en heures calendaires."
            )

    def _days(self, start: date, step: int) -> Iterator[tuple[date, list[tuple[datetime, datetime]]]]:
        """Days from ``start`` (forward if step is 1, backward if -1) with their periods.

        Raises ValueError after a whole year without opening time, so that a walk always ends.
        """
        day = start
        closed_in_a_row = 0
        while True:
            periods = self._day_periods(day)
            if periods:
                closed_in_a_row = 0
            else:
                closed_in_a_row += 1
                if closed_in_a_row > _MAX_CLOSED_DAYS:
                    raise ValueError(
                        "Aucune heure d'ouverture sur une année entière : vérifiez les horaires "
                        "d'ouverture."
                    )
            yield day, periods
            day += timedelta(days=step)

    # -- arithmetic -----------------------------------------------------------------------------

    def add_hours(self, start: datetime, hours: float) -> datetime:
        """The instant (in UTC) when ``hours`` hours of this clock have elapsed after ``start``.

        In business mode a start outside the opening periods starts counting at the next
        opening, and a count that ends exactly at a closing time ends there, not at the next
        opening. Negative ``hours`` count backwards.
        """
        _require_aware(start, "Le point de départ")
        start = start.astimezone(UTC)
        if self.mode == CALENDAR:
            # UTC arithmetic: 48 h are 48 real hours even across a daylight-saving change.
            return start + timedelta(hours=hours)

        self._check_business_hours()
        if hours == 0:
            return start
        remaining = timedelta(hours=abs(hours))
        local_day = start.astimezone(self.tz).date()

        if hours > 0:
            for _day, periods in self._days(local_day, 1):
                for opens, closes in periods:
                    if closes <= start:
                        continue
                    begin = max(opens, start)
                    available = closes - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
        else:
            for _day, periods in self._days(local_day, -1):
                for opens, closes in reversed(periods):
                    if opens >= start:
                        continue
                    end = min(closes, start)
                    available = end - opens
                    if remaining <= available:
                        return end - remaining
                    remaining -= available
        raise AssertionError("unreachable: _days() either yields or raises")  # pragma: no cover

    def hours_between(self, start: datetime, end: datetime) -> float:
        """Hours of this clock elapsed from ``start`` to ``end`` (negative if end is earlier)."""
        _require_aware(start, "Le point de départ")
        _require_aware(end, "Le point d'arrivée")
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if self.mode == CALENDAR:
            # Subtract in UTC: two datetimes sharing the Paris tzinfo would be subtracted as
            # wall-clock times and miss the daylight-saving hour.
            return (end - start) / _ONE_HOUR

        self._check_business_hours()
        if end < start:
            return -self.hours_between(end, start)
        total = timedelta()
        last_day = end.astimezone(self.tz).date()
        for day, periods in self._days(start.astimezone(self.tz).date(), 1):
            if day > last_day:
                break
            for opens, closes in periods:
                overlap = min(closes, end) - max(opens, start)
                if overlap > timedelta():
                    total += overlap
        return total / _ONE_HOUR

    def hours_left(self, due: datetime, now: datetime | None = None) -> float:
        """Hours of this clock left until ``due`` (negative once it has passed)."""
        if now is None:
            now = datetime.now(UTC)
        return self.hours_between(now, due)


def compute_deadlines(
    received_at: datetime,
    *,
    clock: Clock | None = None,
    organisation: Organisation | None = None,
) -> tuple[datetime, datetime]:
    """(ack_due_at, answer_due_at): both delays counted from the reception of the complaint."""
    if organisation is None:
        organisation = Organisation.current()
    if clock is None:
        clock = Clock.from_config(organisation)
    return (
        clock.add_hours(received_at, organisation.ack_delay_hours),
        clock.add_hours(received_at, organisation.answer_delay_hours),
    )


@dataclass(frozen=True)
class Deadlines:
    """What is stored on a record when it is received: both deadlines and the moments their
    "at risk" threshold is reached, so that lists and the sweep filter with plain indexed SQL."""

    ack_due_at: datetime
    answer_due_at: datetime
    ack_risk_at: datetime
    answer_risk_at: datetime


def compute_deadline_set(received_at: datetime, *, organisation: Organisation | None = None) -> Deadlines:
    if organisation is None:
        organisation = Organisation.current()
    clock = Clock.from_config(organisation)
    share = organisation.at_risk_percent / 100
    return Deadlines(
        ack_due_at=clock.add_hours(received_at, organisation.ack_delay_hours),
        answer_due_at=clock.add_hours(received_at, organisation.answer_delay_hours),
        ack_risk_at=clock.add_hours(received_at, organisation.ack_delay_hours * share),
        answer_risk_at=clock.add_hours(received_at, organisation.answer_delay_hours * share),
    )


def used_share(start: datetime, due: datetime, now: datetime, clock: Clock) -> float:
    """Share of the delay from ``start`` to ``due`` already used at ``now``.

    0.0 before the start, 1.0 at the deadline and more once it has passed; compared with the
    organisation's "at risk" threshold.
    """
    total = clock.hours_between(start, due)
    if total <= 0:
        # A delay with no time in it (due at or before start) is used up as soon as it is due.
        return 1.0 if now >= due else 0.0
    return max(0.0, clock.hours_between(start, now) / total)


def format_hours_left(hours: float) -> str:
    """A short French label: "reste 3 h 20", "reste 2 j 4 h", "en retard de 5 h"...

    Beyond 24 h the minutes are dropped: nobody plans to the minute two days ahead. A "jour"
    here is 24 hours of the clock, whichever the mode.
    """
    minutes = round(abs(hours) * 60)
    if minutes < _DUE_NOW_MINUTES:
        return "échéance atteinte"
    if minutes > 24 * 60:
        days, rest = divmod(minutes, 24 * 60)
        whole_hours = rest // 60
        amount = f"{days} j {whole_hours} h" if whole_hours else f"{days} j"
    else:
        whole_hours, mins = divmod(minutes, 60)
        if not whole_hours:
            amount = f"{mins} min"
        elif mins:
            amount = f"{whole_hours} h {mins:02d}"
        else:
            amount = f"{whole_hours} h"
    return f"reste {amount}" if hours > 0 else f"en retard de {amount}"
