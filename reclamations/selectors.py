"""Reads that matter: the back-office list, the dashboard figures, a record's page and its timeline.

Views never build these queries themselves, so the number of queries a page makes is decided here
(and tested): the list costs the same for ten records and for ten thousand.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import FieldDoesNotExist
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    Window,
    prefetch_related_objects,
)
from django.db.models.expressions import OrderBy
from django.utils import timezone
from post_office.models import Email

from . import consistency, register, roles, search, tokens, workflow
from .markup import local
from .models import (
    Action,
    ActionStatus,
    Attachment,
    Communication,
    Digest,
    DigestReceipt,
    Event,
    EventKind,
    ExportJob,
    FollowUpLink,
    ImprovementAction,
    InboundMessage,
    InboundStatus,
    LinkRequest,
    MailboxPoll,
    OrphanFileReport,
    Priority,
    Reclamation,
    RecordRead,
    RootCauseCategory,
    SavedView,
    SearchDocument,
    Service,
    StaffPreference,
)

# --- The list ------------------------------------------------------------------------------------
_STEP_ORDER = Case(
    *(When(state=state, then=Value(number)) for number, state in enumerate(workflow.OPEN_STEPS, start=1)),
    When(state=workflow.Step.CLOSED, then=Value(10)),
    default=Value(11),
    output_field=IntegerField(),
)
_PRIORITY_ORDER = Case(
    When(priority=Priority.CRITICAL, then=Value(4)),
    When(priority=Priority.HIGH, then=Value(3)),
    When(priority=Priority.NORMAL, then=Value(2)),
    When(priority=Priority.LOW, then=Value(1)),
    default=Value(0),
    output_field=IntegerField(),
)

# ``?ordre=`` values (French, they are in the address bar) → ORDER BY. Anything else is ignored.
SORTS: dict[str, tuple[str, ...]] = {
    "reference": ("reference",),
    "recue": ("received_at", "id"),
    "objet": ("subject", "id"),
    "etape": ("step_order", "-received_at"),
    "priorite": ("priority_order", "-received_at"),
    "responsable": ("handler__last_name", "handler__first_name", "-received_at"),
    "accuse": ("ack_due_at", "id"),
    "reponse": ("answer_due_at", "id"),
}
DEFAULT_SORT = "-recue"


# Long texts no list row shows: left out of the list's query (sorting 10,000 rows carries them all).
# Only the columns a list row shows (``templatetags/list_tags.py``, the SLA badges): a record has
# seventy, a third of them dates, each parsed from text on SQLite; the row needs eighteen.
LIST_FIELDS = (
    "reference", "kind", "channel", "received_at", "subject", "complainant_name", "anonymised_at", "state",
    "priority", "ack_due_at", "ack_risk_at", "acknowledged_at", "answer_due_at", "answer_risk_at", "answered_at",
    "service__name", "handler__first_name", "handler__last_name", "handler__username",
)


def reclamations_for_list(*, user: Any = None) -> QuerySet[Reclamation]:
    """Every record with what a list row shows, in one query per page whatever the table's size.

    ``unread``: whether the record is unread for ``user``, a subquery of that same query.
    """
    unread = Exists(unread_records(user).filter(reclamation=OuterRef("pk"))) if user is not None else Value(False)
    return Reclamation.objects.select_related("handler", "service").only(*LIST_FIELDS).annotate(
        step_order=_STEP_ORDER, priority_order=_PRIORITY_ORDER, unread=unread
    )


@dataclass(frozen=True)
class Neighbours:
    """The records just before and after one record in a list (ids; None at either end)."""

    previous: int | None
    next: int | None


def _sort_columns(sort: str | None) -> tuple[list[tuple[str, bool]], str]:
    """A whitelisted ``?ordre=`` as (column, descending) pairs ending with the id, and the sort applied.

    The id last makes the order total, so that a record has exactly one place in it."""
    sort = sort or DEFAULT_SORT
    key = sort.removeprefix("-")
    if key not in SORTS:
        sort, key = DEFAULT_SORT, DEFAULT_SORT.removeprefix("-")
    columns = [(column.removeprefix("-"), column.startswith("-")) for column in SORTS[key]]
    if sort.startswith("-"):
        # Reverse the main column only; tie-breakers keep a stable, sensible order.
        columns[0] = (columns[0][0], not columns[0][1])
    if columns[-1][0] not in ("id", "reference"):
        columns.append(("id", False))
    return columns, sort


def _nullable(name: str) -> bool:
    """Whether a sort column can be empty (a column of an optional relation, such as the handler)."""
    model, nullable = Reclamation, False
    for part in name.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:  # an annotation of the list (step, priority): never empty
            return False
        nullable = nullable or field.null
        model = field.related_model or model
    return nullable


def _order_by(columns: list[tuple[str, bool]], *, reverse: bool = False) -> list[OrderBy]:
    """ORDER BY for ``columns`` (or its exact reverse). Empty values go last, the two databases
    disagreeing by default, so that the neighbours below read the order the list shows."""
    ordering = []
    for name, descending in columns:
        nulls = ({"nulls_first": True} if reverse else {"nulls_last": True}) if _nullable(name) else {}
        ordering.append(F(name).desc(**nulls) if descending != reverse else F(name).asc(**nulls))
    return ordering


def _after(columns: list[tuple[str, bool]], values: dict[str, Any], *, reverse: bool = False) -> Q:
    """The rows after the one with ``values`` in the order ``columns`` (before it with ``reverse``):
    equal on the first columns and past it on the next one, empty values being last."""
    found, equal = Q(pk__in=[]), Q()
    for name, descending in columns:
        value, nullable = values[name], _nullable(name)
        if value is None:
            past = Q(**{f"{name}__isnull": False}) if reverse else Q(pk__in=[])
            same = Q(**{f"{name}__isnull": True})
        else:
            past = Q(**{f"{name}__{'lt' if descending != reverse else 'gt'}": value})
            if nullable and not reverse:
                past |= Q(**{f"{name}__isnull": True})
            same = Q(**{name: value})
        found |= equal & past
        equal &= same
    # The same bound on the first column, alone: an index on it answers "the first row past it".
    name, descending = columns[0]
    if not _nullable(name):
        found &= Q(**{f"{name}__{'lte' if descending != reverse else 'gte'}": values[name]})
    return found


def list_neighbours(filtered: QuerySet[Reclamation] | None, sort: str | None, pk: int) -> Neighbours | None:
    """The records before and after ``pk`` in the list ``filtered`` (None: every record) sorted by
    ``sort`` (``?ordre=``).

    The record itself always takes its place in the order, even when it no longer matches the
    filters: a record of the "Non lues" list is read as soon as it is opened, and ``j`` must still
    lead to the next unread one. Three short queries (the record's sort values, then the first row
    on each side of it), whatever the list's length: reading every id of a 100,000-record list
    cost a quarter of a second per record page.
    """
    every = Reclamation.objects.annotate(step_order=_STEP_ORDER, priority_order=_PRIORITY_ORDER)
    # The record's place is read from the record itself, matching or not; its neighbours from the
    # list's own query, so the database filters and orders as it does for the list page.
    within = every if filtered is None else filtered
    columns, _ = _sort_columns(sort)
    values = every.filter(pk=pk).values(*(name for name, _ in columns)).first()
    if values is None:  # no such record (or deleted meanwhile)
        return None

    def first(*, reverse: bool) -> int | None:
        rows = within.filter(_after(columns, values, reverse=reverse)).order_by(*_order_by(columns, reverse=reverse))
        return rows.values_list("pk", flat=True).first()

    return Neighbours(previous=first(reverse=True), next=first(reverse=False))


def unread_records(user: Any) -> QuerySet[RecordRead]:
    """``user``'s unread marks (partial index ``record_read_unread``)."""
    return RecordRead.objects.filter(user_id=user.pk, unread_at__isnull=False)


