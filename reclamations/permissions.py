"""Who may see and change what in the back-office: the one place where the object-level rule lives.

Role checks (``roles.is_handler`` / ``roles.is_quality_lead``) say whether someone belongs to the
back-office at all; the functions here say what they may do with one record:

- every handler may *view* every record (colleagues cover for each other, the quality lead reviews);
- a handler may *change* a record that is unassigned or assigned to them, and hand it over;
- the quality lead may change every record and reassign it.

Each ``*_denial`` function returns ``None`` when the action is allowed, or the French sentence the
user reads on the 403 page. Views call them on every request, GET and POST alike.
"""
from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse

from . import roles
from .models import Reclamation

NOT_STAFF = (
    "Cet espace est réservé à l'équipe qui traite les réclamations. Votre compte n'y a pas accès ; "
    "si vous pensez que c'est une erreur, adressez-vous au responsable qualité."
)
NOT_YOURS = (
    "Cette réclamation est suivie par {handler}. Vous pouvez la consulter, mais seul son responsable "
    "du traitement ou le responsable qualité peut la modifier."
)
ASSIGNEE_NOT_HANDLER = "{user} ne fait pas partie de l'équipe de traitement des réclamations."


def _name(user: Any) -> str:
    return user.get_full_name() or user.get_username()


def can_view(user: Any, reclamation: Reclamation) -> bool:
    return roles.is_handler(user)


def change_denial(user: Any, reclamation: Reclamation) -> str | None:
    """Why ``user`` may not change ``reclamation``, or None when they may."""
    if not roles.is_handler(user):
        return NOT_STAFF
    if roles.is_quality_lead(user) or reclamation.handler_id in (None, user.pk):
        return None
    return NOT_YOURS.format(handler=_name(reclamation.handler))


def can_change(user: Any, reclamation: Reclamation) -> bool:
    return change_denial(user, reclamation) is None


def assign_denial(user: Any, reclamation: Reclamation, new_handler: Any) -> str | None:
    """Assigning, or handing over: whoever may change the record (it is unassigned or theirs, or
    they are the quality lead), to a member of the handling team."""
    if denial := change_denial(user, reclamation):
        return denial
    if not roles.is_handler(new_handler):
        return ASSIGNEE_NOT_HANDLER.format(user=_name(new_handler))
    return None


def can_reassign(user: Any, reclamation: Reclamation) -> bool:
    """Whether the handler picker may offer other people than the current handler: the handler
    hands over their own record, the quality lead any record."""
    return can_change(user, reclamation)


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    """The 403 page of the back-office, with the reason in French."""
    return render(request, "backoffice/forbidden.html", {"message": message}, status=403)


# A digest-reading link whose reader must sign in first: its token waits in the session.
PENDING_DIGEST_READ = "pending_digest_read"


def return_path(request: HttpRequest) -> str:
    """Where to come back to after signing in (or enrolling): the page asked for.

    The digest-reading link holds a personal secret: it is kept in the session and a tokenless
    address is given instead, so the secret never shows in the sign-in URL (browser history,
    access logs).
    """
    try:
        match = resolve(request.path_info)
    except Resolver404:
        match = None
    if match is not None and match.view_name == "quality:digest_read":
        request.session[PENDING_DIGEST_READ] = match.kwargs["token"]
        return reverse("quality:digest_read_pending")
    return request.get_full_path()


def to_sign_in(request: HttpRequest) -> HttpResponse:
    return redirect_to_login(return_path(request))


def staff_required(view: Any) -> Any:
    """Anonymous → login page; signed in without the handler role (client, other staff) → 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return to_sign_in(request)
        if not roles.is_handler(request.user):
            return forbidden(request, NOT_STAFF)
        return view(request, *args, **kwargs)

    return wrapped
