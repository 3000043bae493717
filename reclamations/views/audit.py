"""The audit exports (quality lead): the evidence pack of a period as PDF, the register as XLSX or
CSV, and one record's PDF (any handler, from the record's page).

Each download is built on request and written to the audit log (``services.export_log``) with the
SHA-256 of the file handed out. The pack is laid out in a bounded child process (``reclamations.pdf``):
when it runs out of time or memory, the quality lead reads a French message, never a 500.
"""
from __future__ import annotations

import hashlib
from datetime import date
from functools import wraps
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Field, Fieldset, Layout
from django import forms
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import exports, pdf, permissions, roles, services
from ..models import Organisation, Reclamation
from ..statistics import Period

QUALITY_ONLY = (
    "Le dossier de preuves et les exports du registre sont réservés au responsable qualité. "
    "Si vous en avez besoin, adressez-vous à lui."
)
EARLIEST = date(2000, 1, 1)
MAX_YEARS = 3


# --- Access --------------------------------------------------------------------------------------
def quality_lead_required(view: Any) -> Any:
    """Anonymous → login page; signed in without the quality lead's permission → 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
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

    def clean_start(self) -> date:
        start = self.cleaned_data["start"]
        if start < EARLIEST:
            raise forms.ValidationError(f"La période ne peut pas commencer avant le {EARLIEST:%d/%m/%Y}.")
        if start > timezone.localdate():
            raise forms.ValidationError("La période ne peut pas commencer après aujourd'hui.")
        return start

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "La fin de la période doit être le même jour que son début ou après.")
            else:
                try:
                    limit = start.replace(year=start.year + MAX_YEARS)
                except ValueError:  # 29 February
                    limit = start.replace(year=start.year + MAX_YEARS, day=28)
                if end >= limit:
                    self.add_error("end", f"La période ne peut pas dépasser {MAX_YEARS} ans : "
                                          f"choisissez une fin avant le {limit:%d/%m/%Y}.")
        return cleaned

    @property
    def period(self) -> Period:
        return Period(self.cleaned_data["start"], self.cleaned_data["end"])


# --- Responses -----------------------------------------------------------------------------------
def _download(content: bytes, *, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _page(request: HttpRequest, form: PeriodForm, *, status: int = 200, failure: str = "") -> HttpResponse:
    return render(request, "audit/index.html", {"form": form, "failure": failure, "nav": "audit"}, status=status)


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
    form, period = _period(request)
    if period is None:
        return _page(request, form, status=400)
    try:
        document = pdf.build_pack(period=period, generated_by=_name(request.user))
    except pdf.RenderError as error:
        return _page(request, form, status=503, failure=str(error))
    services.export_log(actor=request.user, document="pack", sha256=document.sha256, records=document.records,
                        start=period.start, end=period.end)
    return _download(document.pdf, filename=document.filename, content_type="application/pdf")


def _register(request: HttpRequest, file_format: str) -> HttpResponse:
    form, period = _period(request)
    if period is None:
        return _page(request, form, status=400)
    now = timezone.now()
    rows = exports.register_rows(exports.register_queryset(period), now=now)
    name = f"registre-reclamations_{period.start:%Y-%m-%d}_{period.end:%Y-%m-%d}"
    if file_format == "xlsx":
        organisation = Organisation.current()
        content = exports.register_xlsx(rows, title=f"Registre des réclamations — {organisation.name}", details=(
            ("Organisme", organisation.name),
            ("Période (dates de réception)", period.label),
            ("Réclamations, difficultés et aléas", str(len(rows))),
            ("Généré le", f"{timezone.localtime(now):%d/%m/%Y à %H:%M}"),
            ("Par", _name(request.user)),
        ))
        content_type, filename = exports.XLSX_CONTENT_TYPE, f"{name}.xlsx"
    else:
        content = exports.register_csv(rows)
        content_type, filename = exports.CSV_CONTENT_TYPE, f"{name}.csv"
    services.export_log(actor=request.user, document=f"register_{file_format}",
                        sha256=hashlib.sha256(content).hexdigest(), records=len(rows),
                        start=period.start, end=period.end)
    return _download(content, filename=filename, content_type=content_type)


@require_POST
@quality_lead_required
def register_xlsx(request: HttpRequest) -> HttpResponse:
    return _register(request, "xlsx")


@require_POST
@quality_lead_required
def register_csv(request: HttpRequest) -> HttpResponse:
    return _register(request, "csv")


@require_http_methods(["GET"])
@permissions.staff_required
def record_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """One record's sheet and full history, for any handler (a link on the record's page)."""
    reclamation = get_object_or_404(Reclamation, pk=pk)
    try:
        document = pdf.build_record_pdf(reclamation=reclamation, generated_by=_name(request.user))
    except pdf.RenderError as error:
        return render(request, "audit/failed.html", {"message": str(error), "reclamation": reclamation},
                      status=503)
    services.export_log(actor=request.user, document="record_pdf", sha256=document.sha256, records=1,
                        reclamation=reclamation)
    return _download(document.pdf, filename=document.filename, content_type="application/pdf")


