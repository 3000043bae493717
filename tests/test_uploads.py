"""Pièces justificatives: accepted by content (never by name), stored under random names in private
storage, and served only as downloads through the client's authorised view."""
from __future__ import annotations

import io
import os
import re
import zipfile
from datetime import timedelta
from pathlib import Path, PurePosixPath

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from reclamations import services, uploads
from reclamations.models import Attachment, Event, EventKind, Reclamation
from tests.factories import ReclamationFactory, ServiceFactory, contact_form_data, pdf_bytes, png_bytes, upload

pytestmark = pytest.mark.django_db


# --- Files as clients send them -----------------------------------------------------------------
def _zip(entries: list[tuple[str, bytes]], stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data) in enumerate(entries):
            if index == 0 and stored_first:
                archive.writestr(zipfile.ZipInfo(name), data)  # ODF: "mimetype" first, uncompressed
            else:
                archive.writestr(name, data)
    return buffer.getvalue()


def docx_bytes(thumbnail_first: bool = False) -> bytes:
    entries = [("[Content_Types].xml", b"<Types/>"), ("_rels/.rels", b"<Relationships/>"),
               ("word/document.xml", b"<w:document/>")]
    if thumbnail_first:
        # Some editors put a large thumbnail first: a sniffer reading the first entries sees a plain ZIP.
        entries.insert(0, ("docProps/thumbnail.jpeg", os.urandom(9000)))
    return _zip(entries)


