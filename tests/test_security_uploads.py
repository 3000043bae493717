"""Hostile files through every upload of the application, public and staff.

Four doors take files: the public Contact form, the client's follow-up page, the staff's
"pièces jointes" form on a record and the staff's "nouvelle réclamation" form. Each hostile file
of the corpus goes through each door and is either

- **refused**: the page says why in French, and nothing is kept — no record, message, attachment
  or event, and no file left in the private storage; or
- **stored inertly**: under a random name in private storage, its display name cleaned (no folder,
  no control or right-to-left character), and only ever served as a download
  (``Content-Disposition: attachment``, ``X-Content-Type-Options: nosniff``, a sandboxing CSP, the
  type we detected — never HTML, SVG or whatever the client declared).

Decisions (see also SECURITY.md):

- A **polyglot** that really is a file of an accepted type (a PDF whose body also parses as HTML,
  a PNG with a ZIP appended) is accepted as that type: it is never rendered by the server or
  inline in a browser, so its other reading is never reached.
- A **PDF with embedded JavaScript** (``/OpenAction`` … ``/JS``) is accepted as a PDF: the
  server never opens it, browsers get it only as a download, and spotting scripts reliably would
  mean parsing compressed object streams — refusing on a visible ``/JS`` would stop nothing and
  refuse ordinary fillable forms. Whoever opens it does so in their own PDF reader.
- A **macro-enabled** Word, Excel or LibreOffice file (VBA project, ``Basic/`` or ``Scripts/``)
  renamed ``.docx``/``.xlsx``/``.odt`` is refused: none of the accepted types holds macros.
"""
from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from post_office.models import Email

from reclamations import uploads
from reclamations.models import Attachment, Communication, Event, Reclamation
from tests.factories import ReclamationFactory, ServiceFactory, contact_form_data, pdf_bytes, png_bytes, upload

pytestmark = pytest.mark.django_db

LIMIT = 4096  # ATTACHMENT_MAX_BYTES in these tests
TYPE_REFUSED = ("Le fichier « {name} » n'est pas d'un type accepté (PDF, PNG, JPEG, DOCX, XLSX, ODT, ODS ou TXT). "
                "Le type est vérifié d'après son contenu, pas son nom.")


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def _docx(*extra: tuple[str, bytes]) -> bytes:
    return _zip([("[Content_Types].xml", b"<Types/>"), ("_rels/.rels", b"<Relationships/>"),
                 ("word/document.xml", b"<w:document/>"), *extra])


def _padded_pdf(size: int) -> bytes:
    head = pdf_bytes("Convocation")
    return head + b"%" + b"x" * (size - len(head) - 2) + b"\n"