def unread_count(user: Any) -> int:
    """How many records are unread for ``user``: one count on the partial index (the navigation)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return unread_records(user).count()


def sort_reclamations(queryset: QuerySet[Reclamation], sort: str | None) -> tuple[QuerySet[Reclamation], str]:
    """Apply a whitelisted ``?ordre=`` (``-`` for descending); returns the queryset and the sort applied."""
    columns, sort = _sort_columns(sort)
    return queryset.order_by(*_order_by(columns)), sort


def reclamations_selected(pks: Iterable[Any]) -> list[Reclamation]:
    """The records of a selection on the list (ids as posted; anything not a number is ignored),
    with their handler, for the permission check and the confirmation message."""
    ids = {int(pk) for pk in pks if str(pk).isdigit()}
    return list(Reclamation.objects.filter(pk__in=ids).select_related("handler").order_by("reference"))


def reclamations_for_register(pks: Iterable[int]) -> list[Reclamation]:
    """The records of a selection as the register reads them (its relations, its order: reception).

    Every back-office person may view every record (``permissions.can_view``); who may take them
    out of the application as a file is the view's to check, as for the register.
    """
    return list(register.selection_queryset({int(pk) for pk in pks}))


def saved_views(user: Any) -> list[SavedView]:
    """``user``'s saved views of the list, by name (one query, for the list's sidebar)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(SavedView.objects.filter(user=user).only("pk", "name", "query"))


