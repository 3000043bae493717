"""The list's actions: on the rows ticked (assign, mark read or unread, export), and the person's saved views.

Each POST comes back to the list as it was (its query string travels in ``back``); a refused form
comes back on the list with what was typed and the rows still ticked.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from ... import exports, permissions, selectors, services
from ...forms.list_tools import ASSIGN, READ, BulkActionForm, SavedViewForm, SelectionExportForm, view_query
from ...permissions import staff_required
from ...text import plural
from ..evidence import quality_lead_required
from .records import list_response


def _back_params(raw: str) -> QueryDict:
    """The list's query string as posted, reduced to its own parameters (and its page)."""
    posted = QueryDict(raw)
    params = QueryDict(view_query(posted), mutable=True)
    if posted.get("page", "").isdigit():
        params["page"] = posted["page"]
    return params


def _to_list(params: QueryDict) -> HttpResponse:
    query = params.urlencode()
    return redirect(reverse("backoffice:list") + (f"?{query}" if query else ""))


def _count(n: int) -> str:
    return f"{n} réclamation{pluralize(n)}"


def _name(user: object) -> str:
    return user.get_full_name() or user.get_username()  # type: ignore[attr-defined]


@require_POST
@staff_required
def bulk_action(request: HttpRequest) -> HttpResponse:
    form = BulkActionForm(request.POST, prefix="bulk")
    params = _back_params(request.POST.get("bulk-back", ""))
    if not form.is_valid():
        return list_response(request, params, bulk_form=form)
    data = form.cleaned_data
    records = selectors.reclamations_selected(data["ids"])
    if missing := len(set(data["ids"]) - {r.pk for r in records}):
        messages.warning(request, f"{_count(missing)} de la sélection n'existe plus.")
    if data["action"] == ASSIGN:
        handler = data["handler"]
        outcome = services.reclamation_bulk_assign(
            reclamations=records,
            actor=request.user,
            handler=handler,
            note=data["note"],
            denial=lambda r: permissions.assign_denial(request.user, r, handler),
        )
        if outcome.done:
            n = len(outcome.done)
            messages.success(request, f"{_count(n)} attribuée{pluralize(n)} à {_name(handler)}.")
        if outcome.unchanged:
            n = len(outcome.unchanged)
            messages.info(request, f"{_count(n)} l'étai{pluralize(n, 't,ent')} déjà à {_name(handler)}.")
        for reclamation, reason in outcome.refused:
            messages.warning(request, f"{reclamation.reference} non attribuée : {reason}")
    elif data["action"] == READ:
        services.reclamation_bulk_mark_read(reclamations=records, user=request.user)
        messages.success(
            request, f"{_count(len(records))} marquée{pluralize(len(records))} comme lue{pluralize(len(records))}."
        )
    else:
        services.reclamation_bulk_mark_unread(reclamations=records, user=request.user)
        messages.success(
            request, f"{_count(len(records))} marquée{pluralize(len(records))} comme non lue{pluralize(len(records))}."
        )
    return _to_list(params)


@require_POST
@quality_lead_required
def selection_export(request: HttpRequest) -> HttpResponse:
    """The rows ticked, as the register's CSV (same columns, same writer), logged like the register.

    The quality lead's only, as the register export is (``evidence.quality_lead_required``): a
    file of records leaves the application. A selection that is empty, or names a record that no
    longer exists, exports nothing and comes back on the list with the rows still ticked.
    """
    form = SelectionExportForm(request.POST, prefix="bulk")
    params = _back_params(request.POST.get("bulk-back", ""))
    if not form.is_valid():
        return list_response(request, params, bulk_form=form, status=400)
    ids = form.cleaned_data["ids"]
    records = selectors.reclamations_for_register(ids)
    if missing := len(set(ids) - {r.pk for r in records}):
        # Half a selection would look like the whole of it once opened in a spreadsheet.
        form.add_error("ids", f"{_count(missing)} de la sélection n'existe{plural(missing, 'nt')} plus : "
                              "rien n'a été exporté. Rechargez la liste et cochez à nouveau les lignes à exporter.")
        return list_response(request, params, bulk_form=form, status=400)
    produced = exports.produce_selection_csv(records)
    services.export_log(actor=request.user, document="selection_csv", sha256=produced.sha256,
                        records=produced.records, references=[r.reference for r in records])
    # Headers as the evidence downloads: a file to save, kept by no cache, never sniffed as a page.
    response = HttpResponse(produced.content, content_type=produced.content_type)
    response["Content-Disposition"] = f'attachment; filename="{produced.filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@staff_required
def saved_view_save(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST, prefix="view")
    params = _back_params(request.POST.get("view-query", ""))
    if form.is_valid():
        try:
            view, created = services.saved_view_save(
                user=request.user, name=form.cleaned_data["name"], query=form.cleaned_data["query"]
            )
        except services.WorkflowError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Vue « {view.name} » {'enregistrée' if created else 'mise à jour'}.")
            return _to_list(QueryDict(view.query))
    return list_response(request, params, view_form=form)


@require_POST
@staff_required
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        name = services.saved_view_delete(user=request.user, pk=pk)
    except services.WorkflowError as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, f"Vue « {name} » supprimée.")
    return _to_list(_back_params(request.POST.get("back", "")))