# --- The corpus -------------------------------------------------------------------------------------
# (name as the browser sends it, content, declared type) -> refused with this message.
REFUSED: dict[str, tuple[str, bytes, str, str]] = {
    "svg_with_script": ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                        "image/svg+xml", TYPE_REFUSED.format(name="logo.svg")),
    "svg_named_png": ("photo.png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
                      b'onload="alert(1)"/>', "image/png", TYPE_REFUSED.format(name="photo.png")),
    "html_named_pdf": ("facture.pdf", b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script>",
                       "application/pdf", TYPE_REFUSED.format(name="facture.pdf")),
    "html_after_a_bom_and_blank_lines": ("notes.txt", "\ufeff\r\n\r\n  <html onload=alert(1)>".encode(),
                                         "text/plain", TYPE_REFUSED.format(name="notes.txt")),
    "xhtml": ("page.txt", b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><script/></html>',
              "text/plain", TYPE_REFUSED.format(name="page.txt")),
    "zip_named_docx": ("courrier.docx", _zip([("courrier.txt", b"Bonjour")]), "application/vnd.openxmlformats-"
                       "officedocument.wordprocessingml.document", TYPE_REFUSED.format(name="courrier.docx")),
    "macro_word_named_docx": ("courrier.docx", _docx(("word/vbaProject.bin", b"\xd0\xcf\x11\xe0macro")),
                              "application/octet-stream", TYPE_REFUSED.format(name="courrier.docx")),
    "odt_with_basic_macro": ("courrier.odt", _zip([
        ("mimetype", b"application/vnd.oasis.opendocument.text"), ("content.xml", b"<x/>"),
        ("Basic/Standard/Module1.xml", b"<script:module/>")]), "application/octet-stream",
        TYPE_REFUSED.format(name="courrier.odt")),
    "windows_program_named_pdf": ("programme.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200, "application/pdf",
                                  TYPE_REFUSED.format(name="programme.pdf")),
    "gzip_named_pdf": ("archive.pdf", b"\x1f\x8b\x08\x00" + b"\x00" * 50, "application/pdf",
                       TYPE_REFUSED.format(name="archive.pdf")),
    "empty": ("vide.pdf", b"", "application/pdf", "Le fichier « vide.pdf » est vide."),
    "one_byte_over_the_limit": ("gros.pdf", _padded_pdf(LIMIT + 1), "application/pdf",
                                "Le fichier « gros.pdf » dépasse la taille maximale de 4 Ko."),
    # The refusal names the file by its cleaned name: no folder, no control character.
    "path_traversal": ("../../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\x00\x01", "text/plain",
                       TYPE_REFUSED.format(name="passwd")),
}

PDF_WITH_JAVASCRIPT = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    b"3 0 obj << /S /JavaScript /JS (app.alert\\('pdf'\\);) >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)
# A PDF whose body is also an HTML page: a browser sniffing it would run the script.
PDF_HTML_POLYGLOT = b"%PDF-1.4\n<html><body><script>alert(1)</script></body></html>\n%%EOF\n"

# (name as the browser sends it, content, declared type) -> stored as (display name, detected type).
ACCEPTED: dict[str, tuple[str, bytes, str, str, str]] = {
    "pdf_html_polyglot": ("facture.html", PDF_HTML_POLYGLOT, "text/html", "facture.html", "application/pdf"),
    "png_with_a_zip_appended": ("photo.png", png_bytes() + _zip([("x.html", b"<script>alert(1)</script>")]),
                                "image/png", "photo.png", "image/png"),
    "pdf_with_javascript": ("formulaire.pdf", PDF_WITH_JAVASCRIPT, "application/pdf", "formulaire.pdf",
                            "application/pdf"),
    "text_with_a_script_inside": ("notes.txt", b"Bonjour,\n<script>alert(1)</script>\n", "text/html", "notes.txt",
                                  "text/plain"),
    "exactly_the_limit": ("limite.pdf", _padded_pdf(LIMIT), "application/pdf", "limite.pdf", "application/pdf"),
    "double_extension": ("facture.pdf.exe", pdf_bytes(), "application/x-msdownload", "facture.pdf.exe",
                         "application/pdf"),
    "path_traversal_in_the_name": ("../../../../etc/cron.d/facture.pdf", pdf_bytes(), "application/pdf",
                                   "facture.pdf", "application/pdf"),
    "windows_path_in_the_name": ("C:\\Users\\claire\\..\\..\\Windows\\facture.pdf", pdf_bytes(), "application/pdf",
                                 "facture.pdf", "application/pdf"),
    "right_to_left_override": ("facture\u202efdp.exe", pdf_bytes(), "application/pdf", "facturefdp.exe",
                               "application/pdf"),
    "bidi_isolates_and_zero_width": ("\u2067rapport\u2069\u200b\u200f.pdf", pdf_bytes(), "application/pdf",
                                     "rapport.pdf", "application/pdf"),
    "control_characters": ("fac\x07tu\x1bre\x7f.pdf", pdf_bytes(), "application/pdf", "facture.pdf",
                           "application/pdf"),
    # As a browser sends them (WHATWG: quote, CR and LF percent-encoded in the part's header).
    "quote_and_line_breaks": ('a%22b%0D%0ABcc: x.pdf', pdf_bytes(), "application/pdf", "a%22b%0D%0ABcc: x.pdf",
                              "application/pdf"),
    "markup_in_the_name": ("<img src=x onerror=alert(1)>.pdf", pdf_bytes(), "application/pdf",
                           "<img src=x onerror=alert(1)>.pdf", "application/pdf"),
    "three_hundred_characters": ("é" * 296 + ".pdf", pdf_bytes(), "application/pdf", "é" * 116 + ".pdf",
                                 "application/pdf"),
    "only_dots": ("....", pdf_bytes(), "application/pdf", "piece-jointe", "application/pdf"),
    "only_spaces_and_dots": (" . . ", pdf_bytes(), "application/pdf", "piece-jointe", "application/pdf"),
}


