"""The quality lead's personal-data page (RGPD): find what is held on one person, hand it over as a
ZIP (right of access), erase it on request (right to erasure), and see the retention period.

Quality lead only (``quality_lead_required``: anonymous → sign-in page, handlers → 403). The page
itself is a GET with an empty search form; searching, exporting and erasing are POSTs, so that the
person's address or name never appears in a URL (access logs, history, ``Referer``). Erasing asks
for the value again, a motif and a ticked box, and is refused while a record is still open.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from ... import selectors, services, workflow
from ...forms.personal_data import EraseForm, HiddenPersonForm, PersonForm
from ...services.personal_data import retention_cutoff
from .access import quality_lead_required

SEARCH_FIRST = "Recherchez d'abord la personne concernée."


def _page(request: HttpRequest, *, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("search", PersonForm())
    response = render(request, "quality/personal_data.html", {
        "retention_years": settings.PERSONAL_DATA_RETENTION_YEARS,
        "anonymised_total": selectors.anonymised_count(),
        "due_total": selectors.records_past_retention(closed_before=retention_cutoff()).count(),
        "nav": "quality", "quality_nav": "personal_data",
        **context,
    }, status=status)
    # What this page shows is personal data: never kept by a cache.
    response["Cache-Control"] = "private, no-store"
    return response


def _results(request: HttpRequest, form: PersonForm, *, erase_form: EraseForm | None = None,
             error: str = "", status: int = 200) -> HttpResponse:
    person = form.cleaned_data["person"]
    records = list(selectors.personal_data_find(**form.criteria()))
    return _page(
        request, status=status,
        search=PersonForm(initial={"person": person}),
        person=person,
        records=records,
        open_records=[r for r in records if r.state not in workflow.TERMINAL_STEPS],
        export_form=HiddenPersonForm(initial={"person": person}, prefix="export"),
        erase_form=erase_form or EraseForm(initial={"person": person}, prefix="erase"),
        error=error,
    )


@require_GET
@quality_lead_required
def personal_data(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@quality_lead_required
def personal_data_search(request: HttpRequest) -> HttpResponse:
    form = PersonForm(request.POST)
    if not form.is_valid():
        return _page(request, search=form, status=400)
    return _results(request, form)


@require_POST
@quality_lead_required
def personal_data_export(request: HttpRequest) -> HttpResponse:
    form = HiddenPersonForm(request.POST, prefix="export")
    if not form.is_valid():
        return _page(request, error=SEARCH_FIRST, status=400)
    try:
        content = services.personal_data_export(actor=request.user, **form.criteria())
    except services.WorkflowError as exc:
        return _results(request, form, error=str(exc), status=400)
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = (
        f'attachment; filename="donnees-personnelles-{timezone.localtime():%Y%m%d-%H%M}.zip"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@quality_lead_required
def personal_data_erase(request: HttpRequest) -> HttpResponse:
    form = EraseForm(request.POST, prefix="erase")
    if not form.is_valid():
        if "person" not in form.cleaned_data:
            return _page(request, error=SEARCH_FIRST, status=400)
        return _results(request, form, erase_form=form, status=400)
    try:
        done = services.personal_data_erase(actor=request.user, reason=form.cleaned_data["reason"],
                                            **form.criteria())
    except services.WorkflowError as exc:
        return _results(request, form, erase_form=form, error=str(exc), status=400)
    if done:
        messages.success(request, f"Données personnelles effacées : {len(done)} réclamation"
                                  f"{'s' if len(done) > 1 else ''} anonymisée{'s' if len(done) > 1 else ''} "
                                  f"({', '.join(done)}). L'effacement est inscrit au journal.")
    else:
        messages.info(request, "Ces réclamations avaient déjà été anonymisées : rien n'a changé.")
    return redirect("quality:personal_data")
