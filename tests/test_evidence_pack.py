"""The evidence pack: read back from the PDF itself (pypdf) — sections, figures, the empty period,
hostile record text, the journal-chain head — plus the safe fetcher, the rendering bounds and access."""
from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from reclamations import pdf, services
from reclamations.models import Communication, Event, EventKind, JournalChainHead, Organisation
from reclamations.pdf import render
from reclamations.pdf.fetcher import BASE_URL, FetchRefused, Resource, SafeFetcher, resource_url, static_url
from reclamations.statistics import Period, compute_figures
from reclamations.workflow import STEPS, Step
from tests.factories import ReclamationFactory, RootCauseCategoryFactory, advance

pytestmark = pytest.mark.django_db

SECTIONS = [
    "Sommaire",
    "1. La procédure appliquée",
    "2. Les moyens mis en œuvre",
    "3. Chiffres clés",
    "4. Registre des réclamations",
    "5. Amélioration continue (indicateur 32)",
    "6. Fiches des réclamations",
    "7. Intégrité du journal",
]
HOSTILE = '<img src="file:///etc/passwd">'
HOSTILE_LINK = '<link rel="attachment" href="file:///etc/hostname">'


def _reader(document: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(document))


def _text(document: bytes) -> str:
    """The PDF's text with whitespace collapsed (lines wrap anywhere)."""
    return " ".join(" ".join(page.extract_text().split()) for page in _reader(document).pages)


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _body_text(document: bytes, *running: str) -> str:
    """The PDF's text without the running header and footer (``running``: the strings they show,
    besides "page X / Y"), so that a line cut by a page break reads whole again."""
    pages = []
    for page in _reader(document).pages:
        text = " ".join(page.extract_text().split())
        text = re.sub(r"page \d+ / \d+", " ", text)
        for string in running:
            text = text.replace(string, " ")
        pages.append(text)
    return " ".join(" ".join(pages).split())


def _pack(**kwargs) -> pdf.PdfDocument:
    return pdf.build_pack(period=Period.last_twelve_months(), **kwargs)


def _days_ago(days: float):
    return timezone.now() - timedelta(days=days)


# --- Sections, pages, table of contents --------------------------------------------------------
# batch_records=None: one document (the pack fits in a batch); 1: laid out in parts and joined.
@pytest.mark.parametrize("batch_records", [None, 1], ids=["one-document", "in-parts"])
def test_the_pack_has_every_section_a_cover_and_page_x_of_y_on_every_page(handler, batch_records):
    advance(ReclamationFactory(received_at=_days_ago(20)), Step.CLOSED, handler)
    advance(ReclamationFactory(received_at=_days_ago(10)), Step.REFORMULATION, handler)

    document = _pack(generated_by="Dominique Bernard", batch_records=batch_records)

    reader = _reader(document.pdf)
    text = _text(document.pdf)
    for heading in SECTIONS:
        assert heading in text
    assert document.pages == len(reader.pages) > 8
    for number, page in enumerate(reader.pages, start=1):
        assert f"page {number} / {document.pages}" in page.extract_text()
    organisation = Organisation.current().name
    assert organisation in reader.pages[3].extract_text()  # running header
    assert "Dossier de preuves" in text and "par Dominique Bernard" in text
    assert "Qualiopi — critère 7, indicateurs 31 et 32" in text
    toc = " ".join(reader.pages[1].extract_text().split())
    assert re.search(r"7\. Intégrité du journal \.+ ?" + str(document.pages), toc)
    assert reader.metadata.title.startswith("Dossier de preuves")


