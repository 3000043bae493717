"""The internal digest (procedure: "communication en interne"): the analysis goes back to every staff member.

Monthly by default (beat, ``settings.CELERY_BEAT_SCHEDULE["monthly-digest"]``, for the previous
month) or on demand (``manage.py send_digest``, the back-office). A digest is built once per period
and its content frozen in ``Digest.content``: the proof shows what people were told, whatever
changes later. Each active staff member gets a copy (``DigestReceipt``) with a personal
acknowledgement link; who acknowledged and when is the auditor's proof.

Sending the same period twice sends nothing twice: the period is unique, each person has one
receipt per digest, and the digest row is locked while receipts are made.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone

from .. import analysis, emails, journal_chain, roles, tokens, workflow
from ..journal import record_event
from ..models import Digest, DigestReceipt, EventKind, JournalChainHead, Organisation, Reclamation
from ..statistics import NOT_SET, Period, compute_figures
from ..workflow import Step
from . import improvement as improvement_services
from .alerts import person_name
from .base import Actor, WorkflowError

logger = logging.getLogger(__name__)

MAX_LISTED = 20  # improvement actions and recurrences listed in the e-mail; the page shows all


# --- Periods -------------------------------------------------------------------------------------
def previous_month(today: date | None = None) -> Period:
    """The calendar month before ``today`` (the monthly digest's period)."""
    today = today or timezone.localdate()
    end = today.replace(day=1) - timedelta(days=1)
    return Period(start=end.replace(day=1), end=end)


# --- Who receives it -----------------------------------------------------------------------------
def staff_recipients() -> QuerySet[AbstractBaseUser]:
    """Every active staff member who handles records or pilots quality (roles.staff_members)."""
    return roles.staff_members().order_by("last_name", "first_name", "username")


# --- Content (frozen at sending) -----------------------------------------------------------------
def _share(share: Any) -> dict[str, Any]:
    return {"on_time": share.on_time, "measured": share.measured, "late": share.late, "pending": share.pending,
            "percent": round(share.percent, 1) if share.percent is not None else None}


def _improvement_row(item: Any, today: date) -> dict[str, Any]:
    return {
        "pk": item.pk,
        "title": item.title,
        "owner": person_name(item.owner) if item.owner else "",
        "due_date": item.due_date.isoformat() if item.due_date else None,
        "due_label": f"{item.due_date:%d/%m/%Y}" if item.due_date else "",
        "status": item.get_status_display(),
        "overdue": improvement_services.is_overdue(item, today),
        "check_result": item.get_check_result_display() if item.check_result else "",
        "references": sorted(r.reference for r in item.reclamations.all()),
    }


def build_content(period: Period, now: datetime | None = None) -> dict[str, Any]:
    """What the digest says about ``period``: plain JSON, rendered by the e-mail and the page.

    New records are those received in the period; closed ones, those closed in it (their root
    causes are what the team learned this month); delays and satisfaction follow the statistics'
    rule (records received in the period).
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    figures = compute_figures(period=period, now=now)
    closed = Reclamation.objects.filter(closed_at__gte=period.start_at, closed_at__lt=period.end_before)
    closed_counts = dict(closed.order_by().values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    root_causes = (
        closed.filter(state=Step.CLOSED).order_by().values_list("root_cause_category__name")
        .annotate(n=Count("pk")).values_list("root_cause_category__name", "n")
    )
    open_at_end = Reclamation.objects.filter(received_at__lt=period.end_before).filter(
        Q(state__in=workflow.OPEN_STEPS) | Q(closed_at__gte=period.end_before)
    ).count()
    plan = list(improvement_services.in_period(period.start, period.end))
    created = [i for i in plan if period.start <= timezone.localdate(i.created_at) <= period.end]
    done = [i for i in plan if i.done_at and period.start <= i.done_at <= period.end]
    open_items = [i for i in plan if i.status in improvement_services.OPEN_STATUSES]
    recurrences = analysis.recurrences(period)
    return {
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat(), "label": period.label},
        "generated_at": now.isoformat(),
        "new": {"total": figures.total,
                "by_kind": [{"label": b.label, "count": b.count} for b in figures.by_kind]},
        "closed": {"total": closed_counts.get(Step.CLOSED, 0), "discarded": closed_counts.get(Step.DISCARDED, 0)},
        "open_at_end": open_at_end,
        "on_time": {"ack": _share(figures.acknowledged), "answer": _share(figures.answered)},
        "root_causes": sorted(
            ({"label": name or NOT_SET, "count": n} for name, n in root_causes), key=lambda r: (-r["count"], r["label"])
        ),
        "satisfaction": {
            "answers": figures.satisfaction.answers,
            "no_answer": figures.satisfaction.no_answer,
            "average": round(figures.satisfaction.average, 1) if figures.satisfaction.average is not None else None,
        },
        "improvements": {
            "created": [_improvement_row(i, today) for i in created[:MAX_LISTED]],
            "done": [_improvement_row(i, today) for i in done[:MAX_LISTED]],
            "open": [_improvement_row(i, today) for i in open_items[:MAX_LISTED]],
            "open_total": len(open_items),
            "overdue_total": sum(1 for i in open_items if improvement_services.is_overdue(i, today)),
            "done_total": len(done),
            "created_total": len(created),
        },
        "recurrences": [
            {"dimension": r.dimension_label, "label": r.label, "references": [x.reference for x in r.records],
             "records": [x.pk for x in r.records]}
            for r in recurrences[:MAX_LISTED]
        ],
        "recurrence_window_days": analysis.window_days(),
    }


# --- Sending -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DigestSent:
    digest: Digest
    created: bool  # False: this period's digest existed already (its content is unchanged)
    recipients: list[str]  # the people who got a copy now (nobody twice)
    without_address: list[str]  # people with a receipt but no e-mail address (read it in the back-office)


def read_url(token: str) -> str:
    return settings.SITE_URL + reverse("quality:digest_read", args=[token])


def digest_url(digest: Digest) -> str:
    return settings.SITE_URL + reverse("quality:digest_detail", args=[digest.pk])


def _digest_for(period: Period, now: datetime) -> tuple[Digest, bool]:
    """The period's digest, locked; made (with its frozen content) if it does not exist yet."""
    digest = Digest.objects.select_for_update().filter(period_start=period.start, period_end=period.end).first()
    if digest is not None:
        return digest, False
    try:
        with transaction.atomic():  # a savepoint: another sender may create it at the same moment
            digest = Digest.objects.create(period_start=period.start, period_end=period.end,
                                           content=build_content(period, now))
    except IntegrityError:
        return Digest.objects.select_for_update().get(period_start=period.start, period_end=period.end), False
    return digest, True


def digest_send(*, period: Period, actor: Actor = None, now: datetime | None = None) -> DigestSent:
    """Build (once) and send the digest of ``period`` to every staff member who has no copy yet."""
    now = now or timezone.now()
    if period.end >= timezone.localdate(now):
        raise WorkflowError("Le bilan porte sur une période terminée : choisissez une fin de période passée.")
    organisation = Organisation.current()
    with transaction.atomic():
        digest, created = _digest_for(period, now)
        # The head of the journal chain, stated in each copy: every reader holds a copy of it outside
        # the database, which a truncated or rewritten log no longer matches.
        chain_head = JournalChainHead.objects.filter(pk=1).first()
        already = set(digest.receipts.values_list("user_id", flat=True))
        sent, without_address = [], []
        for user in staff_recipients().exclude(pk__in=already):
            token, token_hash = tokens.new_token()
            receipt = DigestReceipt.objects.create(digest=digest, user=user, token_hash=token_hash)
            if user.email:
                emails.queue(
                    name="digest",
                    to=[user.email],
                    context={"digest": digest, "content": digest.content, "user": user, "organisation": organisation,
                             "read_url": read_url(token), "digest_url": digest_url(digest),
                             "chain_head": chain_head},
                )
                receipt.sent_at = now
                receipt.save(update_fields=["sent_at"])
                sent.append(person_name(user))
            else:
                without_address.append(person_name(user))
        if created or sent or without_address:
            summary = f"Bilan interne {period.label} envoyé à {len(sent)} membre{pluralize(len(sent))} de l'équipe"
            if without_address:
                summary += f" ; sans adresse électronique (à lire dans le back-office) : {', '.join(without_address)}"
            record_event(
                kind=EventKind.DIGEST,
                actor=actor,
                summary=summary + ".",
                data={"digest": digest.pk, "period": [period.start, period.end], "created": created,
                      "recipients": sent, "without_address": without_address},
            )
            # And in the checkpoint file, once this transaction has committed.
            journal_chain.checkpoint_head(reason="bilan interne")
    return DigestSent(digest=digest, created=created, recipients=sent, without_address=without_address)


# --- Acknowledging -------------------------------------------------------------------------------
def receipt_for_token(token: str) -> DigestReceipt | None:
    """The receipt whose e-mail link this is, or None (constant-time compared)."""
    if not token or len(token) > 128:
        return None
    receipt = DigestReceipt.objects.select_related("digest", "user").filter(token_hash=tokens.hash_token(token)).first()
    if receipt is None or not tokens.token_matches(token, receipt.token_hash):
        return None
    return receipt


def digest_acknowledge(*, receipt: DigestReceipt, user: AbstractBaseUser, now: datetime | None = None) -> bool:
    """``user`` confirms having read their copy. True the first time; later clicks change nothing.

    Claimed by a conditional UPDATE (``acknowledged_at`` still empty, and the copy is the user's).
    """
    if receipt.user_id != user.pk:
        raise WorkflowError("Ce bilan a été adressé à un autre membre de l'équipe : seul son destinataire "
                            "peut en confirmer la lecture.")
    now = now or timezone.now()
    with transaction.atomic():
        claimed = DigestReceipt.objects.filter(pk=receipt.pk, user=user, acknowledged_at__isnull=True).update(
            acknowledged_at=now
        )
        if not claimed:
            return False
        receipt.acknowledged_at = now
        digest = receipt.digest
        record_event(
            kind=EventKind.DIGEST,
            actor=user,
            summary=f"Lecture du bilan interne du {digest.period_start:%d/%m/%Y} au {digest.period_end:%d/%m/%Y} "
                    f"confirmée par {person_name(user)}.",
            data={"digest": digest.pk, "receipt": receipt.pk, "acknowledged_at": now},
        )
    return True


def acknowledgements(*, start: date, end: date) -> QuerySet[DigestReceipt]:
    """Every copy of the digests whose period overlaps ``start``–``end``, with who read it and when
    (the proof of internal communication, for the evidence pack)."""
    return (
        DigestReceipt.objects.filter(digest__period_start__lte=end, digest__period_end__gte=start)
        .select_related("digest", "user")
        .order_by("digest__period_start", "user__last_name", "user__first_name", "user__username")
    )
