"""The figures of a period: what the auditor reads in the evidence pack (and the statistics page).

One function, :func:`compute_figures`, returns a typed :class:`Figures`. Everything is counted in the
database with aggregate and grouped queries; the only values read back one by one are the two
middle durations of each median (SQL has no portable median).

A record belongs to a period when it was *received* in it (``received_at``, Europe/Paris days).

"Within the delay" follows the stored deadlines:

- on time: done (``acknowledged_at`` / ``answered_at``) at or before its due time;
- late: done after its due time, or still not done on an open record whose due time has passed;
- pending: not done, open, not yet due — counted apart, never in the share;
- not applicable: not done because the step was declared *sans objet* (an incident with nobody to
  answer), or the record was closed or discarded without it (spam, duplicate) — left out.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from . import workflow
from .models import Channel, Compensation, Decision, Kind, Reclamation, Solved, StakeholderType
from .workflow import Step

PARIS = ZoneInfo("Europe/Paris")

# The steps whose "sans objet" means the delay does not apply (workflow.NOT_APPLICABLE_PARTS).
ACK_STEP = Step.RECEIVED.value
ANSWER_STEP = Step.ACTION.value

MONTHS_FR = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")
NOT_SET = "Non renseigné"


class DelayOutcome:
    """How one record stands against one delay (the register's "dans le délai" column)."""

    ON_TIME = "on_time"
    LATE = "late"
    PENDING = "pending"
    NOT_APPLICABLE = "not_applicable"
    LABELS = {ON_TIME: "Dans le délai", LATE: "Hors délai", PENDING: "En cours", NOT_APPLICABLE: "Sans objet"}


class DelayLabels:
    """``ack_label`` and ``answer_label`` of a row holding ``ack_outcome`` and ``answer_outcome``
    (the register's rows, the evidence pack's record sheets)."""

    ack_outcome: str
    answer_outcome: str

    @property
    def ack_label(self) -> str:
        return DelayOutcome.LABELS[self.ack_outcome]

    @property
    def answer_label(self) -> str:
        return DelayOutcome.LABELS[self.answer_outcome]


# --- The period ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """Whole days, both ends included, in Europe/Paris."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("La fin de la période précède son début.")

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=PARIS)

    @property
    def end_before(self) -> datetime:
        """The first instant after the period (midnight after the last day)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=PARIS)

    @property
    def label(self) -> str:
        return f"du {self.start:%d/%m/%Y} au {self.end:%d/%m/%Y}"

    @classmethod
    def last_twelve_months(cls, today: date | None = None) -> Period:
        """The default period: the twelve months that end today."""
        today = today or timezone.localdate()
        try:
            start = today.replace(year=today.year - 1) + timedelta(days=1)
        except ValueError:  # 29 February
            start = today.replace(year=today.year - 1, day=28) + timedelta(days=1)
        return cls(start=start, end=today)


def received_in(period: Period) -> QuerySet[Reclamation]:
    return Reclamation.objects.filter(received_at__gte=period.start_at, received_at__lt=period.end_before)


# --- The typed result ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Bucket:
    """One bar of a chart: a category and its count."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class DelayShare:
    on_time: int
    late: int
    pending: int
    not_applicable: int

    @property
    def measured(self) -> int:
        return self.on_time + self.late

    @property
    def percent(self) -> float | None:
        """Share on time among the records whose delay is over (done, or due and not done)."""
        return None if not self.measured else 100 * self.on_time / self.measured


@dataclass(frozen=True)
class CompensationFigures:
    by_type: tuple[Bucket, ...]
    records: int
    total_amount: Decimal


@dataclass(frozen=True)
class SatisfactionFigures:
    answers: int
    no_answer: int
    average: float | None
    distribution: tuple[Bucket, ...]  # scores 1 to 5, all present
    solved: tuple[Bucket, ...]  # "is your problem solved?": yes, partly, no
    answer_clear: int  # answers saying the answer was clear
    delay_acceptable: int  # answers saying the delay was acceptable
    # How many answered each question: a survey recorded by a handler may hold the score alone, and
    # "oui 0 — non 0" for a question nobody was asked would misreport it.
    solved_answers: int = 0
    answer_clear_answers: int = 0
    delay_acceptable_answers: int = 0


@dataclass(frozen=True)
class Figures:
    period: Period
    computed_at: datetime
    total: int
    by_kind: tuple[Bucket, ...]
    by_channel: tuple[Bucket, ...]
    by_service: tuple[Bucket, ...]
    by_stakeholder: tuple[Bucket, ...]
    by_month: tuple[Bucket, ...]
    by_status: tuple[Bucket, ...]
    by_root_cause: tuple[Bucket, ...]
    decisions: tuple[Bucket, ...]
    acknowledged: DelayShare
    answered: DelayShare
    median_ack_hours: float | None
    median_answer_hours: float | None
    compensation: CompensationFigures
    satisfaction: SatisfactionFigures

    @property
    def empty(self) -> bool:
        return self.total == 0


