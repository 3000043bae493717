from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from . import selectors
from .models import Organisation


def organisation(request: HttpRequest) -> dict[str, object]:
    """The organisation's identity for page headers and footers, read once per request if used."""
    return {"organisation": SimpleLazyObject(Organisation.current)}


def unread(request: HttpRequest) -> dict[str, object]:
    """How many records are unread for the signed-in person (the back-office navigation): one
    count, made only by a page that shows it."""
    return {"unread_count": SimpleLazyObject(lambda: selectors.unread_count(getattr(request, "user", None)))}
