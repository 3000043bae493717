"""The evidence pack's layout, read back from the PDF of the demo data: no text under 9 pt, no page
left nearly empty, chart labels whole, and the register's root-cause and corrective-action columns
(the same words as in the XLSX/CSV exports, whose cells are real numbers and dates)."""
from __future__ import annotations

import csv
import io
import math
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader
from pypdf.generic import ContentStream

from config.celery import app as celery_app
from reclamations import charts, exports, pdf, services
from reclamations.models import Action, ActionKind, ActionStatus, Organisation, Reclamation, StakeholderType
from reclamations.register import action_line, register_queryset, register_rows
from reclamations.statistics import Period
from reclamations.text import shorten
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, RootCauseCategoryFactory, fill_step

# Every test, the module-scoped fixture's included, uses the test database: pytest-django sets up
# only the databases that the selected tests are marked for.
pytestmark = pytest.mark.django_db

MIN_POINTS = 9
MIN_LINES = 3  # of body text on a page, running header and footer left out
REGISTER_ROWS = 12  # small enough for the demo's register to need several parts, above a page of rows
MM = 72 / 25.4
TOP_MARGIN, BOTTOM_MARGIN = 20 * MM, 18 * MM  # static/css/pdf.css, where the running strings sit
PDFTOTEXT = shutil.which("pdftotext")
KNOWN_ACTION = "Ajouter au contrat de location une clause de température minimale"  # demo data, first case


# --- Reading the PDF -------------------------------------------------------------------------------
Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _times(m: Matrix, n: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s, e * p + f * r + t, e * q + f * s + u)


def _matrix(values: Any) -> Matrix:
    return tuple(float(value) for value in values)  # type: ignore[return-value]


def _shown_sizes(content: Any, resources: Any, reader: PdfReader, ctm: Matrix, page: int,
                 found: list[tuple[int, float]], depth: int = 0) -> None:
    """The size, in points on the page, of every text-showing operator of ``content``: the font size
    of ``Tf`` scaled by the text matrix and the current transformation matrix (the SVG charts are
    scaled by theirs), form XObjects followed."""
    stack: list[tuple[Matrix, float]] = []
    size, tm = 0.0, IDENTITY
    resources = resources.get_object() if resources is not None else {}
    for operands, operator in ContentStream(content, reader).operations:
        op = operator.decode("latin-1") if isinstance(operator, bytes) else operator
        if op == "q":
            stack.append((ctm, size))
        elif op == "Q" and stack:
            ctm, size = stack.pop()
        elif op == "cm":
            ctm = _times(_matrix(operands), ctm)
        elif op == "BT":
            tm = IDENTITY
        elif op == "Tm":
            tm = _matrix(operands)
        elif op == "Tf":
            size = float(operands[1])
        elif op in ("Tj", "TJ", "'", '"'):
            a, b, c, d, _e, _f = _times(tm, ctm)
            found.append((page, size * math.sqrt(abs(a * d - b * c))))
        elif op == "Do" and depth < 8:
            xobjects = resources.get("/XObject")
            xobjects = xobjects.get_object() if xobjects is not None else {}
            if operands[0] in xobjects:
                form = xobjects[operands[0]].get_object()
                if form.get("/Subtype") == "/Form":
                    matrix = _matrix(form.get("/Matrix", IDENTITY))
                    _shown_sizes(form, form.get("/Resources", resources), reader, _times(matrix, ctm), page,
                                 found, depth + 1)


def text_sizes(document: bytes) -> list[tuple[int, float]]:
    """(page number, size in points) of every piece of text drawn in ``document``."""
    reader = PdfReader(io.BytesIO(document))
    found: list[tuple[int, float]] = []
    for number, page in enumerate(reader.pages, start=1):
        contents = page.get_contents()
        if contents is not None:
            _shown_sizes(contents, page.get("/Resources"), reader, IDENTITY, number, found)
    return found


def body_lines(document: bytes, tmp_path: Path) -> list[int]:
    """The lines of text of each page between the running header and footer (pdftotext's words,
    grouped by their baseline)."""
    path = tmp_path / "pack.pdf"
    path.write_bytes(document)
    xhtml = subprocess.run([PDFTOTEXT or "pdftotext", "-bbox", str(path), "-"],  # noqa: S603 - fixed argv
                           check=True, capture_output=True, text=True).stdout
    root = ET.fromstring(xhtml)  # noqa: S314 - pdftotext's output for our own PDF
    namespace = "{http://www.w3.org/1999/xhtml}"
    counts = []
    for page in root.iter(f"{namespace}page"):
        height = float(page.get("height"))
        baselines: list[float] = []
        for word in page.iter(f"{namespace}word"):
            top, bottom = float(word.get("yMin")), float(word.get("yMax"))
            if top < TOP_MARGIN or bottom > height - BOTTOM_MARGIN:
                continue  # the running header or footer
            if not any(abs(bottom - seen) < 2 for seen in baselines):
                baselines.append(bottom)
        counts.append(len(baselines))
    return counts