# --- The delay rules, as query filters and per record ---------------------------------------------
def delay_filters(done: str, due: str, step: str, now: datetime) -> dict[str, Q]:
    is_open = Q(state__in=workflow.OPEN_STEPS)
    not_done = Q(**{f"{done}__isnull": True})
    declared = Q(not_applicable__has_key=step)
    return {
        DelayOutcome.ON_TIME: Q(**{f"{done}__isnull": False, f"{done}__lte": F(due)}),
        DelayOutcome.LATE: Q(**{f"{done}__gt": F(due)}) | (not_done & is_open & ~declared & Q(**{f"{due}__lte": now})),
        DelayOutcome.PENDING: not_done & is_open & ~declared & Q(**{f"{due}__gt": now}),
    }


def delay_outcome(
    *, done_at: datetime | None, due_at: datetime, state: str, declared_not_applicable: bool, now: datetime
) -> str:
    """The same rule as the aggregate filters, for one record (register, record sheet)."""
    if done_at is not None:
        return DelayOutcome.ON_TIME if done_at <= due_at else DelayOutcome.LATE
    if state not in workflow.OPEN_STEPS or declared_not_applicable:
        return DelayOutcome.NOT_APPLICABLE
    return DelayOutcome.LATE if due_at <= now else DelayOutcome.PENDING


def ack_outcome(reclamation: Reclamation, now: datetime) -> str:
    return delay_outcome(
        done_at=reclamation.acknowledged_at, due_at=reclamation.ack_due_at, state=reclamation.state,
        declared_not_applicable=ACK_STEP in (reclamation.not_applicable or {}), now=now,
    )


def answer_outcome(reclamation: Reclamation, now: datetime) -> str:
    return delay_outcome(
        done_at=reclamation.answered_at, due_at=reclamation.answer_due_at, state=reclamation.state,
        declared_not_applicable=ANSWER_STEP in (reclamation.not_applicable or {}), now=now,
    )


# --- Helpers -------------------------------------------------------------------------------------
def _buckets(rows: Iterable[tuple[object, int]], labels: dict[str, str] | None = None) -> tuple[Bucket, ...]:
    """Grouped counts as buckets: every known choice in its order (zeros included), then the other
    values by decreasing count, then "not set" (an empty value) last when there is any."""
    counts: dict[str, int] = {}
    for key, count in rows:
        name = "" if key is None else str(key)
        counts[name] = counts.get(name, 0) + count
    result = [Bucket(key, label, counts.pop(key, 0)) for key, label in (labels or {}).items() if key]
    unset = counts.pop("", 0)
    result += sorted((Bucket(key, key, n) for key, n in counts.items()), key=lambda b: (-b.count, b.label))
    if unset:
        result.append(Bucket("", NOT_SET, unset))
    return tuple(result)


def _grouped(queryset: QuerySet, field_name: str) -> list[tuple[object, int]]:
    return list(queryset.order_by().values_list(field_name).annotate(n=Count("pk")).values_list(field_name, "n"))


