"""``python manage.py sla_sweep``: run one SLA sweep now and print what it did.

The same sweep as the beat task (``reclamations.tasks.sla_sweep``): alerts and reminders are
claimed once, so running it by hand while beat also runs sends nothing twice. The e-mails go to
the outbox and a worker sends them; ``--send-now`` sends the outbox in this process too (no worker
needed, e.g. on a server where only cron runs).
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from reclamations import outbox, services, sweep


class Command(BaseCommand):
    help = "Lance un passage de surveillance des délais (alertes, rappels d'actions, relances d'enquête)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--send-now", action="store_true",
            help="Envoie aussi tout de suite les courriels en attente, sans attendre un worker Celery.",
        )

    def handle(self, *args: object, **options: object) -> None:
        report = sweep.run()
        for line in report.lines():
            self.stdout.write(line)
        if options["send_now"]:
            run = outbox.send_due()
            services.reclamation_sync_sent_emails()
            self.stdout.write(
                f"Courriels : {len(run.sent)} envoyé(s), {len(run.retried)} à réessayer, {len(run.failed)} en échec."
            )
        style = self.style.WARNING if report.errors else self.style.SUCCESS
        self.stdout.write(style(f"Passage terminé : {report.short()}."))
