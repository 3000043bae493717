"""The e-mail outbox: sending what django-post-office stores, from any number of workers, once.

``emails.queue`` stores each e-mail (``post_office.models.Email``, status *queued*) in the
transaction of the change that causes it. This module sends them:

* **Claim.** A worker owns an e-mail only if its conditional UPDATE hit the row: the e-mail must
  still be queued and due, and the UPDATE pushes ``scheduled_time`` forward by a lease
  (``OUTBOX_LEASE_SECONDS``), so no other worker sees it as due while it is being sent. This is a
  row-level claim in the database: it holds across hosts, unlike post_office's file lock.
* **Send** through the configured backend (``POST_OFFICE["BACKENDS"]``), then mark it *sent* with
  the real sending time in ``last_updated`` and a ``Log`` row. The acknowledgement's "sent" time is
  that time (``services.reclamation_sync_sent_emails``).
* **Temporary error** of this e-mail (SMTP 4xx on it): back to the queue with an exponential
  backoff, ``number_of_retries`` + 1, until ``POST_OFFICE["MAX_RETRIES"]``; then failed.
  **Server down** (unreachable, timeout, refused greeting or credentials): not this e-mail's fault,
  so it never uses up its attempts — it waits, the wait doubling up to ``OUTBOX_OUTAGE_MAX_WAIT_MINUTES``,
  for as long as the outage lasts, and is shown to staff as "Nouvel essai prévu" meanwhile. An
  outage of a weekend turns no acknowledgement into a failed e-mail.
  **Permanent error** (SMTP 5xx, every recipient refused, a message that cannot be built): failed at
  once. Each failure is a ``Log`` row with the server's answer.
* **Stuck** e-mails (due for longer than ``OUTBOX_STUCK_MINUTES``: the broker was down when they
  were queued, or a worker died holding the claim) are found by the periodic re-queue, shown to
  staff and sent by the next run. Failed and stuck e-mails can be re-sent by staff (``resend``).

An e-mail is never sent twice, with one window left: a worker that dies after the SMTP server
accepted the message but before the "sent" status is written. Its lease then expires and the
e-mail goes out again (with the same Message-ID, which lets most mail systems drop the copy).
Closing that window would need a two-phase commit with the SMTP server, which SMTP does not have.
"""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from post_office.models import STATUS, Email, Log
from post_office.settings import get_backend, get_max_retries, get_retry_timedelta

from . import emails
from .journal import record_event
from .models import Communication, EventKind, Reclamation, RecordEmail

logger = logging.getLogger(__name__)

PENDING = (STATUS.queued, STATUS.requeued)
TEMPORARY = "temporary"
PERMANENT = "permanent"
# The wait between attempts doubles each time (5, 10, 20, 40, 80 min by default), up to this.
MAX_BACKOFF = timedelta(hours=6)

# What staff see about an e-mail that has not gone out.
FAILED = "failed"
STUCK = "stuck"
RETRYING = "retrying"
PROBLEM_LABELS = {
    FAILED: "Non envoyé",
    STUCK: "Bloqué dans la file",
    RETRYING: "Nouvel essai prévu",
}


def lease() -> timedelta:
    return timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def stuck_after() -> timedelta:
    return timedelta(minutes=settings.OUTBOX_STUCK_MINUTES)


# --- Queries -------------------------------------------------------------------------------------
def due(now: datetime) -> QuerySet[Email]:
    """E-mails waiting to be sent whose time has come (never claimed, retry time reached, or lease
    expired). The same condition guards the claim, so a worker only ever claims a due e-mail."""
    return Email.objects.filter(status__in=PENDING).filter(Q(scheduled_time__isnull=True) | Q(scheduled_time__lte=now))


def _stuck_q(now: datetime) -> Q:
    limit = now - stuck_after()
    return Q(status__in=PENDING) & (
        Q(scheduled_time__isnull=True, created__lte=limit) | Q(scheduled_time__isnull=False, scheduled_time__lte=limit)
    )


def stuck(now: datetime) -> QuerySet[Email]:
    """Due for a while and still not sent: no worker took it (broker down), or one died with it."""
    return Email.objects.filter(_stuck_q(now))


def _problem_q(now: datetime) -> Q:
    return Q(status=STATUS.failed) | Q(status__in=PENDING, number_of_retries__gte=1) | _stuck_q(now)


