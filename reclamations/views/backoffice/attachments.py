"""Staff download of a pièce justificative: permission first, then always as a download."""
from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from ... import permissions, selectors, uploads


@require_GET
@permissions.staff_required
def download(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = get_object_or_404(selectors.attachments_with_record(), pk=pk)
    if not permissions.can_view(request.user, attachment.reclamation):
        return permissions.forbidden(request, permissions.NOT_STAFF)
    if not attachment.file:  # erased with the record's personal data (RGPD); its row stays as evidence
        raise Http404("Cette pièce a été effacée (RGPD).")
    try:
        return uploads.download_response(attachment)
    except FileNotFoundError as exc:  # lost from the private storage: say so rather than fail
        raise Http404("Ce fichier est introuvable sur le serveur.") from exc
