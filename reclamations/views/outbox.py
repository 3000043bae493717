"""Staff pages of the e-mail outbox: the e-mails that did not go out, and their re-sending.

``/backoffice/courriels/`` lists failed, stuck and retrying e-mails; a POST to
``/backoffice/courriels/<id>/renvoyer/`` puts a failed or stuck one back in the queue. The rules
(what counts as stuck, who may be re-sent, the journal event) live in ``reclamations.outbox``.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from .. import outbox, permissions, roles, selectors
from ..templatetags.outbox_tags import record_url


def staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous → the login page; signed in without the handler role → 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return permissions.to_sign_in(request)
        if not roles.is_handler(request.user):
            raise PermissionDenied("Cet espace est réservé à l'équipe qui traite les réclamations.")
        return view(request, *args, **kwargs)

    return wrapped


@staff_only
@require_GET
def failures(request: HttpRequest) -> HttpResponse:
    problems = outbox.problems(limit=500)
    rows = [(problem, record_url(problem.reclamation) if problem.reclamation else "") for problem in problems]
    return render(request, "outbox/list.html",
                  {"rows": rows, "nav": "outbox", "stuck_minutes": settings.OUTBOX_STUCK_MINUTES})


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next", "")
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return wanted
    return reverse("outbox:list")


@staff_only
@require_POST
def resend(request: HttpRequest, pk: int) -> HttpResponse:
    email = outbox.resend(email_id=pk, actor=request.user)
    if email is not None:
        messages.success(request, f"Le courriel « {email.subject} » est remis en file d'envoi : il part dans "
                                  "quelques instants.")
    elif selectors.outbox_email_exists(pk):
        messages.info(request, "Ce courriel n'est plus en échec ni bloqué : il vient sans doute d'être envoyé ou "
                               "renvoyé par quelqu'un d'autre. La liste ci-dessous est à jour.")
    else:
        raise Http404("Courriel introuvable.")
    return redirect(_next_url(request))
