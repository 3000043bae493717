"""``manage.py seed_demo``: a demonstration installation written through the real services."""
from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

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
    # Step 7 is met by the answer sent at step 6 and completes by itself (workflow.STEPS): no record
    # waits there, unless a message must follow the answer — not a case of the demo.
    assert set(OPEN_STEPS) - {Step.FOLLOW_UP} <= states
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
    assert set(orphan.not_applicable) == {Step.RECEIVED, Step.REFORMULATION, Step.ACTION, Step.FOLLOW_UP,
                                          Step.FEEDBACK}

    # Every record has the history the real services write.
    for reclamation in Reclamation.objects.all():
        assert reclamation.events.filter(kind=EventKind.CREATED).count() == 1
        # Registered as it arrived (Contact form, call, visit) or a minute later (a letter, an e-mail).
        assert reclamation.received_at <= reclamation.created_at <= reclamation.received_at + timedelta(minutes=1)
        if reclamation.state in (*OPEN_STEPS, Step.CLOSED):
            completed = reclamation.events.filter(kind=EventKind.STEP_COMPLETED).count()
            reopened = reclamation.events.filter(kind=EventKind.REOPENED).exists()
            assert reopened or completed == reclamation.step_number - 1, reclamation.reference
    for closed in Reclamation.objects.filter(state=Step.CLOSED):
        # Answered, or an aléa with nobody to answer (its outcome written, nothing sent).
        assert closed.closed_at and (closed.answered_at or closed.not_applicable.get(Step.ACTION))
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


def test_the_seeded_journal_chain_verifies(seeded: str) -> None:
    report = verify_chain()

    assert report.intact, report.message
    assert report.checked == Event.objects.count() > 300


# --- A history written at the times it claims -----------------------------------------------------
def _at(events, kind, **data):
    """When the event of ``kind`` (whose data holds ``data``) was logged; the last such, after a reopening."""
    found = [e for e in events if e.kind == kind and all(e.data.get(k) == v for k, v in data.items())]
    assert found, (kind, data)
    return found[-1].created_at


def test_every_fact_is_dated_by_the_event_that_recorded_it_and_no_event_lies_outside_its_record(seeded: str) -> None:
    now = timezone.now()
    for r in Reclamation.objects.all():
        events = list(r.events.order_by("sequence"))
        where = r.reference
        for event in events:
            assert r.received_at <= event.created_at <= now, (where, event.sequence, event.summary)
        times = [e.created_at for e in events]
        assert times == sorted(times), where  # the chain runs forward in time
        assert _at(events, EventKind.CREATED) - r.received_at <= timedelta(minutes=1), where
        if r.acknowledged_at:
            assert r.acknowledged_at == _at(events, EventKind.ACKNOWLEDGED), where
        if r.answered_at:
            assert r.answered_at == _at(events, EventKind.ANSWER_SENT), where
        if r.closed_at and r.state == Step.CLOSED:
            assert r.closed_at == _at(events, EventKind.STEP_COMPLETED, to=Step.CLOSED), where
        if r.closed_at and r.state == Step.DISCARDED:
            assert r.closed_at == _at(events, EventKind.DISCARDED), where
        if r.reopened_at:
            assert r.reopened_at == _at(events, EventKind.REOPENED), where
        if r.feedback_requested_at:
            assert r.feedback_requested_at == _at(events, EventKind.SURVEY, sent=True), where
        if r.feedback_received_at:
            assert r.feedback_received_at == _at(events, EventKind.FEEDBACK), where
        for communication in r.communications.all():
            logged = [e.created_at for e in events if e.data.get("communication") == communication.pk]
            assert logged and communication.occurred_at == logged[0], (where, communication.subject)
        for action in r.actions.exclude(done_at=None):
            done = [e for e in events if e.kind == EventKind.ACTION_UPDATED and e.data.get("action") == action.pk
                    and e.data["changes"].get("status", {}).get("after") == "done"]
            assert done and timezone.localdate(done[-1].created_at) == action.done_at, (where, action.description)
            assert timezone.localdate(r.received_at) <= action.done_at <= timezone.localdate(now)


def test_the_register_follows_the_procedure_order(seeded: str) -> None:
    for r in Reclamation.objects.all():
        facts = [r.received_at, r.acknowledged_at, r.answered_at, r.closed_at]
        present = [moment for moment in facts if moment is not None]
        assert present == sorted(present), r.reference
        if r.answered_at:
            # The calls of step 3 came before the answer they prepared.
            calls = r.communications.filter(kind="call", direction="outbound")
            assert all(call.occurred_at < r.answered_at for call in calls), r.reference
        if r.feedback_received_at and r.feedback_requested_at:  # a reopening clears the request
            assert r.feedback_requested_at < r.feedback_received_at, r.reference
        if r.feedback_no_answer:
            assert r.closed_at >= r.survey_expires_at, r.reference


def test_the_alea_without_complainant_is_not_answered_nor_e_mailed(seeded: str) -> None:
    orphan = Reclamation.objects.get(kind=Kind.INCIDENT, complainant_name="", state=Step.CLOSED)

    assert orphan.answered_at is None and orphan.acknowledged_at is None
    assert not orphan.communications.filter(direction="outbound").exists()
    assert orphan.answer  # the written outcome of the resolution
    assert Step.ACTION in orphan.not_applicable
