"""The smoke test's view of the database, through the ORM (``django.setup()`` is done by the caller
once the smoke environment is in ``os.environ``): the minimum configuration the Contact form needs,
and what the checks read back.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

SERVICES = ("Formation inter-entreprises", "Formation intra-entreprise", "Conseil et audit")


def seed_minimum(*, staff_email: str) -> None:
    """Roles, one quality lead (who receives the new-record notices), the organisation, services.

    Written the way a quality lead would in the admin, with the configuration event the journal
    expects; no record (the smoke counts exactly its own).
    """
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from reclamations import roles
    from reclamations.journal import record_event
    from reclamations.models import EventKind, Organisation, Service

    with transaction.atomic():
        _handlers, quality_leads = roles.ensure_groups()
        lead = get_user_model().objects.create_user(
            username="qualite-smoke", email=staff_email, first_name="Dominique", last_name="Essai", is_staff=True
        )
        lead.set_unusable_password()
        lead.save(update_fields=["password"])
        lead.groups.add(quality_leads)
        organisation = Organisation.current()
        organisation.name = "Organisme d'essai (prod-smoke)"
        organisation.contact_email = staff_email
        organisation.responsible_user = lead
        organisation.responsible_name = lead.get_full_name()
        organisation.save()
        for position, name in enumerate(SERVICES, start=1):
            Service.objects.create(name=name, position=position)
        record_event(kind=EventKind.CONFIGURATION, actor=None, summary="Configuration de l'essai prod-smoke.",
                     data={"changed": ["organisme", "services", "responsable qualité"]})


@dataclass(frozen=True)
class RecordRow:
    reference: str
    email: str
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class Snapshot:
    records: list[RecordRow]
    email_status: Counter[str]  # post_office status name -> count
    sent_logs_per_email: Counter[int]  # e-mail id -> number of "sent" log rows

    @property
    def unsent(self) -> int:
        return sum(n for status, n in self.email_status.items() if status != "sent")


def unsent_count() -> int:
    from post_office.models import STATUS, Email

    return Email.objects.exclude(status=STATUS.sent).count()


def unacknowledged_count() -> int:
    from reclamations.models import Reclamation

    return Reclamation.objects.filter(acknowledged_at__isnull=True).count()


def snapshot() -> Snapshot:
    from post_office.models import STATUS, Email, Log

    from reclamations.models import Reclamation

    names = {value: name for name, value in STATUS._asdict().items()}  # a namedtuple: sent=0, failed=1...
    rows = Reclamation.objects.order_by("pk").values_list("reference", "complainant_email", "acknowledged_at")
    return Snapshot(
        records=[RecordRow(reference=ref, email=email.lower(), acknowledged_at=ack) for ref, email, ack in rows],
        email_status=Counter(names.get(s, str(s)) for s in Email.objects.values_list("status", flat=True)),
        sent_logs_per_email=Counter(Log.objects.filter(status=STATUS.sent).values_list("email_id", flat=True)),
    )