def xlsx_bytes() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "Émargement"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def odf_bytes(kind: str) -> bytes:
    return _zip([("mimetype", f"application/vnd.oasis.opendocument.{kind}".encode()), ("content.xml", b"<x/>")],
                stored_first=True)


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("convocation.pdf", pdf_bytes(), "application/pdf"),
        ("photo.png", png_bytes(), "image/png"),
        ("photo.jpg", JPEG, "image/jpeg"),
        ("courrier.docx", docx_bytes(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("courrier.docx", docx_bytes(thumbnail_first=True),
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("emargement.xlsx", xlsx_bytes(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("courrier.odt", odf_bytes("text"), "application/vnd.oasis.opendocument.text"),
        ("tableau.ods", odf_bytes("spreadsheet"), "application/vnd.oasis.opendocument.spreadsheet"),
        ("notes.txt", "Réclamation : la salle était fermée.\n".encode(), "text/plain"),
        ("notes.txt", "Réclamation : la salle était fermée.\r\n".encode("cp1252"), "text/plain"),
        # The name does not matter, only the content: a PDF called .txt is a PDF.
        ("scan.txt", pdf_bytes(), "application/pdf"),
    ],
)
def test_it_accepts_the_listed_types_by_their_content(name, content, expected):
    checked = uploads.check_upload(SimpleUploadedFile(name, content, content_type="application/octet-stream"))

    assert checked.content_type == expected
    assert checked.size == len(content)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("facture.pdf", b"<!doctype html><html><script>alert(1)</script></html>"),
        ("facture.pdf", "\ufeff<html><body onload=alert(1)>".encode()),
        ("photo.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("notes.txt", b"<script>alert(document.cookie)</script>"),
        ("notes.txt", b"  <iframe src=javascript:alert(1)>"),
        ("courrier.docx", _zip([("evil.exe", b"MZ")])),
        ("courrier.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 100),
        ("archive.pdf", b"\x1f\x8b\x08\x00" + b"\x00" * 50),
        ("binaire.txt", b"\x01\x02\x03binary\x00data"),
    ],
)
def test_it_refuses_a_disguised_type_whatever_its_name(name, content):
    with pytest.raises(ValidationError) as refused:
        uploads.check_upload(SimpleUploadedFile(name, content, content_type="application/pdf"))

    assert refused.value.messages == [
        f"Le fichier « {name} » n'est pas d'un type accepté (PDF, PNG, JPEG, DOCX, XLSX, ODT, ODS ou TXT). "
        "Le type est vérifié d'après son contenu, pas son nom."
    ]


def test_it_refuses_an_empty_file_and_a_file_over_the_size_limit(settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    with pytest.raises(ValidationError, match=re.escape("Le fichier « vide.pdf » est vide.")):
        uploads.check_upload(SimpleUploadedFile("vide.pdf", b""))
    with pytest.raises(ValidationError, match=re.escape("Le fichier « gros.pdf » dépasse la taille maximale de 1 Ko.")):
        uploads.check_upload(SimpleUploadedFile("gros.pdf", pdf_bytes("x" * 2000)))


def test_the_default_limits_are_5_files_of_10_mb(settings):
    assert uploads.max_files() == 5
    assert uploads.max_bytes() == 10 * 1024 * 1024
    with pytest.raises(ValidationError, match=re.escape("Vous pouvez joindre au plus 5 fichiers.")):
        uploads.check_uploads([upload(f"piece{i}.pdf") for i in range(6)])


def test_it_names_every_refused_file_at_once():
    with pytest.raises(ValidationError) as refused:
        uploads.check_uploads([upload("a.pdf", b""), upload("b.pdf"), upload("c.pdf", b"MZ\x90\x00" * 10)])

    assert len(refused.value.messages) == 2
    assert "« a.pdf » est vide" in refused.value.messages[0]
    assert "« c.pdf » n'est pas d'un type accepté" in refused.value.messages[1]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\claire\\Bureau\\facture.pdf", "facture.pdf"),
        ("facture\u202egpj.exe", "facturegpj.exe"),  # right-to-left override removed
        ("bon\x00jour\r\n.pdf", "bonjour.pdf"),
        ("...", "piece-jointe"),
    ],
)
def test_the_client_file_name_is_kept_as_harmless_text(given, kept):
    assert uploads.clean_name(given) == kept


# --- Through the Contact form ------------------------------------------------------------------
@pytest.fixture
def service():
    return ServiceFactory(name="Formation inter-entreprises")


def _post(client, django_capture_on_commit_callbacks, **overrides):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/contact/", contact_form_data(**overrides))


def test_the_form_stores_the_files_under_random_names_in_private_storage(client, service, settings, tmp_path,
                                                                         django_capture_on_commit_callbacks):
    response = _post(client, django_capture_on_commit_callbacks, service=service.pk,
                     attachments=[upload("convocation.pdf"), upload("photo de la salle.png", png_bytes(), "image/png")])

    assert response.status_code == 302
    reclamation = Reclamation.objects.get()
    stored = list(reclamation.attachments.order_by("pk"))
    assert [a.original_name for a in stored] == ["convocation.pdf", "photo de la salle.png"]
    assert [a.content_type for a in stored] == ["application/pdf", "image/png"]
    # A random folder for the files sent together, a random name for each: nothing from the record.
    folders = {PurePosixPath(a.file.name).parent for a in stored}
    assert len(folders) == 1
    for attachment in stored:
        assert re.fullmatch(r"attachments/[0-9a-f]{32}/[0-9a-f]{32}", attachment.file.name)
        assert attachment.public and attachment.uploaded_by is None and attachment.communication is None
        path = Path(default_storage.path(attachment.file.name))
        assert path.is_relative_to(tmp_path / "private")
        assert len(attachment.sha256) == 64
    assert Event.objects.filter(reclamation=reclamation, kind=EventKind.ATTACHMENT_ADDED).count() == 2
    # No URL serves the private folder.
    assert settings.MEDIA_URL in ("", "/")
    for url in (f"/{stored[0].file.name}", f"/media/{stored[0].file.name}", f"/static/{stored[0].file.name}"):
        assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (lambda: [upload("gros.pdf", pdf_bytes("x" * 3000))], "Le fichier « gros.pdf » dépasse la taille maximale"),
        (lambda: [upload(f"p{i}.pdf") for i in range(3)], "Vous pouvez joindre au plus 2 fichiers."),
        (lambda: [upload("facture.pdf", b"<html><script>alert(1)</script></html>")],
         "Le fichier « facture.pdf » n&#x27;est pas d&#x27;un type accepté"),
        (lambda: [upload("programme.pdf", b"MZ\x90\x00" + b"\x00" * 64, "application/pdf")],
         "Le fichier « programme.pdf » n&#x27;est pas d&#x27;un type accepté"),
    ],
)
def test_bad_files_get_a_french_message_and_nothing_is_stored(client, service, settings, files, message,
                                                              django_capture_on_commit_callbacks):
    settings.ATTACHMENT_MAX_BYTES = 2048
    settings.ATTACHMENT_MAX_FILES = 2
    response = _post(client, django_capture_on_commit_callbacks, service=service.pk, attachments=files())

    assert response.status_code == 200
    assert message in response.content.decode()
    assert Reclamation.objects.count() == 0
    assert Attachment.objects.count() == 0
    assert not (Path(settings.STORAGES["default"]["OPTIONS"]["location"]) / "attachments").exists()


