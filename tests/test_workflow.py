"""The nine-step state machine: every transition, every guard's French message, discard, reopen."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from reclamations import services
from reclamations.facts import fact_value
from reclamations.models import ActionKind, Event, EventKind, Reclamation
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, RootCauseCategoryFactory, advance, fill_step

pytestmark = pytest.mark.django_db


def _complete(reclamation: Reclamation, actor) -> Reclamation:
    return services.reclamation_complete_step(reclamation=reclamation, actor=actor, expected_state=reclamation.state)


def test_it_walks_a_complaint_through_the_nine_steps_to_closure(handler):
    reclamation = ReclamationFactory()
    seen = [reclamation.state]
    while reclamation.is_open:
        state = reclamation.state
        reclamation = fill_step(reclamation, handler)
        if reclamation.state == state:  # else the step completed by itself once filled
            reclamation = _complete(reclamation, handler)
        seen.append(reclamation.state)

    assert seen[-1] == Step.CLOSED
    assert reclamation.closed_at is not None
    completions = Event.objects.filter(reclamation=reclamation, kind=EventKind.STEP_COMPLETED)
    assert [e.data["step"] for e in completions] == list(range(1, 10))
    # Step 1 (acknowledgement sent), 7 (the answer informed the client) and 9 (feedback received)
    # completed by themselves, and the history says so; the handler completed the others.
    automatic = [e for e in completions if e.data.get("automatic")]
    assert [e.summary for e in automatic] == [
        "Étape 1 terminée automatiquement : accusé de réception envoyé.",
        "Étape 7 terminée automatiquement : réclamant déjà informé après la reformulation (la réponse "
        "argumentée compte).",
        "Étape 9 terminée automatiquement : avis du client recueilli.",
    ]
    assert all(e.actor is None for e in automatic)
    assert all(e.actor == handler for e in completions if not e.data.get("automatic"))


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (Step.RECEIVED, "Pour terminer l'étape 1 (Prise en compte), enregistrez l'accusé de réception"),
        (Step.IDENTIFICATION, "Pour terminer l'étape 2 (Identification), enregistrez le responsable du traitement."),
        (Step.REFORMULATION, "Pour terminer l'étape 3 (Reformulation et contact), enregistrez la reformulation des "
                             "points clés et l'appel au réclamant"),
        (Step.ACTION_PROPOSAL, "Pour terminer l'étape 4 (Proposition d'action), enregistrez l'évaluation (gravité, "
                               "complexité, répercussions), une action immédiate pour rechercher la cause et au "
                               "moins une action corrective ou préventive au plan d'action."),
        (Step.ACTION, "Pour terminer l'étape 6 (Action concrète), enregistrez la décision et la réponse argumentée."),
        (Step.CONCLUSION, "Pour terminer l'étape 8 (Conclusion et propositions), enregistrez la conclusion et la "
                          "cause racine (catégorie et analyse)."),
        (Step.FEEDBACK, "Pour terminer l'étape 9 (Collecte de feedback), enregistrez la réponse à l'enquête de "
                        "satisfaction"),
    ],
)
def test_it_refuses_each_step_without_its_data_and_says_what_is_missing(handler, state, expected):
    reclamation = advance(ReclamationFactory(), state, handler)
    if state == Step.ACTION:
        # Actions done, so that only the answer is missing.
        for action in reclamation.actions.all():
            services.reclamation_update_action(action=action, actor=handler, changes={"status": "done"})
    events_before = Event.objects.count()

    with pytest.raises(services.StepIncomplete) as refused:
        _complete(reclamation, handler)

    assert str(refused.value).startswith(expected)
    reclamation.refresh_from_db()
    assert reclamation.state == state
    assert Event.objects.count() == events_before  # a refused transition writes nothing


def test_it_refuses_step_5_while_an_action_has_no_owner_or_due_date(handler):
    reclamation = advance(ReclamationFactory(), Step.SCHEDULING, handler)
    action = reclamation.actions.first()
    services.reclamation_update_action(action=action, actor=handler, changes={"owner": handler})

    with pytest.raises(services.StepIncomplete, match="un responsable et une échéance pour chaque action"):
        _complete(reclamation, handler)


def test_it_refuses_step_6_until_every_action_is_done_and_the_answer_sent(handler):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    services.reclamation_update(reclamation=reclamation, actor=handler,
                                changes={"decision": "partial", "answer": "Nous vous proposons un avoir."})

    with pytest.raises(services.StepIncomplete) as refused:
        _complete(reclamation, handler)
    assert "la réalisation de toutes les actions du plan" in str(refused.value)
    assert "l'envoi de la réponse argumentée au réclamant" in str(refused.value)


def test_it_asks_for_the_complainant_and_service_at_identification(handler):
    reclamation = ReclamationFactory(complainant_name="", complainant_email="", complainant_phone="", service=None)
    reclamation = advance(reclamation, Step.IDENTIFICATION, handler)

    with pytest.raises(services.StepIncomplete) as refused:
        _complete(reclamation, handler)
    message = str(refused.value)
    assert "le nom du réclamant" in message
    assert "un moyen de contacter le réclamant" in message
    assert "le service concerné" in message


def test_a_phone_complaint_needs_no_call_back_at_step_3(handler):
    reclamation = advance(ReclamationFactory(channel="phone"), Step.REFORMULATION, handler)
    services.reclamation_update(reclamation=reclamation, actor=handler, changes={"reformulation": "Points clés."})

    assert _complete(reclamation, handler).state == Step.ACTION_PROPOSAL


def test_a_written_complaint_may_skip_the_call_only_with_a_recorded_reason(handler):
    reclamation = advance(ReclamationFactory(channel="letter"), Step.REFORMULATION, handler)
    services.reclamation_update(reclamation=reclamation, actor=handler, changes={"reformulation": "Points clés."})
    with pytest.raises(services.StepIncomplete, match="l'appel au réclamant"):
        _complete(reclamation, handler)

    with pytest.raises(services.WorkflowError, match="Indiquez pourquoi"):
        services.reclamation_mark_not_applicable(reclamation=reclamation, actor=handler, step=Step.REFORMULATION,
                                                 reason="  ")
    services.reclamation_mark_not_applicable(reclamation=reclamation, actor=handler, step=Step.REFORMULATION,
                                             reason="Aucun numéro de téléphone fourni.")

    assert _complete(reclamation, handler).state == Step.ACTION_PROPOSAL
    event = Event.objects.get(reclamation=reclamation, kind=EventKind.STEP_NOT_APPLICABLE)
    assert "Aucun numéro de téléphone fourni." in event.summary


def test_an_incident_without_complainant_goes_through_with_recorded_reasons(handler):
    reclamation = ReclamationFactory(kind="incident", channel="other", complainant_name="", complainant_email="",
                                     complainant_phone="", stakeholder_type="", actor=handler)
    for step in (Step.RECEIVED, Step.REFORMULATION, Step.FOLLOW_UP, Step.FEEDBACK):
        services.reclamation_mark_not_applicable(reclamation=reclamation, actor=handler, step=step,
                                                 reason="Aléa sans réclamant.")
    reclamation = _complete(reclamation, handler)
    services.reclamation_assign(reclamation=reclamation, actor=handler, handler=handler)
    reclamation = _complete(reclamation, handler)
    assert reclamation.state == Step.REFORMULATION


def test_an_evaluation_sets_the_priority(handler):
    reclamation = advance(ReclamationFactory(), Step.ACTION_PROPOSAL, handler)  # the evaluation's step
    reclamation = services.reclamation_update(reclamation=reclamation, actor=handler,
                                              changes={"severity": 3, "complexity": 3, "repercussions": 2})
    assert reclamation.get_priority_display() == "Critique"
    event = Event.objects.filter(reclamation=reclamation, kind=EventKind.UPDATED).last()
    assert event.data["changes"]["priority"] == {"before": "", "after": "critical"}


def test_it_refuses_a_step_the_user_did_not_see_the_record_in(handler):
    reclamation = ReclamationFactory()
    fill_step(reclamation, handler)  # the acknowledgement: step 1 completed by itself

    with pytest.raises(services.StaleState, match="a changé entre-temps"):
        services.reclamation_complete_step(reclamation=reclamation, actor=handler, expected_state=Step.RECEIVED)


def test_the_state_cannot_be_set_by_hand():
    reclamation = ReclamationFactory()
    with pytest.raises(AttributeError):
        reclamation.state = Step.CLOSED


def test_the_model_transition_itself_refuses_an_incomplete_step():
    # Even code that bypasses the services cannot move the record past a step without its data.
    reclamation = ReclamationFactory()
    with pytest.raises(TransitionNotAllowed):
        reclamation.complete_step()


def test_it_discards_from_any_open_step_with_a_mandatory_reason(handler):
    reclamation = advance(ReclamationFactory(), Step.REFORMULATION, handler)
    with pytest.raises(services.WorkflowError, match="Indiquez le motif du classement sans suite"):
        services.reclamation_discard(reclamation=reclamation, actor=handler, reason="")
    reclamation.refresh_from_db()
    assert reclamation.state == Step.REFORMULATION

    reclamation = services.reclamation_discard(reclamation=reclamation, actor=handler, reason="Doublon de R-2026-0001")

    assert reclamation.state == Step.DISCARDED
    event = Event.objects.get(reclamation=reclamation, kind=EventKind.DISCARDED)
    assert event.data == {"from": "reformulation", "reason": "Doublon de R-2026-0001",
                          "facts": {"state": "discarded", "closed_at": fact_value(reclamation.closed_at)}}
    with pytest.raises(services.WorkflowError):
        services.reclamation_discard(reclamation=reclamation, actor=handler, reason="encore")


def test_a_discarded_record_cannot_be_edited_any_more(handler):
    reclamation = services.reclamation_discard(reclamation=ReclamationFactory(), actor=handler, reason="Spam")
    with pytest.raises(services.WorkflowError, match="classée sans suite"):
        services.reclamation_update(reclamation=reclamation, actor=handler, changes={"subject": "autre"})


def test_it_reopens_a_closed_record_with_a_reason_and_logs_it(handler, quality_lead):
    reclamation = advance(ReclamationFactory(), Step.CLOSED, handler)
    with pytest.raises(services.WorkflowError, match="motif de la réouverture"):
        services.reclamation_reopen(reclamation=reclamation, actor=quality_lead, reason=" ")

    reclamation = services.reclamation_reopen(reclamation=reclamation, actor=quality_lead,
                                              reason="Le client signale que le problème persiste.")

    assert reclamation.state == Step.ACTION_PROPOSAL
    assert reclamation.closed_at is None
    event = Event.objects.get(reclamation=reclamation, kind=EventKind.REOPENED)
    assert event.actor == quality_lead and "problème persiste" in event.summary


def test_only_a_closed_record_can_be_reopened(quality_lead):
    with pytest.raises(services.WorkflowError, match="Seule une réclamation clôturée"):
        services.reclamation_reopen(reclamation=ReclamationFactory(), actor=quality_lead, reason="test")


def test_step_8_needs_a_corrective_or_preventive_action_that_was_not_cancelled(handler):
    reclamation = advance(ReclamationFactory(), Step.CONCLUSION, handler)
    services.reclamation_update(reclamation=reclamation, actor=handler, changes={
        "conclusion": "Fin.", "root_cause_category": RootCauseCategoryFactory(), "root_cause_analysis": "Analyse."})
    for action in reclamation.actions.filter(kind=ActionKind.CORRECTIVE):
        services.reclamation_update_action(action=action, actor=handler, changes={"status": "cancelled"})

    with pytest.raises(services.StepIncomplete, match="l'action corrective ou préventive retenue"):
        _complete(reclamation, handler)


def test_a_reopened_record_must_be_answered_followed_up_and_surveyed_again(handler, quality_lead):
    reclamation = advance(ReclamationFactory(), Step.CLOSED, handler)
    reclamation = services.reclamation_reopen(reclamation=reclamation, actor=quality_lead, reason="Problème persistant",
                                              step=Step.ACTION)

    with pytest.raises(services.StepIncomplete, match="l'envoi de la réponse argumentée au réclamant"):
        _complete(reclamation, handler)
    services.reclamation_update(reclamation=reclamation, actor=handler, changes={"answer": "Nouvelle réponse."})
    services.reclamation_send_answer(reclamation=reclamation, actor=handler)
    reclamation = _complete(reclamation, handler)  # and step 7 by itself: the new answer informed the client
    assert reclamation.state == Step.CONCLUSION
    reclamation = advance(reclamation, Step.FEEDBACK, handler)
    with pytest.raises(services.StepIncomplete, match="l'enquête de satisfaction"):
        _complete(reclamation, handler)


def test_an_incident_with_nobody_to_answer_records_its_resolution_instead(handler):
    reclamation = advance(ReclamationFactory(kind="incident", channel="other"), Step.ACTION, handler)
    for action in reclamation.actions.all():
        services.reclamation_update_action(action=action, actor=handler, changes={"status": "done"})
    services.reclamation_mark_not_applicable(reclamation=reclamation, actor=handler, step=Step.ACTION,
                                             reason="Aléa interne, aucun réclamant.")
    with pytest.raises(services.StepIncomplete, match="le compte rendu de la résolution"):
        _complete(reclamation, handler)

    services.reclamation_update(reclamation=reclamation, actor=handler, changes={"answer": "Vidéoprojecteur remplacé."})

    assert _complete(reclamation, handler).state == Step.FOLLOW_UP


# --- Step 7: keeping the client informed ---------------------------------------------------------
def _at_step_7_with_nothing_said_since_step_3(handler, reclamation: Reclamation | None = None) -> Reclamation:
    """A record whose step 6 sent no answer to the client (declared sans objet)."""
    reclamation = advance(reclamation or ReclamationFactory(), Step.ACTION, handler)
    for action in reclamation.actions.all():
        services.reclamation_update_action(action=action, actor=handler, changes={"status": "done"})
    services.reclamation_mark_not_applicable(reclamation=reclamation, actor=handler, step=Step.ACTION,
                                             reason="Réponse remise en main propre.")
    services.reclamation_update(reclamation=reclamation, actor=handler, changes={"answer": "Session reportée."})
    return _complete(reclamation, handler)


def test_the_argued_answer_counts_as_information_for_step_7(handler):
    reclamation = advance(ReclamationFactory(), Step.FOLLOW_UP, handler)

    assert _complete(reclamation, handler).state == Step.CONCLUSION
    # Nothing else was sent to the client on the way: no progress update after the final answer.
    assert not reclamation.communications.filter(purpose="progress").exists()


def test_it_refuses_step_7_when_nothing_was_said_to_the_client_since_the_reformulation(handler):
    reclamation = _at_step_7_with_nothing_said_since_step_3(handler)
    assert reclamation.state == Step.FOLLOW_UP

    with pytest.raises(services.StepIncomplete) as refused:
        _complete(reclamation, handler)
    assert str(refused.value) == ("Pour terminer l'étape 7 (Information du suivi), enregistrez au moins un "
                                  "message au réclamant après la reformulation (la réponse argumentée compte).")

    services.reclamation_log_communication(reclamation=reclamation, actor=handler, kind="call",
                                           direction="outbound", purpose="progress", body="Report confirmé.")
    assert _complete(reclamation, handler).state == Step.CONCLUSION


def test_a_message_sent_before_the_reformulation_does_not_count_for_step_7(handler):
    reclamation = ReclamationFactory()
    services.reclamation_log_communication(reclamation=reclamation, actor=handler, kind="call",
                                           direction="outbound", purpose="general", body="Premier appel.",
                                           occurred_at=timezone.now() - timedelta(minutes=5))
    reclamation = _at_step_7_with_nothing_said_since_step_3(handler, reclamation)

    with pytest.raises(services.StepIncomplete, match="au moins un message au réclamant après la reformulation"):
        _complete(reclamation, handler)
