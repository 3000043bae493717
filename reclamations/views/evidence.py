"""The evidence exports (quality lead): the evidence pack of a period as PDF, the register as XLSX or
CSV, and one record's PDF (any handler, from the record's page).

The pack takes minutes for a long period: the page creates an **export job** (``services.export_request``)
that a Celery worker makes, and sends the quality lead to the job's page, which refreshes itself while
the job runs (percentage and step), then offers the download — or says in French why it failed. The
register (well under a second for a thousand records) and one record's PDF are made in the request.

Every download is written to the journal (``services.export_log``) with the SHA-256 of the file
handed out. Any quality lead may follow and download any export job: they all may make the same
pack, and the download is logged under the name of whoever takes it.
"""
from __future__ import annotations

from functools import wraps
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Field, Fieldset, Layout
from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import exports, pdf, permissions, roles, selectors, services
from ..models import ExportJob, Reclamation
from ..statistics import Period

QUALITY_ONLY = (
    "Le dossier de preuves et les exports du registre sont réservés au responsable qualité. "
    "Si vous en avez besoin, adressez-vous à lui."
)
RECENT_JOBS = 10
REFRESH_SECONDS = 3


# --- Access --------------------------------------------------------------------------------------
def quality_lead_required(view: Any) -> Any:
    """Anonymous → login page; signed in without the quality lead's permission → 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return permissions.to_sign_in(request)
        if not roles.is_quality_lead(request.user):
            return permissions.forbidden(request, QUALITY_ONLY)
        return view(request, *args, **kwargs)

    return wrapped


# --- The period form -----------------------------------------------------------------------------
class PeriodForm(forms.Form):
    """The period of the pack or register: whole days, both included (dates of reception)."""

    start = forms.DateField(
        label="Du", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Indiquez le premier jour de la période.",
                        "invalid": "Saisissez une date valide, par exemple 01/01/2026."},
    )
    end = forms.DateField(
        label="Au (inclus)", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Indiquez le dernier jour de la période.",
                        "invalid": "Saisissez une date valide, par exemple 31/12/2026."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(Fieldset("Période (dates de réception)", Field("start"), Field("end")))

    @classmethod
    def with_defaults(cls) -> PeriodForm:
        period = Period.last_twelve_months()
        return cls(initial={"start": period.start, "end": period.end})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:  # the rules live with the exports: the export_evidence command applies them too
            for field, message in exports.period_errors(start, end).items():
                self.add_error(field, message)
        return cleaned

    @property
    def period(self) -> Period:
        return Period(self.cleaned_data["start"], self.cleaned_data["end"])


# --- Responses -----------------------------------------------------------------------------------
# htmx's "stop polling" answer: the status part is still shown, and no further request is made.
HTMX_STOP_POLLING = 286


def _download(content: bytes, *, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _page(request: HttpRequest, form: PeriodForm, *, status: int = 200, failure: str = "") -> HttpResponse:
    jobs = selectors.recent_export_jobs(request.user, limit=RECENT_JOBS)
    return render(request, "evidence/index.html", {"form": form, "failure": failure, "nav": "audit", "jobs": jobs},
                  status=status)


def _name(user: Any) -> str:
    return user.get_full_name() or user.get_username()


def _period(request: HttpRequest) -> tuple[PeriodForm, Period | None]:
    form = PeriodForm(request.POST)
    return form, (form.period if form.is_valid() else None)


# --- Views ---------------------------------------------------------------------------------------
@require_GET
@quality_lead_required
def index(request: HttpRequest) -> HttpResponse:
    return _page(request, PeriodForm.with_defaults())


@require_POST
@quality_lead_required
def pack_pdf(request: HttpRequest) -> HttpResponse:
    """Ask for the pack: a job for a worker, then the job's page."""
    form, period = _period(request)
    if period is None:
        return _page(request, form, status=400)
    job = services.export_request(actor=request.user, kind=ExportJob.Kind.PACK, start=period.start, end=period.end)
    return redirect("evidence:job", pk=job.pk)


def _register(request: HttpRequest, kind: str) -> HttpResponse:
    form, period = _period(request)
    if period is None:
        return _page(request, form, status=400)
    produced = exports.produce(kind=kind, period=period, generated_by=_name(request.user))
    services.export_log(actor=request.user, document=kind, sha256=produced.sha256, records=produced.records,
                        start=period.start, end=period.end)
    return _download(produced.content, filename=produced.filename, content_type=produced.content_type)


@require_POST
@quality_lead_required
def register_xlsx(request: HttpRequest) -> HttpResponse:
    return _register(request, "register_xlsx")


@require_POST
@quality_lead_required
def register_csv(request: HttpRequest) -> HttpResponse:
    return _register(request, "register_csv")


@require_GET
@quality_lead_required
def job(request: HttpRequest, pk: int) -> HttpResponse:
    """Where an export job stands, kept up to date until it ends.

    With JavaScript, htmx asks every few seconds for the status part alone (``request.htmx``) and
    stops when told 286 (the job has ended); without it, a ``<noscript>`` refresh reloads the page.
    """
    export = get_object_or_404(selectors.export_jobs_with_requester(), pk=pk)
    running = export.status in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING)
    context = {"job": export, "running": running, "refresh_seconds": REFRESH_SECONDS if running else None,
               "nav": "audit"}
    if request.htmx:
        response = render(request, "evidence/_job_status.html", context, status=200 if running else HTMX_STOP_POLLING)
    else:
        jobs = selectors.recent_export_jobs(request.user, limit=RECENT_JOBS)
        response = render(request, "evidence/job.html", {**context, "jobs": jobs})
    patch_vary_headers(response, ("HX-Request",))  # two answers at one URL: caches must keep both
    return response


@require_GET
@quality_lead_required
def job_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The finished file, from private storage; each download is an EXPORT event with its SHA-256."""
    export = get_object_or_404(ExportJob, pk=pk)
    if export.status != ExportJob.Status.DONE or not export.file:
        raise Http404("Cet export n'est pas prêt.")
    try:
        with export.file.open("rb") as stored:
            content = stored.read()
    except OSError as error:
        raise Http404("Le fichier de cet export n'est plus disponible.") from error
    produced = exports.Produced(content=content, filename=export.file_name, content_type="",
                                records=export.record_count or 0)
    services.export_log(actor=request.user, document=export.kind, sha256=produced.sha256, records=produced.records,
                        start=export.period_start, end=export.period_end, job=export)
    content_type = {ExportJob.Kind.PACK: exports.PDF_CONTENT_TYPE, ExportJob.Kind.REGISTER_XLSX:
                    exports.XLSX_CONTENT_TYPE}.get(export.kind, exports.CSV_CONTENT_TYPE)
    return _download(content, filename=export.file_name, content_type=content_type)


@require_http_methods(["GET"])
@permissions.staff_required
def record_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """One record's sheet and full history, for any handler (a link on the record's page)."""
    reclamation = get_object_or_404(Reclamation, pk=pk)
    try:
        document = pdf.build_record_pdf(reclamation=reclamation, generated_by=_name(request.user))
    except pdf.RenderError as error:
        return render(request, "evidence/failed.html", {"message": str(error), "reclamation": reclamation},
                      status=503)
    services.export_log(actor=request.user, document="record_pdf", sha256=document.sha256, records=1,
                        reclamation=reclamation)
    return _download(document.pdf, filename=document.filename, content_type="application/pdf")


