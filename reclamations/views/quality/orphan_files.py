"""The quality lead's page of the files under attachments/ that belong to no record, and their
deletion (POST, CSRF, quality lead only, one journal event). The list is read again at each request:
the deletion removes what is found at that moment, never names sent by a browser.
"""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from ... import selectors, services
from .access import quality_lead_required

# The page lists the first ones; the count and the deletion cover them all.
SHOWN = 200


@require_GET
@quality_lead_required
def orphan_files(request: HttpRequest) -> HttpResponse:
    orphans = services.orphan_files_find()
    response = render(request, "quality/orphan_files.html", {
        "orphans": orphans[:SHOWN],
        "total": len(orphans),
        "size": sum(o.size for o in orphans),
        "report": selectors.orphan_file_report(),
        "grace_minutes": settings.ORPHAN_FILES_GRACE_MINUTES,
        "nav": "quality", "quality_nav": "orphan_files",
    })
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@quality_lead_required
def orphan_files_delete(request: HttpRequest) -> HttpResponse:
    deleted = services.orphan_files_delete(actor=request.user)
    if deleted:
        messages.success(request, f"{deleted} fichier{'s' if deleted > 1 else ''} sans dossier "
                                  f"supprimé{'s' if deleted > 1 else ''} ; la suppression est inscrite au "
                                  "journal.")
    else:
        messages.info(request, "Aucun fichier à supprimer : le stockage privé ne contient que des pièces "
                               "rattachées à un dossier.")
    return redirect("quality:orphan_files")
