"""PDF documents for the Qualiopi auditor: the evidence pack of a period and one record's sheet.

- :mod:`.documents`: what goes in each document (``build_pack``, ``build_record_pdf``);
- :mod:`.procedure`: the procedure as the software enforces it, read from the configuration;
- :mod:`.sheets`: one record's sheet and history;
- :mod:`.fetcher`: the URL fetcher that can read nothing but the app's static files;
- :mod:`.render`: WeasyPrint in a child process, within a time and a memory bound.
"""
from __future__ import annotations

from .documents import PdfDocument, build_pack, build_record_pdf, pack_filename
from .render import RenderError, RenderTimeout, RenderTooLarge

__all__ = [
    "PdfDocument",
    "RenderError",
    "RenderTimeout",
    "RenderTooLarge",
    "build_pack",
    "build_record_pdf",
    "pack_filename",
]
