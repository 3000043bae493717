"""Join the PDFs of a pack laid out in parts into one document (pypdf).

Three things a plain concatenation would get wrong, done here:

- **page numbers**: no part knows the whole pack's page count when it is laid out, so the parts
  are laid out without the "page X / Y" footer and it is stamped on each page of the joined PDF,
  where X and Y are known. The stamp is a few bytes of text drawn with Helvetica (one of the PDF
  standard fonts, nothing embedded) at the place the stylesheet puts the footer;
- **bookmarks**: each part's outline starts at the root; they are rebuilt as one tree from the
  bookmarks WeasyPrint reports (a record sheet's level-2 entry falls under the front part's
  "6. Fiches des réclamations");
- **metadata**: title, author and subject come from the first part.

Each page's own drawing is wrapped in ``q … Q`` so that whatever graphics state it leaves does not
move the stamp.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
)

MM = 72 / 25.4
FONT_NAME = "/FPackPageNumber"
FONT_SIZE = 9  # as the footer in static/css/pdf.css: nothing in the pack is smaller than 9 pt
COLOUR = (0x4A / 255, 0x54 / 255, 0x5E / 255)  # #4a545e, as in static/css/pdf.css
# Helvetica advance widths (thousandths of an em) of the characters a page number uses.
_WIDTHS = {**dict.fromkeys("0123456789", 556), "p": 556, "a": 556, "g": 556, "e": 556, " ": 278, "/": 278}


@dataclass(frozen=True)
class FooterPlace:
    """Where the stylesheet's bottom-right footer box puts its text: distance of its right edge from
    the page's right edge, and of its baseline from the page's bottom edge (points)."""

    right: float
    baseline: float


# static/css/pdf.css: 15 mm side margins on ordinary pages, 20 mm on the cover. Baselines measured on
# the footer WeasyPrint draws itself (a pack small enough to be laid out in one document).
PAGE_FOOTER = FooterPlace(right=15 * MM, baseline=33.33)
COVER_FOOTER = FooterPlace(right=20 * MM, baseline=53.17)


@dataclass(frozen=True)
class Part:
    pdf: bytes
    pages: int
    bookmarks: tuple[tuple[int, int, str], ...]  # (0-based page index in the part, level, label)


def text_width(text: str, size: float = FONT_SIZE) -> float:
    return sum(_WIDTHS.get(char, 556) for char in text) * size / 1000


def _stamp_stream(text: str, place: FooterPlace, width: float) -> bytes:
    x = width - place.right - text_width(text)
    r, g, b = COLOUR
    return (
        f"\nQ\nq BT {r:.3f} {g:.3f} {b:.3f} rg {FONT_NAME} {FONT_SIZE} Tf "
        f"{x:.2f} {place.baseline:.2f} Td ({text}) Tj ET Q\n"
    ).encode("ascii")


def _stamp(writer: PdfWriter, font: object, cover_pages: int) -> None:
    opening = writer._add_object(_stream(b"q\n"))
    total = len(writer.pages)
    for index, page in enumerate(writer.pages):
        place = COVER_FOOTER if index < cover_pages else PAGE_FOOTER
        width = float(page.mediabox.right) - float(page.mediabox.left)
        closing = writer._add_object(_stream(_stamp_stream(f"page {index + 1} / {total}", place, width)))
        contents = page.get("/Contents")
        existing = list(contents.get_object()) if isinstance(contents.get_object(), ArrayObject) else (
            [contents] if contents is not None else [])
        page[NameObject("/Contents")] = ArrayObject([opening, *existing, closing])
        resources = page.get("/Resources")
        if resources is None:
            resources = DictionaryObject()
            page[NameObject("/Resources")] = resources
        resources = resources.get_object()
        fonts = resources.get("/Font")
        if fonts is None:
            fonts = DictionaryObject()
            resources[NameObject("/Font")] = fonts
        fonts.get_object()[NameObject(FONT_NAME)] = font


def _stream(data: bytes) -> DecodedStreamObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    return stream


def _outline(writer: PdfWriter, parts: Sequence[Part]) -> None:
    parents: dict[int, object] = {}
    offset = 0
    for part in parts:
        for index, level, label in part.bookmarks:
            parent = next((parents[lvl] for lvl in range(level - 1, 0, -1) if lvl in parents), None)
            parents[level] = writer.add_outline_item(title=label, page_number=offset + index, parent=parent)
            for deeper in [lvl for lvl in parents if lvl > level]:
                del parents[deeper]
        offset += part.pages


def merge_parts(parts: Sequence[Part], *, cover_pages: int = 1) -> bytes:
    """One PDF from ``parts``, in order, numbered "page X / Y", with one outline and the first part's
    metadata. ``cover_pages``: how many first pages use the cover's footer place."""
    writer = PdfWriter()
    metadata = None
    for part in parts:
        reader = PdfReader(io.BytesIO(part.pdf))
        if metadata is None and reader.metadata:
            metadata = {key: value for key, value in reader.metadata.items() if isinstance(value, str)}
        writer.append(reader, import_outline=False)
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
        NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
    }))
    _stamp(writer, font, cover_pages)
    _outline(writer, parts)
    if metadata:
        writer.add_metadata(metadata)
    writer.page_mode = "/UseOutlines"
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()
