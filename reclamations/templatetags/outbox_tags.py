"""The outbox's failed, stuck and retrying e-mails, for the back-office pages that include
``backoffice/_outbox_failures.html`` (the dashboard, a record's page).

``{% load outbox_tags %}{% outbox_failures reclamation %}``: the include does its own query, so
the views that include it pass nothing; without a record it lists every e-mail in difficulty.
"""
from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from .. import outbox
from ..models import Reclamation

register = template.Library()

# On the dashboard, the first few; the full list is one click away (/backoffice/courriels/).
DASHBOARD_LIMIT = 5


def record_url(reclamation: Reclamation) -> str:
    try:
        return reverse("backoffice:detail", args=[reclamation.pk])
    except NoReverseMatch:  # the back-office is not wired in (e.g. a stripped-down deployment)
        return f"/backoffice/reclamations/{reclamation.pk}/"


@register.inclusion_tag("outbox/_problems.html", takes_context=True)
def outbox_failures(context: template.Context, reclamation: Any = None) -> dict[str, Any]:
    record = reclamation if isinstance(reclamation, Reclamation) else None
    limit = 200 if record is not None else DASHBOARD_LIMIT
    problems = outbox.problems(reclamation=record, limit=limit)
    total = len(problems) if record is not None or len(problems) < limit else outbox.problem_count()
    request = context.get("request")
    return {
        "problems": [(problem, record_url(problem.reclamation) if problem.reclamation else "") for problem in problems],
        "total": total,
        "reclamation": record,
        "show_record": record is None,
        "more": total > len(problems),
        "next": request.get_full_path() if request is not None else "",
        "csrf_token": context.get("csrf_token"),
    }