# --- Figures ----------------------------------------------------------------------------------------
def test_the_figures_in_the_pack_are_those_the_database_gives(handler):
    on_time = ReclamationFactory(received_at=_days_ago(30), kind="difficulty", channel="email")
    services.reclamation_record_acknowledgement(reclamation=on_time, actor=None, sent_at=_days_ago(29.5))
    late = ReclamationFactory(received_at=_days_ago(30))
    services.reclamation_record_acknowledgement(reclamation=late, actor=None, sent_at=_days_ago(20))
    ReclamationFactory(received_at=_days_ago(30))  # never acknowledged: late
    advance(ReclamationFactory(received_at=_days_ago(40)), Step.CLOSED, handler)
    figures = compute_figures(period=Period.last_twelve_months())

    text = _text(_pack().pdf)

    ack = figures.acknowledged
    assert (ack.on_time, ack.late) == (1, 3)  # the closed one is acknowledged by fill_step, today: late
    assert f"Reçues sur la période {figures.total}" in text
    assert "Clôturées 1" in text and "En cours de traitement 3" in text
    assert f"Accusés de réception dans le délai 25,0 % ({ack.on_time} sur {ack.measured}) — hors délai : 3" in text
    answered = figures.answered
    assert f"Réponses argumentées dans le délai 0,0 % (0 sur {answered.measured})" in text
    median = f"{figures.median_ack_hours:.1f}".replace(".", ",")
    assert f"Délai médian d'accusé de réception {median} h" in text
    assert "Enquête de satisfaction 1 réponse, moyenne 4,0 / 5" in text
    assert "Réclamation 3" in text and "Difficulté 1" in text  # the bar chart's labels and values
    assert "25 % (1 / 4)" in text  # the share bar


def test_decisions_channels_answers_and_survey_answers_in_the_pack_are_those_the_database_gives(handler):
    by_phone = advance(ReclamationFactory(received_at=_days_ago(50), channel="phone"), Step.FEEDBACK, handler)
    services.reclamation_record_feedback(reclamation=by_phone, satisfaction=2, solved="partly",
                                         answer_clear=True, delay_acceptable=False)
    advance(ReclamationFactory(received_at=_days_ago(40), channel="email"), Step.CLOSED, handler)
    figures = compute_figures(period=Period.last_twelve_months())

    text = _text(_pack().pdf)

    median = f"{figures.median_answer_hours:.1f}".replace(".", ",")
    assert f"Délai médian de réponse {median} h" in text
    assert "Favorable 2" in text  # the decisions chart (both answered favourably by fill_step)
    assert "Téléphone 1" in text and "Courriel 1" in text  # the channels chart
    assert "Dédommagements 2 — prestation complémentaire : 2" in text
    # Only the phone record's answer holds these questions (the other holds the score alone).
    only_one = "(question renseignée dans 1 réponse sur 2)"
    assert f"Problème résolu (selon le réclamant) oui : 0 — en partie : 1 — non : 0 {only_one}" in text
    assert f"Réponse jugée claire 1 sur 1 {only_one}" in text
    assert f"Délai jugé acceptable 0 sur 1 {only_one}" in text
    # On the record's own sheet, the client's answers as given.
    assert "Problème résolu : en partie. Réponse claire : oui. Délai acceptable : non." in text


def test_an_empty_period_gives_a_valid_pack_with_the_procedure_and_no_record():
    document = _pack()

    text = _text(document.pdf)
    for heading in SECTIONS:
        assert heading in text
    assert document.records == 0
    assert "Aucune réclamation, difficulté ni aléa n'a été reçu" in text
    assert "le registre de la période est vide" in text
    assert "il n'y a pas de fiche" in text
    assert "Reçues sur la période 0" in text
    for step in STEPS:
        assert step.label in text
    assert "Chaîne intacte" in text


def test_the_procedure_is_generated_from_the_configuration():
    organisation = Organisation.current()
    organisation.name = "Formations du Littoral"
    organisation.responsible_name = "Alix Térieur"
    organisation.ack_delay_hours = 24
    organisation.answer_delay_hours = 72
    organisation.clock_mode = "business"
    organisation.at_risk_percent = 60
    organisation.save()

    text = _text(_pack().pdf)

    assert "Formations du Littoral" in text
    assert "Responsable du traitement des réclamations Alix Térieur" in text
    assert "dans les 24 heures suivant la réception" in text
    assert "72 heures après la réception" in text
    assert "Heures ouvrées" in text and "lorsque 60 % d'un délai est écoulé" in text
    for number, step in enumerate(STEPS, start=1):
        assert f"{number} {step.label}" in text
        assert _compact(step.completion) in _compact(text)
    assert "Courriel (écrit : rappel téléphonique à l'étape 3)" in text
    assert "Téléphone (écrit" not in text


