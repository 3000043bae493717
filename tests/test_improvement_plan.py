"""The continual-improvement plan (indicator 32): promotion of a record's corrective action in one
click, creation and edition by the quality lead, the effectiveness check, reminders, access."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from reclamations import services
from reclamations.models import (
    ActionKind,
    Effectiveness,
    Event,
    EventKind,
    ImprovementAction,
    ImprovementOrigin,
    ImprovementStatus,
)
from reclamations.services import improvement
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 10:00 in Paris


@pytest.fixture
def concluded(handler):
    """A record in step 8: its corrective action is done (step 6 needs it)."""
    with time_machine.travel(T0, tick=False):
        return advance(ReclamationFactory(), Step.CONCLUSION, handler)


def _corrective(reclamation):
    return reclamation.actions.get(kind=ActionKind.CORRECTIVE)


def _plan_events():
    return list(Event.objects.filter(kind=EventKind.IMPROVEMENT).order_by("sequence"))


# --- Promotion -----------------------------------------------------------------------------------
def test_the_quality_lead_promotes_a_corrective_action_in_one_click(concluded, quality_lead, login):
    action = _corrective(concluded)
    back = reverse("backoffice:detail", args=[concluded.pk])

    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        response = login(quality_lead).post(reverse("quality:promote_action", args=[action.pk]), {"next": back})

    assert response.status_code == 302 and response["Location"] == back
    item = ImprovementAction.objects.get()
    assert item.source_action == action and list(item.reclamations.all()) == [concluded]
    assert item.origin == ImprovementOrigin.RECORDS
    assert item.title == "Envoyer les convocations 15 jours avant."
    assert item.owner == action.owner and item.due_date == action.due_date
    assert item.status == ImprovementStatus.DONE and item.done_at == action.done_at
    assert item.check_planned_on == action.done_at + timedelta(days=90)  # IMPROVEMENT_CHECK_DAYS
    assert item.created_by == quality_lead
    (event,) = _plan_events()
    assert event.reclamation == concluded and event.actor == quality_lead
    assert event.summary == ("Action corrective portée au plan d'amélioration continue : "
                             "« Envoyer les convocations 15 jours avant. ».")


def test_promoting_the_same_action_twice_makes_one_line(concluded, quality_lead, login):
    client = login(quality_lead)
    url = reverse("quality:promote_action", args=[_corrective(concluded).pk])

    client.post(url)
    second = client.post(url, follow=True)

    assert ImprovementAction.objects.count() == 1
    assert len(_plan_events()) == 1
    assert "figure déjà au plan" in second.content.decode()


def test_an_immediate_action_cannot_be_promoted(concluded, quality_lead, login):
    immediate = concluded.actions.get(kind=ActionKind.IMMEDIATE)

    response = login(quality_lead).post(reverse("quality:promote_action", args=[immediate.pk]), follow=True)

    assert ImprovementAction.objects.count() == 0
    assert "Seule une action corrective ou préventive" in response.content.decode()


def test_promotion_is_for_the_quality_lead(concluded, handler, client, login):
    url = reverse("quality:promote_action", args=[_corrective(concluded).pk])

    assert login(handler).post(url).status_code == 403
    anonymous = client.post(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/backoffice/connexion/")
    assert login(handler).get(url).status_code == 405  # a POST button, never a link
    assert ImprovementAction.objects.count() == 0


def test_promotion_never_redirects_to_another_site(concluded, quality_lead, login):
    url = reverse("quality:promote_action", args=[_corrective(concluded).pk])

    response = login(quality_lead).post(url, {"next": "https://example.com/"})

    assert response["Location"] == reverse("quality:improvement_detail", args=[ImprovementAction.objects.get().pk])


# --- Creating and editing ------------------------------------------------------------------------
def _form(**overrides):
    data = {"origin": "records", "references": "", "title": "Automatiser l'envoi des convocations",
            "description": "Programmer l'envoi automatique 15 jours avant chaque session.", "owner": "",
            "due_date": "2026-04-30", "status": "planned", "done_at": "", "check_planned_on": ""}
    data.update(overrides)
    return data


def test_the_quality_lead_adds_an_action_from_several_records(concluded, handler, quality_lead, login):
    other = ReclamationFactory()
    client = login(quality_lead)
    with time_machine.travel(T0, tick=False):
        response = client.post(reverse("quality:improvement_create"), _form(
            references=f"{concluded.reference}, {other.reference.lower()}", owner=handler.pk))

    item = ImprovementAction.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/backoffice/qualite/plan/{item.pk}/"
    assert set(item.reclamations.all()) == {concluded, other}
    assert item.owner == handler and item.due_date == date(2026, 4, 30)
    (event,) = _plan_events()
    assert event.reclamation is None  # about two records: logged on none of them
    assert event.data["reclamations"] == sorted([concluded.reference, other.reference])


def test_unknown_references_and_missing_records_are_refused_in_french(quality_lead, login):
    client = login(quality_lead)

    unknown = client.post(reverse("quality:improvement_create"), _form(references="R-2026-9999, 42"))
    none = client.post(reverse("quality:improvement_create"), _form(references=""))

    assert "Référence mal écrite : 42" in unknown.content.decode()
    assert "Une action issue de réclamations doit citer au moins une réclamation." in none.content.decode()
    assert ImprovementAction.objects.count() == 0


def test_an_audit_finding_needs_no_record(quality_lead, login):
    response = login(quality_lead).post(reverse("quality:improvement_create"), _form(origin="audit"))

    assert response.status_code == 302
    assert ImprovementAction.objects.get().origin == ImprovementOrigin.AUDIT


def test_marking_an_action_done_dates_it_and_plans_its_check(quality_lead, login):
    item = services.improvement_create(actor=quality_lead, origin="audit", title="Former l'accueil",
                                       description="Une demi-journée sur l'écoute active.")
    with time_machine.travel(T0, tick=False):
        response = login(quality_lead).post(reverse("quality:improvement_edit", args=[item.pk]),
                                            _form(origin="audit", title="Former l'accueil", status="done"))

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.done_at == date(2026, 3, 10)
    assert item.check_planned_on == date(2026, 6, 8)
    event = _plan_events()[-1]
    assert event.summary == "Action d'amélioration modifiée : « Former l'accueil » — statut : réalisée."
    assert event.data["changes"]["status"] == {"before": "planned", "after": "done"}


def test_handlers_read_the_plan_but_only_the_quality_lead_changes_it(handler, quality_lead, login, client_account):
    item = services.improvement_create(actor=quality_lead, origin="audit", title="Former l'accueil",
                                       description="Écoute active.")
    reader = login(handler)

    plan = reader.get(reverse("quality:plan"))
    assert plan.status_code == 200 and "Former l&#x27;accueil" in plan.content.decode()
    assert "Ajouter une action" not in plan.content.decode()
    assert reader.get(reverse("quality:improvement_detail", args=[item.pk])).status_code == 200
    assert reader.get(reverse("quality:improvement_create")).status_code == 403
    assert reader.post(reverse("quality:improvement_edit", args=[item.pk]), _form()).status_code == 403
    assert login(client_account).get(reverse("quality:plan")).status_code == 403


# --- Effectiveness check -------------------------------------------------------------------------
@pytest.fixture
def done_item(quality_lead):
    with time_machine.travel(T0, tick=False):
        return services.improvement_create(actor=quality_lead, origin="survey", title="Réponses plus claires",
                                           description="Un modèle de réponse argumentée.", status="done")


def test_the_effectiveness_check_is_recorded_with_its_finding(done_item, quality_lead, login):
    with time_machine.travel(T0 + timedelta(days=95), tick=False):
        response = login(quality_lead).post(reverse("quality:improvement_check", args=[done_item.pk]), {
            "check-check_result": "partly", "check-check_comment": "Deux réponses jugées confuses depuis.",
            "check-checked_at": "2026-06-13"})

    assert response.status_code == 302
    done_item.refresh_from_db()
    assert done_item.check_result == Effectiveness.PARTLY and done_item.checked_at == date(2026, 6, 13)
    assert _plan_events()[-1].summary == "Efficacité vérifiée : « Réponses plus claires » — partiellement efficace."


def test_a_check_that_is_not_conclusive_needs_a_comment(done_item, quality_lead):
    with pytest.raises(services.WorkflowError, match="Expliquez pourquoi"):
        services.improvement_record_check(improvement=done_item, actor=quality_lead, result="not_effective")


def test_an_action_not_done_cannot_be_checked(quality_lead, login):
    item = services.improvement_create(actor=quality_lead, origin="audit", title="Former", description="Former.")

    response = login(quality_lead).post(reverse("quality:improvement_check", args=[item.pk]), {
        "check-check_result": "effective", "check-checked_at": "2026-01-01"})

    assert "passez-la d&#x27;abord en « Réalisée »" in response.content.decode()
    item.refresh_from_db()
    assert item.check_result == ""


# --- Reminders (run by the SLA sweep) ------------------------------------------------------------
def test_the_owner_is_reminded_once_when_the_due_date_comes(handler, quality_lead, django_capture_on_commit_callbacks):
    item = services.improvement_create(actor=quality_lead, origin="audit", title="Former l'accueil",
                                       description="Écoute active.", owner=handler, due_date=date(2026, 3, 20))

    with django_capture_on_commit_callbacks(execute=True):
        assert improvement.improvement_send_reminders(datetime(2026, 3, 19, 8, 0, tzinfo=UTC)) == 0
        assert improvement.improvement_send_reminders(datetime(2026, 3, 20, 6, 0, tzinfo=UTC)) == 1
        assert improvement.improvement_send_reminders(datetime(2026, 3, 25, 6, 0, tzinfo=UTC)) == 0

    reminders = [m for m in mail.outbox if m.subject == "Action d'amélioration à réaliser : Former l'accueil"]
    assert sorted(m.to[0] for m in reminders) == [handler.email, quality_lead.email]
    assert f"/backoffice/qualite/plan/{item.pk}/" in reminders[0].body
    event = Event.objects.get(kind=EventKind.REMINDER)
    assert event.reclamation is None and event.data["reminder"] == "improvement_due"
    # A new due date gets its own reminder.
    services.improvement_update(improvement=item, actor=quality_lead, changes={"due_date": date(2026, 4, 2)})
    assert improvement.improvement_send_reminders(datetime(2026, 4, 2, 6, 0, tzinfo=UTC)) == 1


def test_the_effectiveness_check_is_reminded_once_when_due(done_item):
    due = datetime.combine(done_item.check_planned_on, datetime.min.time(), tzinfo=UTC) + timedelta(hours=6)

    assert improvement.improvement_send_reminders(due - timedelta(days=1)) == 0
    assert improvement.improvement_send_reminders(due) == 1
    assert improvement.improvement_send_reminders(due + timedelta(days=3)) == 0
    event = Event.objects.get(kind=EventKind.REMINDER)
    assert event.data["reminder"] == "improvement_check"
    assert "vérification de l'efficacité de « Réponses plus claires »" in event.summary
