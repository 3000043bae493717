"""``manage.py seed_demo``: a demonstration installation written through the real services."""
from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from reclamations import roles
from reclamations.journal import verify_chain
from reclamations.models import (
    Action,
    Channel,
    Communication,
    Event,
    EventKind,
    Kind,
    OpeningHours,
    Organisation,
    Reclamation,
    RootCauseCategory,
    Service,
    StakeholderType,
)
from reclamations.workflow import OPEN_STEPS, Step

PASSWORD = "demo-mot-de-passe-2026"


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "reclamations": Reclamation.objects.count(),
        "events": Event.objects.count(),
        "communications": Communication.objects.count(),
        "actions": Action.objects.count(),
        "users": get_user_model().objects.count(),
        "groups": Group.objects.count(),
        "services": Service.objects.count(),
        "root_causes": RootCauseCategory.objects.count(),
        "opening_hours": OpeningHours.objects.count(),
    }


@pytest.fixture
def seeded(db: None) -> str:
    return seed("--password", PASSWORD)


def test_it_seeds_every_step_kind_and_channel(seeded: str) -> None:
    states = set(Reclamation.objects.values_list("state", flat=True))
    assert set(OPEN_STEPS) <= states
    assert Reclamation.objects.filter(state=Step.CLOSED).count() >= 3
    assert 25 <= Reclamation.objects.count() <= 40
    assert set(Reclamation.objects.values_list("kind", flat=True)) == set(Kind.values)
    assert set(Reclamation.objects.values_list("channel", flat=True)) == set(Channel.values)
    assert set(StakeholderType.values) <= set(Reclamation.objects.values_list("stakeholder_type", flat=True))

    discarded = Reclamation.objects.filter(state=Step.DISCARDED)
    assert discarded.count() == 2
    reasons = " ".join(discarded.values_list("discard_reason", flat=True)).lower()
    assert "spam" in reasons and "doublon" in reasons

    assert Event.objects.filter(kind=EventKind.REOPENED).count() == 1
    # An incident with nobody to answer: its client-facing parts are declared "sans objet".
    orphan = Reclamation.objects.get(kind=Kind.INCIDENT, complainant_name="", state=Step.CLOSED)
    assert set(orphan.not_applicable) == {Step.RECEIVED, Step.REFORMULATION, Step.FOLLOW_UP, Step.FEEDBACK}

    # Every record has the history the real services write.
    for reclamation in Reclamation.objects.all():
        assert reclamation.events.filter(kind=EventKind.CREATED).count() == 1
        assert reclamation.received_at < reclamation.created_at
        if reclamation.state in (*OPEN_STEPS, Step.CLOSED):
            completed = reclamation.events.filter(kind=EventKind.STEP_COMPLETED).count()
            reopened = reclamation.events.filter(kind=EventKind.REOPENED).exists()
            assert reopened or completed == reclamation.step_number - 1, reclamation.reference
    for closed in Reclamation.objects.filter(state=Step.CLOSED):
        assert closed.closed_at and closed.answered_at
        assert closed.feedback_received_at or closed.feedback_no_answer or closed.not_applicable.get(Step.FEEDBACK)
    assert Communication.objects.filter(kind="call", duration_minutes__isnull=False).exists()
    assert Communication.objects.filter(purpose="progress", direction="outbound", public=True).exists()

    organisation = Organisation.current()
    assert organisation.name == "SECURICONSULT"
    assert "Clenleu" in organisation.address
    assert organisation.responsible_user.username == "qualite"
    assert OpeningHours.objects.count() == 10
    assert Service.objects.count() == 5
    assert RootCauseCategory.objects.count() == 6

    assert "gestionnaire" in seeded and "qualite" in seeded and PASSWORD in seeded


def test_it_gives_the_demo_accounts_their_roles(seeded: str) -> None:
    user_model = get_user_model()
    handler = user_model.objects.get(username="gestionnaire")
    quality_lead = user_model.objects.get(username="qualite")
    assert handler.get_full_name() == "Camille Martin"
    assert quality_lead.get_full_name() == "Dominique Bernard"
    assert handler.is_staff and quality_lead.is_staff
    assert roles.is_handler(handler) and not roles.is_quality_lead(handler)
    assert roles.is_handler(quality_lead) and roles.is_quality_lead(quality_lead)
    assert quality_lead.has_perm("reclamations.change_organisation")
    assert quality_lead.has_perm("reclamations.view_event")
    assert not handler.has_perm("reclamations.change_organisation")
    assert handler.check_password(PASSWORD) and quality_lead.check_password(PASSWORD)


def test_it_is_idempotent(seeded: str) -> None:
    before = counts()
    references = sorted(Reclamation.objects.values_list("reference", "state"))

    output = seed()

    assert counts() == before
    assert sorted(Reclamation.objects.values_list("reference", "state")) == references
    assert "inchangé" in output
    for username in ("gestionnaire", "qualite"):
        assert get_user_model().objects.get(username=username).check_password(PASSWORD)


def test_the_password_option_resets_existing_accounts(seeded: str) -> None:
    seed("--password", "un-autre-mot-de-passe")

    for username in ("gestionnaire", "qualite"):
        assert get_user_model().objects.get(username=username).check_password("un-autre-mot-de-passe")


def test_without_a_password_it_generates_and_prints_one(db: None) -> None:
    output = seed()

    printed = re.search(r"gestionnaire .* mot de passe : (\S+)", output)
    assert printed is not None
    assert len(printed.group(1)) >= 12
    assert get_user_model().objects.get(username="gestionnaire").check_password(printed.group(1))


def test_it_keeps_what_the_quality_lead_configured(db: None) -> None:
    organisation = Organisation.current()
    organisation.name = "Mon OF à moi"
    organisation.save()

    seed("--password", PASSWORD)

    assert Organisation.current().name == "Mon OF à moi"
    assert Organisation.current().siret == "814 072 849 00031"


def test_the_seeded_audit_chain_verifies(seeded: str) -> None:
    report = verify_chain()

    assert report.intact, report.message
    assert report.checked == Event.objects.count() > 300