# --- The four doors -----------------------------------------------------------------------------------
@dataclass
class Door:
    """One way in for files: ``send(files)`` posts them; ``download(attachment)`` fetches one back."""

    name: str
    send: Callable[[list[SimpleUploadedFile]], Any]
    download: Callable[[Attachment], Any]
    refused_status: int = 200


@pytest.fixture(params=["contact_form", "follow_up_page", "staff_attachments", "staff_new_record"])
def door(request, client, login, handler, bo_post, settings) -> Door:
    settings.ATTACHMENT_MAX_BYTES = LIMIT
    settings.ATTACHMENT_MAX_FILES = 3
    service = ServiceFactory(name="Formation inter-entreprises")
    record = ReclamationFactory(actor=handler)
    staff = login(handler)

    def public_download(attachment: Attachment):
        return client.get(reverse("public:follow_up_attachment", args=[record.token, attachment.pk]))

    def staff_download(attachment: Attachment):
        return staff.get(reverse("backoffice:attachment", args=[attachment.pk]))

    if request.param == "contact_form":
        def send(files):
            return client.post(reverse("public:contact"), contact_form_data(service=service.pk, attachments=files))

        def download(attachment):
            return staff_download(attachment)  # the client's link comes by e-mail; staff see it at once

        return Door(request.param, send, download)
    if request.param == "follow_up_page":
        def send(files):
            return client.post(reverse("public:follow_up", args=[record.token]),
                               {"body": "Voici le document demandé.", "attachments": files})

        return Door(request.param, send, public_download)
    if request.param == "staff_attachments":
        def send(files):
            return bo_post(staff, record, "attachment_add", {"public": "on"}, prefix="attachment",
                           **{"attachment-files": files})

        return Door(request.param, send, public_download)

    def send(files):
        data = {"kind": "complaint", "channel": "letter", "received_at": "2026-01-05T10:00",
                "stakeholder_type": "learner", "complainant_name": "Claire Dupont", "service": service.pk,
                "subject": "Courrier reçu", "description": "Le courrier scanné est joint.", "files_public": "on"}
        return staff.post(reverse("backoffice:create"), {**{f"create-{k}": v for k, v in data.items()},
                                                         "create-files": files})

    return Door(request.param, send, staff_download)


def _stored_files(settings) -> list[Path]:
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Reclamation, Attachment, Communication, Event, Email)}


def _page(response) -> str:
    return html.unescape(response.content.decode())


# --- Refused, with a French message, nothing kept ---------------------------------------------------------
@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_a_hostile_file_is_refused_in_french_and_nothing_is_kept(door, settings, case):
    name, content, declared, message = case
    before, files_before = _counts(), _stored_files(settings)

    response = door.send([SimpleUploadedFile(name, content, content_type=declared)])

    assert response.status_code == door.refused_status, door.name
    assert message in _page(response), door.name
    assert _counts() == before, door.name
    assert _stored_files(settings) == files_before, door.name


