"""Texts of the quality settings, for any template (pages and e-mails).

``{% load quality_tags %}`` then ``{% recourse_text %}``: the escalation paths (internal recourse,
mediator, funder) that the quality lead configures in the admin (``Organisation.recourse_text``),
followed by the consumer mediator's name, address and website when they are configured.
The argued answer and the closure e-mail must state them (Qualiopi reading guide, indicator 31).
In an HTML template keep its line breaks with ``{% recourse_text as recourse %}{{ recourse|linebreaksbr }}``;
on a web page (not an e-mail) use ``{% recourse_text web=True as recourse %}``.
The value is plain text: it is escaped like any variable in HTML templates.
"""
from __future__ import annotations

import re

from django import template

from ..models import Organisation

register = template.Library()


# What only makes sense in an e-mail; on a web page the client is told to write to us instead.
_REPLY_TO_THIS_EMAIL = re.compile(r"en répondant à (?:ce courriel|ce message|cet e-mail|ce mail|ce mél)", re.IGNORECASE)


@register.simple_tag(takes_context=True)
def recourse_text(context: template.Context, web: bool = False) -> str:
    """The configured recourse text (the one in the context's ``organisation`` if there is one).

    ``web=True`` for a web page: « en répondant à ce courriel » becomes « en nous écrivant » (with
    the organisation's address when there is one).
    """
    organisation = context.get("organisation")
    text = getattr(organisation, "recourse_text", None)
    if text is None:
        organisation = Organisation.current()
        text = organisation.recourse_text
    if web:
        address = getattr(organisation, "contact_email", "")
        text = _REPLY_TO_THIS_EMAIL.sub(f"en nous écrivant à {address}" if address else "en nous écrivant", text)
    # The mediator is named wherever the recourse is (consumer code): with its name, address, website.
    mediator = getattr(organisation, "mediator_line", "")
    return text.strip() + (f"\n{mediator}" if mediator else "")


@register.filter
def newest_first(values: object) -> list[object]:
    """The months of a table (labels or counts, oldest first) in reverse: the latest month comes first."""
    return list(reversed(list(values)))
