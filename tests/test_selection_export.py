"""Exporting the rows ticked on the list: the register's CSV (same columns, same writer) of exactly
those records, for whoever may export the register (the quality lead), logged like the register.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reclamations import exports
from reclamations.models import Event, EventKind
from reclamations.register import COLUMNS
from tests.factories import ReclamationFactory

pytestmark = pytest.mark.django_db

URL = reverse("backoffice:selection_export")
LIST = reverse("backoffice:list")


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def export(client, ids, *, back: str = ""):
    return client.post(URL, {"bulk-action": "export", "bulk-ids": ids, "bulk-back": back})


def preamble_and_rows(content: bytes) -> tuple[list[list[str]], list[list[str]]]:
    assert content.startswith(b"\xef\xbb\xbf")  # the register's UTF-8 with a byte-order mark
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    blank = rows.index([])
    return rows[:blank], rows[blank + 1:]


def three_records():
    now = timezone.now()
    return [ReclamationFactory(received_at=now - timedelta(days=days), subject=f"Objet {days}") for days in (5, 3, 1)]


def test_the_quality_lead_gets_the_register_csv_of_exactly_the_ticked_rows(login, quality_lead):
    first, _, third = three_records()

    response = export(login(quality_lead), [third.pk, first.pk])

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="selection-reclamations_')
    assert response["Cache-Control"] == "private, no-store"
    preamble, rows = preamble_and_rows(response.content)
    assert rows[0] == [header for header, _, _, _ in COLUMNS]  # the register's columns, all of them
    assert [row[0] for row in rows[1:]] == [first.reference, third.reference]  # the register's order
    assert preamble[1][0] == "Sélection" and preamble[1][1].startswith("2 réclamations cochées dans la liste")


def test_the_rows_are_written_as_the_register_writes_them(login, quality_lead):
    record = ReclamationFactory(received_at=timezone.now() - timedelta(days=2), subject="=HYPERLINK(\"x\")")

    content = export(login(quality_lead), [record.pk]).content

    _, rows = preamble_and_rows(content)
    from reclamations.register import register_rows

    expected = exports.register_csv(register_rows([record]))
    # Same writer, same cells: the selection's lines are the register's lines for the record.
    assert rows[1] == list(csv.reader(io.StringIO(expected.decode("utf-8-sig")), delimiter=";"))[1]
    assert rows[1][6] == "'=HYPERLINK(\"x\")"  # a formula made inert, as in the register
    assert rows[1][1] == f"{timezone.localtime(record.received_at):%d/%m/%Y %H:%M}"


def test_the_export_is_written_to_the_journal_with_the_file_hash_and_the_references(login, quality_lead):
    first, second, _ = three_records()

    response = export(login(quality_lead), [first.pk, second.pk])

    event = Event.objects.filter(kind=EventKind.EXPORT).get()
    assert event.actor == quality_lead
    assert event.reclamation is None
    assert event.data["document"] == "selection_csv"
    assert event.data["records"] == 2
    assert event.data["references"] == [first.reference, second.reference]
    assert event.data["sha256"] == hashlib.sha256(response.content).hexdigest()
    assert event.summary.startswith("Sélection de la liste (CSV, colonnes du registre) exportée : 2 réclamations (")
    assert first.reference in event.summary


def test_it_refuses_a_handler_as_the_register_does(client, login, handler):
    record = ReclamationFactory()

    refused = export(login(handler), [record.pk])

    assert refused.status_code == 403
    assert "réservés au responsable qualité" in refused.content.decode()
    assert b"Objet" not in refused.content and record.reference not in refused.content.decode()
    assert not Event.objects.filter(kind=EventKind.EXPORT).exists()
    anonymous = export(client, [record.pk])
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/backoffice/connexion/")


def test_a_handler_sees_no_export_button_and_the_quality_lead_does(login, handler, quality_lead):
    ReclamationFactory()

    assert "Exporter (CSV)" not in login(handler).get(LIST).content.decode()
    page = login(quality_lead).get(LIST).content.decode()
    assert "Exporter (CSV)" in page and f'formaction="{URL}"' in page


def test_it_refuses_an_empty_selection_with_a_french_message(login, quality_lead):
    ReclamationFactory()

    response = export(login(quality_lead), [], back="ordre=reference")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "Cochez au moins une réclamation dans la liste." in text(response)
    assert not Event.objects.filter(kind=EventKind.EXPORT).exists()


def test_it_refuses_unknown_ids_and_exports_nothing(login, quality_lead):
    record = ReclamationFactory()

    response = export(login(quality_lead), [record.pk, record.pk + 1000, record.pk + 1001])

    assert response.status_code == 400
    assert ("2 réclamations de la sélection n'existent plus : rien n'a été exporté. Rechargez la liste"
            in text(response))
    assert f'name="bulk-ids" value="{record.pk}" checked' in response.content.decode()  # still ticked
    assert not Event.objects.filter(kind=EventKind.EXPORT).exists()


@pytest.mark.parametrize("ids", [["abc"], ["-3"], ["0"]])
def test_it_refuses_ids_that_are_not_records_without_an_error_page(login, quality_lead, ids):
    response = export(login(quality_lead), ids)

    assert response.status_code == 400
    assert not Event.objects.filter(kind=EventKind.EXPORT).exists()


def test_a_get_or_a_post_without_csrf_token_is_refused(client, login, quality_lead):
    from django.test import Client

    record = ReclamationFactory()
    assert login(quality_lead).get(URL).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(quality_lead)
    assert export(strict, [record.pk]).status_code == 403
    assert not Event.objects.filter(kind=EventKind.EXPORT).exists()