def test_one_file_too_many_is_refused_in_french_and_nothing_is_kept(door, settings):
    before, files_before = _counts(), _stored_files(settings)

    response = door.send([upload(f"piece{i}.pdf") for i in range(4)])

    assert response.status_code == 200
    assert "Vous pouvez joindre au plus 3 fichiers." in _page(response)
    assert _counts() == before and _stored_files(settings) == files_before


def test_more_parts_than_the_server_reads_get_the_french_400_page_and_nothing_is_kept(door, settings):
    before, files_before = _counts(), _stored_files(settings)

    response = door.send([upload(f"p{i}.pdf", b"%PDF-1.4\n") for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)])

    assert response.status_code == 400
    assert "La demande envoyée n'a pas pu être comprise." in _page(response)
    assert _counts() == before and _stored_files(settings) == files_before


def test_one_bad_file_among_good_ones_keeps_none_of_them(door, settings):
    before, files_before = _counts(), _stored_files(settings)

    response = door.send([upload("convocation.pdf"), upload("facture.pdf", b"<html><script>alert(1)</script>")])

    assert response.status_code == 200
    assert TYPE_REFUSED.format(name="facture.pdf") in _page(response)
    assert _counts() == before and _stored_files(settings) == files_before


# --- Accepted, stored inertly, only ever downloaded ------------------------------------------------------
@pytest.mark.parametrize("case", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_a_file_of_an_accepted_type_is_stored_inertly_and_only_ever_downloaded(door, settings, case):
    name, content, declared, shown, detected = case
    files_before = _stored_files(settings)

    response = door.send([SimpleUploadedFile(name, content, content_type=declared)])

    assert response.status_code == 302, (door.name, _page(response)[:3000])
    attachment = Attachment.objects.latest("pk")
    assert attachment.original_name == shown
    assert attachment.content_type == detected
    assert re.fullmatch(r"attachments/[0-9a-f]{32}/[0-9a-f]{32}", attachment.file.name)
    (new_file,) = set(_stored_files(settings)) - set(files_before)
    assert new_file.read_bytes() == content
    assert new_file.is_relative_to(Path(settings.STORAGES["default"]["OPTIONS"]["location"]) / "attachments")

    download = door.download(attachment)

    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    disposition = download["Content-Disposition"]
    assert disposition.startswith("attachment;") and "inline" not in disposition
    assert "\r" not in disposition and "\n" not in disposition
    assert download["Content-Type"] == detected  # never text/html, image/svg+xml or what the client said
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]
    assert "no-store" in download["Cache-Control"]


@pytest.mark.parametrize("case", [ACCEPTED["markup_in_the_name"], ACCEPTED["right_to_left_override"]],
                         ids=["markup_in_the_name", "right_to_left_override"])
def test_a_hostile_file_name_is_shown_escaped_and_without_its_direction_trick(door, login, handler, case):
    name, content, declared, shown, _detected = case
    assert door.send([SimpleUploadedFile(name, content, content_type=declared)]).status_code == 302
    attachment = Attachment.objects.latest("pk")

    page = login(handler).get(reverse("backoffice:detail", args=[attachment.reclamation_id])).content.decode()

    assert html.escape(shown, quote=True).replace("&#x27;", "'") in page.replace("&#x27;", "'")
    assert "<img src=x" not in page and "\u202e" not in page


def test_a_file_name_sent_raw_by_a_non_browser_client_is_cleaned_too(client):
    """Django's test client writes the name into the part's header unescaped, as a hand-made request
    could: whatever the parser makes of it, the kept name has no line break or control character."""
    reclamation = ReclamationFactory()
    response = client.post(reverse("public:follow_up", args=[reclamation.token]), {
        "body": "Pièce", "attachments": [upload('re"çu\r\nContent-Type: text/html\r\n\x00.pdf')]})

    assert response.status_code in (200, 302)
    for attachment in Attachment.objects.all():
        assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in attachment.original_name)
        assert 0 < len(attachment.original_name) <= uploads.MAX_NAME_CHARS
