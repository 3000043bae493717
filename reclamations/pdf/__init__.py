"""PDF documents for the Qualiopi auditor: the evidence pack of a period and one record's sheet.

- :mod:`.pack`: the evidence pack, laid out in parts and joined (``build_pack``);
- :mod:`.documents`: one record's PDF (``build_record_pdf``) and what both documents share;
- :mod:`.procedure`: the procedure as the software enforces it, read from the configuration;
- :mod:`.sheets`: one record's sheet and history;
- :mod:`.merge`: joining the parts (page numbers, one outline, metadata) with pypdf;
- :mod:`.fetcher`: the URL fetcher that can read nothing but the app's static files;
- :mod:`.render`: WeasyPrint in a child process, within a time and a memory bound.
"""
from __future__ import annotations

from .documents import PdfDocument, build_record_pdf, pack_filename
from .pack import Progress, build_pack
from .render import RenderError, RenderTimeout, RenderTooLarge

__all__ = [
    "PdfDocument",
    "Progress",
    "RenderError",
    "RenderTimeout",
    "RenderTooLarge",
    "build_pack",
    "build_record_pdf",
    "pack_filename",
]
