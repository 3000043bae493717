"""``python manage.py send_digest [--start YYYY-MM-DD --end YYYY-MM-DD]``: send an internal digest now.

Without dates, the previous calendar month (what beat sends on the 1st). The same service as beat
and the back-office: a period already sent is not sent again to anyone who received it. The e-mails
go to the outbox and a worker sends them.
"""
from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reclamations import services
from reclamations.services.digest import previous_month
from reclamations.statistics import Period


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Date invalide : {value!r} (format AAAA-MM-JJ attendu).") from exc


class Command(BaseCommand):
    help = "Envoie le bilan interne des réclamations à toute l'équipe (par défaut : le mois précédent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", help="Premier jour de la période (AAAA-MM-JJ).")
        parser.add_argument("--end", help="Dernier jour de la période (AAAA-MM-JJ).")

    def handle(self, *args: object, **options: object) -> None:
        start, end = options.get("start"), options.get("end")
        if bool(start) != bool(end):
            raise CommandError("Indiquez --start et --end ensemble, ou aucun des deux (mois précédent).")
        if start and end:
            try:
                period = Period(start=_date(str(start)), end=_date(str(end)))
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        else:
            period = previous_month()
        try:
            result = services.digest_send(period=period)
        except services.WorkflowError as exc:
            raise CommandError(str(exc)) from exc
        state = "créé" if result.created else "déjà existant"
        self.stdout.write(f"Bilan {period.label} ({state}) : {len(result.recipients)} envoi(s).")
        for name in result.recipients:
            self.stdout.write(f"  - {name}")
        if result.without_address:
            self.stdout.write(self.style.WARNING(
                "Sans adresse électronique (à lire dans le back-office) : " + ", ".join(result.without_address)))
        self.stdout.write(self.style.SUCCESS("Terminé."))
