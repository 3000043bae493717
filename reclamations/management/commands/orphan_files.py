"""``python manage.py orphan_files``: list the files under attachments/ that belong to no row.

The same check as the daily beat task (``reclamations.tasks.check_orphan_files``), whose count the
quality lead sees on the dashboard. ``--delete`` deletes them, with a journal event signed
« Système » (as the quality lead's button does, with their name). Files younger than
``ORPHAN_FILES_GRACE_MINUTES`` are never listed nor deleted: their upload may still be running.
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from reclamations import services
from reclamations.uploads import human_size


class Command(BaseCommand):
    help = "Liste (ou supprime avec --delete) les fichiers du stockage privé qui n'appartiennent à aucune pièce jointe."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--delete", action="store_true",
                            help="Supprime les fichiers trouvés (événement au journal).")

    def handle(self, *args: object, **options: object) -> None:
        if options["delete"]:
            deleted = services.orphan_files_delete(actor=None)
            self.stdout.write(self.style.SUCCESS(f"{deleted} fichier(s) orphelin(s) supprimé(s)."))
            return
        orphans = services.orphan_files_check()
        for orphan in orphans:
            self.stdout.write(f"{orphan.name}\t{human_size(orphan.size)}\t"
                              f"{timezone.localtime(orphan.modified_at):%d/%m/%Y %H:%M}")
        style = self.style.WARNING if orphans else self.style.SUCCESS
        self.stdout.write(style(f"{len(orphans)} fichier(s) orphelin(s)."))
