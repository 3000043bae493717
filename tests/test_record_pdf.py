"""One record's PDF: its sheet and full history, for any handler, written to the journal."""
from __future__ import annotations

import hashlib
import io
import re

import pytest
from django.urls import reverse
from pypdf import PdfReader

from reclamations.models import Event, EventKind, Organisation
from reclamations.workflow import STEPS, Step
from tests.factories import ReclamationFactory, advance

pytestmark = pytest.mark.django_db


def _text(document: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(document)).pages)


def _body_text(document: bytes, *running: str) -> str:
    """The text without the running header and footer (``running``: the strings they show, besides
    "page X / Y"), so that a history line cut by a page break reads whole again."""
    pages = []
    for page in PdfReader(io.BytesIO(document)).pages:
        text = re.sub(r"page \d+ / \d+", " ", " ".join(page.extract_text().split()))
        for string in running:
            text = text.replace(string, " ")
        pages.append(text)
    return " ".join(pages)


def test_a_handler_downloads_a_record_pdf_with_every_step_and_its_history(login, handler):
    record = advance(ReclamationFactory(subject="Convocation reçue la veille"), Step.CLOSED, handler)

    response = login(handler).get(reverse("evidence:record_pdf", args=[record.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="reclamation-{record.reference}.pdf"'
    text = _text(response.content)
    assert f"Fiche de traitement {record.reference}" in text
    assert f"{record.reference} — Convocation reçue la veille" in text
    assert "Claire Dupont" in text and "Un report de ma session sans frais." in text
    # Steps 1 (acknowledgement sent) and 9 (feedback received) completed by themselves: by no one.
    by = {e.data["step"]: e.actor_label for e in record.events.filter(kind=EventKind.STEP_COMPLETED)}
    assert by[2] == "Camille Martin" and by[1] == by[9] != "Camille Martin"
    for number, step in enumerate(STEPS, start=1):
        done = rf"{number}\. {re.escape(step.label)} — terminée le .{{10}} à .{{5}} par {re.escape(by[number])}"
        assert re.search(done, text)
    body = _body_text(response.content, Organisation.current().name, f"{record.reference} — {record.subject}",
                      f"Fiche de traitement {record.reference}")
    compact = re.sub(r"\s+", "", body)
    for event in record.events.exclude(kind=EventKind.EXPORT):  # the export is logged once the file exists
        assert re.sub(r"\s+", "", f"n° {event.sequence}") in compact
        assert re.sub(r"\s+", "", event.summary) in compact
    assert "Satisfaction 4 / 5" in text
    assert "page 1 /" in text


def test_the_record_pdf_is_logged_with_the_record_and_the_file_hash(login, handler):
    record = ReclamationFactory()

    response = login(handler).get(reverse("evidence:record_pdf", args=[record.pk]))

    event = Event.objects.filter(kind=EventKind.EXPORT).get()
    assert event.reclamation == record and event.actor == handler
    assert event.data["document"] == "record_pdf"
    assert event.data["sha256"] == hashlib.sha256(response.content).hexdigest()
    assert event.summary == f"Fiche de traitement (PDF) exporté : {record.reference}."


def test_any_handler_may_download_a_record_handled_by_a_colleague(login, handler, other_handler):
    record = advance(ReclamationFactory(), Step.REFORMULATION, handler)

    response = login(other_handler).get(reverse("evidence:record_pdf", args=[record.pk]))

    assert response.status_code == 200
    assert "3. Reformulation et contact — en cours" in _text(response.content)


def test_hostile_text_is_printed_as_text_in_the_record_pdf(login, handler):
    hostile = '<img src="file:///etc/passwd"> <link rel="attachment" href="file:///etc/hostname">'
    record = ReclamationFactory(description=hostile, subject="<b>gras</b>")

    response = login(handler).get(reverse("evidence:record_pdf", args=[record.pk]))

    reader = PdfReader(io.BytesIO(response.content))
    compact = re.sub(r"\s+", "", _text(response.content))
    assert re.sub(r"\s+", "", hostile) in compact and "<b>gras</b>" in compact
    assert reader.attachments == {}


def test_the_record_pdf_is_for_staff_only(client, login, client_account):
    record = ReclamationFactory()
    url = reverse("evidence:record_pdf", args=[record.pk])

    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/backoffice/connexion/")
    assert login(client_account).get(url).status_code == 403
    assert not Event.objects.filter(kind=EventKind.EXPORT).exists()


def test_an_unknown_record_is_a_404(login, handler):
    assert login(handler).get(reverse("evidence:record_pdf", args=[999999])).status_code == 404


def test_the_record_page_offers_its_pdf(login, handler):
    record = advance(ReclamationFactory(), Step.ACTION, handler)
    signed_in = login(handler)

    page = signed_in.get(reverse("backoffice:detail", args=[record.pk])).content.decode()
    link = re.search(r'<a [^>]*href="([^"]+)"[^>]*>Fiche de traitement \(PDF\)</a>', page)

    assert link is not None
    response = signed_in.get(link.group(1))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_an_incident_is_said_to_have_occurred_not_to_have_been_received(login, handler):
    incident = ReclamationFactory(kind="incident", channel="other", complainant_name="", complainant_email="")

    text = _text(login(handler).get(reverse("evidence:record_pdf", args=[incident.pk])).content)

    assert "Aléa survenu le" in text
    assert "Aléa reçue" not in text
