"""Pièces justificatives: what we accept (checked by content, never by name), how we name them, and
how they leave the server (always as a download, never rendered inline).
"""
from __future__ import annotations

import hashlib
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse

from .models import Attachment

# Detected type -> (label for messages, extension used for the download name).
ALLOWED_TYPES: dict[str, tuple[str, str]] = {
    "application/pdf": ("PDF", ".pdf"),
    "image/png": ("PNG", ".png"),
    "image/jpeg": ("JPEG", ".jpg"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("Word (DOCX)", ".docx"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("Excel (XLSX)", ".xlsx"),
    "application/vnd.oasis.opendocument.text": ("OpenDocument texte (ODT)", ".odt"),
    "application/vnd.oasis.opendocument.spreadsheet": ("OpenDocument tableur (ODS)", ".ods"),
    "text/plain": ("texte (TXT)", ".txt"),
}
ACCEPT_ATTRIBUTE = ".pdf,.png,.jpg,.jpeg,.docx,.xlsx,.odt,.ods,.txt"
ALLOWED_LABEL = "PDF, PNG, JPEG, DOCX, XLSX, ODT, ODS ou TXT"
_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class CheckedUpload:
    file: UploadedFile
    original_name: str
    content_type: str
    size: int
    sha256: str


def max_files() -> int:
    return settings.ATTACHMENT_MAX_FILES


def max_bytes() -> int:
    return settings.ATTACHMENT_MAX_BYTES


def human_size(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} Mo" if size >= 1024 * 1024 else f"{max(1, size // 1024)} Ko"


MAX_NAME_CHARS = 120


def clean_name(name: str) -> str:
    """The client's file name as harmless display text: no folders, no control characters, at most
    120 characters (a longer name keeps its extension)."""
    name = PureWindowsPath(PurePosixPath(name or "").name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")  # controls, bidi overrides
    name = name.strip(" .") or "piece-jointe"
    if len(name) > MAX_NAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and 0 < len(extension) <= 10:
            return stem[: MAX_NAME_CHARS - len(extension) - 1].rstrip(" .") + "." + extension
        return name[:MAX_NAME_CHARS]
    return name


# Control characters a text file may hold: tab, line feed, form feed, carriage return, and the old
# DOS end-of-file mark. Anything else below 0x20 means a binary file.
_TEXT_CONTROLS = frozenset(b"\t\n\x0c\r\x1a")


def _decode_text(head: bytes) -> str | None:
    if any(byte < 0x20 and byte not in _TEXT_CONTROLS for byte in head):
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sniff boundary is still UTF-8.
        if exc.start >= len(head) - 3 and len(head) == _SNIFF_BYTES:
            return head[: exc.start].decode("utf-8", "strict")
    try:
        # A French text saved by an older Windows program (é = 0xE9) is still text.
        return head.decode("cp1252")
    except UnicodeDecodeError:
        return None


def _looks_like_text(head: bytes) -> bool:
    text = _decode_text(head)
    if text is None:
        return False
    lowered = text.lstrip("\ufeff \t\r\n\x0c").lower()
    # HTML, SVG or XML is text, but a browser would run it: refuse any markup even as "TXT".
    return not (lowered.startswith("<") and len(lowered) > 1 and (lowered[1].isalpha() or lowered[1] in "!?"))


_ODF_TYPES = ("application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet")
_ZIPPED_TYPES = frozenset({
    "application/zip", *_ODF_TYPES,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
})


def _is_macro(entry: str) -> bool:
    # Word/Excel keep VBA in vbaProject.bin (DOCM, XLSM); LibreOffice keeps Basic and scripts in
    # Basic/ and Scripts/. The types we accept never hold any.
    lowered = entry.lower()
    return lowered.endswith("vbaproject.bin") or lowered.startswith(("basic/", "scripts/"))


def _zipped_document_type(upload: UploadedFile) -> str | None:
    """DOCX, XLSX, ODT or ODS read from the archive's directory.

    ``filetype`` only looks at the first entries of the archive; a real document whose first entry
    is large (a thumbnail) looks like a plain ZIP there. Only the directory and the tiny ODF
    ``mimetype`` entry are read, never the compressed content. A file with macros is refused.
    """
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
            if any(_is_macro(name) for name in names):
                return None  # a macro-enabled file renamed .docx/.xlsx/.odt: not a type we accept
            if "mimetype" in names:
                if archive.getinfo("mimetype").file_size > 100:
                    return None
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
                return declared if declared in _ODF_TYPES else None
            if "[Content_Types].xml" in names:
                if "word/document.xml" in names:
                    return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                if "xl/workbook.xml" in names:
                    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            return None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None
    finally:
        upload.seek(0)


def detect_type(upload: UploadedFile) -> str | None:
    upload.seek(0)
    head = upload.read(_SNIFF_BYTES)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is not None:
        if kind.mime in _ZIPPED_TYPES:  # told apart (and checked for macros) by the archive's directory
            return _zipped_document_type(upload)
        return kind.mime if kind.mime in ALLOWED_TYPES else None
    return "text/plain" if head and _looks_like_text(head) else None


def check_upload(upload: UploadedFile) -> CheckedUpload:
    """Refuse, with a French message naming the file, anything empty, too big or of another type."""
    name = clean_name(upload.name)
    if not upload.size:
        raise ValidationError(f"Le fichier « {name} » est vide.", code="empty")
    if upload.size > max_bytes():
        raise ValidationError(
            f"Le fichier « {name} » dépasse la taille maximale de {human_size(max_bytes())}.", code="too_big"
        )
    content_type = detect_type(upload)
    if content_type is None:
        raise ValidationError(
            f"Le fichier « {name} » n'est pas d'un type accepté ({ALLOWED_LABEL}). "
            "Le type est vérifié d'après son contenu, pas son nom.",
            code="type",
        )
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedUpload(file=upload, original_name=name, content_type=content_type, size=upload.size,
                         sha256=digest.hexdigest())


def check_uploads(uploads: list[UploadedFile]) -> list[CheckedUpload]:
    if len(uploads) > max_files():
        raise ValidationError(f"Vous pouvez joindre au plus {max_files()} fichiers.", code="too_many")
    errors: list[ValidationError] = []
    checked: list[CheckedUpload] = []
    for upload in uploads:
        try:
            checked.append(check_upload(upload))
        except ValidationError as exc:
            errors.append(exc)
    if errors:
        raise ValidationError(errors)
    return checked


def download_response(attachment: Attachment) -> FileResponse:
    """Always a download: no inline rendering, no sniffing, no script even if a browser tried."""
    _, extension = ALLOWED_TYPES.get(attachment.content_type, ("", ""))
    name = attachment.original_name
    if extension and not name.lower().endswith(extension):
        name += extension
    content_type = attachment.content_type if attachment.content_type in ALLOWED_TYPES else "application/octet-stream"
    response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=name, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
