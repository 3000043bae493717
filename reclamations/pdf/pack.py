"""The evidence pack of a period, laid out in parts so that memory stays bounded.

WeasyPrint keeps every laid-out page until it writes the PDF: one document of 2,000 pages needs
gigabytes. A pack of more than ``PDF_PACK_BATCH_RECORDS`` records (default 100) is therefore laid out
as several documents, each in its own bounded child process (:mod:`.render`), and the PDFs are joined
with pypdf (:mod:`.merge`):

1. the **front** — cover, contents, procedure, means, key figures, register and indicator 32 — laid
   out once *without writing it*, only to learn its page count F. A register of more than
   ``PDF_PACK_REGISTER_ROWS`` rows (default 200) is split: the first document ends with the first
   chunk of rows, each further chunk is a document of its own (the table's header repeated, each
   chunk starting a page; a chunk is cut before the rows of its last page, which open the next one,
   so no part ends on a partly filled page), the last one followed by the consistency checks and section 5, whose
   pages the contents then print as numbers rather than with ``target-counter``;
2. the **record sheets**, by batches of records, the first batch opened by the heading of section 6
   (so that the heading shares its page with the first sheet, as in one document): each sheet
   starts a page (the first one follows the heading) and holds no page number of another part, so
   a batch lays out the same wherever it lands; its page count and the page of each sheet are
   reported back;
3. the **journal-chain** section;
4. the front again, for real, now that every number it prints is known: section 6's page is F + 1,
   a sheet's page is F + 1 + its page in the sheet parts, the chain's is F + all sheet pages + 1. Page numbers
   are printed in fixed-width, non-wrapping cells, so this pass has F pages too; if it ever had
   not, the numbers are recomputed with the new count and the front laid out again (at most twice);
5. the parts joined; "page X / Y" stamped on every page, one outline built from the parts'
   bookmarks (:mod:`.merge`).

The front's table of contents points inside the front with CSS ``target-counter`` (sections 1-5,
or 1-4 when the register is split); only sections 6 and 7 (and then the consistency checks and
section 5) and the register's "page of the sheet" column need the numbers computed here.

A pack that fits in one batch is laid out as a single document, as before: numbers, links and
footer all come from CSS.

``progress(percent, label)`` is told where the work stands (the export job shows it); this module
knows nothing of jobs or Celery.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Prefetch, Q
from django.template.loader import render_to_string
from django.utils import timezone

from ..consistency import corrected_receptions, period_anomalies, with_consistency_data
from ..models import (
    Action,
    ActionKind,
    Communication,
    Digest,
    DigestReceipt,
    ImprovementAction,
    Organisation,
    Reclamation,
)
from ..register import RegisterRow, register_queryset, register_rows
from ..selectors import configuration_changes
from ..statistics import Period, compute_figures, received_in
from .documents import (
    INDICATORS,
    PdfDocument,
    common_context,
    logo_resources,
    pack_charts,
    pack_filename,
    verified_chain,
)
from .fetcher import Resource
from .merge import Part, merge_parts
from .procedure import current_procedure
from .render import Rendered, render_pdf
from .sheets import build_sheets, with_sheet_data

Progress = Callable[[int, str], None]
DEFAULT_BATCH_RECORDS = 100
# Rows of the register per part when the pack is laid out in parts: the register is the one part of
# the front that grows with the period, and one document of 1,000 rows peaked at 537 MiB
# (bench/RESULTS.md). A part ends where a page ends (its last page's rows open the next part), so
# the register breaks its pages as one long table would, whatever the size.
DEFAULT_REGISTER_ROWS = 200
FRONT_PASSES = 3


def _ignore(percent: int, label: str) -> None:
    pass


def thousands(number: int) -> str:
    """1000 -> "1 000" (French digit grouping, with a no-break space)."""
    return f"{number:,}".replace(",", "\u00a0")


@dataclass(frozen=True)
class _Laid:
    rendered: Rendered
    first_page: int  # 0-based index of its first page in the whole pack


def _front_context(*, period: Period, generated_by: str, now: datetime, organisation: Organisation,
                   resources: dict[str, Resource]) -> dict[str, Any]:
    figures = compute_figures(period=period, now=now)
    records = received_in(period)
    improvements = list(
        Action.objects.filter(reclamation__in=records, kind__in=(ActionKind.CORRECTIVE, ActionKind.PREVENTIVE))
        .select_related("reclamation", "owner").order_by("reclamation__received_at", "reclamation_id", "id")
    )
    plan = list(
        ImprovementAction.objects.filter(reclamations__in=records).distinct()
        .select_related("owner").prefetch_related("reclamations").order_by("created_at", "id")
    )
    digests = list(
        Digest.objects.filter(period_start__lte=period.end, period_end__gte=period.start)
        .annotate(recipients=Count("receipts"),
                  read=Count("receipts", filter=Q(receipts__acknowledged_at__isnull=False)))
        # Who confirmed reading it, and when: the proof of internal communication (indicator 32).
        .prefetch_related(Prefetch("receipts", to_attr="read_receipts", queryset=DigestReceipt.objects.filter(
            acknowledged_at__isnull=False).select_related("user").order_by("acknowledged_at", "id")))
        .order_by("period_start", "id")
    )
    internal = list(
        Communication.objects.filter(reclamation__in=records, direction=Communication.Direction.INTERNAL)
        .select_related("reclamation", "author").order_by("occurred_at", "id")
    )
    return {
        **common_context(organisation, resources, now),
        "period": period,
        "generated_by": generated_by,
        "indicators": INDICATORS,
        "procedure": current_procedure(organisation),
        "figures": figures,
        "charts": pack_charts(figures),
        "register_rows": register_rows(register_queryset(period), now=now),
        "corrections": corrected_receptions(records),
        "consistency": period_anomalies(with_consistency_data(register_queryset(period)), now=now),
        "improvements": improvements,
        "improvement_plan": plan,
        "digests": digests,
        "internal_communications": internal,
        # Since the period's start up to now: section 1 describes today's configuration, so a change
        # after the period's end is listed too (what was in force during the period is then readable).
        "configuration_changes": configuration_changes(since=period.start_at),
        "period_end_before": period.end_before,
        "chain": verified_chain(),
    }


def _register(rows: Sequence[Any], pages: dict[str, int] | None) -> list[tuple[Any, int | None]]:
    """The register's rows with the page of each sheet (None: CSS finds it, single document)."""
    return [(row, None if pages is None else pages.get(row.reference)) for row in rows]


