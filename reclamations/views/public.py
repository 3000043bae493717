"""The public Contact form, its confirmation page and the privacy page.

The follow-up pages are in ``public_follow_up.py``, the 429 and CSRF pages in ``public_errors.py``.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.decorators import ratelimit

from .. import selectors, services
from ..forms.public import ContactForm
from ..models.configuration import forget_services
from .public_common import private_page, rate

logger = logging.getLogger(__name__)

# The confirmation page reads the reference and the clear token from a short-lived signed cookie
# once, then drops it: the token never travels in a URL the browser could leak (history, Referer,
# logs), and a client gets no server-side session (no session row nobody would ever clean, and a
# submission stays one write transaction).
DONE_COOKIE = "demande_envoyee"
DONE_COOKIE_SALT = "reclamations.views.public.contact_done"
DONE_COOKIE_SECONDS = 15 * 60


def _done_cookie_path() -> str:
    return reverse("public:contact_done")


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("public:contact")


@require_http_methods(["GET", "POST"])
@ratelimit(group="public:contact", key="ip", rate=rate("CONTACT_RATE_LIMIT"), method="POST")
def contact(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "public/contact.html", {"form": ContactForm()})
    form = ContactForm(request.POST, request.FILES)
    if form.is_valid():
        if not form.claim_once():
            # The same filled-in form again (double click, back button): one record is enough.
            return redirect("public:contact_done")
        try:
            created = services.reclamation_submit_contact(**form.submission())
        except (services.WorkflowError, ValidationError) as exc:
            form.release_claim()
            logger.info("contact submission refused by the service: %s", type(exc).__name__)
            message = str(exc) if isinstance(exc, services.WorkflowError) else (
                "Votre demande n'a pas pu être enregistrée. Vérifiez les informations saisies."
            )
            form.add_error(None, message)
        except IntegrityError:
            # A choice the form accepted from the list it had just read (the service) was deleted
            # meanwhile: nothing was stored (the transaction rolled back); the form is shown again.
            form.release_claim()
            forget_services()  # the next form lists the services as they now are
            logger.warning("contact submission refused by the database", exc_info=True)
            form.add_error(None, "Votre demande n'a pas pu être enregistrée : le service choisi vient d'être "
                                 "retiré. Choisissez-en un autre dans la liste et envoyez-la à nouveau.")
        except Exception:
            form.release_claim()
            raise
        else:
            response = redirect("public:contact_done")
            done = {"reference": created.reclamation.reference, "token": created.token,
                    "email": created.reclamation.complainant_email}
            response.set_cookie(
                DONE_COOKIE, signing.dumps(done, salt=DONE_COOKIE_SALT), max_age=DONE_COOKIE_SECONDS,
                path=_done_cookie_path(), secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Strict",
            )
            return response
    files_lost = bool(request.FILES)  # a browser never sends files back with a re-shown form
    return render(request, "public/contact.html", {"form": form, "files_lost": files_lost})


@require_GET
@private_page()
def contact_done(request: HttpRequest) -> HttpResponse:
    try:
        done = signing.loads(request.COOKIES.get(DONE_COOKIE, ""), salt=DONE_COOKIE_SALT, max_age=DONE_COOKIE_SECONDS)
    except signing.BadSignature:
        done = None  # none, expired or forged: the page says the request was sent, nothing more
    context = {}
    if isinstance(done, dict) and {"reference", "token", "email"} <= done.keys():
        path = reverse("public:follow_up", args=[done["token"]])
        context = {
            "reclamation": selectors.reclamation_by_reference(done["reference"]),
            "reference": done["reference"],
            "email": done["email"],
            "follow_up_path": path,
            "follow_up_url": request.build_absolute_uri(path),
        }
    response = render(request, "public/contact_done.html", context)
    response.delete_cookie(DONE_COOKIE, path=_done_cookie_path(), samesite="Strict")
    return response


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "public/privacy.html", {
        "retention_years": settings.PERSONAL_DATA_RETENTION_YEARS,
        "link_days": settings.FOLLOW_UP_TOKEN_DAYS,
    })
