"""The client's satisfaction survey (``/enquete/<token>/``), public, phone-first.

A link that is unknown, wrong or expired raises Http404: the client gets the very page any unknown
URL gets, which tells nothing about which links exist. One exception, on purpose: a link whose
survey was *answered* (and has not expired) shows "merci, votre réponse est enregistrée" instead of
a 404. Only the holder of the link can see it, it shows nothing personal, and it is what a client
who opens the e-mail again, or clicks "back" after answering, expects; a 404 there would read as
"your answer was lost".

The form page is served with ``Referrer-Policy: same-origin`` rather than ``no-referrer``: under
``no-referrer`` the browser sends the form's POST with ``Origin: null``, which the CSRF check must
refuse. ``same-origin`` still sends nothing, not even the origin, to another site; the thank-you page
is ``no-referrer``.
"""
from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from ..forms.survey import SurveyForm
from ..services import WorkflowError, survey
from .public_common import rate


def _private(response: HttpResponse, referrer_policy: str) -> HttpResponse:
    """The headers of a page whose address is a secret (as ``public_common.private_page``)."""
    add_never_cache_headers(response)
    response["Referrer-Policy"] = referrer_policy
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_http_methods(["GET", "POST"])
@ratelimit(group="survey:answer", key="ip", rate=rate("SURVEY_RATE_LIMIT"), method="POST")
def answer(request: HttpRequest, token: str) -> HttpResponse:
    reclamation = survey.reclamation_for_survey_token(token)
    if reclamation is None:
        raise Http404
    now = timezone.now()
    if not survey.survey_open(reclamation, now):
        if survey.survey_answered(reclamation, now):
            return _private(render(request, "survey/thanks.html", {"reclamation": reclamation}), "no-referrer")
        raise Http404
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            survey.reclamation_answer_survey(
                token=token,
                answer=survey.SurveyAnswer(
                    satisfaction=data["satisfaction"],
                    solved=data["solved"],
                    answer_clear=data["answer_clear"],
                    delay_acceptable=data["delay_acceptable"],
                    comment=data["comment"],
                ),
            )
        except survey.SurveyUnavailable:
            # Expired, or answered in another tab, between the page and the click: the page says which.
            return _private(redirect("survey:answer", token=token), "no-referrer")
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            return _private(redirect("survey:answer", token=token), "no-referrer")
    page = render(request, "survey/answer.html", {"reclamation": reclamation, "form": form, "token": token})
    return _private(page, "same-origin")
