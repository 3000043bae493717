"""Every export leaves a trace: the evidence pack, a record's PDF and the register are audit events.

The event names the document, its period or record, how many records it holds and the SHA-256 of
the file handed out, so a PDF shown to an auditor can be matched with the log entry of its making.
"""
from __future__ import annotations

from datetime import date

from django.db import transaction

from ..audit import record_event
from ..models import Event, EventKind, Reclamation
from .base import Actor

DOCUMENTS = {
    "pack": "Dossier de preuves (PDF)",
    "record_pdf": "Fiche de traitement (PDF)",
    "register_xlsx": "Registre des réclamations (XLSX)",
    "register_csv": "Registre des réclamations (CSV)",
}


def export_log(
    *,
    actor: Actor,
    document: str,
    sha256: str,
    records: int,
    start: date | None = None,
    end: date | None = None,
    reclamation: Reclamation | None = None,
) -> Event:
    """Write the EXPORT event of one produced file (call it once the file exists)."""
    if document not in DOCUMENTS:
        raise ValueError(f"unknown document: {document}")
    what = DOCUMENTS[document]
    if reclamation is not None:
        summary = f"{what} exporté : {reclamation.reference}."
    else:
        summary = f"{what} exporté : période du {start:%d/%m/%Y} au {end:%d/%m/%Y}, {records} réclamation(s)."
    with transaction.atomic():
        return record_event(
            kind=EventKind.EXPORT,
            reclamation=reclamation,
            actor=actor,
            summary=summary,
            data={"document": document, "start": start, "end": end, "records": records, "sha256": sha256},
        )
