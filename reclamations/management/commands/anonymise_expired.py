"""``python manage.py anonymise_expired``: anonymise now the records whose retention period is over.

The same work as the daily beat task (``reclamations.tasks.anonymise_expired``): each record is
claimed once, so running it while beat also runs anonymises nothing twice. ``--dry-run`` lists the
records that are due without touching them. Records are named by their reference only.
"""
from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from reclamations import selectors
from reclamations.services import personal_data


class Command(BaseCommand):
    help = (
        "Anonymise les réclamations clôturées depuis plus de PERSONAL_DATA_RETENTION_YEARS ans "
        "(données personnelles, textes et pièces effacés ; statistiques conservées)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="Affiche les réclamations concernées sans rien effacer.")

    def handle(self, *args: object, **options: object) -> None:
        cutoff = personal_data.retention_cutoff()
        years = settings.PERSONAL_DATA_RETENTION_YEARS
        self.stdout.write(f"Durée de conservation : {years} an(s) après la clôture ; "
                          f"clôturées avant le {timezone.localtime(cutoff):%d/%m/%Y à %H:%M}.")
        if options["dry_run"]:
            due = list(selectors.records_past_retention(closed_before=cutoff).values_list("reference", flat=True))
            self.stdout.write(f"{len(due)} réclamation(s) à anonymiser" + (f" : {', '.join(due)}." if due else "."))
            return
        done = personal_data.anonymise_expired()
        for reference in done:
            self.stdout.write(f"{reference} anonymisée.")
        left = selectors.records_past_retention(closed_before=cutoff).count()
        style = self.style.WARNING if left else self.style.SUCCESS
        tail = f" ; {left} restent à anonymiser (erreur au journal, nouvel essai au prochain passage)." if left else "."
        self.stdout.write(style(f"{len(done)} réclamation(s) anonymisée(s){tail}"))
