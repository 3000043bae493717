"""Small French-writing helpers for the evidence pack's templates."""
from __future__ import annotations

from django import template

from ..text import plural

register = template.Library()

_CLOSING = (".", "!", "?", "…", ":", ";")


@register.filter
def fr_plural(value: object, suffix: str = "s") -> str:
    """``text.plural`` for templates: "0 réponse", "2 réponses"."""
    try:
        return plural(float(value), suffix)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


@register.filter(is_safe=True)  # only appends a full stop: escaped text stays escaped
def sentence(value: object) -> str:
    """The text closed by a full stop, unless it already ends with one (or with ?, !, …): never "..".
    """
    text = str(value or "").rstrip()
    if not text or text.endswith(_CLOSING):
        return text
    return text + "."
