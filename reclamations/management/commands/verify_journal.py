"""``python manage.py verify_journal``: recompute the journal's keyed hash chain, hold it against
the checkpoints kept outside the database, and check that every redaction is an anonymisation's.

Exit status 0 when all agree (and the verification date is recorded for the evidence pack), 1
otherwise, each problem named on its own line (which event, what is wrong).
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from reclamations.journal import mark_verified, verify_chain


class Command(BaseCommand):
    help = ("Vérifie la chaîne d'empreintes du journal, ses points de contrôle et ses effacements RGPD, "
            "et nomme chaque anomalie.")

    def handle(self, *args: object, **options: object) -> None:
        report = verify_chain()
        if not report.intact:
            raise CommandError(
                f"Journal NON intact ({len(report.problems)} anomalie(s)) :\n"
                + "\n".join(f"- {problem}" for problem in report.problems)
            )
        mark_verified(report)
        self.stdout.write(self.style.SUCCESS(report.message))
        if report.head_hash:
            self.stdout.write(f"Empreinte de tête : {report.head_hash}")
