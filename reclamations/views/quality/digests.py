"""Internal digests: the list, one digest with who read it, acknowledging, sending one now.

The e-mail link (``/backoffice/qualite/bilans/lu/<token>/``) acknowledges in one click. It is a GET
that writes, on purpose and safely: the token is a per-person secret (a forged link cannot name a
receipt), the visitor must be signed in as the receipt's owner (a mail scanner that follows links
has no session and only reaches the login page), and acknowledging twice changes nothing. A reader
who must sign in first finishes at ``bilans/lu/`` (the token kept in the session meanwhile).
"""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_POST

from ... import permissions, roles, selectors, services
from ...forms.quality import DigestSendForm
from ...models import Digest
from ...permissions import forbidden
from ...services import digest as digests
from .access import quality_lead_required, staff_required

NOT_YOUR_COPY = (
    "Ce lien de lecture a été envoyé à un autre membre de l'équipe. Connectez-vous avec votre propre "
    "compte, ou confirmez votre lecture depuis la liste des bilans."
)


def _list_page(request: HttpRequest, form: DigestSendForm | None = None, status: int = 200) -> HttpResponse:
    lead = roles.is_quality_lead(request.user)
    queryset = selectors.digests_for_list(recipient=None if lead else request.user)
    mine = selectors.digest_receipts_of(request.user)
    rows = [{"digest": d, "receipt": mine.get(d.pk)} for d in queryset]
    if form is None and lead:
        previous = digests.previous_month()
        form = DigestSendForm(prefix="send", initial={"start": previous.start, "end": previous.end})
    return render(request, "quality/digest_list.html", {
        "rows": rows, "form": form, "is_quality_lead": lead, "nav": "quality", "quality_nav": "digests",
    }, status=status)


@require_GET
@staff_required
def digest_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request)


@require_POST
@quality_lead_required
def digest_send(request: HttpRequest) -> HttpResponse:
    form = DigestSendForm(request.POST, prefix="send")
    if not form.is_valid():
        return _list_page(request, form)
    try:
        result = services.digest_send(period=form.period(), actor=request.user)
    except services.WorkflowError as exc:
        form.add_error(None, str(exc))
        return _list_page(request, form)
    if result.recipients:
        sent = len(result.recipients)
        messages.success(request, f"Bilan envoyé à {sent} membre{pluralize(sent)} de l'équipe.")
    else:
        messages.info(request, "Ce bilan avait déjà été envoyé à chacun : rien n'a été renvoyé.")
    if result.without_address:
        messages.warning(request, "Sans adresse électronique (ils le liront dans le back-office) : "
                                  + ", ".join(result.without_address) + ".")
    return redirect("quality:digest_detail", pk=result.digest.pk)


@require_GET
@staff_required
def digest_detail(request: HttpRequest, pk: int) -> HttpResponse:
    digest = get_object_or_404(Digest, pk=pk)
    lead = roles.is_quality_lead(request.user)
    return render(request, "quality/digest_detail.html", {
        "digest": digest,
        "content": digest.content,
        "receipt": selectors.digest_receipt(digest_id=digest.pk, user=request.user),
        "receipts": selectors.digest_copies(digest) if lead else None,
        "is_quality_lead": lead,
        "nav": "quality", "quality_nav": "digests",
    })


@require_POST
@staff_required
def digest_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    receipt = selectors.digest_receipt(digest_id=pk, user=request.user)
    if receipt is None:
        raise Http404("Vous n'avez pas reçu ce bilan.")
    if services.digest_acknowledge(receipt=receipt, user=request.user):
        messages.success(request, "Merci : votre lecture du bilan est enregistrée.")
    return redirect("quality:digest_detail", pk=pk)


@require_GET
@staff_required
def digest_read(request: HttpRequest, token: str) -> HttpResponse:
    return _acknowledge_by_token(request, token)


@require_GET
@staff_required
def digest_read_pending(request: HttpRequest) -> HttpResponse:
    """The reading link followed while signed out: its token waited in the session during sign-in
    (``permissions.return_path``), out of every address."""
    token = request.session.pop(permissions.PENDING_DIGEST_READ, None)
    if not isinstance(token, str):
        return redirect("quality:digests")
    return _acknowledge_by_token(request, token)


def _acknowledge_by_token(request: HttpRequest, token: str) -> HttpResponse:
    receipt = digests.receipt_for_token(token)
    if receipt is None:
        raise Http404
    if receipt.user_id != request.user.pk:
        response = forbidden(request, NOT_YOUR_COPY)
    else:
        if services.digest_acknowledge(receipt=receipt, user=request.user):
            messages.success(request, "Merci : votre lecture du bilan est enregistrée.")
        else:
            messages.info(request, "Votre lecture de ce bilan était déjà enregistrée.")
        response = redirect("quality:digest_detail", pk=receipt.digest_id)
    # The address holds a personal secret: never cached, never sent on as a Referer.
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"
    return response