# --- Records, improvement, journal chain ----------------------------------------------------------
def test_each_record_has_a_sheet_with_its_full_history_and_the_register_points_to_it(handler):
    record = advance(ReclamationFactory(received_at=_days_ago(15), subject="Salle de formation non chauffée"),
                     Step.CLOSED, handler)

    document = _pack().pdf
    text = _text(document)

    assert f"{record.reference} — Salle de formation non chauffée" in text
    assert "Parcours des neuf étapes" in text and "Historique (journal)" in text
    # Steps 1 (acknowledgement sent) and 9 (feedback received) completed by themselves: by no one.
    by = {e.data["step"]: e.actor_label for e in record.events.filter(kind=EventKind.STEP_COMPLETED)}
    assert by[2] == "Camille Martin" and by[1] == by[9] != "Camille Martin"
    for number, step in enumerate(STEPS, start=1):
        assert re.search(rf"{number}\. {re.escape(step.label)} — terminée le \d\d/\d\d/\d{{4}} à \d\d:\d\d "
                         rf"par {re.escape(by[number])}", text)
    # A history line may be cut by a page break: read it without the running header and footer.
    body = _compact(_body_text(document, Organisation.current().name, f"{record.reference} — {record.subject}",
                               f"Période {Period.last_twelve_months().label}"))
    for event in record.events.all():
        assert _compact(event.summary) in body
    assert "Report accordé, client satisfait." in text  # the conclusion
    assert "Un report de ma session sans frais." in text  # the wished solution


def test_improvement_actions_and_internal_notes_of_the_period_are_in_the_pack(handler, quality_lead):
    record = advance(ReclamationFactory(received_at=_days_ago(15)), Step.FEEDBACK, handler)
    # The note is written while the record is open: a closed record takes no more notes.
    services.reclamation_log_communication(reclamation=record, actor=quality_lead, kind="note",
                                           direction=Communication.Direction.INTERNAL,
                                           body="Point en réunion d'équipe : nouvelle règle d'envoi.")
    record = advance(record, Step.CLOSED, handler)
    services.improvement_create(actor=quality_lead, origin="records", title="Convocations à J-10",
                                description="Envoi automatique des convocations dix jours avant.",
                                owner=quality_lead, reclamations=[record])

    sent = services.digest_send(period=Period(start=_days_ago(45).date(), end=_days_ago(1).date()))
    receipt = sent.digest.receipts.get(user=quality_lead)
    services.digest_acknowledge(receipt=receipt, user=quality_lead)
    receipt.refresh_from_db()

    text = _text(_pack().pdf)

    assert (f"Lecture confirmée : {quality_lead.get_full_name()} le "
            f"{timezone.localtime(receipt.acknowledged_at):%d/%m/%Y à %H:%M}") in text
    assert f"Convocations à J-10 — réclamation(s) : {record.reference}" in text
    assert "Envoyer les convocations 15 jours avant." in text  # the record's corrective action
    assert "Point en réunion d'équipe : nouvelle règle d'envoi." in text


def test_the_pack_verifies_the_journal_chain_and_prints_its_head():
    ReclamationFactory(received_at=_days_ago(3))

    text = _text(_pack().pdf)

    head = JournalChainHead.objects.get(pk=1)
    assert head.verified_at is not None and head.verified_hash == head.last_hash
    assert "Chaîne intacte" in text
    assert head.last_hash in _compact(text)
    assert f"n° {head.last_sequence}" in text


def test_a_broken_chain_is_reported_in_the_pack():
    ReclamationFactory(received_at=_days_ago(3))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE reclamations_event SET summary = %s WHERE sequence = 1", ["Falsifié"])

    text = _text(_pack().pdf)

    assert "Anomalie détectée à la génération de ce dossier : Événement n° 1 : contenu modifié." in text


