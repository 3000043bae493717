"""The list of records, a record's page, and registering a record received by another channel."""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from ... import roles, selectors, services
from ...filters import BUILT_IN_VIEWS, ME, UNASSIGNED, ReclamationFilter
from ...forms.backoffice import ReclamationCreateForm
from ...forms.list_tools import BulkActionForm, SavedViewForm, view_query
from ...models import Reclamation
from ...pagination import LimitedCountPaginator
from ...permissions import staff_required
from .detail import detail_response
from .list_memory import NEXT, neighbours, remember_list

PAGE_SIZE = 25
END_OF_LIST = {
    NEXT: "C'est la dernière réclamation de la liste : il n'y en a pas après celle-ci.",
    "precedente": "C'est la première réclamation de la liste : il n'y en a pas avant celle-ci.",
}

# The list's columns: (``?ordre=`` key, or "" for a column that does not sort; header label).
COLUMNS = (
    ("reference", "Référence"),
    ("recue", "Reçue"),
    ("objet", "Objet"),
    ("", "Réclamant"),
    ("etape", "Étape"),
    ("priorite", "Priorité"),
    ("responsable", "Responsable"),
    ("reponse", "Échéance"),
)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    url: str
    sort: str  # "ascending", "descending" or "" (for aria-sort)


@dataclass(frozen=True)
class ListView:
    """A link at the top of the list: a built-in view or one the person saved."""

    name: str
    url: str
    active: bool
    pk: int | None = None  # a saved view's id (it can be deleted), None for a built-in one


def _columns(request: HttpRequest, params: QueryDict, applied: str) -> list[Column]:
    columns = []
    for key, label in COLUMNS:
        if not key:
            columns.append(Column(key, label, "", ""))
            continue
        wanted = params.copy()
        wanted.pop("page", None)
        if applied == key:
            wanted["ordre"], sort = f"-{key}", "ascending"
        elif applied == f"-{key}":
            wanted["ordre"], sort = key, "descending"
        else:
            wanted["ordre"], sort = key, ""
        columns.append(Column(key, label, f"?{wanted.urlencode()}", sort))
    return columns


def _active_filters(filterset: ReclamationFilter) -> list[tuple[str, str]]:
    """(label, value as shown) of each filter in use, to say above the results what they are."""
    form = filterset.form
    active = []
    for name in filterset.filters:
        value = filterset.data.get(name) if filterset.data else None
        if not value:
            continue
        field = form.fields[name]
        # The widget's list: the field's own choices would read the services again.
        shown = dict((str(k), v) for k, v in getattr(field.widget, "choices", [])).get(str(value), value)
        active.append((str(field.label), str(shown)))
    return active


def _views(request: HttpRequest, current: str) -> tuple[list[ListView], list[ListView]]:
    """The built-in views and the person's own, the one matching the current filters marked."""
    base = reverse("backoffice:list")

    def link(name: str, query: str, pk: int | None = None) -> ListView:
        normalised = view_query(QueryDict(query))
        return ListView(name, f"{base}?{normalised}", bool(current) and normalised == current, pk)

    built_in = [link(name, query) for name, query in BUILT_IN_VIEWS]
    own = [link(v.name, v.query, v.pk) for v in selectors.saved_views(request.user)]
    return built_in, own


def list_response(
    request: HttpRequest,
    params: QueryDict,
    *,
    bulk_form: BulkActionForm | None = None,
    view_form: SavedViewForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The list for the query ``params``; a refused bulk action or view comes back with what was typed
    and the rows that were ticked."""
    filterset = ReclamationFilter(params or None, queryset=selectors.reclamations_for_list(user=request.user),
                                  request=request)
    queryset, applied = selectors.sort_reclamations(filterset.qs, params.get("ordre"))
    page = LimitedCountPaginator(queryset, PAGE_SIZE).get_page(params.get("page"))
    active_filters = _active_filters(filterset)
    # Where the words were found, for the page's rows only (the page's queryset keeps its rows:
    # the template's loop reads them again without a query).
    excerpts = selectors.search_excerpts(page.object_list, params.get("q", ""))
    current = view_query(params)
    built_in, own = _views(request, current)
    # The colleagues the bulk form offers: those the handler filter has just read (no second query).
    staff = [(pk, name) for pk, name in filterset.filters["handler"].extra["choices"]
             if pk not in (ME, UNASSIGNED)]
    if bulk_form is None:
        bulk_form = BulkActionForm(prefix="bulk", staff=staff)
    selected = bulk_form.ticked() if bulk_form.is_bound else []
    return render(request, "backoffice/list.html", {
        "filterset": filterset,
        "page": page,
        "excerpts": excerpts,
        "columns": _columns(request, params, applied),
        "active_filters": active_filters,
        "built_in_views": built_in,
        "saved_views": own,
        "current_query": current,
        "back": params.urlencode(),
        "bulk_form": bulk_form,
        "selected": selected,
        # The register's rule: only the quality lead takes records out as a file.
        "can_export": roles.is_quality_lead(request.user),
        "view_form": view_form or SavedViewForm(prefix="view", initial={"query": current}),
        "nav": "list",
    }, status=status)


@require_GET
@staff_required
def reclamation_list(request: HttpRequest) -> HttpResponse:
    response = list_response(request, request.GET)
    remember_list(request, response, request.GET)  # the records opened from here follow this list
    return response


@require_GET
@staff_required
def reclamation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        reclamation = selectors.reclamation_for_detail(pk)
    except Reclamation.DoesNotExist as exc:
        raise Http404("Réclamation introuvable.") from exc
    # Before the history is read: a message arriving after this makes the record unread again.
    services.reclamation_mark_read(reclamation=reclamation, user=request.user)
    return detail_response(request, reclamation)


@require_GET
@staff_required
def reclamation_neighbour(request: HttpRequest, pk: int, direction: str) -> HttpResponse:
    """« Suivante › » / « ‹ Précédente » (``j`` / ``k``): the record after or before this one in
    the list it was opened from; at either end, back to this record, saying so."""
    found = neighbours(request, pk)
    if found is None:
        raise Http404("Réclamation introuvable.")
    target = found.next if direction == NEXT else found.previous
    if target is None:
        messages.info(request, END_OF_LIST[direction])
        target = pk
    return redirect("backoffice:detail", target)


@require_http_methods(["GET", "POST"])
@staff_required
def reclamation_create(request: HttpRequest) -> HttpResponse:
    """A complaint received by phone, e-mail, letter, survey or in person, or an aléa, with its documents."""
    form = ReclamationCreateForm(request.POST or None, request.FILES or None, prefix="create")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with services.atomic_with_uploads():  # the files go with the record if it is not saved
                created = services.reclamation_create(
                    actor=request.user, kind=data["kind"], channel=data["channel"], subject=data["subject"],
                    description=data["description"], received_at=data["received_at"], **form.record_fields(),
                )
                if data["files"]:
                    services.reclamation_add_attachments(
                        reclamation=created.reclamation, actor=request.user, uploads=data["files"],
                        public=data["files_public"],
                    )
        except services.WorkflowError as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:  # the model's own checks, should the form have let something by
            form.add_error(None, exc.messages)
        else:
            reclamation = created.reclamation
            messages.success(
                request,
                f"{reclamation.get_kind_display()} {reclamation.reference} enregistrée. Étape suivante : "
                "l'accusé de réception au réclamant.",
            )
            return redirect("backoffice:detail", pk=reclamation.pk)
    return render(request, "backoffice/create.html", {"form": form, "nav": "create"})