def page_texts(document: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(document)).pages]


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- The demo data's pack, laid out once for the module -----------------------------------------------
@dataclass(frozen=True)
class DemoPack:
    single: bytes  # laid out as one document (the demo data fits in one batch)
    parted: bytes  # the same, laid out in parts of ten records and joined
    register_parted: bytes  # the same again, its register laid out in parts of REGISTER_ROWS rows
    register_rows: int  # rows of the register
    single_texts: list[str]  # each page's text (pypdf), read once: reading is slow
    parted_texts: list[str]
    register_parted_texts: list[str]
    organisation: str
    reference: str  # the known record: the first case of reclamations/demo/records.json
    root_cause: str
    analysis: str
    actions: list[dict[str, Any]]  # its corrective actions, as recorded
    labels: list[str]  # the chart labels that must be printed whole


@pytest.fixture(scope="module")
def demo_pack(django_db_setup, django_db_blocker, tmp_path_factory) -> DemoPack:
    """``seed_demo`` then the pack of the last twelve months, in a transaction rolled back at the end.

    Module-scoped (seeding and laying out take seconds), so it sets itself what the function-scoped
    ``_test_settings`` fixture of conftest.py sets: private files, the journal key and checkpoint
    file, e-mails in memory, tasks in-process.
    """
    tmp = tmp_path_factory.mktemp("demo-pack")
    overrides = override_settings(
        STORAGES={**settings.STORAGES,
                  "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                              "OPTIONS": {"location": tmp / "private", "base_url": None}},
                  "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
        POST_OFFICE={**settings.POST_OFFICE, "BACKENDS": {"default": "django.core.mail.backends.locmem.EmailBackend"}},
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        JOURNAL_KEY="cle-de-chainage-des-tests",
        JOURNAL_KEY_FALLBACKS=[],
        JOURNAL_CHECKPOINT_FILE=tmp / "journal-checkpoints.jsonl",
    )
    celery_app.conf.task_always_eager = True
    cache.clear()
    try:
        with django_db_blocker.unblock(), overrides, transaction.atomic():
            call_command("seed_demo", password="demo-mise-en-page-2026", stdout=StringIO())
            period = Period.last_twelve_months()
            single = pdf.build_pack(period=period, batch_records=1000).pdf
            parted = pdf.build_pack(period=period, batch_records=10).pdf
            with override_settings(PDF_PACK_REGISTER_ROWS=REGISTER_ROWS):
                register_parted = pdf.build_pack(period=period, batch_records=10).pdf
            record = Action.objects.get(description__startswith=KNOWN_ACTION).reclamation
            actions = [{"description": a.description, "status": a.get_status_display().lower(), "done_at": a.done_at,
                        "result": a.result}
                       for a in record.actions.filter(kind=ActionKind.CORRECTIVE).order_by("created_at", "id")]
            labels = [label for _, label in StakeholderType.choices]
            labels += list(register_queryset(period).exclude(service=None).values_list("service__name", flat=True))
            demo = DemoPack(single=single, parted=parted, register_parted=register_parted,
                            register_rows=register_queryset(period).count(), single_texts=page_texts(single),
                            parted_texts=page_texts(parted), register_parted_texts=page_texts(register_parted),
                            organisation=Organisation.current().name,
                            reference=record.reference, root_cause=record.root_cause_category.name,
                            analysis=record.root_cause_analysis, actions=actions, labels=sorted(set(labels)))
            transaction.set_rollback(True)
    finally:
        celery_app.conf.task_always_eager = False
        cache.clear()
    return demo


# --- Font sizes --------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["single", "parted"])
def test_no_text_of_the_pack_is_smaller_than_9_points(demo_pack, layout):
    sizes = text_sizes(getattr(demo_pack, layout))

    assert len(sizes) > 1000  # the reader found the text (headers, tables, charts, page stamps)
    small = sorted({(page, round(size, 2)) for page, size in sizes if size < MIN_POINTS - 0.01})
    assert small == [], f"text under {MIN_POINTS} pt (page, size): {small[:20]}"


def test_the_stylesheet_and_the_charts_set_no_size_under_9_points():
    # What the rendered pack cannot show: rules for elements the demo data does not produce.
    stylesheet = (Path(settings.BASE_DIR) / "static" / "css" / "pdf.css").read_text()
    sizes = [float(value) for value in re.findall(r"font-size:\s*([\d.]+)pt", stylesheet)]
    assert sizes and min(sizes) >= MIN_POINTS
    assert not re.search(r"font-size:\s*[\d.]+(px|em|rem|%)", stylesheet)  # every size in points
    svg = charts.column_chart([(f"mois {n} 2026", n) for n in range(12)], title="t") + charts.bar_chart(
        [("x", 1)], title="t")
    assert min(int(value) for value in re.findall(r'font-size="(\d+)"', svg)) >= MIN_POINTS


# --- Pages -------------------------------------------------------------------------------------------
@pytest.mark.skipif(PDFTOTEXT is None, reason="needs pdftotext (poppler-utils, see scripts/system_deps.sh)")
@pytest.mark.parametrize("layout", ["single", "parted", "register_parted"])
def test_no_page_of_the_pack_is_left_nearly_empty(demo_pack, layout, tmp_path):
    lines = body_lines(getattr(demo_pack, layout), tmp_path)

    # Page 1 is the cover, laid out on its own; every other page carries at least a few lines.
    thin = [(number, count) for number, count in enumerate(lines, start=1) if number > 1 and count < MIN_LINES]
    assert thin == [], f"pages with fewer than {MIN_LINES} lines (page, lines): {thin}"


def test_the_two_layouts_of_the_demo_pack_have_the_same_pages(demo_pack):
    single, parted = demo_pack.single_texts, demo_pack.parted_texts

    assert len(single) == len(parted)
    first_sheet = next(n for n, text in enumerate(single) if "6. Fiches des réclamations Une fiche" in text)
    # Section 6 shares its page with the first sheet, in both layouts.
    assert "Réclamant" in single[first_sheet] and "Réclamant" in parted[first_sheet]
    assert "6. Fiches des réclamations" in parted[first_sheet]
    for toc in (single[1], parted[1]):  # computed in parts, from target-counter() in one document
        assert re.search(rf"6\. Fiches des réclamations \.+ ?{first_sheet + 1}\b", toc), toc


def test_a_register_laid_out_in_parts_breaks_its_pages_as_one_table_would(demo_pack):
    single, parted = demo_pack.single_texts, demo_pack.register_parted_texts
    assert demo_pack.register_rows > 2 * REGISTER_ROWS  # three parts at least

    # Each part ends on a full page: the rows of its last page open the next part. Page for page,
    # the pack says what the one-document layout says (the contents' numbers included).
    # The cover (generation time) and section 7 (the events counted: building a pack logs its
    # export) tell the two builds apart; nothing else may.
    assert len(parted) == len(single)
    differing = [number for number, (one, other) in enumerate(zip(single, parted, strict=True), start=1)
                 if one != other and number > 1 and "7. Intégrité du journal" not in one]
    assert differing == [], [(single[n - 1], parted[n - 1]) for n in differing]
    assert sum("4. Registre des réclamations" in text for text in parted) >= 3


def test_every_chart_label_is_printed_whole(demo_pack):
    figures = " ".join(text for text in demo_pack.single_texts if "3. Chiffres clés" in text)

    long_labels = [label for label in demo_pack.labels if len(label) > 30]
    assert long_labels  # "Financeur (OPCO, France Travail, CPF…)": longer than one line of a chart
    for label in demo_pack.labels:
        assert compact(label) in compact(figures), label


# --- The register in the PDF -------------------------------------------------------------------------
def test_the_register_is_landscape_with_the_root_cause_and_corrective_action_columns(demo_pack):
    reader = PdfReader(io.BytesIO(demo_pack.single))
    texts = demo_pack.single_texts
    register = [n for n, text in enumerate(texts) if "Référence et réception" in text]
    # The pages headed by section 4 (the running header), the consistency checks included; not the contents.
    section = [n for n, text in enumerate(texts) if "4. Registre des réclamations" in text and "Sommaire" not in text]

    assert register and set(register) <= set(section)
    landscape = [n for n, page in enumerate(reader.pages) if float(page.mediabox.width) > float(page.mediabox.height)]
    assert landscape == section
    text = " ".join(texts[n] for n in register)
    for header in ("Analyse de la cause (extrait)", "Actions correctives", "Réponse argumentée : date et décision"):
        assert header in text


def test_the_register_row_of_a_known_record_shows_its_root_cause_and_corrective_actions(demo_pack):
    texts = demo_pack.single_texts
    register = compact(" ".join(text for text in texts if "Référence et réception" in text))
    row = register[register.index(compact(demo_pack.reference)):]
    row = row[:re.search(r"R-\d{4}-\d{4}", row[1:]).start() + 1]  # up to the next reference

    assert compact(demo_pack.root_cause) in row
    assert compact(shorten(demo_pack.analysis, 140)) in row
    assert demo_pack.actions
    for action in demo_pack.actions:
        words = action["description"].split()
        # A long description is cut between words, with "…".
        assert compact(" ".join(words[:6])) in row
        if len(action["description"]) > 80:
            assert compact(action["description"]) not in row
            assert re.search(re.escape(compact(" ".join(words[:8]))) + r".*…—", row)
        done = f"{action['status']} le {action['done_at']:%d/%m/%Y}" if action["done_at"] else action["status"]
        assert compact(done) in row
        if action["result"]:
            assert compact(f"résultat : {shorten(action['result'], 60)}") in row


# --- Register rows and spreadsheets: unit tests ----------------------------------------------------
ANALYSIS = (
    "Les convocations partaient à la main, la veille, depuis la boîte du secrétariat ; pendant les congés "
    "d'été personne ne les envoyait et aucun contrôle ne signalait une session sans convocation envoyée."
)
LONG_ACTION = (
    "Paramétrer l'envoi automatique des convocations quinze jours avant chaque session, avec une relance "
    "à J-3 et un tableau de contrôle hebdomadaire"
)


def _closed_record(handler) -> Reclamation:
    """A closed record with a long root-cause analysis, a compensation amount, a survey answer, a
    corrective action done with its result, one still planned, and a preventive one."""
    due = timezone.localdate() + timedelta(days=20)

    def fill(record: Reclamation) -> Reclamation:
        if record.state == Step.CONCLUSION:
            corrective = record.actions.get(kind=ActionKind.CORRECTIVE)
            services.reclamation_update_action(action=corrective, actor=handler,
                                               changes={"result": "Aucune convocation tardive depuis."})
            services.reclamation_add_action(reclamation=record, actor=handler, kind=ActionKind.CORRECTIVE,
                                            description=LONG_ACTION, owner=handler, due_date=due)
            services.reclamation_add_action(reclamation=record, actor=handler, kind=ActionKind.PREVENTIVE,
                                            description="Former la nouvelle assistante à l'outil d'envoi.")
            services.reclamation_update(reclamation=record, actor=handler, changes={
                "conclusion": "Report accordé.", "root_cause_category": RootCauseCategoryFactory(name="Communication"),
                "root_cause_analysis": ANALYSIS})
            return Reclamation.objects.get(pk=record.pk)
        if record.state == Step.ACTION:  # the compensation goes with the answer, before it is sent
            services.reclamation_update(reclamation=record, actor=handler, changes={
                "compensation_type": "credit_note", "compensation_amount": Decimal("120.50")})
        return fill_step(record, handler)

    record = ReclamationFactory(received_at=timezone.now() - timedelta(days=5), subject="Convocation tardive")
    return services.reclamation_advance(reclamation=record, to=Step.CLOSED, actor=handler, fill=fill)


def _same_moment(cell: datetime, moment: datetime) -> bool:
    """A spreadsheet's date (Paris wall-clock time, no time zone; Excel keeps milliseconds at best)."""
    return abs(cell - timezone.localtime(moment).replace(tzinfo=None)) < timedelta(seconds=1)


def test_a_register_row_carries_the_root_cause_extract_and_the_corrective_actions_only(handler):
    record = _closed_record(handler)
    planned = record.actions.get(description=LONG_ACTION)

    (row,) = register_rows(register_queryset(Period.last_twelve_months()))

    assert row.root_cause == "Communication"
    extract = row.root_cause_extract
    assert len(extract) <= 140 and extract.endswith("…")
    assert ANALYSIS.startswith(extract[:-1]) and ANALYSIS[len(extract) - 1] == " "  # cut between two words
    today = timezone.localdate()
    first, second = row.corrective_actions  # the preventive and the immediate actions are not listed
    assert first == (f"Envoyer les convocations 15 jours avant. — réalisée le {today:%d/%m/%Y} "
                     "— résultat : Aucune convocation tardive depuis.")
    description, _, state = second.partition(" — ")
    assert description.endswith("…") and LONG_ACTION.startswith(description[:-1])
    assert LONG_ACTION[len(description) - 1] == " " and len(description) <= 80
    assert state == f"prévue, échéance le {planned.due_date:%d/%m/%Y}"
    assert row.corrective_actions_text == f"{first}\n{second}"
    assert row.answered_at is not None and row.decision == "Favorable"


def test_an_action_line_says_a_cancelled_action_was_cancelled_and_needs_no_query_when_prefetched(
        handler, django_assert_num_queries):
    record = _closed_record(handler)
    action = record.actions.get(kind=ActionKind.PREVENTIVE)
    Action.objects.filter(pk=action.pk).update(status=ActionStatus.CANCELLED, kind=ActionKind.CORRECTIVE)
    ReclamationFactory(received_at=timezone.now() - timedelta(days=2))

    records = list(register_queryset(Period.last_twelve_months()))
    with django_assert_num_queries(0):
        rows = register_rows(records)

    assert rows[0].corrective_actions[-1] == "Former la nouvelle assistante à l'outil d'envoi. — annulée"
    assert rows[1].corrective_actions == () and rows[1].root_cause_extract == ""
    assert action_line(Action.objects.get(pk=action.pk)) == rows[0].corrective_actions[-1]


def test_the_csv_has_the_same_extract_and_actions_as_the_register_rows(handler):
    _closed_record(handler)
    period = Period.last_twelve_months()
    (row,) = register_rows(register_queryset(period))

    content = exports.produce(kind="register_csv", period=period).content

    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    header, values = lines[lines.index([]) + 1:]
    cells = dict(zip(header, values, strict=True))
    assert cells["Cause racine"] == "Communication"
    assert cells["Analyse de la cause (extrait)"] == row.root_cause_extract
    assert cells["Actions correctives"].split("\n") == list(row.corrective_actions)
    assert cells["Réponse envoyée le"] == f"{timezone.localtime(row.answered_at):%d/%m/%Y %H:%M}"
    assert cells["Décision"] == "Favorable"
    assert cells["Montant du dédommagement (€)"] == "120,50" and cells["Satisfaction (1 à 5)"] == "4"


def test_the_xlsx_writes_numbers_as_numbers_and_dates_as_dates_on_both_sheets(handler):
    _closed_record(handler)
    period = Period.last_twelve_months()
    (row,) = register_rows(register_queryset(period))
    now = timezone.now()

    workbook = load_workbook(io.BytesIO(exports.produce(kind="register_xlsx", period=period, now=now).content))

    sheet = workbook["Registre"]
    cells = {header.value: cell for header, cell in zip(sheet[1], sheet[2], strict=True)}
    for name in ("Reçue le", "Accusé de réception envoyé le", "Réponse envoyée le", "Réponse due le", "Clôturée le"):
        assert isinstance(cells[name].value, datetime) and cells[name].is_date, name
    assert _same_moment(cells["Réponse envoyée le"].value, row.answered_at)
    amount = cells["Montant du dédommagement (€)"]
    assert isinstance(amount.value, int | float) and amount.value == 120.5 and amount.data_type == "n"
    satisfaction = cells["Satisfaction (1 à 5)"]
    assert isinstance(satisfaction.value, int) and satisfaction.value == 4 and satisfaction.data_type == "n"
    assert cells["Analyse de la cause (extrait)"].value == row.root_cause_extract
    assert cells["Actions correctives"].value == row.corrective_actions_text
    assert cells["Actions correctives"].alignment.wrap_text

    info = {label.value: value for label, value in workbook["Informations"].iter_rows(min_row=2)}
    start, end = info["Période (dates de réception) : du"], info["Période (dates de réception) : au"]
    assert start.is_date and start.value.date() == period.start and start.number_format == "DD/MM/YYYY"
    assert end.is_date and end.value.date() == period.end
    generated = info["Généré le"]
    assert generated.is_date and _same_moment(generated.value, now)
    count = info["Réclamations, difficultés et aléas"]
    assert count.value == 1 and count.data_type == "n"


@pytest.mark.skipif(PDFTOTEXT is None, reason="needs pdftotext (poppler-utils, see scripts/system_deps.sh)")
def test_the_pack_of_an_empty_period_has_no_small_text_and_no_nearly_empty_page(tmp_path):
    document = pdf.build_pack(period=Period(start=date(2020, 1, 1), end=date(2020, 1, 31))).pdf

    assert min(size for _page, size in text_sizes(document)) >= MIN_POINTS - 0.01
    lines = body_lines(document, tmp_path)
    assert [n for n, count in enumerate(lines, start=1) if n > 1 and count < MIN_LINES] == []
    texts = page_texts(document)
    # No sheet: section 7 follows section 6 on its page; the empty register stays on a portrait page.
    assert "6. Fiches des réclamations" in texts[-1] and "7. Intégrité du journal" in texts[-1]
    reader = PdfReader(io.BytesIO(document))
    assert all(float(page.mediabox.width) < float(page.mediabox.height) for page in reader.pages)