# --- Downloads ------------------------------------------------------------------------------------
@pytest.fixture
def record_with_file():
    reclamation = ReclamationFactory()
    checked = uploads.check_uploads([upload("convocation.pdf", pdf_bytes("Convocation du 12 mars"))])
    attachment, = services.reclamation_add_attachments(reclamation=reclamation, actor=None, uploads=checked)
    return reclamation, attachment


def test_the_client_downloads_their_file_as_an_attachment_never_inline(client, record_with_file):
    reclamation, attachment = record_with_file

    response = client.get(f"/suivi/{reclamation.token}/pieces/{attachment.pk}/")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="convocation.pdf"'
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == pdf_bytes("Convocation du 12 mars")


def test_a_text_file_is_downloaded_as_plain_text_with_its_extension(client):
    reclamation = ReclamationFactory()
    checked = uploads.check_uploads([upload("notes", b"Bonjour", "text/html")])
    attachment, = services.reclamation_add_attachments(reclamation=reclamation, actor=None, uploads=checked)

    response = client.get(f"/suivi/{reclamation.token}/pieces/{attachment.pk}/")

    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"] == 'attachment; filename="notes.txt"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_client_cannot_download_another_record_file_or_a_staff_only_file(client, record_with_file):
    reclamation, attachment = record_with_file
    other = ReclamationFactory(complainant_email="autre@example.org")
    internal, = services.reclamation_add_attachments(
        reclamation=reclamation, actor=None, public=False, uploads=uploads.check_uploads([upload("note.pdf")]))

    assert client.get(f"/suivi/{other.token}/pieces/{attachment.pk}/").status_code == 404
    assert client.get(f"/suivi/{reclamation.token}/pieces/{internal.pk}/").status_code == 404
    assert client.get(f"/suivi/{'x' * 43}/pieces/{attachment.pk}/").status_code == 404
    assert client.get(f"/suivi/{reclamation.token}/pieces/999999/").status_code == 404


def test_a_file_missing_from_the_disk_is_a_404_not_a_500(client, record_with_file):
    reclamation, attachment = record_with_file
    default_storage.delete(attachment.file.name)

    assert client.get(f"/suivi/{reclamation.token}/pieces/{attachment.pk}/").status_code == 404


# --- Files of a transaction that rolls back -------------------------------------------------------
def _attachment_files(settings) -> list[Path]:
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"]) / "attachments"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _failing_after_the_files(seen: list[str], error: Exception):
    """A step that runs after the files were stored: notes them (they are on disk), then fails."""
    def step(*args, reclamation, **kwargs):
        names = list(Attachment.objects.filter(reclamation=reclamation).values_list("file", flat=True))
        assert names and all(default_storage.exists(name) for name in names)
        seen.extend(names)
        raise error
    return step


