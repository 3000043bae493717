"""Make an evidence export from the command line: the evidence pack (PDF) or the register (XLSX, CSV).

    manage.py export_evidence --start 2026-01-01 --end 2026-12-31 --output pack.pdf [--format pdf|xlsx|csv]

Same file as the back-office gives, same period rules, and the same EXPORT event in the journal
(no user: "Commande export_evidence"). Useful for a very long period, or from a cron job.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import exports, services
from ...pdf import RenderError
from ...services.exports import DOCUMENTS
from ...statistics import Period

LABEL = "Commande export_evidence"
KINDS = {"pdf": "pack", "xlsx": "register_xlsx", "csv": "register_csv"}


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"Date invalide pour {option} : « {value} ». Écrivez-la sous la forme AAAA-MM-JJ, par exemple 2026-01-31."
        ) from None


class Command(BaseCommand):
    help = "Écrit le dossier de preuves (PDF) ou le registre (XLSX, CSV) d'une période dans un fichier."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", required=True, help="premier jour de la période (AAAA-MM-JJ)")
        parser.add_argument("--end", required=True, help="dernier jour de la période, inclus (AAAA-MM-JJ)")
        parser.add_argument("--output", required=True, help="fichier à écrire")
        parser.add_argument("--format", choices=sorted(KINDS), default=None,
                            help="pdf (dossier de preuves), xlsx ou csv (registre) ; par défaut : "
                                 "l'extension du fichier, sinon pdf")

    def handle(self, *args: Any, **options: Any) -> None:
        start, end = _date(options["start"], "--start"), _date(options["end"], "--end")
        errors = exports.period_errors(start, end)
        if errors:
            raise CommandError(" ".join(errors.values()))
        output = Path(options["output"])
        file_format = options["format"] or (output.suffix.lower().lstrip(".") if output.suffix.lower().lstrip(".")
                                            in KINDS else "pdf")
        if not output.parent.is_dir():
            raise CommandError(f"Le dossier de destination n'existe pas : {output.parent}")
        kind = KINDS[file_format]
        period = Period(start, end)

        def progress(percent: int, label: str) -> None:
            if options["verbosity"] >= 2:
                self.stderr.write(f"{percent:3d} % — {label}")

        try:
            produced = exports.produce(kind=kind, period=period, generated_by=LABEL, progress=progress)
        except RenderError as error:
            raise CommandError(str(error)) from error
        try:
            output.write_bytes(produced.content)
        except OSError as error:
            raise CommandError(f"Impossible d'écrire {output} : {error.strerror or error}") from error
        services.export_log(actor=None, label=LABEL, document=kind, sha256=produced.sha256,
                            records=produced.records, start=start, end=end)
        pages = f", {produced.pages} pages" if produced.pages is not None else ""
        self.stdout.write(f"{output} écrit : {DOCUMENTS[kind]}, période {period.label}, "
                          f"{produced.records} réclamation(s){pages}, {len(produced.content)} octets.")
        self.stdout.write(f"SHA-256 : {produced.sha256}")
