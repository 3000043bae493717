"""The quality lead's analysis (indicator 32): trends, delays, satisfaction and recurrence.

Built on :mod:`reclamations.statistics` (the period, the delay rules, the key figures) and drawn with
:mod:`reclamations.charts`, so the statistics page, the internal digest and the evidence pack say
the same thing. As there, a record belongs to a period when it was *received* in it (Europe/Paris
days), and everything is counted by grouped queries: the page costs the same number of queries for
ten records or ten thousand.

Recurrence. The same root-cause category, or the same service, coming back within
``Organisation.recurrence_window_days`` is a signal that the corrective action did not work or that
a structural problem exists. Records are chained: each one received within the window after the
previous one of the same cause (or service) joins its group, so a cause that returns every
four months with a six-month window forms one group however long it lasts. A group is flagged when
it has at least two records and one of them was received in the period; records received before the
period count as its first occurrences. Discarded records (spam, duplicates) never count.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from . import charts, workflow
from .models import Kind, Organisation, Reclamation, Solved, StakeholderType
from .statistics import (
    ACK_STEP,
    ANSWER_STEP,
    NOT_SET,
    PARIS,
    Bucket,
    DelayOutcome,
    DelayShare,
    Figures,
    Period,
    compute_figures,
    delay_filters,
    month_label,
    received_in,
)
from .workflow import Step

MAX_SERIES_CHARTS = 6  # small multiples per dimension; the table beside them lists every category


# --- Months --------------------------------------------------------------------------------------
def months_of(period: Period) -> tuple[date, ...]:
    """First day of each month the period touches, in order."""
    months = []
    current = period.start.replace(day=1)
    while current <= period.end:
        months.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return tuple(months)


def _month_key(value: date | datetime) -> date:
    # TruncMonth gives an aware datetime on PostgreSQL, a date or naive datetime elsewhere.
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value, PARIS)
        return value.date().replace(day=1)
    return value.replace(day=1)


def _by_month(records: QuerySet[Reclamation]) -> QuerySet[Reclamation]:
    return records.annotate(month=TruncMonth("received_at", tzinfo=PARIS)).order_by()


def record_url(pk: int) -> str:
    return reverse("backoffice:detail", args=[pk])


# --- Trends per month by dimension --------------------------------------------------------------
@dataclass(frozen=True)
class Series:
    key: str
    label: str
    counts: tuple[int, ...]  # one per month of the trend

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Trend:
    code: str
    title: str
    months: tuple[date, ...]
    series: tuple[Series, ...]

    @property
    def month_labels(self) -> tuple[str, ...]:
        return tuple(month_label(m) for m in self.months)

    @property
    def totals(self) -> tuple[int, ...]:
        return tuple(sum(s.counts[i] for s in self.series) for i in range(len(self.months)))


# code -> (title, field grouped on, known choices in their order or None, records kept)
DIMENSIONS: dict[str, tuple[str, str, dict[str, str] | None, Q]] = {
    "kind": ("Par nature", "kind", dict(Kind.choices), Q()),
    "service": ("Par service concerné", "service__name", None, Q()),
    "root_cause": ("Par catégorie de cause racine", "root_cause_category__name", None,
                   Q(root_cause_category__isnull=False)),
    "stakeholder": ("Par partie prenante", "stakeholder_type", dict(StakeholderType.choices), Q()),
}


def trend(period: Period, code: str) -> Trend:
    """Records received per month of ``period``, one series per category of ``code`` (one query)."""
    title, field, labels, keep = DIMENSIONS[code]
    months = months_of(period)
    index = {month: i for i, month in enumerate(months)}
    rows = (
        _by_month(received_in(period).filter(keep))
        .values_list("month", field)
        .annotate(n=Count("pk"))
        .values_list("month", field, "n")
    )
    counts: dict[str, list[int]] = {}
    for month, key, n in rows:
        name = "" if key is None else str(key)
        counts.setdefault(name, [0] * len(months))[index[_month_key(month)]] += n
    series = [Series(key, label, tuple(counts.pop(key))) for key, label in (labels or {}).items()
              if key in counts]
    unset = counts.pop("", None)
    series += sorted((Series(key, key, tuple(values)) for key, values in counts.items()),
                     key=lambda s: (-s.total, s.label))
    if unset is not None:
        series.append(Series("", NOT_SET, tuple(unset)))
    return Trend(code=code, title=title, months=months, series=tuple(series))


# --- Delays per month ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MonthDelays:
    month: date
    received: int
    ack: DelayShare
    answer: DelayShare

    @property
    def label(self) -> str:
        return month_label(self.month)


def delays_by_month(period: Period, now: datetime | None = None) -> tuple[MonthDelays, ...]:
    """Acknowledged and answered within the delay, per month of reception (one query)."""
    now = now or timezone.now()
    filters = {
        "ack": delay_filters("acknowledged_at", "ack_due_at", ACK_STEP, now),
        "answer": delay_filters("answered_at", "answer_due_at", ANSWER_STEP, now),
    }
    aggregates = {
        f"{which}_{outcome}": Count("pk", filter=q)
        for which, rules in filters.items()
        for outcome, q in rules.items()
    }
    rows = {_month_key(row["month"]): row
            for row in _by_month(received_in(period)).values("month").annotate(total=Count("pk"), **aggregates)}

    def share(row: dict, which: str) -> DelayShare:
        on_time, late, pending = (row.get(f"{which}_{k}", 0) for k in
                                  (DelayOutcome.ON_TIME, DelayOutcome.LATE, DelayOutcome.PENDING))
        total = row.get("total", 0)
        return DelayShare(on_time=on_time, late=late, pending=pending,
                          not_applicable=total - on_time - late - pending)

    result = []
    for month in months_of(period):
        row = rows.get(month, {})
        result.append(MonthDelays(month=month, received=row.get("total", 0), ack=share(row, "ack"),
                                  answer=share(row, "answer")))
    return tuple(result)


# --- Satisfaction --------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeedbackComment:
    pk: int
    reference: str
    received_at: datetime
    satisfaction: int
    solved: str
    comment: str

    @property
    def url(self) -> str:
        return record_url(self.pk)

    @property
    def solved_label(self) -> str:
        return Solved(self.solved).label if self.solved else ""


@dataclass(frozen=True)
class SatisfactionAnalysis:
    surveys_sent: int
    answers: int
    no_answer: int
    average: float | None
    distribution: tuple[Bucket, ...]  # 1 to 5, all present
    solved: tuple[Bucket, ...]  # yes, partly, no
    answer_clear: tuple[Bucket, ...]  # oui, non
    delay_acceptable: tuple[Bucket, ...]
    by_month: tuple[tuple[date, int, float | None], ...]  # month, answers, average
    comments: tuple[FeedbackComment, ...]

    @property
    def response_rate(self) -> float | None:
        """Answers among the surveys that ended (answered or run out)."""
        ended = self.answers + self.no_answer
        return None if not ended else 100 * self.answers / ended


def satisfaction(period: Period, *, comments: int = 10) -> SatisfactionAnalysis:
    """The answers to the survey of the records received in ``period`` (three queries)."""
    records = received_in(period)
    answered = Q(feedback_satisfaction__isnull=False)
    totals = records.aggregate(
        sent=Count("pk", filter=Q(feedback_requested_at__isnull=False) | answered | Q(feedback_no_answer=True)),
        answers=Count("pk", filter=answered),
        no_answer=Count("pk", filter=Q(feedback_no_answer=True) & ~answered),
        average=Avg("feedback_satisfaction"),
        **{f"score_{n}": Count("pk", filter=Q(feedback_satisfaction=n)) for n in range(1, 6)},
        **{f"solved_{s.value}": Count("pk", filter=answered & Q(feedback_solved=s.value)) for s in Solved},
        clear_yes=Count("pk", filter=answered & Q(feedback_answer_clear=True)),
        clear_no=Count("pk", filter=answered & Q(feedback_answer_clear=False)),
        delay_yes=Count("pk", filter=answered & Q(feedback_delay_acceptable=True)),
        delay_no=Count("pk", filter=answered & Q(feedback_delay_acceptable=False)),
    )
    monthly = {
        _month_key(row["month"]): row
        for row in _by_month(records.filter(answered)).values("month").annotate(
            n=Count("pk"), average=Avg("feedback_satisfaction"))
    }
    latest = (
        records.filter(answered).exclude(feedback_comment="")
        .order_by("-feedback_received_at", "-pk")
        .values_list("pk", "reference", "feedback_received_at", "feedback_satisfaction", "feedback_solved",
                     "feedback_comment")[:comments]
    )
    average = totals["average"]
    return SatisfactionAnalysis(
        surveys_sent=totals["sent"],
        answers=totals["answers"],
        no_answer=totals["no_answer"],
        average=float(average) if average is not None else None,
        distribution=tuple(Bucket(str(n), f"{n}/5", totals[f"score_{n}"]) for n in range(1, 6)),
        solved=tuple(Bucket(s.value, s.label, totals[f"solved_{s.value}"]) for s in Solved),
        answer_clear=(Bucket("yes", "Oui", totals["clear_yes"]), Bucket("no", "Non", totals["clear_no"])),
        delay_acceptable=(Bucket("yes", "Oui", totals["delay_yes"]), Bucket("no", "Non", totals["delay_no"])),
        by_month=tuple(
            (month, monthly.get(month, {}).get("n", 0),
             float(monthly[month]["average"]) if month in monthly and monthly[month]["average"] is not None
             else None)
            for month in months_of(period)
        ),
        comments=tuple(FeedbackComment(*row) for row in latest),
    )


# --- Recurrence ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecurrentRecord:
    pk: int
    reference: str
    received_at: datetime
    subject: str
    state: str
    in_period: bool

    @property
    def url(self) -> str:
        return record_url(self.pk)

    @property
    def state_label(self) -> str:
        return workflow.step_label(self.state)


@dataclass(frozen=True)
class Recurrence:
    dimension: str  # "root_cause" or "service"
    label: str  # the category or service name
    records: tuple[RecurrentRecord, ...]  # oldest first
    window_days: int

    @property
    def dimension_label(self) -> str:
        return RECURRENCE_DIMENSIONS[self.dimension][0]

    @property
    def span_days(self) -> int:
        return (self.records[-1].received_at - self.records[0].received_at).days

    @property
    def last_received_at(self) -> datetime:
        return self.records[-1].received_at


# code -> (French label, foreign key, name field)
RECURRENCE_DIMENSIONS: dict[str, tuple[str, str, str]] = {
    "root_cause": ("Cause racine", "root_cause_category_id", "root_cause_category__name"),
    "service": ("Service", "service_id", "service__name"),
}


def window_days() -> int:
    return Organisation.current().recurrence_window_days


def _groups(rows: Iterable[tuple], window: timedelta) -> list[list[tuple]]:
    """Rows sorted by (key, received_at) chained into groups: same key, each within ``window`` of the last."""
    groups: list[list[tuple]] = []
    for row in rows:
        last = groups[-1][-1] if groups else None
        if last is not None and last[0] == row[0] and row[3] - last[3] <= window:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def recurrences(period: Period, *, window: int | None = None) -> tuple[Recurrence, ...]:
    """Root causes and services that came back within the window, with at least one record in the
    period; largest groups first (two queries)."""
    window = window or window_days()
    span = timedelta(days=window)
    found: list[Recurrence] = []
    for code, (_label, key_field, name_field) in RECURRENCE_DIMENSIONS.items():
        rows = (
            Reclamation.objects.exclude(state=Step.DISCARDED)
            .filter(**{f"{key_field}__isnull": False}, received_at__gte=period.start_at - span,
                    received_at__lt=period.end_before)
            .order_by(key_field, "received_at", "pk")
            .values_list(key_field, name_field, "pk", "received_at", "reference", "subject", "state")
        )
        for group in _groups(rows, span):
            if len(group) < 2 or group[-1][3] < period.start_at:
                continue
            records = tuple(
                RecurrentRecord(pk=pk, reference=reference, received_at=received_at, subject=subject, state=state,
                                in_period=received_at >= period.start_at)
                for _key, _name, pk, received_at, reference, subject, state in group
            )
            found.append(Recurrence(dimension=code, label=group[0][1], records=records, window_days=window))
    found.sort(key=lambda r: (-len(r.records), -r.last_received_at.timestamp(), r.dimension, r.label))
    return tuple(found)


def recurrences_for_record(reclamation: Reclamation, *, window: int | None = None) -> dict[str, list[RecurrentRecord]]:
    """Other records with the same root cause or service received within the window before or after
    this one (for the record's page): ``{"root_cause": [...], "service": [...]}``, oldest first."""
    window = window or window_days()
    span = timedelta(days=window)
    result: dict[str, list[RecurrentRecord]] = {}
    for code, (_label, key_field, _name) in RECURRENCE_DIMENSIONS.items():
        value = getattr(reclamation, key_field)
        if value is None:
            result[code] = []
            continue
        rows = (
            Reclamation.objects.exclude(state=Step.DISCARDED).exclude(pk=reclamation.pk)
            .filter(**{key_field: value}, received_at__gte=reclamation.received_at - span,
                    received_at__lte=reclamation.received_at + span)
            .order_by("received_at", "pk")
            .values_list("pk", "reference", "received_at", "subject", "state")
        )
        result[code] = [RecurrentRecord(pk=pk, reference=ref, received_at=at, subject=subject, state=state,
                                        in_period=True) for pk, ref, at, subject, state in rows]
    return result


# --- Everything the statistics page shows ---------------------------------------------------------
@dataclass(frozen=True)
class Analysis:
    period: Period
    figures: Figures
    trends: tuple[Trend, ...]
    delays: tuple[MonthDelays, ...]
    satisfaction: SatisfactionAnalysis
    recurrences: tuple[Recurrence, ...]
    window_days: int


def analyse(*, period: Period, now: datetime | None = None) -> Analysis:
    now = now or timezone.now()
    window = window_days()
    return Analysis(
        period=period,
        figures=compute_figures(period=period, now=now),
        trends=tuple(trend(period, code) for code in DIMENSIONS),
        delays=delays_by_month(period, now),
        satisfaction=satisfaction(period),
        recurrences=recurrences(period, window=window),
        window_days=window,
    )


# --- Charts (SVG drawn here, with the evidence pack's chart code) ------------------------------------
def _percent(share: DelayShare) -> float:
    return round(share.percent) if share.percent is not None else 0


def trend_charts(item: Trend, *, limit: int = MAX_SERIES_CHARTS) -> list[tuple[str, SafeString]]:
    """Small multiples: one column chart per category (the largest ``limit``), months on the x axis.

    charts.py has no stacked chart; one small chart per category keeps every value written as text
    and readable without colour.
    """
    biggest = sorted(item.series, key=lambda s: -s.total)[:limit]
    return [
        (s.label, charts.column_chart(zip(item.month_labels, s.counts, strict=True), width=320, height=130,
                                      title=f"{s.label} : réclamations par mois"))
        for s in biggest if s.total
    ]


def delay_charts(delays: tuple[MonthDelays, ...]) -> list[tuple[str, SafeString]]:
    labels = [d.label for d in delays]
    return [
        ("Accusés de réception dans le délai (% par mois de réception)",
         charts.column_chart(zip(labels, [_percent(d.ack) for d in delays], strict=True),
                             title="Part des accusés de réception dans le délai, en %, par mois")),
        ("Réponses argumentées dans le délai (% par mois de réception)",
         charts.column_chart(zip(labels, [_percent(d.answer) for d in delays], strict=True),
                             title="Part des réponses argumentées dans le délai, en %, par mois")),
    ]


def _pairs(buckets: Iterable[Bucket]) -> list[tuple[str, int]]:
    return [(b.label, b.count) for b in buckets]


def satisfaction_charts(analysis: SatisfactionAnalysis) -> list[tuple[str, SafeString]]:
    return [
        ("Satisfaction globale (1 à 5)",
         charts.bar_chart(_pairs(analysis.distribution), title="Réponses par note de satisfaction")),
        ("Problème résolu ?", charts.bar_chart(_pairs(analysis.solved), title="Problème résolu")),
        ("Réponse claire ?", charts.bar_chart(_pairs(analysis.answer_clear), title="Réponse jugée claire")),
        ("Délai acceptable ?",
         charts.bar_chart(_pairs(analysis.delay_acceptable), title="Délai jugé acceptable")),
        ("Satisfaction moyenne par mois de réception",
         charts.column_chart([(month_label(m), round(avg, 1) if avg is not None else 0)
                              for m, _n, avg in analysis.by_month],
                             title="Satisfaction moyenne (sur 5) par mois de réception")),
    ]


def overview_charts(figures: Figures) -> list[tuple[str, SafeString]]:
    return [
        ("Réclamations reçues par mois",
         charts.column_chart([(b.label, b.count) for b in figures.by_month], title="Réclamations reçues par mois")),
        ("Accusés de réception dans le délai (période)",
         charts.share_bar(figures.acknowledged.on_time, figures.acknowledged.measured,
                          title="Part des accusés de réception envoyés dans le délai")),
        ("Réponses argumentées dans le délai (période)",
         charts.share_bar(figures.answered.on_time, figures.answered.measured,
                          title="Part des réponses argumentées envoyées dans le délai")),
    ]
