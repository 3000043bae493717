"""``{% load public_tags %}`` then ``{% with folded=text|fold_message %}``: a long message of the
follow-up page split into its first lines (``folded.head``, always shown) and the rest
(``folded.tail``, empty for a short message), which the page folds under « lire la suite »."""
from __future__ import annotations

from typing import NamedTuple

from django import template

register = template.Library()

HEAD_LINES = 4
HEAD_CHARS = 220
# Hiding less than this is not worth a click: the message is shown whole.
MIN_TAIL_CHARS = 80


class Folded(NamedTuple):
    head: str
    tail: str


@register.filter
def fold_message(text: str) -> Folded:
    text = (text or "").strip()
    lines = text.splitlines(keepends=True)
    cut = len("".join(lines[:HEAD_LINES]))
    if cut > HEAD_CHARS:
        space = text.rfind(" ", 0, HEAD_CHARS)
        cut = space if space > 0 else HEAD_CHARS
    head, tail = text[:cut].rstrip(), text[cut:].strip()
    if len(tail) < MIN_TAIL_CHARS:
        return Folded(text, "")
    return Folded(head, tail)
