"""The register of a period — one line per record — as rows, as an Excel workbook and as CSV.

The same rows feed the evidence pack's register table, so the PDF and the spreadsheets always agree.
:func:`produce` makes any audit export (pack or register) for the export jobs, the page and the
``export_audit`` command alike.

Spreadsheet software runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and tab
or carriage return can smuggle one in): a client who writes ``=HYPERLINK(...)`` as the subject of a
complaint must not get a live formula into the quality lead's spreadsheet. Every text cell starting
with one of those characters is prefixed with ``'`` in both formats (:func:`neutralise`).
"""
from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .models import Reclamation
from .statistics import DelayLabels, Period, ack_outcome, answer_outcome, received_in

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula, made inert with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


@dataclass(frozen=True)
class RegisterRow(DelayLabels):
    reference: str
    received_at: datetime
    kind: str
    channel: str
    stakeholder: str
    service: str
    subject: str
    handler: str
    status: str
    acknowledged_at: datetime | None
    ack_due_at: datetime
    ack_outcome: str  # a DelayOutcome value
    answered_at: datetime | None
    answer_due_at: datetime
    answer_outcome: str
    decision: str
    compensation: str
    compensation_amount: Decimal | None
    root_cause: str
    closed_at: datetime | None
    satisfaction: int | None


# (header, attribute, column width, kind) — the kind says how each format writes the value.
COLUMNS: tuple[tuple[str, str, int, str], ...] = (
    ("Référence", "reference", 14, "text"),
    ("Reçue le", "received_at", 17, "datetime"),
    ("Nature", "kind", 12, "text"),
    ("Canal", "channel", 22, "text"),
    ("Partie prenante", "stakeholder", 24, "text"),
    ("Service concerné", "service", 26, "text"),
    ("Objet", "subject", 48, "text"),
    ("Responsable du traitement", "handler", 24, "text"),
    ("Étape / statut", "status", 24, "text"),
    ("Accusé de réception envoyé le", "acknowledged_at", 17, "datetime"),
    ("Accusé de réception dû le", "ack_due_at", 17, "datetime"),
    ("Accusé de réception : délai", "ack_label", 16, "text"),
    ("Réponse envoyée le", "answered_at", 17, "datetime"),
    ("Réponse due le", "answer_due_at", 17, "datetime"),
    ("Réponse : délai", "answer_label", 16, "text"),
    ("Décision", "decision", 22, "text"),
    ("Dédommagement", "compensation", 24, "text"),
    ("Montant du dédommagement (€)", "compensation_amount", 14, "amount"),
    ("Cause racine", "root_cause", 26, "text"),
    ("Clôturée le", "closed_at", 17, "datetime"),
    ("Satisfaction (1 à 5)", "satisfaction", 12, "integer"),
)


def _name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def register_queryset(period: Period) -> QuerySet[Reclamation]:
    return received_in(period).select_related("service", "handler", "root_cause_category").order_by(
        "received_at", "pk"
    )


def register_rows(records: Iterable[Reclamation], *, now: datetime | None = None) -> list[RegisterRow]:
    now = now or timezone.now()
    return [
        RegisterRow(
            reference=r.reference,
            received_at=r.received_at,
            kind=r.get_kind_display(),
            channel=r.get_channel_display(),
            stakeholder=r.get_stakeholder_type_display() if r.stakeholder_type else "",
            service=r.service.name if r.service_id else "",
            subject=r.subject,
            handler=_name(r.handler) if r.handler_id else "",
            status=r.get_state_display(),
            acknowledged_at=r.acknowledged_at,
            ack_due_at=r.ack_due_at,
            ack_outcome=ack_outcome(r, now),
            answered_at=r.answered_at,
            answer_due_at=r.answer_due_at,
            answer_outcome=answer_outcome(r, now),
            decision=r.get_decision_display() if r.decision else "",
            compensation=r.get_compensation_type_display() if r.compensation_type else "",
            compensation_amount=r.compensation_amount,
            root_cause=r.root_cause_category.name if r.root_cause_category_id else "",
            closed_at=r.closed_at,
            satisfaction=r.feedback_satisfaction,
        )
        for r in records
    ]


def _local(value: datetime | None) -> datetime | None:
    # Spreadsheets know no time zones: write the Paris wall-clock time the staff read everywhere.
    return timezone.localtime(value).replace(tzinfo=None) if value is not None else None


