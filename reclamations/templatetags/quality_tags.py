"""Texts of the quality settings, for any template (pages and e-mails).

``{% load quality_tags %}`` then ``{% recourse_text %}``: the escalation paths (internal recourse,
mediator, funder) that the quality lead configures in the admin (``Organisation.recourse_text``).
The argued answer and the closure e-mail must state them (Qualiopi reading guide, indicator 31).
In an HTML template keep its line breaks with ``{% recourse_text as recourse %}{{ recourse|linebreaksbr }}``.
The value is plain text: it is escaped like any variable in HTML templates.
"""
from __future__ import annotations

from django import template

from ..models import Organisation

register = template.Library()


@register.simple_tag(takes_context=True)
def recourse_text(context: template.Context) -> str:
    """The configured recourse text (the one in the context's ``organisation`` if there is one)."""
    organisation = context.get("organisation")
    text = getattr(organisation, "recourse_text", None)
    if text is None:
        text = Organisation.current().recourse_text
    return text.strip()


@register.filter
def newest_first(values: object) -> list[object]:
    """The months of a table (labels or counts, oldest first) in reverse: the latest month comes first."""
    return list(reversed(list(values)))
