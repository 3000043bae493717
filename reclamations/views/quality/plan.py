"""The improvement plan: list, detail with history, create, edit, effectiveness check, promotion."""
from __future__ import annotations

from django.contrib import messages
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ... import roles, selectors, services
from ...forms.quality import CheckForm, ImprovementForm
from ...models import ImprovementAction, ImprovementOrigin, ImprovementStatus
from ...services import improvement as plan
from .access import quality_lead_required, staff_required

# ?statut= (French, it is in the address bar) -> filter
FILTERS = {
    "en_cours": ("En cours", Q(status__in=plan.OPEN_STATUSES)),
    "a_verifier": ("Efficacité à vérifier", Q(status=ImprovementStatus.DONE, check_result="")),
    "realisees": ("Réalisées", Q(status=ImprovementStatus.DONE)),
    "toutes": ("Toutes", Q()),
}
DEFAULT_FILTER = "en_cours"
_STATUS_ORDER = Case(
    When(status=ImprovementStatus.IN_PROGRESS, then=Value(0)),
    When(status=ImprovementStatus.PLANNED, then=Value(1)),
    When(status=ImprovementStatus.DONE, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


@require_GET
@staff_required
def plan_list(request: HttpRequest) -> HttpResponse:
    current = request.GET.get("statut") if request.GET.get("statut") in FILTERS else DEFAULT_FILTER
    items = list(
        plan.plan_queryset().filter(FILTERS[current][1])
        .annotate(status_order=_STATUS_ORDER).order_by("status_order", "due_date", "pk")
    )
    today = timezone.localdate()
    rows = [{"item": item, "overdue": plan.is_overdue(item, today), "check_due": plan.check_due(item, today)}
            for item in items]
    tabs = [{"code": code, "label": label, "current": code == current} for code, (label, _q) in FILTERS.items()]
    return render(request, "quality/plan_list.html", {
        "rows": rows, "tabs": tabs, "current": current, "nav": "quality", "quality_nav": "plan",
        "is_quality_lead": roles.is_quality_lead(request.user),
    })


def _detail(request: HttpRequest, item: ImprovementAction, *, check_form: CheckForm | None = None,
            status: int = 200) -> HttpResponse:
    history = selectors.improvement_history(item)
    today = timezone.localdate()
    return render(request, "quality/improvement_detail.html", {
        "item": item,
        "records": list(item.reclamations.order_by("received_at")),
        "history": history,
        "overdue": plan.is_overdue(item, today),
        "check_due": plan.check_due(item, today),
        "check_form": check_form or CheckForm(prefix="check"),
        "is_quality_lead": roles.is_quality_lead(request.user),
        "nav": "quality", "quality_nav": "plan",
    }, status=status)


@require_GET
@staff_required
def improvement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(plan.plan_queryset(), pk=pk)
    return _detail(request, item)


def _form_page(request: HttpRequest, form: ImprovementForm, item: ImprovementAction | None,
               status: int = 200) -> HttpResponse:
    return render(request, "quality/improvement_form.html", {
        "form": form, "item": item, "nav": "quality", "quality_nav": "plan",
    }, status=status)


@require_http_methods(["GET", "POST"])
@quality_lead_required
def improvement_create(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        # Prefilled from a recurrence flag of the statistics page: ?references=R-2026-0001,R-2026-0007
        references = request.GET.get("references", "")[:2000]
        initial = {"origin": ImprovementOrigin.RECORDS, "references": references} if references else {}
        return _form_page(request, ImprovementForm(initial=initial), None)
    form = ImprovementForm(request.POST)
    if form.is_valid():
        try:
            item = services.improvement_create(actor=request.user, reclamations=form.cleaned_data["references"],
                                               **form.changes())
        except services.WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Action ajoutée au plan d'amélioration.")
            return redirect("quality:improvement_detail", pk=item.pk)
    return _form_page(request, form, None, status=200)


@require_http_methods(["GET", "POST"])
@quality_lead_required
def improvement_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(plan.plan_queryset(), pk=pk)
    if request.method == "GET":
        return _form_page(request, ImprovementForm(initial=ImprovementForm.initial_for(item)), item)
    form = ImprovementForm(request.POST)
    if form.is_valid():
        try:
            services.improvement_update(improvement=item, actor=request.user, changes=form.changes(),
                                        reclamations=form.cleaned_data["references"])
        except services.WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Action d'amélioration enregistrée.")
            return redirect("quality:improvement_detail", pk=item.pk)
    return _form_page(request, form, item)


@require_POST
@quality_lead_required
def improvement_check(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(plan.plan_queryset(), pk=pk)
    form = CheckForm(request.POST, prefix="check")
    if form.is_valid():
        try:
            services.improvement_record_check(
                improvement=item, actor=request.user, result=form.cleaned_data["check_result"],
                comment=form.cleaned_data["check_comment"], checked_at=form.cleaned_data["checked_at"],
            )
        except services.WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Vérification de l'efficacité enregistrée.")
            return redirect("quality:improvement_detail", pk=item.pk)
    return _detail(request, item, check_form=form)


@require_POST
@quality_lead_required
def promote_action(request: HttpRequest, pk: int) -> HttpResponse:
    """One click on a record's corrective/preventive action: it joins the improvement plan.

    Goes back to ``next`` (the record's page) when given and safe, else to the new plan line.
    """
    action = selectors.action_with_record(pk)
    if action is None:
        raise Http404("Action introuvable.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        back = ""
    try:
        item, created = services.reclamation_promote_action(action=action, actor=request.user)
    except services.WorkflowError as exc:
        messages.error(request, str(exc))
        return redirect(back or reverse("backoffice:detail", args=[action.reclamation_id]))
    link = reverse("quality:improvement_detail", args=[item.pk])
    if created:
        messages.success(request, f"Action portée au plan d'amélioration continue : « {item.title} ».")
    else:
        messages.info(request, f"Cette action figure déjà au plan d'amélioration : « {item.title} ».")
    return redirect(back or link)
