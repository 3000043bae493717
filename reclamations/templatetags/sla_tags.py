"""Time left and SLA badges, in the configured clock, the same way on every page.

``{% load sla_tags %}`` then ``{% sla_badge reclamation "ack" %}`` or ``{% sla_badge reclamation "answer" %}``.
The clock (organisation settings and opening hours) is read once per request, not once per row.
"""
from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

from ..markup import esc, local
from ..models import Reclamation
from ..sla import Clock, SlaStatus, format_hours_left

register = template.Library()

_BADGE_CLASSES = {
    SlaStatus.ON_TIME: "text-bg-success",
    SlaStatus.AT_RISK: "text-bg-warning",
    SlaStatus.LATE: "text-bg-danger",
    SlaStatus.DONE: "text-bg-light border",
    SlaStatus.DONE_LATE: "text-bg-light border border-danger",
}


def _clock(context: template.Context) -> Clock:
    request = context.get("request")
    if request is None:
        return Clock.from_config()
    if not hasattr(request, "_sla_clock"):
        request._sla_clock = Clock.from_config()
    return request._sla_clock


@register.simple_tag(takes_context=True)
def sla_badge(context: template.Context, reclamation: Reclamation, which: str) -> str:
    """A coloured badge (on time / at risk / late / done) with the due time and the time left.

    Built in Python rather than by an inclusion template: the list renders it fifty times a page.
    """
    now = timezone.now()
    if which == "ack":
        due, status, done = reclamation.ack_due_at, reclamation.ack_status(now), reclamation.acknowledged_at
        title = "Accusé de réception"
    else:
        due, status, done = reclamation.answer_due_at, reclamation.answer_status(now), reclamation.answered_at
        title = "Réponse"
    due_shown = local(due)
    when = (f"le {local(done)}" if done
            else f"{due_shown} · {format_hours_left(_clock(context).hours_left(due, now))}")
    # An f-string, not format_html (fifty badges a page): every piece is escaped here.
    return mark_safe(  # noqa: S308 - constants and escaped values only
        f'<span class="badge {_BADGE_CLASSES[status]}" title="{title} : échéance le {esc(due_shown)}">'
        f"{esc(SlaStatus.LABELS[status])}</span>\n"
        f'<small class="text-body-secondary">{esc(when)}</small>'
    )


@register.simple_tag(takes_context=True)
def time_left(context: template.Context, due: object) -> str:
    """``reste 3 h 20`` / ``en retard de 5 h`` in the configured clock."""
    return format_hours_left(_clock(context).hours_left(due, timezone.now()))


def next_deadline_badge(context: template.Context, reclamation: Reclamation) -> str:
    """The list's one-line deadline: the acknowledgement's while it is not sent, then the answer's.

    The badge says the status, the small text the time left (or the day it was done); which delay
    it is, is written out for screen readers and in the tooltip.
    """
    now = timezone.now()
    if reclamation.is_open and reclamation.acknowledged_at is None:
        due, status, done, title, short = (reclamation.ack_due_at, reclamation.ack_status(now), None,
                                           "Accusé de réception", "AR ")
    else:
        due, status, done, title, short = (reclamation.answer_due_at, reclamation.answer_status(now),
                                           reclamation.answered_at, "Réponse", "")
    if done:
        when = f"le {timezone.localtime(done):%d/%m/%Y}"
    else:
        when = format_hours_left(_clock(context).hours_left(due, now))
    return mark_safe(  # noqa: S308 - constants and escaped values only
        f'<span class="badge {_BADGE_CLASSES[status]}" title="{title} : échéance le {esc(local(due))}">'
        f'<span aria-hidden="true">{short}</span><span class="visually-hidden">{title} : </span>'
        f"{esc(SlaStatus.LABELS[status])}</span> "
        f'<small class="text-body-secondary">{esc(when)}</small>'
    )
