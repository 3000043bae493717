"""``python manage.py verify_audit_log``: recompute the audit log's hash chain.

Exit status 0 when the chain is intact (and the verification date is recorded for the evidence
pack), 1 with the first broken link named otherwise.
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from reclamations.audit import mark_verified, verify_chain


class Command(BaseCommand):
    help = "Vérifie la chaîne d'empreintes du journal d'audit et nomme le premier maillon rompu."

    def handle(self, *args: object, **options: object) -> None:
        report = verify_chain()
        if not report.intact:
            raise CommandError(report.message)
        mark_verified(report)
        self.stdout.write(self.style.SUCCESS(report.message))
        if report.head_hash:
            self.stdout.write(f"Empreinte de tête : {report.head_hash}")
