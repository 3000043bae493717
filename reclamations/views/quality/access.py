"""Who may open the quality pages (see the package docstring)."""
from __future__ import annotations

from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

from ... import permissions, roles

QUALITY_ONLY = (
    "Cette page est réservée au responsable qualité. Vous pouvez consulter le plan d'amélioration "
    "et les bilans internes ; pour le reste, adressez-vous à lui."
)

staff_required = permissions.staff_required


def quality_lead_required(view: Any) -> Any:
    """Anonymous → login page; a handler who is not quality lead, or any other account → 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return permissions.to_sign_in(request)
        if not roles.is_handler(request.user):
            return permissions.forbidden(request, permissions.NOT_STAFF)
        if not roles.is_quality_lead(request.user):
            return permissions.forbidden(request, QUALITY_ONLY)
        return view(request, *args, **kwargs)

    return wrapped