def _record_email_ids(reclamation: Reclamation) -> list[int]:
    """Ids of the e-mails about one record: those it carries as communications, and those linked to
    it (``RecordEmail``: staff alerts and notices too), in one query through two indexes.

    Read first and passed as a list: given subqueries, SQLite starts from the e-mails' status
    instead, reading every waiting e-mail; and a record with none needs no second query.
    """
    carried = Communication.objects.filter(reclamation=reclamation, email__isnull=False).order_by().values_list(
        "email_id")
    linked = RecordEmail.objects.filter(reclamation=reclamation).order_by().values_list("email_id")
    return [email_id for email_id, in carried.union(linked)]


def _emails_about(reclamation: Reclamation | None) -> QuerySet[Email] | None:
    """Every e-mail, or one record's; None when that record has none (no query needed)."""
    if reclamation is None:
        return Email.objects.all()
    ids = _record_email_ids(reclamation)
    return Email.objects.filter(pk__in=ids) if ids else None


def record_of(email: Email) -> Reclamation | None:
    """The record an e-mail is about, if any."""
    communication = Communication.objects.filter(email=email).select_related("reclamation").first()
    if communication is not None:
        return communication.reclamation
    link = RecordEmail.objects.filter(email=email).select_related("reclamation").first()
    return link.reclamation if link is not None else None


# --- Claims and sending --------------------------------------------------------------------------
def claim(email_id: int, now: datetime) -> bool:
    """Take one e-mail for sending. True only for the one worker whose UPDATE changed the row.

    On PostgreSQL a second UPDATE waits for the first to commit, then re-checks the condition on
    the new row (no longer due: 0 rows). On SQLite the write lock serialises them the same way.
    """
    return due(now).filter(pk=email_id).update(scheduled_time=now + lease(), last_updated=now) == 1


def classify(exc: BaseException) -> str:
    """TEMPORARY if the same e-mail may go through later, PERMANENT if retrying cannot help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in exc.recipients.values()]
        return TEMPORARY if codes and all(400 <= code < 500 for code in codes) else PERMANENT
    if isinstance(exc, (smtplib.SMTPConnectError, smtplib.SMTPHeloError, smtplib.SMTPAuthenticationError)):
        # The server, not this e-mail: wrong credentials or a sick server get fixed.
        return TEMPORARY
    if isinstance(exc, smtplib.SMTPResponseException):
        return TEMPORARY if 400 <= exc.smtp_code < 500 else PERMANENT
    if isinstance(exc, OSError):  # connection refused or reset, timeout, DNS, disconnected...
        return TEMPORARY
    return PERMANENT  # the message itself cannot be built or encoded: retrying changes nothing


def _server_unavailable(exc: BaseException) -> bool:
    """The server cannot take any e-mail right now (not just this one): stop the run early."""
    per_message = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)
    return isinstance(exc, OSError) and not isinstance(exc, per_message) and classify(exc) == TEMPORARY


def _smtp_text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def describe(exc: BaseException) -> str:
    """The server's answer, as staff read it in the failure log."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(
            f"{address} : {code} {_smtp_text(text)}" for address, (code, text) in exc.recipients.items()
        )
        return f"Destinataire refusé par le serveur ({refused})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"Réponse du serveur : {exc.smtp_code} {_smtp_text(exc.smtp_error)}"
    if isinstance(exc, OSError):
        return f"Serveur de messagerie injoignable ({type(exc).__name__}: {exc})"
    return f"Message impossible à envoyer ({type(exc).__name__}: {exc})"


def _smtp_code(exc: BaseException) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return next(iter(code for code, _text in exc.recipients.values()), None)
    return getattr(exc, "smtp_code", None)


@dataclass
class OutboxRun:
    """What one run did, by e-mail id."""

    sent: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    stopped_early: bool = False


