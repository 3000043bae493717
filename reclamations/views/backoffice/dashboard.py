"""The dashboard: what is open at each step, what is late or about to be, what is mine."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from ... import roles, selectors
from ...permissions import staff_required


@require_GET
@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    figures = selectors.dashboard(user=request.user, now=timezone.now(), today=timezone.localdate())
    # Files that belong to no record are the quality lead's to delete: only they see the count.
    orphans = selectors.orphan_file_report() if roles.is_quality_lead(request.user) else None
    return render(request, "backoffice/dashboard.html",
                  {"dashboard": figures, "nav": "dashboard", "orphan_report": orphans})
