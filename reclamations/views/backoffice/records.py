"""The list of records, a record's page, and registering a record received by another channel."""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from ... import selectors, services
from ...filters import ReclamationFilter
from ...forms.backoffice import ReclamationCreateForm
from ...models import Reclamation
from ...permissions import staff_required
from .detail import detail_response

PAGE_SIZE = 25

# Sortable columns of the list: (``?ordre=`` key, header label).
COLUMNS = (
    ("reference", "Référence"),
    ("recue", "Reçue le"),
    ("objet", "Objet"),
    ("etape", "Étape"),
    ("priorite", "Priorité"),
    ("responsable", "Responsable"),
    ("accuse", "Accusé de réception"),
    ("reponse", "Réponse"),
)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    url: str
    sort: str  # "ascending", "descending" or "" (for aria-sort)


def _columns(request: HttpRequest, applied: str) -> list[Column]:
    columns = []
    for key, label in COLUMNS:
        params = request.GET.copy()
        params.pop("page", None)
        if applied == key:
            params["ordre"], sort = f"-{key}", "ascending"
        elif applied == f"-{key}":
            params["ordre"], sort = key, "descending"
        else:
            params["ordre"], sort = key, ""
        columns.append(Column(key, label, f"?{params.urlencode()}", sort))
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


@require_GET
@staff_required
def reclamation_list(request: HttpRequest) -> HttpResponse:
    filterset = ReclamationFilter(request.GET or None, queryset=selectors.reclamations_for_list(user=request.user),
                                  request=request)
    queryset, applied = selectors.sort_reclamations(filterset.qs, request.GET.get("ordre"))
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    active_filters = _active_filters(filterset)
    # Where the words were found, for the page's rows only (the page's queryset keeps its rows:
    # the template's loop reads them again without a query).
    excerpts = selectors.search_excerpts(page.object_list, request.GET.get("q", ""))
    return render(request, "backoffice/list.html", {
        "filterset": filterset,
        "page": page,
        "excerpts": excerpts,
        "columns": _columns(request, applied),
        "active_filters": active_filters,
        "nav": "list",
    })


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