def staff_handlers() -> QuerySet[Any]:
    """Active staff members who may handle records: the people a record can be assigned to."""
    app_label, codename = roles.HANDLE_PERMISSION.split(".")
    user_model = get_user_model()
    permission = Permission.objects.filter(codename=codename, content_type__app_label=app_label)
    # Semi-joins (IN subqueries), not joins made DISTINCT: PostgreSQL answers them from the small
    # link tables instead of joining every user to every permission of every group.
    by_group = Q(pk__in=user_model.groups.through.objects.filter(group__permissions__in=permission).values("user_id"))
    by_user = Q(pk__in=user_model.user_permissions.through.objects.filter(permission__in=permission)
                .values("user_id"))
    return (
        user_model.objects.filter(is_active=True, is_staff=True)
        .filter(by_group | by_user | Q(is_superuser=True))
        .order_by("last_name", "first_name", "username")
    )


def active_services(*, keep: int | None = None) -> QuerySet[Service]:
    """Active services; ``keep``, the one a record already has, stays selectable once deactivated."""
    return Service.objects.filter(Q(active=True) | Q(pk=keep) if keep else Q(active=True))


def active_root_causes(*, keep: int | None = None) -> QuerySet[RootCauseCategory]:
    """Active root-cause categories, plus ``keep`` (a record's own, perhaps deactivated since)."""
    return RootCauseCategory.objects.filter(Q(active=True) | Q(pk=keep) if keep else Q(active=True))


def user_by_pk(pk: Any) -> Any | None:
    return get_user_model().objects.filter(pk=pk).first()


def reclamations_by_reference(references: list[str]) -> dict[str, Reclamation]:
    """The records with these references, by reference; unknown references are simply absent."""
    return {r.reference: r for r in Reclamation.objects.filter(reference__in=references)}


def reclamation_by_reference(reference: str) -> Reclamation | None:
    return Reclamation.objects.filter(reference=reference).first()


# --- The dashboard -------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepCount:
    state: str
    number: int
    label: str
    count: int


@dataclass(frozen=True)
class Dashboard:
    steps: list[StepCount]
    open_total: int
    ack_at_risk: int
    ack_late: int
    answer_at_risk: int
    answer_late: int
    mine: int
    mine_late: int
    unassigned: int
    overdue_actions: int
    waiting_feedback: int
    unread: int = 0
    overdue_action_list: list[Action] = field(default_factory=list)


def overdue_actions(today: date) -> QuerySet[Action]:
    """Action-plan items past their due date, not done nor cancelled, on records still open."""
    return (
        Action.objects.filter(due_date__lt=today, reclamation__state__in=workflow.OPEN_STEPS)
        .exclude(status__in=(ActionStatus.DONE, ActionStatus.CANCELLED))
        .select_related("reclamation", "owner")
        .order_by("due_date", "id")
    )