class _Connections:
    """One open connection per backend alias for the whole run; dropped after any error."""

    def __init__(self) -> None:
        self._open: dict[str, Any] = {}

    def get(self, alias: str) -> Any:
        if alias not in self._open:
            connection = get_connection(get_backend(alias), fail_silently=False)
            connection.open()  # opened here, so that send_messages() keeps it for the next e-mail
            self._open[alias] = connection
        return self._open[alias]

    def drop(self, alias: str) -> None:
        connection = self._open.pop(alias, None)
        if connection is not None:
            try:
                connection.close()
            except Exception:  # a broken connection may fail to say goodbye; it is gone anyway
                logger.debug("outbox: closing a broken connection failed", exc_info=True)

    def close(self) -> None:
        for alias in list(self._open):
            self.drop(alias)


def _mark_sent(email_id: int, sent_at: datetime) -> None:
    with transaction.atomic():
        Email.objects.filter(pk=email_id).update(status=STATUS.sent, last_updated=sent_at)
        Log.objects.create(email_id=email_id, status=STATUS.sent, message="")


def _mark_failure(email: Email, exc: BaseException, now: datetime) -> str:
    """Requeue with backoff, or mark failed; returns RETRYING or FAILED."""
    kind = classify(exc)
    retries = email.number_of_retries or 0
    text = describe(exc)
    server_down = _server_unavailable(exc)
    with transaction.atomic():
        if kind == TEMPORARY and (server_down or retries < get_max_retries()):
            cap = timedelta(minutes=settings.OUTBOX_OUTAGE_MAX_WAIT_MINUTES) if server_down else MAX_BACKOFF
            wait = min(get_retry_timedelta() * (2 ** min(retries, 16)), cap)
            next_try = now + wait
            Email.objects.filter(pk=email.pk).update(
                status=STATUS.requeued, number_of_retries=retries + 1, scheduled_time=next_try, last_updated=now
            )
            local = timezone.localtime(next_try)
            what = "Serveur indisponible, le courriel attend son retour" if server_down else "Échec temporaire"
            Log.objects.create(
                email=email, status=STATUS.failed, exception_type=type(exc).__name__,
                message=f"{what}, nouvel essai le {local:%d/%m/%Y à %H:%M}. {text}",
            )
            return RETRYING
        Email.objects.filter(pk=email.pk).update(status=STATUS.failed, last_updated=now)
        reason = "Échec définitif" if kind == PERMANENT else f"Abandon après {retries + 1} essais"
        Log.objects.create(email=email, status=STATUS.failed, exception_type=type(exc).__name__,
                           message=f"{reason}. {text}")
        reclamation = record_of(email)
        if reclamation is not None:
            # The server's words may name the recipient: they stay in the outbox log, which can be
            # purged, never in the append-only journal.
            code = _smtp_code(exc)
            record_event(
                kind=EventKind.EMAIL_FAILED,
                reclamation=reclamation,
                actor=None,
                summary=f"Courriel non envoyé : « {email.subject} » ({reason.lower()}"
                + (f", code {code}" if code else "") + ").",
                data={"email": email.pk, "code": code, "permanent": kind == PERMANENT},
            )
        return FAILED


def send_due(*, limit: int | None = None) -> OutboxRun:
    """Claim and send the e-mails that are due, oldest first (higher priority before)."""
    run = OutboxRun()
    candidates = list(
        due(timezone.now()).order_by("-priority", "created", "pk").values_list("pk", flat=True)[
            : limit or settings.OUTBOX_BATCH_SIZE
        ]
    )
    connections = _Connections()
    try:
        for email_id in candidates:
            if not claim(email_id, timezone.now()):
                continue  # another worker has it
            email = Email.objects.prefetch_related("attachments").get(pk=email_id)
            alias = email.backend_alias or "default"
            try:
                message = email.email_message()
                if not message.recipients():
                    raise ValueError("aucun destinataire")
                connections.get(alias).send_messages([message])
            except Exception as exc:
                connections.drop(alias)
                outcome = _mark_failure(email, exc, timezone.now())
                (run.retried if outcome == RETRYING else run.failed).append(email_id)
                logger.warning("outbox: e-mail %s not sent (%s, %s)", email_id, classify(exc), type(exc).__name__)
                if _server_unavailable(exc):
                    # Every other e-mail would wait for the same timeout: leave them for the next
                    # run, unclaimed (they stay due, and count as stuck if this lasts).
                    run.stopped_early = True
                    break
                continue
            # Between the server's acceptance above and this write lies the one double-send window
            # (see the module docstring).
            _mark_sent(email_id, timezone.now())
            run.sent.append(email_id)
    finally:
        connections.close()
    if run.sent or run.retried or run.failed:
        logger.info("outbox: %d sent, %d to retry, %d failed", len(run.sent), len(run.retried), len(run.failed))
    return run