# --- Safety: client text, the fetcher, the bounds -----------------------------------------------
def test_hostile_record_text_is_printed_as_text_and_nothing_is_fetched_or_embedded(settings, monkeypatch):
    settings.PDF_RENDER_ISOLATED = False  # in-process, so that the spy sees every fetch
    requested = []
    original = SafeFetcher.fetch

    def spy(self, url, headers=None):
        requested.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(SafeFetcher, "fetch", spy)
    ReclamationFactory(received_at=_days_ago(2), subject=f"Objet {HOSTILE}",
                       description=f"Voir {HOSTILE} et {HOSTILE_LINK}", wished_solution=HOSTILE_LINK)

    document = _pack()

    assert requested == [static_url("css/pdf.css")]
    text = _compact(_text(document.pdf))
    assert _compact(HOSTILE) in text and _compact(HOSTILE_LINK) in text
    reader = _reader(document.pdf)
    assert reader.attachments == {}
    assert "/EmbeddedFiles" not in str(reader.trailer["/Root"].get("/Names", {}))


def test_the_isolated_renderer_reports_what_it_fetched():
    ReclamationFactory(received_at=_days_ago(2), description=f"{HOSTILE} {HOSTILE_LINK}")

    document = _pack()

    assert document.rendered.served == (static_url("css/pdf.css"),)
    assert document.rendered.refused == ()


def test_the_fetcher_refuses_real_elements_pointing_anywhere_but_the_static_files():
    html = (
        '<link rel="stylesheet" href="/static/css/pdf.css">'
        '<img src="file:///etc/passwd"><img src="/etc/passwd">'
        '<link rel="attachment" href="file:///etc/hostname"><a rel="attachment" href="file:///etc/hostname">x</a>'
        '<img src="http://127.0.0.1:1/x.png"><img src="https://example.org/x.png">'
        '<img src="data:image/svg+xml,%3Csvg%20xmlns=%22http://www.w3.org/2000/svg%22/%3E">'
        '<img src="/static/../config/settings.py"><img src="/static/%2e%2e/config/settings.py">'
        "<p>Texte</p>"
    )

    rendered = render.render_pdf(html)

    assert rendered.served == (static_url("css/pdf.css"),)
    assert "file:///etc/passwd" in rendered.refused and "file:///etc/hostname" in rendered.refused
    assert f"{BASE_URL}etc/passwd" in rendered.refused
    assert "https://example.org/x.png" in rendered.refused
    assert any(url.startswith("data:") for url in rendered.refused)
    assert _reader(rendered.pdf).attachments == {}


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://pdf.invalid/static/css/pdf.css",
        "https://example.org/static/css/pdf.css",
        "https://pdf.invalid/static/css/pdf.css?x=1",
        "https://pdf.invalid/static/../config/settings.py",
        "https://pdf.invalid/static/%2e%2e/%2e%2e/etc/passwd",
        "https://pdf.invalid/static//etc/passwd",
        "https://pdf.invalid/static/css/../../manage.py",
        "https://pdf.invalid/static/js/evidence.js",  # not a type a document needs
        "https://pdf.invalid/_resources/unknown",
        "data:text/plain,secret",
        "ftp://pdf.invalid/static/css/pdf.css",
    ],
)
def test_the_fetcher_refuses(url):
    fetcher = SafeFetcher()
    with pytest.raises(FetchRefused):
        fetcher.fetch(url)
    assert fetcher.refused == [url] and fetcher.served == []


def test_the_fetcher_serves_static_files_and_prepared_resources():
    fetcher = SafeFetcher({"logo": Resource(body=b"\x89PNG...", content_type="image/png")})

    css = fetcher.fetch(static_url("css/pdf.css"))
    logo = fetcher.fetch(resource_url("logo"))

    assert b"@page" in css.read() and css.content_type == "text/css"
    assert logo.read() == b"\x89PNG..." and logo.content_type == "image/png"


def test_a_rendering_that_runs_out_of_time_is_stopped_with_a_french_message():
    with pytest.raises(render.RenderTimeout, match="a dépassé le temps autorisé"):
        render.render_pdf("<p>" + "mot " * 200_000 + "</p>", limits=render.Limits(seconds=0.2, memory_bytes=2**30))


