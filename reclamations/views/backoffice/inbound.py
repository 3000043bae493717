""""Courriels à trier": received e-mails that no record took, kept aside with their reason.

A handler reads one (as plain text: its HTML is never shown), turns it into a record or discards
it with a reason; both are logged (``services.inbound``). The original message can be downloaded,
never displayed.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from ... import selectors, services
from ...models import InboundMessage
from ...models.inbound import ACTIONABLE
from ...permissions import staff_required
from ...services import WorkflowError
from ...services.inbound import read_kept


@require_GET
@staff_required
def inbound_list(request: HttpRequest) -> HttpResponse:
    return render(request, "backoffice/inbound_list.html", {
        "overview": selectors.inbound_overview(), "nav": "inbound",
        "imap_configured": bool(settings.INBOUND_IMAP_URL),
    })


@require_GET
@staff_required
def inbound_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(selectors.inbound_messages(), pk=pk)
    return render(request, "backoffice/inbound_detail.html", {
        "message": message, "mail": read_kept(message), "actionable": message.status in ACTIONABLE,
        "nav": "inbound",
    })


@require_POST
@staff_required
def inbound_convert(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage, pk=pk)
    try:
        created = services.inbound_message_convert(message=message, actor=request.user)
    except WorkflowError as exc:
        messages.error(request, str(exc))
        return redirect("backoffice:inbound_detail", pk=pk)
    messages.success(request, f"Dossier {created.reclamation.reference} créé ; l'accusé de réception part à "
                              "l'expéditeur.")
    return redirect("backoffice:detail", pk=created.reclamation.pk)


@require_POST
@staff_required
def inbound_discard(request: HttpRequest, pk: int) -> HttpResponse:
    message = get_object_or_404(InboundMessage, pk=pk)
    try:
        services.inbound_message_discard(message=message, actor=request.user, reason=request.POST.get("reason", ""))
    except WorkflowError as exc:
        messages.error(request, str(exc))
        return redirect("backoffice:inbound_detail", pk=pk)
    messages.success(request, "Courriel écarté ; il reste consultable ci-dessous.")
    return redirect("backoffice:inbound_list")


@require_GET
@staff_required
def inbound_raw(request: HttpRequest, pk: int) -> HttpResponse:
    """The message as received, always as a download (an .eml file) that no browser renders."""
    message = get_object_or_404(InboundMessage, pk=pk)
    if not message.raw:
        raise Http404("Le courriel d'origine n'est plus conservé.")
    try:
        response = FileResponse(message.raw.open("rb"), as_attachment=True, filename=f"courriel-{message.pk}.eml",
                                content_type="application/octet-stream")
    except FileNotFoundError as exc:
        raise Http404("Ce fichier est introuvable sur le serveur.") from exc
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
