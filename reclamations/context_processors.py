from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .models import Organisation


def organisation(request: HttpRequest) -> dict[str, object]:
    """The organisation's identity for page headers and footers, read once per request if used."""
    return {"organisation": SimpleLazyObject(Organisation.current)}