def test_a_rendering_that_needs_too_much_memory_is_stopped_with_a_french_message():
    # Big enough to outgrow whatever free heap the child inherits from a long test session.
    huge = "<p>" + "mot " * 1_500_000 + "</p>"
    with pytest.raises(render.RenderTooLarge, match="a dépassé la mémoire autorisée"):
        render.render_pdf(huge, limits=render.Limits(seconds=120, memory_bytes=2**20))


def test_the_logo_is_read_from_private_storage_and_handed_to_the_fetcher():
    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (40, 20), "navy").save(image, "PNG")
    organisation = Organisation.current()
    organisation.logo.save("logo.png", ContentFile(image.getvalue()), save=True)

    document = _pack()

    assert resource_url("logo") in document.rendered.served
    first_page = _reader(document.pdf).pages[0]
    assert first_page["/Resources"]["/XObject"]  # the image is drawn on the cover


def test_the_cover_carries_the_identity_of_the_organisation_and_the_sheet_its_evaluation_and_root_cause(
    handler,
):
    from PIL import Image

    organisation = Organisation.current()
    organisation.name = "Formations du Littoral"
    organisation.address = "12 quai des Tanneurs\n62200 Boulogne-sur-Mer"
    organisation.siret = "123 456 789 00012"
    organisation.activity_number = "32 62 01234 62"
    image = io.BytesIO()
    Image.new("RGB", (40, 20), "navy").save(image, "PNG")
    organisation.logo.save("logo.png", ContentFile(image.getvalue()), save=False)
    organisation.save()
    record = advance(ReclamationFactory(received_at=_days_ago(15)), Step.CONCLUSION, handler)
    services.reclamation_update(reclamation=record, actor=handler, changes={
        "severity": 3, "complexity": 1, "repercussions": 2,
        "conclusion": "Session reportée ; nouvelle règle d'envoi des convocations.",
        "root_cause_category": RootCauseCategoryFactory(name="Communication avec les stagiaires"),
        "root_cause_analysis": "Convocations envoyées à la main, oubliées pendant les congés."})
    services.reclamation_complete_step(reclamation=record, actor=handler, expected_state=Step.CONCLUSION)

    document = _pack()

    cover = _reader(document.pdf).pages[0]
    identity = " ".join(cover.extract_text().split())
    assert "Formations du Littoral" in identity
    assert "12 quai des Tanneurs 62200 Boulogne-sur-Mer" in identity
    assert "SIRET : 123 456 789 00012" in identity
    assert "Numéro de déclaration d'activité : 32 62 01234 62" in identity
    assert len(cover.images) == 1  # the logo, drawn on the cover
    text = _text(document.pdf)
    sheet = text[text.index(f"{record.reference} — Convocation reçue la veille de la formation"):]
    # "moyenne(s)": the label of the level, which the sentence may one day put in the plural.
    assert re.search(r"Gravité élevée, complexité faible, répercussions moyennes : priorité haute\.", sheet)
    assert "Session reportée ; nouvelle règle d'envoi des convocations." in sheet
    assert ("Cause racine : Communication avec les stagiaires — "
            "Convocations envoyées à la main, oubliées pendant les congés.") in sheet


def test_a_logo_that_is_not_an_image_is_left_out():
    organisation = Organisation.current()
    organisation.logo.save("logo.png", ContentFile(b"<svg onload='alert(1)'/>"), save=True)

    document = _pack()

    assert resource_url("logo") not in document.rendered.served
    assert "Dossier de preuves" in _text(document.pdf)


# --- The page and the download -------------------------------------------------------------------
def test_the_quality_lead_gets_a_form_with_the_last_twelve_months_by_default(login, quality_lead):
    response = login(quality_lead).get(reverse("evidence:index"))

    assert response.status_code == 200
    page = response.content.decode()
    period = Period.last_twelve_months()
    assert f'value="{period.start:%Y-%m-%d}"' in page and f'value="{period.end:%Y-%m-%d}"' in page
    assert "<legend" in page and 'for="id_start"' in page
    assert "Préparer le dossier de preuves (PDF)" in page
    assert reverse("evidence:register_xlsx") in page and reverse("evidence:register_csv") in page
    assert "préparé en arrière-plan" in page
    assert "<script>" not in page and 'style="' not in page