def test_a_contact_submission_failing_after_its_files_were_written_leaves_no_file(service, settings, monkeypatch):
    from reclamations.services import intake

    seen: list[str] = []
    failing = _failing_after_the_files(seen, RuntimeError("serveur indisponible"))
    monkeypatch.setattr(intake, "email_client_with_link", failing)
    checked = uploads.check_uploads([upload("convocation.pdf"), upload("photo.png", png_bytes(), "image/png")])

    with pytest.raises(RuntimeError):
        services.reclamation_submit_contact(
            kind="complaint", subject="Salle fermée", description="La salle était fermée.",
            complainant_email="claire.dupont@example.org", consent=True, uploads=checked,
            complainant_name="Claire Dupont", service=service,
        )

    assert len(seen) == 2
    assert Reclamation.objects.count() == 0 and Attachment.objects.count() == 0
    assert _attachment_files(settings) == []
    # Not even the empty folder of the batch is left.
    assert not any(default_storage.exists(str(PurePosixPath(name).parent)) for name in seen)


def test_a_client_message_that_cannot_be_saved_leaves_no_file(settings, monkeypatch):
    from reclamations.services import intake

    reclamation = ReclamationFactory()
    seen: list[str] = []
    monkeypatch.setattr(intake, "_notify_staff", _failing_after_the_files(seen, RuntimeError("panne")))

    with pytest.raises(RuntimeError):
        services.reclamation_add_client_message(reclamation=reclamation, body="Voici la convocation.",
                                                uploads=uploads.check_uploads([upload("convocation.pdf")]))

    assert len(seen) == 1
    assert Attachment.objects.count() == 0
    assert _attachment_files(settings) == []


def test_a_back_office_record_refused_after_its_files_were_written_leaves_no_file(login, handler, settings,
                                                                                  monkeypatch):
    # The model's own check refusing the last step: the form is shown again with the message.
    from reclamations.services import attachments

    real = attachments.record_event

    def refused(**kwargs):
        real(**kwargs)
        raise ValidationError("Enregistrement refusé.")

    monkeypatch.setattr(attachments, "record_event", refused)
    received = timezone.localtime() - timedelta(days=2)
    response = login(handler).post("/backoffice/reclamations/nouvelle/", {
        "create-kind": "complaint", "create-channel": "letter", "create-received_at": f"{received:%Y-%m-%dT%H:%M}",
        "create-stakeholder_type": "funder", "create-complainant_name": "Julien Caron",
        "create-subject": "Facture erronée", "create-description": "Le montant ne correspond pas.",
        "create-files": [upload("courrier.pdf")],
    })

    assert response.status_code == 200
    assert "Enregistrement refusé." in response.content.decode()
    assert Reclamation.objects.count() == 0
    assert _attachment_files(settings) == []


def test_a_record_never_gets_the_folder_of_a_record_that_was_rolled_back(service, settings, monkeypatch):
    from reclamations.services import intake

    def submit():
        return services.reclamation_submit_contact(
            kind="complaint", subject="Salle fermée", description="La salle était fermée.",
            complainant_email="claire.dupont@example.org", consent=True, complainant_name="Claire Dupont",
            service=service, uploads=uploads.check_uploads([upload("convocation.pdf")]),
        )

    seen: list[str] = []
    with monkeypatch.context() as patched:
        patched.setattr(intake, "email_client_with_link", _failing_after_the_files(seen, RuntimeError("panne")))
        with pytest.raises(RuntimeError):
            submit()
    # Planted as a process killed before the rollback's clean-up would have left it.
    (failed_name,) = seen
    default_storage.save(failed_name, io.BytesIO(b"%PDF-1.4 reste"))

    created = submit()
    other = submit()

    folders = {str(PurePosixPath(a.file.name).parent)
               for a in Attachment.objects.filter(reclamation__in=[created.reclamation, other.reclamation])}
    failed_folder = str(PurePosixPath(failed_name).parent)
    assert len(folders) == 2 and failed_folder not in folders
    assert all(not folder.endswith(f"/{pk}") for folder in folders
               for pk in (created.reclamation.pk, other.reclamation.pk))
    # The leftover stays where no record's erasure will ever look, for the orphan check to find.
    assert default_storage.listdir(failed_folder)[1] == [PurePosixPath(failed_name).name]