# --- Excel ---------------------------------------------------------------------------------------
def register_xlsx(rows: Sequence[RegisterRow], *, title: str, details: Sequence[tuple[str, str]] = ()) -> bytes:
    """The register as an .xlsx: bold header, frozen header row, filters on, real dates, widths set.

    ``details`` (label, value) pairs go on a second sheet, "Informations" (organisation, period...).
    """
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Registre"
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="1F5F8B")
    sheet.append([header for header, _, _, _ in COLUMNS])
    for cell in sheet[1]:
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        values = []
        for _, attribute, _, kind in COLUMNS:
            value = getattr(row, attribute)
            if kind == "datetime":
                value = _local(value)
            elif kind == "text":
                value = neutralise(value or "")
            values.append(value)
        sheet.append(values)
    for index, (_, _, width, kind) in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = width
        number_format = {"datetime": "DD/MM/YYYY HH:MM", "amount": "#,##0.00", "integer": "0"}.get(kind)
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
    sheet.row_dimensions[1].height = 32
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{max(len(rows) + 1, 2)}"

    info = workbook.create_sheet("Informations")
    info.append([neutralise(title)])
    info["A1"].font = Font(bold=True, size=13)
    for label, value in details:
        info.append([neutralise(label), neutralise(value)])
    info.column_dimensions["A"].width = 34
    info.column_dimensions["B"].width = 70

    workbook.properties.title = title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- CSV -----------------------------------------------------------------------------------------
def _csv_value(value: Any, kind: str) -> str:
    if value is None or value == "":
        return ""
    if kind == "datetime":
        return f"{_local(value):%d/%m/%Y %H:%M}"
    if kind == "amount":
        return f"{value:.2f}".replace(".", ",")
    if kind == "integer":
        return str(value)
    return neutralise(str(value))


def register_csv(rows: Sequence[RegisterRow]) -> bytes:
    """UTF-8 with a byte-order mark and ``;`` between fields: what French spreadsheet software opens as is."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([header for header, _, _, _ in COLUMNS])
    for row in rows:
        writer.writerow([_csv_value(getattr(row, attribute), kind) for _, attribute, _, kind in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --- One export, whatever asks for it (a job, the command, a page) ------------------------------
PDF_CONTENT_TYPE = "application/pdf"
EARLIEST = date(2000, 1, 1)
MAX_YEARS = 3


@dataclass(frozen=True)
class Produced:
    content: bytes
    filename: str
    content_type: str
    records: int
    pages: int | None = None  # PDF only

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def period_errors(start: date, end: date, *, today: date | None = None) -> dict[str, str]:
    """The rules of an export period, as French messages by field ("start", "end"); empty when valid."""
    today = today or timezone.localdate()
    errors: dict[str, str] = {}
    if start < EARLIEST:
        errors["start"] = f"La période ne peut pas commencer avant le {EARLIEST:%d/%m/%Y}."
    elif start > today:
        errors["start"] = "La période ne peut pas commencer après aujourd'hui."
    if end < start:
        errors["end"] = "La fin de la période doit être le même jour que son début ou après."
    else:
        try:
            limit = start.replace(year=start.year + MAX_YEARS)
        except ValueError:  # 29 February
            limit = start.replace(year=start.year + MAX_YEARS, day=28)
        if end >= limit:
            errors["end"] = (f"La période ne peut pas dépasser {MAX_YEARS} ans : "
                             f"choisissez une fin avant le {limit:%d/%m/%Y}.")
    return errors


def register_filename(period: Period, extension: str) -> str:
    return f"registre-reclamations_{period.start:%Y-%m-%d}_{period.end:%Y-%m-%d}.{extension}"


def produce(*, kind: str, period: Period, generated_by: str = "", now: datetime | None = None,
            progress: Callable[[int, str], None] | None = None) -> Produced:
    """The file of one export: ``kind`` is ``pack``, ``register_xlsx`` or ``register_csv``.

    The pack may raise ``reclamations.pdf.RenderError`` (French message).
    """
    now = now or timezone.now()
    if kind == "pack":
        from . import pdf  # the pack's layout imports this module

        document = pdf.build_pack(period=period, generated_by=generated_by, now=now, progress=progress)
        return Produced(content=document.pdf, filename=document.filename, content_type=PDF_CONTENT_TYPE,
                        records=document.records, pages=document.pages)
    rows = register_rows(register_queryset(period), now=now)
    if kind == "register_xlsx":
        from .models import Organisation

        organisation = Organisation.current()
        details = [
            ("Organisme", organisation.name),
            ("Période (dates de réception)", period.label),
            ("Réclamations, difficultés et aléas", str(len(rows))),
            ("Généré le", f"{timezone.localtime(now):%d/%m/%Y à %H:%M}"),
        ]
        if generated_by:
            details.append(("Par", generated_by))
        content = register_xlsx(rows, title=f"Registre des réclamations — {organisation.name}", details=details)
        return Produced(content=content, filename=register_filename(period, "xlsx"),
                        content_type=XLSX_CONTENT_TYPE, records=len(rows))
    if kind == "register_csv":
        return Produced(content=register_csv(rows), filename=register_filename(period, "csv"),
                        content_type=CSV_CONTENT_TYPE, records=len(rows))
    raise ValueError(f"unknown export kind: {kind}")
