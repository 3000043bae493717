"""``manage.py export_evidence``: the pack or the register of a period written to a file, logged."""
from __future__ import annotations

import csv
import hashlib
import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from reclamations.models import Event, EventKind
from reclamations.statistics import Period
from tests.factories import ReclamationFactory

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("export_evidence", *args, stdout=out)
    return out.getvalue()


def _period_args() -> list[str]:
    period = Period.last_twelve_months()
    return ["--start", period.start.isoformat(), "--end", period.end.isoformat()]


def test_it_writes_the_pack_prints_its_pages_and_hash_and_logs_the_export(tmp_path):
    record = ReclamationFactory(received_at=timezone.now() - timedelta(days=3))
    output = tmp_path / "pack.pdf"

    printed = _run(*_period_args(), "--output", str(output))

    content = output.read_bytes()
    reader = PdfReader(io.BytesIO(content))
    digest = hashlib.sha256(content).hexdigest()
    assert f"{len(reader.pages)} pages" in printed and "1 réclamation(s)" in printed
    assert f"SHA-256 : {digest}" in printed
    assert record.reference in " ".join(page.extract_text() for page in reader.pages)
    event = Event.objects.get(kind=EventKind.EXPORT)
    assert event.actor is None and event.actor_label == "Commande export_evidence"
    assert event.data["document"] == "pack" and event.data["sha256"] == digest and event.data["records"] == 1


def test_it_writes_the_register_as_xlsx_or_csv_from_the_option_or_the_extension(tmp_path):
    ReclamationFactory(received_at=timezone.now() - timedelta(days=3), subject="Salle froide")

    _run(*_period_args(), "--output", str(tmp_path / "registre.xlsx"))
    _run(*_period_args(), "--output", str(tmp_path / "registre.txt"), "--format", "csv")

    workbook = load_workbook(tmp_path / "registre.xlsx")
    assert workbook.active["A1"].value == "Référence" and workbook["Informations"]["B5"].value
    raw = (tmp_path / "registre.txt").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header = rows.index([]) + 1  # after the organisation and period lines
    assert rows[header][0] == "Référence" and rows[header + 1][6] == "Salle froide"
    assert sorted(Event.objects.filter(kind=EventKind.EXPORT).values_list("data__document", flat=True)) == [
        "register_csv", "register_xlsx"]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-13-01", "2026-12-31", "Date invalide pour --start : « 2026-13-01 »"),
        ("2026-01-01", "31/12/2026", "Date invalide pour --end : « 31/12/2026 »"),
        ("2026-03-01", "2026-02-01", "La fin de la période doit être le même jour que son début ou après."),
        ("1999-12-31", "2000-01-31", "La période ne peut pas commencer avant le 01/01/2000."),
        ("2020-01-01", "2024-01-01", "La période ne peut pas dépasser 3 ans"),
    ],
)
def test_it_refuses_bad_dates_in_french_and_writes_nothing(tmp_path, start, end, message):
    output = tmp_path / "pack.pdf"

    with pytest.raises(CommandError, match=message):
        _run("--start", start, "--end", end, "--output", str(output))

    assert not output.exists()
    assert not Event.objects.filter(kind=EventKind.EXPORT).exists()


def test_it_refuses_a_folder_that_does_not_exist(tmp_path):
    with pytest.raises(CommandError, match="Le dossier de destination n'existe pas"):
        _run(*_period_args(), "--output", str(tmp_path / "absent" / "pack.pdf"))