def _median_hours(queryset: QuerySet, done: str) -> float | None:
    """The median of ``done - received_at`` in calendar hours: a count, then the middle row(s)."""
    measured = queryset.filter(**{f"{done}__isnull": False}).annotate(
        elapsed=ExpressionWrapper(F(done) - F("received_at"), output_field=DurationField())
    )
    n = measured.count()
    if not n:
        return None
    ordered = measured.order_by("elapsed", "pk").values_list("elapsed", flat=True)
    middle = list(ordered[(n - 1) // 2: n // 2 + 1])
    return sum(d.total_seconds() for d in middle) / len(middle) / 3600


def _months(period: Period) -> list[date]:
    months = []
    current = period.start.replace(day=1)
    while current <= period.end:
        months.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return months


def month_label(month: date) -> str:
    return f"{MONTHS_FR[month.month - 1]} {month:%Y}"


# --- The figures ---------------------------------------------------------------------------------
def compute_figures(*, period: Period, now: datetime | None = None) -> Figures:
    """Every figure of the period, in about fifteen queries whatever the number of records."""
    now = now or timezone.now()
    records = received_in(period)

    ack = delay_filters("acknowledged_at", "ack_due_at", ACK_STEP, now)
    answer = delay_filters("answered_at", "answer_due_at", ANSWER_STEP, now)
    totals = records.aggregate(
        total=Count("pk"),
        **{f"ack_{k}": Count("pk", filter=q) for k, q in ack.items()},
        **{f"answer_{k}": Count("pk", filter=q) for k, q in answer.items()},
        compensated=Count("pk", filter=~Q(compensation_type="")),
        compensation_amount=Sum("compensation_amount"),
        feedback_answers=Count("pk", filter=Q(feedback_satisfaction__isnull=False)),
        feedback_no_answer=Count("pk", filter=Q(feedback_no_answer=True, feedback_satisfaction__isnull=True)),
        satisfaction_average=Avg("feedback_satisfaction"),
        **{f"solved_{s.value}": Count("pk", filter=Q(feedback_solved=s.value)) for s in Solved},
        answer_clear=Count("pk", filter=Q(feedback_answer_clear=True)),
        delay_acceptable=Count("pk", filter=Q(feedback_delay_acceptable=True)),
        solved_answers=Count("pk", filter=~Q(feedback_solved="")),
        answer_clear_answers=Count("pk", filter=Q(feedback_answer_clear__isnull=False)),
        delay_acceptable_answers=Count("pk", filter=Q(feedback_delay_acceptable__isnull=False)),
    )
    total = totals["total"]

    def share(prefix: str) -> DelayShare:
        on_time, late, pending = (totals[f"{prefix}_{k}"] for k in
                                  (DelayOutcome.ON_TIME, DelayOutcome.LATE, DelayOutcome.PENDING))
        return DelayShare(on_time=on_time, late=late, pending=pending,
                          not_applicable=total - on_time - late - pending)

    month_counts = {
        timezone.localtime(m, PARIS).date().replace(day=1) if isinstance(m, datetime) else m: n
        for m, n in _grouped(records.annotate(month=TruncMonth("received_at", tzinfo=PARIS)), "month")
    }
    by_month = tuple(Bucket(f"{m:%Y-%m}", month_label(m), month_counts.get(m, 0)) for m in _months(period))

    status_rows = _grouped(records, "state")
    status_counts = {"open": 0, Step.CLOSED.value: 0, Step.DISCARDED.value: 0}
    for state, n in status_rows:
        status_counts["open" if state in workflow.OPEN_STEPS else state] += n
    by_status = (
        Bucket("open", "En cours de traitement", status_counts["open"]),
        Bucket(Step.CLOSED.value, "Clôturées", status_counts[Step.CLOSED.value]),
        Bucket(Step.DISCARDED.value, "Classées sans suite", status_counts[Step.DISCARDED.value]),
    )

    compensation_labels = {c.value: c.label for c in Compensation if c.value}
    compensation_rows = _grouped(records.exclude(compensation_type=""), "compensation_type")
    satisfaction_counts = dict(_grouped(records.filter(feedback_satisfaction__isnull=False), "feedback_satisfaction"))
    average = totals["satisfaction_average"]

    return Figures(
        period=period,
        computed_at=now,
        total=total,
        by_kind=_buckets(_grouped(records, "kind"), dict(Kind.choices)),
        by_channel=_buckets(_grouped(records, "channel"), dict(Channel.choices)),
        by_service=_buckets(_grouped(records, "service__name")),
        by_stakeholder=_buckets(_grouped(records, "stakeholder_type"), dict(StakeholderType.choices)),
        by_month=by_month,
        by_status=by_status,
        by_root_cause=_buckets(_grouped(records.filter(root_cause_category__isnull=False),
                                        "root_cause_category__name")),
        decisions=_buckets(_grouped(records.exclude(decision=""), "decision"), dict(Decision.choices)),
        acknowledged=share("ack"),
        answered=share("answer"),
        median_ack_hours=_median_hours(records, "acknowledged_at"),
        median_answer_hours=_median_hours(records, "answered_at"),
        compensation=CompensationFigures(
            by_type=_buckets(compensation_rows, compensation_labels),
            records=totals["compensated"],
            total_amount=totals["compensation_amount"] or Decimal("0"),
        ),
        satisfaction=SatisfactionFigures(
            answers=totals["feedback_answers"],
            no_answer=totals["feedback_no_answer"],
            average=float(average) if average is not None else None,
            distribution=tuple(Bucket(str(score), f"{score}/5", satisfaction_counts.get(score, 0))
                               for score in range(1, 6)),
            solved=tuple(Bucket(s.value, s.label, totals[f"solved_{s.value}"]) for s in Solved),
            answer_clear=totals["answer_clear"],
            delay_acceptable=totals["delay_acceptable"],
            solved_answers=totals["solved_answers"],
            answer_clear_answers=totals["answer_clear_answers"],
            delay_acceptable_answers=totals["delay_acceptable_answers"],
        ),
    )
