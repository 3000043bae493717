"""The two documents: one record's PDF (here) and the evidence pack of a period (:mod:`.pack`, which
lays it out in parts), with what they share: the logo, the common context, the charts.

Each is a Django template under ``templates/pdf/`` rendered with a context built here, then laid out by
:func:`render.render_pdf` (bounded, with the safe fetcher). Templates autoescape everything; the only
markup that reaches them unescaped is the SVG of :mod:`reclamations.charts`, built with
``format_html``.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import filetype
from django.template.loader import render_to_string
from django.utils import timezone

from .. import charts, journal, journal_chain
from ..models import (
    JournalChainHead,
    Organisation,
    Reclamation,
)
from ..statistics import Figures, Period
from .fetcher import Resource, resource_url, static_url
from .render import Rendered, render_pdf
from .sheets import build_sheets, with_sheet_data

logger = logging.getLogger(__name__)

STYLESHEET = "css/pdf.css"
LOGO_TYPES = frozenset({"image/png", "image/jpeg"})
MAX_LOGO_BYTES = 2 * 1024 * 1024
INDICATORS = (
    ("Indicateur 31", "Le prestataire met en œuvre des modalités de traitement des difficultés rencontrées par les "
                      "parties prenantes, des réclamations exprimées par ces dernières, des aléas survenus en cours "
                      "de prestation."),
    ("Indicateur 32", "Le prestataire met en œuvre des mesures d'amélioration à partir de l'analyse des "
                      "appréciations et des réclamations."),
)


@dataclass(frozen=True)
class PdfDocument:
    pdf: bytes
    filename: str
    pages: int
    records: int
    sha256: str
    rendered: Rendered


def logo_resources(organisation: Organisation) -> dict[str, Resource]:
    """The logo from private storage, handed to the fetcher as bytes: PNG or JPEG, checked by content."""
    if not organisation.logo:
        return {}
    try:
        with organisation.logo.open("rb") as logo:
            data = logo.read(MAX_LOGO_BYTES + 1)
    except OSError:
        logger.warning("organisation logo unreadable, pack generated without it")
        return {}
    kind = filetype.guess(data)
    if len(data) > MAX_LOGO_BYTES or kind is None or kind.mime not in LOGO_TYPES:
        logger.warning("organisation logo is not a PNG or JPEG under 2 MiB, pack generated without it")
        return {}
    return {"logo": Resource(body=data, content_type=kind.mime)}


def common_context(organisation: Organisation, resources: dict[str, Resource], now: datetime) -> dict[str, Any]:
    return {
        "organisation": organisation,
        "stylesheet_url": static_url(STYLESHEET),
        "logo_url": resource_url("logo") if "logo" in resources else "",
        "generated_at": now,
    }


def verified_chain() -> dict[str, Any]:
    """Verify the whole journal now, remember it, copy the head to the checkpoint file, and report
    the head and that checkpoint for the pack to print (the pack is itself a copy outside the
    database: an auditor holding it can check the head is still in the chain later)."""
    report = journal.verify_chain()
    journal.mark_verified(report)
    checkpoint = journal_chain.checkpoint_head(reason="dossier de preuves")
    head = JournalChainHead.objects.filter(pk=1).first()
    return {"report": report, "head": head, "checkpoint": checkpoint or journal_chain.latest_checkpoint()}


def pack_charts(figures: Figures) -> list[tuple[str, Any]]:
    def pairs(buckets: Any) -> list[tuple[str, int]]:
        return [(b.label, b.count) for b in buckets]

    def bar_chart(items: list[tuple[str, int]], *, title: str) -> Any:
        # A long service or root-cause name wraps onto as many lines as it needs: an auditor reads
        # every label whole (names are at most 120 characters, see the configuration models).
        return charts.bar_chart(items, title=title, max_label_lines=None)

    return [
        ("Par nature", bar_chart(pairs(figures.by_kind), title="Réclamations par nature")),
        ("Par canal de réception", bar_chart(pairs(figures.by_channel), title="Réclamations par canal")),
        ("Par service concerné", bar_chart(pairs(figures.by_service), title="Réclamations par service")),
        ("Par partie prenante",
         bar_chart(pairs(figures.by_stakeholder), title="Réclamations par partie prenante")),
        ("Par mois de réception", charts.column_chart(pairs(figures.by_month), title="Réclamations par mois")),
        ("Accusés de réception dans le délai",
         charts.share_bar(figures.acknowledged.on_time, figures.acknowledged.measured,
                          title="Part des accusés de réception envoyés dans le délai", rest_colour=charts.LATE_COLOUR)),
        ("Réponses argumentées dans le délai",
         charts.share_bar(figures.answered.on_time, figures.answered.measured,
                          title="Part des réponses envoyées dans le délai", rest_colour=charts.LATE_COLOUR)),
        ("Décisions", bar_chart(pairs(figures.decisions), title="Décisions")),
        ("Causes racines", bar_chart(pairs(figures.by_root_cause), title="Causes racines")),
        ("Satisfaction (enquête)",
         bar_chart(pairs(figures.satisfaction.distribution), title="Réponses à l'enquête de satisfaction")),
    ]


def pack_filename(period: Period) -> str:
    return f"dossier-preuves-reclamations_{period.start:%Y-%m-%d}_{period.end:%Y-%m-%d}.pdf"


def build_record_pdf(*, reclamation: Reclamation, generated_by: str = "", now: datetime | None = None) -> PdfDocument:
    """One record's sheet with its full history, for the file or for the auditor."""
    now = now or timezone.now()
    organisation = Organisation.current()
    resources = logo_resources(organisation)
    record = with_sheet_data(Reclamation.objects.filter(pk=reclamation.pk)).get()
    (sheet,) = build_sheets([record], now=now)
    context = {
        **common_context(organisation, resources, now),
        "sheet": sheet,
        "generated_by": generated_by,
        "head": JournalChainHead.objects.filter(pk=1).first(),
    }
    html = render_to_string("pdf/record.html", context)
    rendered = render_pdf(html, resources=resources)
    return PdfDocument(pdf=rendered.pdf, filename=f"reclamation-{record.reference}.pdf", pages=rendered.pages,
                       records=1, sha256=hashlib.sha256(rendered.pdf).hexdigest(), rendered=rendered)