def dashboard(*, user: Any, now: datetime, today: date) -> Dashboard:
    records = Reclamation.objects.all()
    per_state = dict(records.open().values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    steps = [
        StepCount(state=state, number=number, label=workflow.step_label(state), count=per_state.get(state, 0))
        for number, state in enumerate(workflow.OPEN_STEPS, start=1)
    ]
    overdue = overdue_actions(today)
    return Dashboard(
        steps=steps,
        open_total=sum(per_state.values()),
        ack_at_risk=records.ack_at_risk(now).count(),
        ack_late=records.ack_late(now).count(),
        answer_at_risk=records.answer_at_risk(now).count(),
        answer_late=records.answer_late(now).count(),
        mine=records.open().filter(handler=user).count(),
        mine_late=records.filter(handler=user).late(now).count(),
        unassigned=records.open().filter(handler__isnull=True).count(),
        overdue_actions=overdue.count(),
        waiting_feedback=per_state.get(workflow.Step.FEEDBACK, 0),
        unread=unread_count(user),
        overdue_action_list=list(overdue[:10]),
    )


def submissions_to_announce() -> QuerySet[Reclamation]:
    """Contact submissions whose notice to staff no worker has written yet (partial index)."""
    return Reclamation.objects.filter(staff_notice_pending=True)


# --- The client's side ------------------------------------------------------------------------------
# At most this many records get a link from one "lien perdu" request (one address, many records).
LOST_LINK_MAX_RECORDS = 20


def reclamation_for_follow_up_token(token: str) -> Reclamation | None:
    """The record whose follow-up link this is (the first one, or a further one still valid), or
    None: unknown, or expired (``token_expires_at``: the record was anonymised)."""
    token_hash = tokens.hash_token(token)
    now = timezone.now()
    reclamation = Reclamation.objects.filter(token_hash=token_hash).first()
    if reclamation is None:
        link = (FollowUpLink.objects.select_related("reclamation")
                .filter(token_hash=token_hash, expires_at__gt=now).first())
        if link is None or not tokens.token_matches(token, link.token_hash):
            return None
        reclamation = link.reclamation
    elif not tokens.token_matches(token, reclamation.token_hash):
        return None
    if reclamation.token_expires_at is not None and reclamation.token_expires_at <= now:
        return None
    return reclamation


def lost_link_requests_waiting() -> bool:
    return LinkRequest.objects.exists()


def records_for_lost_link(*, email: str, reference: str = "") -> list[Reclamation]:
    """The records a "lien perdu" request may get a link for: the address on file is ``email``
    (whatever its case), the reference ``reference`` if one was given, and the record is open or
    closed less than ``FOLLOW_UP_TOKEN_DAYS`` ago, its personal data still kept."""
    email = email.strip()
    if not email:
        return []
    now = timezone.now()
    recent = now - timedelta(days=settings.FOLLOW_UP_TOKEN_DAYS)
    records = Reclamation.objects.filter(complainant_email__iexact=email).filter(
        Q(state__in=workflow.OPEN_STEPS) | Q(closed_at__gt=recent)
    ).filter(Q(token_expires_at__isnull=True) | Q(token_expires_at__gt=now))
    if reference:
        records = records.filter(reference=reference.strip().upper())
    return list(records.order_by("-received_at", "pk")[:LOST_LINK_MAX_RECORDS])


# --- One record ----------------------------------------------------------------------------------
def reclamation_for_detail(pk: int) -> Reclamation:
    """The record with its header's relations; raises ``Reclamation.DoesNotExist``."""
    return Reclamation.objects.select_related(
        "handler", "service", "root_cause_category", "created_by"
    ).get(pk=pk)


def actions_of(reclamation: Reclamation) -> list[Action]:
    """The record's action plan, in order, kept on it as ``reclamation.actions.all()``: the step's
    checks (``workflow``) read the same list instead of asking the database again."""
    # Read afresh each time: a list kept from before a change would be stale.
    getattr(reclamation, "_prefetched_objects_cache", {}).pop("actions", None)
    prefetch_related_objects(
        [reclamation], Prefetch("actions", queryset=Action.objects.select_related("owner").order_by("created_at", "id"))
    )
    return list(reclamation.actions.all())


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a record's history: an event, or the full content of a message, call or file."""

    at: datetime
    kind: str  # "event", "communication" or "attachment"
    public: bool
    author: str
    obj: Any

    @property
    def order(self) -> tuple[datetime, int, int]:
        rank = {"event": 0, "communication": 1, "attachment": 2}[self.kind]
        return (self.at, rank, self.obj.pk)

    # What ``|date:"c"`` and ``|date:"d/m/Y H:i"`` print, without the filter's machinery (a long
    # history has a hundred lines and more).
    @property
    def at_iso(self) -> str:
        return timezone.localtime(self.at).isoformat()

    @property
    def at_shown(self) -> str:
        return local(self.at)


# Only the columns the history shows, as plain rows: a long case has a hundred events and as many
# exchanges, and model instances would cost the page more than the rest of its history.
_TIMELINE_EVENT_FIELDS = ("pk", "created_at", "kind", "public", "actor_label", "summary", "data")


class EventLine(NamedTuple):
    """What the history shows of an event."""

    pk: int
    summary: str
_TIMELINE_COMMUNICATION_FIELDS = (
    "pk", "kind", "direction", "purpose", "public", "occurred_at", "duration_minutes", "subject", "body",
    "email_id", "email__status", "author__first_name", "author__last_name", "author__username",
)


class CommunicationLine(NamedTuple):
    """What the history shows of a message, a call or a letter (``timeline_tags._communication``)."""

    pk: int
    kind: str
    direction: str
    purpose: str
    public: bool
    occurred_at: datetime
    duration_minutes: int | None
    subject: str
    body: str
    email_id: int | None
    email_status: int | None
    author: str  # the author's name, "" when the system wrote it


def timeline(reclamation: Reclamation) -> list[TimelineEntry]:
    """Events, communications and attachments in date order.

    A message or a file is shown once, with its content: the event that recorded it is folded into
    it (it is still in the journal). Events stay for everything else (steps, edits, alerts...).
    """
    communications = [
        CommunicationLine(*row[:11], display_name(*row[11:14]))
        for row in Communication.objects.filter(reclamation=reclamation).values_list(*_TIMELINE_COMMUNICATION_FIELDS)
    ]
    attachments = list(Attachment.objects.filter(reclamation=reclamation).select_related("uploaded_by"))
    shown_communications = {c.pk for c in communications}
    shown_attachments = {a.pk for a in attachments}
    authors: dict[tuple[str, int], str] = {}
    entries: list[TimelineEntry] = []
    rows = Event.objects.filter(reclamation=reclamation).order_by("sequence").values_list(*_TIMELINE_EVENT_FIELDS)
    for pk, created_at, kind, public, actor_label, summary, data in rows:
        data = data or {}
        if kind == EventKind.COMMUNICATION and data.get("communication") in shown_communications:
            authors[("communication", data["communication"])] = actor_label
            continue
        if kind == EventKind.ATTACHMENT_ADDED and data.get("attachment") in shown_attachments:
            authors[("attachment", data["attachment"])] = actor_label
            continue
        entries.append(TimelineEntry(created_at, "event", public, actor_label, EventLine(pk, summary)))
    for communication in communications:
        author = authors.get(("communication", communication.pk)) or communication.author
        entries.append(TimelineEntry(communication.occurred_at, "communication", communication.public, author,
                                     communication))
    for attachment in attachments:
        author = authors.get(("attachment", attachment.pk)) or _person(attachment.uploaded_by)
        entries.append(TimelineEntry(attachment.created_at, "attachment", attachment.public, author, attachment))
    entries.sort(key=lambda entry: entry.order)
    return entries


# --- The record page's conversation and history ---------------------------------------------------
# Exchanges shown when a record page opens, the newest ones; the older ones are one click away
# ("Afficher les N échanges plus anciens"), as in a help desk's thread. A long case's hundred
# exchanges cost the page more than everything else on it.
CONVERSATION_SHOWN = 30


@dataclass(frozen=True)
class Conversation:
    """A record's exchanges as one thread: messages, e-mails, calls, letters, internal notes, and
    the files added on their own; each message with the files that came or went with it."""

    entries: list[TimelineEntry]  # "communication" or "attachment", in the order the reader chose
    files_of: dict[int, list[Attachment]]  # communication pk -> its files
    files: list[Attachment]  # every file of the record, oldest first (the message form offers them)
    newest_first: bool
    total: int = 0  # every exchange of the record, shown or not

    @property
    def hidden(self) -> int:
        """The older exchanges left out (``limit``)."""
        return self.total - len(self.entries)


def conversation_newest_first(user: Any) -> bool:
    """The order this person chose for conversations (``StaffPreference``); newest first until then."""
    chosen = StaffPreference.objects.filter(user_id=user.pk).values_list("conversation_newest_first", flat=True)
    return next(iter(chosen), True)


def conversation(reclamation: Reclamation, *, newest_first: bool, limit: int | None = None) -> Conversation:
    """The thread, or its ``limit`` newest exchanges, in three queries whatever its length: the
    exchanges (as plain rows, like the history, with their count), the files, and which file went
    with which message."""
    # Each row also carries how many exchanges there are in all (a window over the whole thread,
    # computed before the LIMIT): the cut costs no query of its own.
    rows = (Communication.objects.filter(reclamation=reclamation).annotate(total=Window(Count("pk")))
            .order_by("-occurred_at", "-pk").values_list(*_TIMELINE_COMMUNICATION_FIELDS, "total"))
    read = list(rows if limit is None else rows[:limit])
    communications = [CommunicationLine(*row[:11], display_name(*row[11:14])) for row in read]
    counted = read[0][-1] if read else 0
    files = list(Attachment.objects.filter(reclamation=reclamation).select_related("uploaded_by")
                 .order_by("created_at", "pk"))
    by_pk = {a.pk: a for a in files}
    files_of: dict[int, list[Attachment]] = {}
    for attachment in files:
        if attachment.communication_id is not None:
            files_of.setdefault(attachment.communication_id, []).append(attachment)
    sent = Communication.sent_files.through.objects.filter(communication__reclamation=reclamation)
    for communication_id, attachment_id in sent.order_by("pk").values_list("communication_id", "attachment_id"):
        shown = files_of.setdefault(communication_id, [])
        if attachment_id in by_pk and by_pk[attachment_id] not in shown:
            shown.append(by_pk[attachment_id])
    entries = [
        TimelineEntry(c.occurred_at, "communication", c.public, c.author or _unsigned_author(c), c)
        for c in communications
    ]
    # A file that came with no message (Contact form, "Ajouter des pièces jointes") is an entry of
    # its own; one that came with a message is shown in it.
    standalone = [a for a in files if a.communication_id is None]
    entries += [TimelineEntry(a.created_at, "attachment", a.public, _person(a.uploaded_by) or "Réclamant", a)
                for a in standalone]
    # Newest first, then cut: the exchanges the query left out are older than every one it read.
    entries.sort(key=lambda entry: entry.order, reverse=True)
    if limit is not None:
        entries = entries[:limit]
    if not newest_first:
        entries.reverse()
    return Conversation(entries=entries, files_of=files_of, files=files, newest_first=newest_first,
                        total=counted + len(standalone))


def record_files(reclamation: Reclamation) -> list[Attachment]:
    """The record's files, oldest first: those a message or the answer may carry."""
    return list(Attachment.objects.filter(reclamation=reclamation).order_by("created_at", "pk"))


def _unsigned_author(c: CommunicationLine) -> str:
    # No staff author: the client wrote it, or the system sent it (acknowledgement, closure...).
    return "Réclamant" if c.direction == Communication.Direction.INBOUND else "Envoi automatique"


def history(reclamation: Reclamation) -> list[TimelineEntry]:
    """The record's system events (steps, edits, assignments, alerts...), oldest first: what the
    conversation does not show. The event of a message or a file is left out (the message or the
    file itself is in the conversation; the audit log keeps the event)."""
    folded = {EventKind.COMMUNICATION: "communication", EventKind.ATTACHMENT_ADDED: "attachment"}
    entries = []
    rows = Event.objects.filter(reclamation=reclamation).order_by("sequence").values_list(*_TIMELINE_EVENT_FIELDS)
    for pk, created_at, kind, public, actor_label, summary, data in rows:
        if kind in folded and isinstance(data, dict) and data.get(folded[kind]):
            continue
        entries.append(TimelineEntry(created_at, "event", public, actor_label, EventLine(pk, summary)))
    return entries


def anomalies(reclamation: Reclamation) -> list[str]:
    """What the record's dates and log show that the procedure does not allow (empty when all is in
    order): shown on the record's page so the team sees it before an auditor reads it on the sheet."""
    events = (
        Event.objects.filter(reclamation=reclamation, kind__in=consistency.CHECKED_EVENTS)
        .order_by("sequence")
        .only("sequence", "created_at", "actor_label", "kind", "data", "reclamation_id")
    )
    return consistency.anomalies_of(reclamation, events)


def display_name(first_name: str | None, last_name: str | None, username: str | None) -> str:
    """What ``User.get_full_name() or get_username()`` shows, from the three columns read as values
    ("" when there is no user)."""
    return f"{first_name or ''} {last_name or ''}".strip() or username or ""


def _person(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


# --- Personal data (RGPD) ------------------------------------------------------------------------
def personal_data_find(*, email: str = "", name: str = "") -> QuerySet[Reclamation]:
    """The records that still hold personal data of the person named by ``email`` or ``name``.

    Matched on the complainant's identity only (e-mail address, or full name, both compared without
    regard to case or surrounding spaces): a person mentioned inside another complaint's text is not
    found. Anonymised records hold nothing any more and are left out. No criterion: no record.
    """
    wanted = Q()
    email = email.strip()
    name = " ".join(name.split())
    if email:
        wanted |= Q(complainant_email__iexact=email)
    if name:
        wanted |= Q(complainant_name__iexact=name)
    if not wanted:
        return Reclamation.objects.none()
    return (
        Reclamation.objects.filter(wanted, anonymised_at__isnull=True)
        .select_related("service", "handler")
        .order_by("received_at", "pk")
    )


def records_past_retention(*, closed_before: datetime) -> QuerySet[Reclamation]:
    """Closed or discarded records, closed before ``closed_before`` and not yet anonymised.

    The index ``rec_retention`` (anonymised_at, closed_at) answers it without reading the table.
    """
    return Reclamation.objects.filter(
        anonymised_at__isnull=True, closed_at__lt=closed_before, state__in=workflow.TERMINAL_STEPS
    ).order_by("closed_at", "pk")


def orphan_file_report() -> OrphanFileReport | None:
    """The last periodic count of files under attachments/ that belong to no row, if any ran."""
    return OrphanFileReport.objects.filter(pk=1).first()


# --- Received e-mails ----------------------------------------------------------------------------
@dataclass(frozen=True)
class InboundOverview:
    to_sort: list[Any]  # waiting for a handler's decision (À trier, automatic)
    rejected: list[Any]  # unreadable, oversize, no valid sender: shown, nothing to decide
    handled: list[Any]  # the latest ones sorted or imported, for reference
    poll: Any  # MailboxPoll or None


def inbound_overview(*, limit: int = 100) -> InboundOverview:
    """The "Courriels à trier" page: three short lists, newest first, and the mailbox poll's state."""
    rows = InboundMessage.objects.select_related("reclamation", "handled_by").defer("reason")
    return InboundOverview(
        to_sort=list(rows.filter(status__in=(InboundStatus.TO_SORT, InboundStatus.AUTOMATIC))[:limit]),
        rejected=list(rows.filter(status=InboundStatus.REJECTED)[:limit]),
        handled=list(rows.exclude(status__in=(InboundStatus.TO_SORT, InboundStatus.AUTOMATIC,
                                              InboundStatus.REJECTED))[:20]),
        poll=MailboxPoll.objects.filter(pk=1).first(),
    )


def inbound_messages() -> QuerySet[InboundMessage]:
    """Received e-mails with their record and the person who sorted them (one message's page)."""
    return InboundMessage.objects.select_related("reclamation", "handled_by")


def inbound_waiting_count() -> int:
    return InboundMessage.objects.filter(status=InboundStatus.TO_SORT).count()


# --- Other pages -----------------------------------------------------------------------------------
class FollowUpReads(NamedTuple):
    """What the client's follow-up page shows: only what is public, never an internal note."""

    events: QuerySet[Event]
    communications: list[Communication]  # each with ``files``: what came or went with it
    form_files: QuerySet[Attachment]  # sent with the contact form, not with a message


def follow_up_reads(reclamation: Reclamation) -> FollowUpReads:
    public_files = Attachment.objects.filter(public=True).order_by("created_at", "pk")
    communications = list(
        reclamation.communications.filter(public=True)
        .exclude(direction=Communication.Direction.INTERNAL)
        .prefetch_related(Prefetch("attachments", queryset=public_files),
                          Prefetch("sent_files", queryset=public_files))
        .order_by("occurred_at", "pk")
    )
    for communication in communications:
        # Next to each message: the files that came with it, and those the handler sent with it.
        communication.files = list(dict.fromkeys([*communication.attachments.all(), *communication.sent_files.all()]))
    return FollowUpReads(
        events=Event.objects.filter(reclamation=reclamation, public=True).order_by("sequence"),
        communications=communications,
        form_files=public_files.filter(reclamation=reclamation, communication__isnull=True),
    )


def attachments_with_record() -> QuerySet[Attachment]:
    """For a download: the permission check reads the record, fetched in the same query."""
    return Attachment.objects.select_related("reclamation")


def recent_export_jobs(user: Any, *, limit: int) -> QuerySet[ExportJob]:
    """The export jobs ``user`` asked for, newest first (the model's ordering)."""
    return ExportJob.objects.filter(requested_by=user)[:limit]


def export_jobs_with_requester() -> QuerySet[ExportJob]:
    return ExportJob.objects.select_related("requested_by")


def outbox_email_exists(pk: int) -> bool:
    return Email.objects.filter(pk=pk).exists()


def anonymised_count() -> int:
    return Reclamation.objects.filter(anonymised_at__isnull=False).count()


def improvement_history(item: ImprovementAction) -> QuerySet[Event]:
    """The journal events about one line of the improvement plan, oldest first."""
    return Event.objects.filter(data__improvement=item.pk).order_by("sequence")


def action_with_record(pk: int) -> Action | None:
    return Action.objects.filter(pk=pk).select_related("reclamation").first()


def digests_for_list(*, recipient: Any = None) -> QuerySet[Digest]:
    """Digests, newest period first, with their copies and reads counted; only those sent to
    ``recipient`` when given (a handler sees their own, the quality lead all)."""
    queryset = Digest.objects.annotate(
        copies=Count("receipts"), read=Count("receipts", filter=Q(receipts__acknowledged_at__isnull=False))
    ).order_by("-period_end", "-pk")
    if recipient is not None:
        queryset = queryset.filter(receipts__user=recipient)
    return queryset


def digest_receipts_of(user: Any) -> dict[int, DigestReceipt]:
    """``user``'s copy of each digest, by digest id."""
    return {r.digest_id: r for r in DigestReceipt.objects.filter(user=user)}


def digest_receipt(*, digest_id: int, user: Any) -> DigestReceipt | None:
    """``user``'s copy of one digest, with the digest; None when it was not sent to them."""
    return DigestReceipt.objects.filter(digest_id=digest_id, user=user).select_related("digest").first()


def digest_copies(digest: Digest) -> QuerySet[DigestReceipt]:
    """Every copy of one digest, with who read it and when (the quality lead's view)."""
    return (
        DigestReceipt.objects.filter(digest=digest)
        .select_related("digest", "user")
        .order_by("user__last_name", "user__first_name", "user__username")
    )


def search_excerpts(reclamations: Iterable[Reclamation], query: str) -> dict[int, str]:
    """Escaped HTML excerpts (``search.excerpt_html``) of a page of searched records, by id: one
    query for the page, whatever the number of records or of their exchanges."""
    words = search.query_words(query)
    if not words:
        return {}
    ids = [r.pk for r in reclamations]
    documents = SearchDocument.objects.filter(pk__in=ids).values_list("pk", "parts")
    return {pk: excerpt_html for pk, parts in documents if (excerpt_html := search.excerpt_html(parts, words))}


# --- Evidence pack --------------------------------------------------------------------------------
def configuration_changes(*, since: datetime) -> list[Event]:
    """The logged changes of the configuration from ``since`` on, oldest first (the pack's section 1)."""
    return list(
        Event.objects.filter(kind=EventKind.CONFIGURATION_CHANGED, created_at__gte=since).order_by("sequence")
    )