def requeue_stuck(now: datetime | None = None) -> int:
    """What the periodic re-queue finds: returns how many e-mails are due now (stuck ones included).

    Nothing needs resetting: a claim whose lease expired is due again by construction, and so is
    an e-mail queued while the broker was down. Stuck ones are logged for monitoring (ids only).
    """
    now = now or timezone.now()
    stuck_ids = list(stuck(now).values_list("pk", flat=True)[:50])
    if stuck_ids:
        logger.warning("outbox: %d e-mail(s) stuck in the queue, re-queued: %s", len(stuck_ids), stuck_ids)
    return due(now).count()


# --- What staff see ------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutboxProblem:
    email: Email
    problem: str  # FAILED, STUCK or RETRYING
    last_error: str
    reclamation: Reclamation | None

    @property
    def label(self) -> str:
        return PROBLEM_LABELS[self.problem]

    @property
    def can_resend(self) -> bool:
        return self.problem in (FAILED, STUCK)


def _problem_of(email: Email, now: datetime) -> str:
    if email.status == STATUS.failed:
        return FAILED
    waiting_since = email.scheduled_time or email.created
    return STUCK if waiting_since <= now - stuck_after() else RETRYING


def problems(*, reclamation: Reclamation | None = None, now: datetime | None = None,
             limit: int = 50) -> list[OutboxProblem]:
    """Failed, stuck and retrying e-mails, newest first; only one record's when given."""
    now = now or timezone.now()
    queryset = _emails_about(reclamation)
    if queryset is None:
        return []
    queryset = queryset.filter(_problem_q(now))
    failures = Log.objects.filter(status=STATUS.failed).order_by("-date", "-pk")
    found = list(
        queryset.order_by("-created", "-pk").prefetch_related(Prefetch("logs", queryset=failures, to_attr="failures"))[
            :limit
        ]
    )
    records = _records_of(found) if reclamation is None else {email.pk: reclamation for email in found}
    return [
        OutboxProblem(
            email=email,
            problem=_problem_of(email, now),
            last_error=email.failures[0].message if email.failures else "",
            reclamation=records.get(email.pk),
        )
        for email in found
    ]


def _records_of(found: list[Email]) -> dict[int, Reclamation]:
    """Each e-mail's record, in two queries for the whole list."""
    by_email: dict[int, Reclamation] = {
        c.email_id: c.reclamation
        for c in Communication.objects.filter(email__in=found).select_related("reclamation")
    }
    others = [email for email in found if email.pk not in by_email]
    if others:
        for link in RecordEmail.objects.filter(email__in=others).select_related("reclamation"):
            by_email[link.email_id] = link.reclamation
    return by_email


def problem_count(*, reclamation: Reclamation | None = None, now: datetime | None = None) -> int:
    queryset = _emails_about(reclamation)
    if queryset is None:
        return 0
    return queryset.filter(_problem_q(now or timezone.now())).count()


# --- Staff re-send -------------------------------------------------------------------------------
def resend(*, email_id: int, actor: Any) -> Email | None:
    """Put a failed or stuck e-mail back in the queue, as new, and ask a worker to send it.

    Returns None when the e-mail is not (or no longer) failed or stuck: sent in the meantime,
    already re-sent by a colleague, or being sent right now (its claim is still running). The
    condition is in the UPDATE, so two staff members clicking at once re-send it once.
    """
    now = timezone.now()
    with transaction.atomic():
        resendable = Email.objects.filter(pk=email_id).filter(Q(status=STATUS.failed) | _stuck_q(now))
        if not resendable.update(status=STATUS.queued, scheduled_time=None, number_of_retries=0, last_updated=now):
            return None
        email = Email.objects.get(pk=email_id)
        reclamation = record_of(email)
        if reclamation is not None:
            record_event(
                kind=EventKind.EMAIL_RESENT,
                reclamation=reclamation,
                actor=actor,
                summary=f"Courriel remis en file d'envoi : « {email.subject} ».",
                data={"email": email.pk},
            )
        emails.request_send()
    return email
