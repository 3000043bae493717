"""The register of a period — one line per record — as rows, as an Excel workbook and as CSV.

The rows themselves (``reclamations.register``) also feed the evidence pack's register table, so the
PDF and the spreadsheets always agree.
:func:`produce` makes any evidence export (pack or register) for the export jobs, the page and the
``export_evidence`` command alike.

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
from typing import Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from . import pdf
from .models import Organisation, Reclamation
from .register import COLUMNS, RegisterRow, register_queryset, register_rows
from .statistics import Period
from .text import plural

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula, made inert with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _local(value: datetime | None) -> datetime | None:
    # Spreadsheets know no time zones: write the Paris wall-clock time the staff read everywhere.
    return timezone.localtime(value).replace(tzinfo=None) if value is not None else None


# --- Excel ---------------------------------------------------------------------------------------
Detail = str | int | date | datetime
# Columns whose cells hold several lines (one corrective action a line) or long text: wrapped, so
# that the lines show in the cell as they do in the PDF register.
WRAPPED = frozenset({"subject", "root_cause_extract", "corrective_actions_text"})


def _info_value(value: Detail) -> tuple[Any, str | None]:
    """A value of the "Informations" sheet as the cell takes it, and its number format."""
    if isinstance(value, datetime):
        return _local(value), "DD/MM/YYYY HH:MM"
    if isinstance(value, date):
        return value, "DD/MM/YYYY"
    if isinstance(value, int):
        return value, "0"  # a count stays a number a spreadsheet can add up
    return neutralise(value), None


def register_xlsx(rows: Sequence[RegisterRow], *, title: str, details: Sequence[tuple[str, Detail]] = ()) -> bytes:
    """The register as an .xlsx: bold header, frozen header row, filters on, real dates, widths set.

    ``details`` (label, value) pairs go on a second sheet, "Informations" (organisation, period...):
    a date or a time is written as a real date, a count as a number, like the register's cells.
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
    wrapped = Alignment(wrap_text=True, vertical="top")
    for index, (_, attribute, width, kind) in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = width
        number_format = {"datetime": "DD/MM/YYYY HH:MM", "amount": "#,##0.00", "integer": "0"}.get(kind)
        if number_format or attribute in WRAPPED:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                if number_format:
                    cell.number_format = number_format
                if attribute in WRAPPED:
                    cell.alignment = wrapped
    sheet.row_dimensions[1].height = 32
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{max(len(rows) + 1, 2)}"

    info = workbook.create_sheet("Informations")
    info.append([neutralise(title)])
    info["A1"].font = Font(bold=True, size=13)
    for label, value in details:
        cell_value, number_format = _info_value(value)
        info.append([neutralise(label), cell_value])
        if number_format:
            info.cell(row=info.max_row, column=2).number_format = number_format
        info.cell(row=info.max_row, column=2).alignment = Alignment(horizontal="left")
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


def register_csv(rows: Sequence[RegisterRow], *, preamble: Sequence[tuple[str, str]] = ()) -> bytes:
    """UTF-8 with a byte-order mark and ``;`` between fields: what French spreadsheet software opens as is.

    ``preamble``: (label, value) lines before the register (the organisation, the period), then a
    blank line, so that a file found alone says what it is.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    for label, value in preamble:
        writer.writerow([neutralise(label), neutralise(value)])
    if preamble:
        writer.writerow([])
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
    if end > today:
        # A pack for days to come would show a period as covered while nothing could be recorded yet.
        errors["end"] = "La période ne peut pas finir après aujourd'hui : choisissez une fin passée ou aujourd'hui."
    elif end < start:
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


def selection_filename(now: datetime) -> str:
    return f"selection-reclamations_{timezone.localtime(now):%Y-%m-%d_%H%M}.csv"


def produce_selection_csv(records: Iterable[Reclamation], *, now: datetime | None = None) -> Produced:
    """The rows ticked on the list as the register's CSV: same columns, same writer, same conventions.

    The preamble says it is a selection and when it was taken, since it covers no period.
    """
    now = now or timezone.now()
    rows = register_rows(records, now=now)
    count = len(rows)
    preamble = [
        ("Organisme", Organisation.current().name),
        ("Sélection", f"{count} réclamation{plural(count)} cochée{plural(count)} dans la liste, "
                      f"le {timezone.localtime(now):%d/%m/%Y à %H:%M}"),
    ]
    return Produced(content=register_csv(rows, preamble=preamble), filename=selection_filename(now),
                    content_type=CSV_CONTENT_TYPE, records=count)


def produce(*, kind: str, period: Period, generated_by: str = "", now: datetime | None = None,
            progress: Callable[[int, str], None] | None = None) -> Produced:
    """The file of one export: ``kind`` is ``pack``, ``register_xlsx`` or ``register_csv``.

    The pack may raise ``reclamations.pdf.RenderError`` (French message).
    """
    now = now or timezone.now()
    if kind == "pack":
        document = pdf.build_pack(period=period, generated_by=generated_by, now=now, progress=progress)
        return Produced(content=document.pdf, filename=document.filename, content_type=PDF_CONTENT_TYPE,
                        records=document.records, pages=document.pages)
    rows = register_rows(register_queryset(period), now=now)
    if kind == "register_xlsx":
        organisation = Organisation.current()
        details: list[tuple[str, Detail]] = [
            ("Organisme", organisation.name),
            ("Période (dates de réception) : du", period.start),
            ("Période (dates de réception) : au", period.end),
            ("Réclamations, difficultés et aléas", len(rows)),
            ("Généré le", now),
        ]
        if generated_by:
            details.append(("Par", generated_by))
        content = register_xlsx(rows, title=f"Registre des réclamations — {organisation.name}", details=details)
        return Produced(content=content, filename=register_filename(period, "xlsx"),
                        content_type=XLSX_CONTENT_TYPE, records=len(rows))
    if kind == "register_csv":
        preamble = [("Organisme", Organisation.current().name), ("Période (dates de réception)", period.label)]
        return Produced(content=register_csv(rows, preamble=preamble), filename=register_filename(period, "csv"),
                        content_type=CSV_CONTENT_TYPE, records=len(rows))
    raise ValueError(f"unknown export kind: {kind}")