def test_the_quality_lead_downloads_the_pack_and_the_export_is_logged(login, quality_lead,
                                                                      django_capture_on_commit_callbacks):
    ReclamationFactory(received_at=_days_ago(5))
    period = Period.last_twelve_months()
    signed_in = login(quality_lead)

    with django_capture_on_commit_callbacks(execute=True):
        requested = signed_in.post(reverse("evidence:pack_pdf"),
                                   {"start": period.start.isoformat(), "end": period.end.isoformat()})
    response = signed_in.get(requested["Location"].rstrip("/") + "/telecharger/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="dossier-preuves-reclamations_{period.start:%Y-%m-%d}_{period.end:%Y-%m-%d}.pdf"')
    assert response["Cache-Control"] == "private, no-store"
    assert "par Dominique Bernard" in _text(response.content)
    event = Event.objects.filter(kind=EventKind.EXPORT, data__requested__isnull=True).get()
    assert event.actor == quality_lead and event.reclamation is None
    assert event.data == {"document": "pack", "start": period.start.isoformat(), "end": period.end.isoformat(),
                          "records": 1, "sha256": hashlib.sha256(response.content).hexdigest(),
                          "job": int(requested["Location"].rstrip("/").rsplit("/", 1)[1])}


# --- Laid out in parts: numbers, contents, register and bookmarks agree with the sheets ----------
def test_a_pack_laid_out_in_parts_numbers_its_pages_contents_and_register_like_one_document(handler):
    records = [advance(ReclamationFactory(received_at=_days_ago(30 - day), subject=f"Objet numéro {day}"),
                       Step.CLOSED if day % 2 else Step.ACTION_PROPOSAL, handler) for day in range(5)]
    progress = []

    parted = _pack(batch_records=2, progress=lambda percent, label: progress.append((percent, label)))
    whole = _pack()

    assert parted.pages == whole.pages
    reader = _reader(parted.pdf)
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]
    for number, text in enumerate(pages, start=1):
        assert f"page {number} / {parted.pages}" in text
    sheet_page = {r.reference: next(n for n, text in enumerate(pages, start=1) if f"{r.reference} — Objet" in text)
                  for r in records}
    chain_page = next(n for n, text in enumerate(pages, start=1) if text.startswith("7. Intégrité"))
    assert chain_page == parted.pages
    assert re.search(r"7\. Intégrité du journal \.+ ?" + str(chain_page), pages[1])
    register = " ".join(text for text in pages if "4. Registre des réclamations" in text)
    for reference, number in sheet_page.items():  # the row's last cell, before the next row or the note
        row = re.search(rf"{reference} (.*?)(?= R-\d{{4}}-\d| « Dans le délai)", register).group(1)
        assert row.split()[-1] == str(number)
    outline = reader.outline
    titles = [item.title for item in outline if not isinstance(item, list)]
    assert titles[-2:] == ["6. Fiches des réclamations", "7. Intégrité du journal"]
    sheets_outline = outline[outline.index(next(i for i in outline if getattr(i, "title", "").startswith("6."))) + 1]
    assert [item.title.split(" — ")[0] for item in sheets_outline] == [r.reference for r in records]
    assert [reader.get_destination_page_number(item) + 1 for item in sheets_outline] == list(sheet_page.values())
    assert reader.metadata.title.startswith("Dossier de preuves")
    assert "Aucune réclamation" not in pages[sheet_page[records[0].reference] - 2]
    percents = [percent for percent, _label in progress]
    assert percents == sorted(percents) and percents[-1] == 100
    assert "Fiches des réclamations : 2 / 5" in [label for _percent, label in progress]


