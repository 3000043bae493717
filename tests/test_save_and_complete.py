"""« Enregistrer et terminer l'étape »: one button saves the step's data and completes the step when
its guard allows (the guard's French message otherwise, the data kept); and the steps whose
requirement is already met by something that happened complete by themselves, saying so."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
from django.utils import timezone

from reclamations import outbox, services
from reclamations.models import ActionKind, Event, EventKind, Reclamation
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, ServiceFactory, advance, fill_step

pytestmark = pytest.mark.django_db

REFORMULATION = "Convocation reçue la veille : la cliente demande un report sans frais."


def reformulate(reclamation: Reclamation, actor) -> object:
    return lambda r: services.reclamation_update(reclamation=r, actor=actor, changes={"reformulation": REFORMULATION})


def log_call(reclamation: Reclamation, actor) -> None:
    services.reclamation_log_communication(
        reclamation=reclamation,
        actor=actor,
        kind="call",
        direction="outbound",
        body="Appel : la cliente confirme les faits.",
        duration_minutes=5,
    )


def completions(reclamation: Reclamation) -> list[str]:
    return list(
        Event.objects.filter(reclamation=reclamation, kind=EventKind.STEP_COMPLETED)
        .order_by("sequence")
        .values_list("summary", flat=True)
    )


# --- The service ------------------------------------------------------------------------------------
def test_it_saves_the_step_data_and_completes_the_step(handler):
    reclamation = advance(ReclamationFactory(), Step.REFORMULATION, handler)
    log_call(reclamation, handler)

    outcome = services.reclamation_save_and_complete_step(
        reclamation=reclamation,
        actor=handler,
        expected_state=Step.REFORMULATION,
        save=reformulate(reclamation, handler),
    )

    assert outcome.completed and outcome.refusal == ""
    reclamation.refresh_from_db()
    assert reclamation.state == Step.ACTION_PROPOSAL and reclamation.reformulation == REFORMULATION
    done = Event.objects.filter(reclamation=reclamation, kind=EventKind.STEP_COMPLETED).last()
    assert done.actor == handler and done.summary == "Étape 3 terminée : Reformulation et contact."


def test_it_keeps_the_data_and_gives_the_guards_message_when_the_step_cannot_complete(handler):
    reclamation = advance(ReclamationFactory(), Step.REFORMULATION, handler)  # written: a call is asked for

    outcome = services.reclamation_save_and_complete_step(
        reclamation=reclamation,
        actor=handler,
        expected_state=Step.REFORMULATION,
        save=reformulate(reclamation, handler),
    )

    assert not outcome.completed
    assert outcome.refusal == (
        "Pour terminer l'étape 3 (Reformulation et contact), enregistrez l'appel au réclamant "
        "(ou la raison pour laquelle il n'a pas eu lieu)."
    )
    reclamation.refresh_from_db()
    assert reclamation.state == Step.REFORMULATION and reclamation.reformulation == REFORMULATION


def test_a_refused_save_saves_nothing_and_completes_nothing(handler):
    reclamation = advance(ReclamationFactory(), Step.REFORMULATION, handler)
    log_call(reclamation, handler)
    events = Event.objects.count()

    def save(r: Reclamation) -> None:
        services.reclamation_update(reclamation=r, actor=handler, changes={"reformulation": REFORMULATION})
        raise services.WorkflowError("Refusé.")

    with pytest.raises(services.WorkflowError, match="Refusé"):
        services.reclamation_save_and_complete_step(
            reclamation=reclamation, actor=handler, expected_state=Step.REFORMULATION, save=save
        )
    reclamation.refresh_from_db()
    assert reclamation.state == Step.REFORMULATION and reclamation.reformulation == ""
    assert Event.objects.count() == events


def test_it_refuses_a_step_the_handler_did_not_see(handler):
    reclamation = advance(ReclamationFactory(), Step.REFORMULATION, handler)

    with pytest.raises(services.StaleState):
        services.reclamation_save_and_complete_step(
            reclamation=reclamation,
            actor=handler,
            expected_state=Step.IDENTIFICATION,
            save=reformulate(reclamation, handler),
        )
    reclamation.refresh_from_db()
    assert reclamation.reformulation == ""


def test_a_closed_record_refuses_save_and_complete(handler):
    reclamation = advance(ReclamationFactory(), Step.CLOSED, handler)

    with pytest.raises(services.WorkflowError, match="seul le responsable qualité peut la rouvrir"):
        services.reclamation_save_and_complete_step(reclamation=reclamation, actor=handler, expected_state=Step.CLOSED)


# --- Steps completing by themselves ------------------------------------------------------------------
def test_step_1_completes_by_itself_when_the_contact_forms_acknowledgement_is_sent(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = services.reclamation_submit_contact(
            kind="complaint",
            stakeholder_type="learner",
            complainant_name="Claire Dupont",
            complainant_email="claire.dupont@example.org",
            consent=True,
            service=ServiceFactory(),
            subject="Convocation tardive",
            description="Reçue la veille.",
            wished_solution="Un report.",
        )
    assert created.reclamation.state in (Step.RECEIVED, Step.IDENTIFICATION)
    outbox.send_due()

    reclamation = Reclamation.objects.get(pk=created.reclamation.pk)
    assert reclamation.state == Step.IDENTIFICATION
    assert completions(reclamation) == ["Étape 1 terminée automatiquement : accusé de réception envoyé."]
    done = Event.objects.get(reclamation=reclamation, kind=EventKind.STEP_COMPLETED)
    assert done.actor is None and done.public and done.data["automatic"] is True


def test_an_acknowledgement_recorded_by_the_handler_completes_step_1(handler, login, bo_post):
    # A letter received three hours ago, acknowledged two hours ago (never before its reception).
    reclamation = ReclamationFactory(channel="letter", actor=handler, received_at=timezone.now() - timedelta(hours=3))
    sent_at = timezone.localtime(timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")

    response = bo_post(login(handler), reclamation, "acknowledgement", {"sent_at": sent_at, "means": "courrier"})

    assert response.status_code == 302
    reclamation.refresh_from_db()
    assert reclamation.state == Step.IDENTIFICATION and reclamation.acknowledged_at is not None
    assert completions(reclamation) == ["Étape 1 terminée automatiquement : accusé de réception envoyé."]


def test_step_5_completes_by_itself_when_every_action_was_scheduled_at_step_4(handler):
    reclamation = advance(ReclamationFactory(), Step.ACTION_PROPOSAL, handler)
    services.reclamation_update(
        reclamation=reclamation, actor=handler, changes={"severity": 2, "complexity": 1, "repercussions": 2}
    )
    for kind in (ActionKind.IMMEDIATE, ActionKind.CORRECTIVE):
        services.reclamation_add_action(
            reclamation=reclamation,
            actor=handler,
            kind=kind,
            description="Action.",
            owner=handler,
            due_date=date.today() + timedelta(days=7),
        )

    reclamation = services.reclamation_complete_step(
        reclamation=reclamation, actor=handler, expected_state=Step.ACTION_PROPOSAL
    )

    assert reclamation.state == Step.ACTION
    assert completions(reclamation)[-2:] == [
        "Étape 4 terminée : Proposition d'action.",
        "Étape 5 terminée automatiquement : chaque action du plan a déjà un responsable et une échéance.",
    ]


def test_step_5_waits_for_the_handler_while_an_action_has_no_due_date(handler):
    reclamation = advance(ReclamationFactory(), Step.SCHEDULING, handler)  # the factory's actions: no owner

    assert reclamation.state == Step.SCHEDULING
    assert not any("automatiquement" in summary for summary in completions(reclamation)[1:])


def test_step_7_completes_by_itself_once_the_answer_was_sent_and_no_progress_email_goes(handler, mailoutbox):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    fill_step(reclamation, handler)  # actions done, the argued answer sent
    sent = len(mailoutbox)

    reclamation = services.reclamation_complete_step(reclamation=reclamation, actor=handler, expected_state=Step.ACTION)

    assert reclamation.state == Step.CONCLUSION
    assert completions(reclamation)[-1] == (
        "Étape 7 terminée automatiquement : réclamant déjà informé après la "
        "reformulation (la réponse argumentée compte)."
    )
    assert len(mailoutbox) == sent


def test_step_9_completes_by_itself_when_the_feedback_is_recorded(handler):
    reclamation = advance(ReclamationFactory(), Step.FEEDBACK, handler)

    reclamation = services.reclamation_record_feedback(reclamation=reclamation, satisfaction=4, actor=handler)

    assert reclamation.state == Step.CLOSED and reclamation.closed_at is not None
    assert completions(reclamation)[-1] == "Étape 9 terminée automatiquement : avis du client recueilli."


def test_a_step_that_is_not_automatic_waits_for_the_handler(handler):
    reclamation = advance(ReclamationFactory(), Step.IDENTIFICATION, handler)
    services.reclamation_assign(reclamation=reclamation, actor=handler, handler=handler)  # step 2 now met

    reclamation = services.reclamation_complete_automatically(reclamation=reclamation)

    assert reclamation.state == Step.IDENTIFICATION


# --- The button ------------------------------------------------------------------------------------------
def test_the_button_saves_the_reformulation_and_completes_step_3(handler, login, bo_post):
    reclamation = advance(ReclamationFactory(), Step.REFORMULATION, handler)
    log_call(reclamation, handler)

    response = bo_post(login(handler), reclamation, "reformulation", {"reformulation": REFORMULATION}, terminer="1")

    assert response.status_code == 302
    reclamation.refresh_from_db()
    assert reclamation.state == Step.ACTION_PROPOSAL and reclamation.reformulation == REFORMULATION


def test_the_button_keeps_the_data_and_shows_the_guards_message(handler, login, bo_post):
    reclamation = advance(ReclamationFactory(), Step.REFORMULATION, handler)

    response = bo_post(login(handler), reclamation, "reformulation", {"reformulation": REFORMULATION}, terminer="1")

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "L'étape n'est pas terminée." in page
    assert "enregistrez l'appel au réclamant" in page
    assert "Reformulation enregistrée." in page
    assert REFORMULATION in page  # in its field
    reclamation.refresh_from_db()
    assert reclamation.state == Step.REFORMULATION and reclamation.reformulation == REFORMULATION


def test_an_invalid_form_is_neither_saved_nor_completed(handler, login, bo_post):
    reclamation = advance(ReclamationFactory(), Step.REFORMULATION, handler)
    log_call(reclamation, handler)

    response = bo_post(login(handler), reclamation, "reformulation", {"reformulation": ""}, terminer="1")

    assert response.status_code == 200
    reclamation.refresh_from_db()
    assert reclamation.state == Step.REFORMULATION


def test_one_click_takes_the_record_saves_the_identification_and_completes_step_2(handler, login, bo_post):
    reclamation = advance(ReclamationFactory(), Step.IDENTIFICATION, handler)
    assert reclamation.handler is None
    client = login(handler)
    form = client.get(f"/backoffice/reclamations/{reclamation.pk}/").context["forms"]["identification"]
    data = {name: value for name, value in form.initial.items() if value is not None and name in form.fields}
    data["complainant_phone"] = "07 98 76 54 32"
    data["service"] = reclamation.service_id

    response = bo_post(client, reclamation, "identification", data, terminer="prendre")

    assert response.status_code == 302, html.unescape(response.content.decode())[:2000]
    reclamation.refresh_from_db()
    assert reclamation.state == Step.REFORMULATION
    assert reclamation.handler == handler and reclamation.complainant_phone == "07 98 76 54 32"