def _batches(ids: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _combine(laid: Sequence[_Laid], pdf: bytes, pages: int) -> Rendered:
    served: dict[str, None] = {}
    refused: dict[str, None] = {}
    anchors: dict[str, int] = {}
    bookmarks: list[tuple[int, int, str]] = []
    for item in laid:
        served.update(dict.fromkeys(item.rendered.served))
        refused.update(dict.fromkeys(item.rendered.refused))
        for name, index in item.rendered.anchors.items():
            anchors.setdefault(name, item.first_page + index)
        bookmarks.extend((item.first_page + index, level, label) for index, level, label in item.rendered.bookmarks)
    return Rendered(pdf=pdf, pages=pages, served=tuple(served), refused=tuple(refused),
                    peak_rss_kib=max(item.rendered.peak_rss_kib for item in laid), anchors=anchors,
                    bookmarks=tuple(bookmarks), parts=len(laid))


def build_pack(*, period: Period, generated_by: str = "", now: datetime | None = None,
               progress: Progress | None = None, batch_records: int | None = None) -> PdfDocument:
    """The evidence pack of ``period``. An empty period still gives the procedure and the means.

    Raises :class:`.render.RenderError` (French message) when a part cannot be laid out.
    """
    now = now or timezone.now()
    progress = progress or _ignore
    batch = max(1, batch_records or int(getattr(settings, "PDF_PACK_BATCH_RECORDS", DEFAULT_BATCH_RECORDS)))
    organisation = Organisation.current()
    resources = logo_resources(organisation)
    progress(1, "Calcul des chiffres clés et du registre")
    context = _front_context(period=period, generated_by=generated_by, now=now, organisation=organisation,
                             resources=resources)
    total = context["figures"].total
    if total <= batch:
        rendered = _single(context, period, resources, now, progress, total)
    else:
        rendered = _in_parts(context, period, resources, now, progress, total, batch)
    progress(100, "Dossier prêt")
    return PdfDocument(pdf=rendered.pdf, filename=pack_filename(period), pages=rendered.pages, records=total,
                       sha256=hashlib.sha256(rendered.pdf).hexdigest(), rendered=rendered)


def _single(context: dict[str, Any], period: Period, resources: dict[str, Resource], now: datetime,
            progress: Progress, total: int) -> Rendered:
    """Small pack: one document, as WeasyPrint lays it out in one go."""
    records = with_sheet_data(received_in(period)) if total else Reclamation.objects.none()
    sheets = build_sheets(records, now=now) if total else []
    progress(10, f"Mise en page du dossier ({thousands(total)} réclamation{'s' if total > 1 else ''})")
    html = render_to_string("pdf/pack.html", {
        **context, "parted": False, "sheets": sheets, "register": _register(context["register_rows"], None),
    })
    return render_pdf(html, resources=resources)


def _in_parts(context: dict[str, Any], period: Period, resources: dict[str, Resource], now: datetime,
              progress: Progress, total: int, batch: int) -> Rendered:
    rows = context["register_rows"]
    size = max(1, int(getattr(settings, "PDF_PACK_REGISTER_ROWS", DEFAULT_REGISTER_ROWS)))
    # The register's chunks, fixed by the first pass (``_cut``): each part but the last ends on a
    # full page, so the register breaks its pages where one long table would.
    chunks: list[list[RegisterRow]] = []

    def register_part(index: int, chunk: list[RegisterRow], numbers: _Numbers, *, more: bool,
                      write: bool) -> Rendered:
        """The first part (cover to the register's first chunk) or a further chunk of the register,
        the last one followed by the consistency checks and section 5. Each is its own child."""
        if index == 0:
            html = render_to_string("pdf/pack.html", {
                **context, "parted": True, "chain_page": numbers.chain, "fiches_page": numbers.fiches,
                "coherence_page": numbers.coherence if more else None,
                "improvements_page": numbers.improvements if more else None,
                "register": _register(chunk, numbers.sheets), "register_more": more,
            })
        else:
            html = render_to_string("pdf/pack_part.html", {
                **context, "with_register": True, "register": _register(chunk, numbers.sheets),
                "register_more": more,
            })
        return render_pdf(html, resources=resources, write=write)

    def front(numbers: _Numbers, *, write: bool) -> list[Rendered]:
        """The front's parts, along the chunks the first pass fixed."""
        return [register_part(index, chunk, numbers, more=index < len(chunks) - 1, write=write)
                for index, chunk in enumerate(chunks)]

    def first_front(numbers: _Numbers) -> list[Rendered]:
        """The front laid out for the first time (not written), fixing the chunks as it goes."""
        parts: list[Rendered] = []
        start = 0
        while True:
            last = len(rows) - start <= size
            chunk = rows[start:] if last else rows[start:start + size]
            laid = register_part(len(parts), chunk, numbers, more=not last, write=False)
            if not last:
                chunk, laid = _cut(chunk, laid)
            chunks.append(chunk)
            parts.append(laid)
            start += len(chunk)
            if last:
                return parts

    # 1. The front's page count, with placeholder numbers as wide as the real ones will be.
    progress(2, "Mise en page du sommaire, des chiffres clés et du registre")
    placeholder = 10 ** (len(str(total * 3)) + 1) - 1
    refs = [row.reference for row in rows]
    laid_front = first_front(_Numbers(dict.fromkeys(refs, placeholder), placeholder, placeholder, placeholder,
                                      placeholder))
    front_pages = sum(part.pages for part in laid_front)

    # 2. The record sheets, batch by batch: the parent holds one batch's data at a time.
    ids = list(with_sheet_data(received_in(period)).values_list("pk", flat=True))
    sheet_parts: list[Rendered] = []
    sheet_start: dict[str, int] = {}  # reference -> 0-based page index among the sheets
    sheet_pages = 0
    done = 0
    for chunk in _batches(ids, batch):
        progress(5 + 80 * done // total, f"Fiches des réclamations : {thousands(done)} / {thousands(total)}")
        sheets = build_sheets(with_sheet_data(Reclamation.objects.filter(pk__in=chunk)), now=now)
        html = render_to_string("pdf/pack_part.html", {**_part_context(context), "sheets": sheets,
                                                       "with_fiches": not done})
        del sheets
        part = render_pdf(html, resources=resources)
        del html
        for name, index in part.anchors.items():
            if name.startswith("fiche-"):
                sheet_start[name.removeprefix("fiche-")] = sheet_pages + index
        sheet_parts.append(part)
        sheet_pages += part.pages
        done += len(chunk)
    progress(85, f"Fiches des réclamations : {thousands(total)} / {thousands(total)}")

    # 3. The journal-chain section.
    chain = render_pdf(render_to_string("pdf/pack_part.html", {**_part_context(context), "with_chain": True}),
                       resources=resources)

    # 4. The front, with the numbers.
    progress(88, "Numérotation du sommaire et du registre")
    for _attempt in range(FRONT_PASSES):
        numbers = _Numbers(
            sheets={ref: front_pages + index + 1 for ref, index in sheet_start.items()},
            fiches=front_pages + 1, chain=front_pages + sheet_pages + 1,
            coherence=_page_of("coherence", laid_front), improvements=_page_of("amelioration", laid_front),
        )
        laid_front = front(numbers, write=True)
        if sum(part.pages for part in laid_front) == front_pages and _page_of(
                "coherence", laid_front) == numbers.coherence and _page_of(
                "amelioration", laid_front) == numbers.improvements:
            break
        front_pages = sum(part.pages for part in laid_front)
    else:  # pragma: no cover - would need a front whose length keeps changing with its numbers
        raise RuntimeError("the front part of the evidence pack does not settle on a page count")

    # 5. One PDF.
    progress(95, "Assemblage du PDF")
    laid: list[_Laid] = []
    first = 0
    for rendered in (*laid_front, *sheet_parts, chain):
        laid.append(_Laid(rendered, first))
        first += rendered.pages
    pdf = merge_parts([Part(item.rendered.pdf, item.rendered.pages, item.rendered.bookmarks) for item in laid],
                      cover_pages=_cover_pages(laid_front[0]))
    return _combine(laid, pdf, first)


@dataclass(frozen=True)
class _Numbers:
    """The page numbers (1-based, in the whole pack) the front prints when laid out in parts."""

    sheets: dict[str, int]  # reference -> page of its sheet
    fiches: int  # section 6
    chain: int  # section 7
    coherence: int  # the consistency checks, when the register is laid out in several parts
    improvements: int  # section 5, idem


def _cut(chunk: list[RegisterRow], laid: Rendered) -> tuple[list[RegisterRow], Rendered]:
    """A register part that does not end the register, cut before the rows of its last page (they
    open the next part): the part then ends on a full page, as one long table would break there.
    ``laid`` was laid out without writing; what it becomes is what the shorter chunk lays out as
    (the rows before lay out the same whatever follows them), so it is not laid out again."""
    last_page = laid.pages - 1
    keep = next((n for n, row in enumerate(chunk) if laid.anchors.get(_row_anchor(row)) == last_page), len(chunk))
    if keep in (0, len(chunk)):  # the chunk fits on one page, or nothing of it is on the last one
        return chunk, laid
    moved = {_row_anchor(row) for row in chunk[keep:]}
    anchors = {name: page for name, page in laid.anchors.items() if name not in moved}
    return chunk[:keep], replace(laid, pages=laid.pages - 1, anchors=anchors)


def _row_anchor(row: RegisterRow) -> str:
    return f"registre-{row.reference}"  # the id of the row's <tr> (pdf/_register.html)


def _page_of(anchor: str, parts: Sequence[Rendered]) -> int:
    """The 1-based page, counted from the pack's first page, of ``anchor`` in the front's parts."""
    first = 0
    for part in parts:
        if anchor in part.anchors:
            return first + part.anchors[anchor] + 1
        first += part.pages
    return 0


def _cover_pages(front: Rendered) -> int:
    """Pages of the cover (the cover's footer sits elsewhere): up to the table of contents."""
    return front.anchors.get("sommaire", 1) or 1


def _part_context(context: dict[str, Any]) -> dict[str, Any]:
    keys = ("organisation", "stylesheet_url", "logo_url", "generated_at", "period", "chain", "figures")
    return {key: context[key] for key in keys}