def test_a_register_laid_out_in_several_parts_points_to_the_right_pages(handler, settings):
    settings.PDF_PACK_REGISTER_ROWS = 2  # five rows: three register parts, the last with section 5
    records = [advance(ReclamationFactory(received_at=_days_ago(30 - day), subject=f"Objet numéro {day}"),
                       Step.CLOSED if day % 2 else Step.ACTION_PROPOSAL, handler) for day in range(5)]

    parted = _pack(batch_records=2)

    reader = _reader(parted.pdf)
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]
    for number, text in enumerate(pages, start=1):
        assert f"page {number} / {parted.pages}" in text
    register_pages = [n for n, text in enumerate(pages, start=1) if "Référence et réception" in text]
    assert len(register_pages) >= 3  # a page per part at least, each headed by the section's name
    assert all("4. Registre des réclamations" in pages[n - 1] for n in register_pages)
    assert all(reader.pages[n - 1].mediabox.width > reader.pages[n - 1].mediabox.height for n in register_pages)
    register = " ".join(pages[n - 1] for n in register_pages)
    organisation = re.escape(Organisation.current().name)
    assert register.count("Référence et réception") == len(register_pages)  # the table's header on each page
    assert register.count("« Dans le délai »") == 1
    for record in records:
        sheet = next(n for n, text in enumerate(pages, start=1) if f"{record.reference} — Objet" in text)
        # The row's last cell, before the next row, the note or the running footer of its page.
        row = re.search(rf"{record.reference} (.*?)(?= R-\d{{4}}-\d| « Dans le délai| {organisation})",
                        register).group(1)
        assert row.split()[-1] == str(sheet)
    coherence = next(n for n, text in enumerate(pages, start=1) if "Contrôles de cohérence" in text)
    improvements = next(n for n, text in enumerate(pages, start=1) if text.startswith("5. Amélioration"))
    fiches = next(n for n, text in enumerate(pages, start=1) if "6. Fiches des réclamations Une fiche" in text)
    assert coherence == register_pages[-1] and improvements > coherence
    assert re.search(rf"contrôles de cohérence\.* ?{coherence}\b", pages[1]), pages[1]
    assert re.search(rf"5\. Amélioration continue \(indicateur 32\) \.+ ?{improvements}\b", pages[1])
    assert re.search(rf"6\. Fiches des réclamations \.+ ?{fiches}\b", pages[1])
    assert re.search(rf"4\. Registre des réclamations \.+ ?{register_pages[0]}\b", pages[1])
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert titles[-4:] == ["4. Registre des réclamations", "5. Amélioration continue (indicateur 32)",
                           "6. Fiches des réclamations", "7. Intégrité du journal"]


def test_each_part_is_laid_out_in_its_own_bounded_child(handler):
    for day in range(3):
        ReclamationFactory(received_at=_days_ago(10 + day))

    document = _pack(batch_records=1)

    assert document.rendered.served == (static_url("css/pdf.css"),)
    assert document.rendered.peak_rss_kib > 0
    assert _reader(document.pdf).attachments == {}


def test_only_the_quality_lead_may_open_the_evidence_page_or_download_the_pack(client, login, handler):
    anonymous = client.get(reverse("evidence:index"))
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"/backoffice/connexion/?next={reverse('evidence:index')}"

    assert login(handler).get(reverse("evidence:index")).status_code == 403
    refused = login(handler).post(reverse("evidence:pack_pdf"), {"start": "2026-01-01", "end": "2026-01-31"})
    assert refused.status_code == 403
    assert "réservés au responsable qualité" in refused.content.decode()


def test_the_procedure_names_the_mediator_even_for_an_empty_period():
    organisation = Organisation.current()
    organisation.mediator_name = "CMFP"
    organisation.mediator_address = "12 rue des Tests\n75010 Paris"
    organisation.mediator_website = "https://cmfp.example.org"
    organisation.save()

    text = _compact(_text(_pack().pdf))

    assert _compact("Médiation de la consommation CMFP, 12 rue des Tests 75010 Paris, https://cmfp.example.org") in text
    assert _compact("nomment le médiateur de la consommation (CMFP)") in text


def test_the_procedure_says_when_no_mediator_is_configured():
    text = _compact(_text(_pack().pdf))

    assert _compact("médiateur non renseigné dans la configuration") in text
