"""The step forms of the record page: each one valid, each one refused, and completing the steps."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from reclamations import services
from reclamations.models import Communication, Event, EventKind, Reclamation
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, RootCauseCategoryFactory, ServiceFactory, advance, fill_step

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def reload(reclamation) -> Reclamation:
    return Reclamation.objects.get(pk=reclamation.pk)


def complete(client, bo_post, reclamation):
    return bo_post(client, reclamation, "complete_step", prefix="")


# --- Completing a step -------------------------------------------------------------------------------
def test_it_completes_a_step_whose_data_is_there(login, handler, bo_post):
    reclamation = fill_step(advance(ReclamationFactory(), Step.IDENTIFICATION, handler), handler)

    response = complete(login(handler), bo_post, reclamation)

    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:detail", args=[reclamation.pk]) + "#etape"
    assert reload(reclamation).state == Step.REFORMULATION
    event = Event.objects.filter(reclamation=reclamation, kind=EventKind.STEP_COMPLETED).last()
    assert event.actor == handler and event.data["step"] == 2


def test_it_refuses_step_1_without_acknowledgement_and_says_what_is_missing(login, handler, bo_post):
    reclamation = ReclamationFactory(channel="letter", actor=handler)

    response = complete(login(handler), bo_post, reclamation)

    assert response.status_code == 200
    page = text(response)
    assert "L'étape n'est pas terminée." in page
    assert "Pour terminer l'étape 1 (Prise en compte), enregistrez l'accusé de réception envoyé au réclamant." in page
    assert reload(reclamation).state == Step.RECEIVED


def test_it_refuses_step_4_without_action_plan_next_to_the_step_form(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.ACTION_PROPOSAL, handler)

    page = text(complete(login(handler), bo_post, reclamation))

    refusal = page[page.index('id="refus"'):page.index("Enregistrer l'évaluation")]
    assert "une action immédiate pour rechercher la cause" in refusal
    assert "au moins une action corrective ou préventive" in refusal
    assert reload(reclamation).state == Step.ACTION_PROPOSAL


def test_a_stale_page_cannot_complete_the_next_step_by_accident(login, handler, other_handler, bo_post):
    reclamation = fill_step(advance(ReclamationFactory(), Step.IDENTIFICATION, handler), handler)
    first, second = login(handler), login(handler)
    assert complete(first, bo_post, reclamation).status_code == 302

    response = bo_post(second, reclamation, "complete_step", prefix="", expected_state=Step.IDENTIFICATION)

    assert response.status_code == 409
    assert "Cette réclamation a changé entre-temps" in text(response)
    assert reload(reclamation).state == Step.REFORMULATION


def test_every_form_is_refused_when_the_page_is_stale(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.REFORMULATION, handler)

    response = bo_post(login(handler), reclamation, "reformulation", {"reformulation": "Points clés"},
                       expected_state=Step.IDENTIFICATION)

    assert response.status_code == 409
    assert reload(reclamation).reformulation == ""


# --- Step 1 --------------------------------------------------------------------------------------------
def test_it_records_an_acknowledgement_given_by_letter(login, handler, bo_post):
    reclamation = ReclamationFactory(channel="letter", actor=handler, received_at=timezone.now() - timedelta(days=1))
    sent_at = timezone.now() - timedelta(hours=2)

    response = bo_post(login(handler), reclamation, "acknowledgement", {"means": "courrier", "sent_at": local(sent_at)})

    assert response.status_code == 302
    reclamation = reload(reclamation)
    assert reclamation.acknowledged_at is not None
    assert abs(reclamation.acknowledged_at - sent_at) < timedelta(minutes=1)
    event = Event.objects.get(reclamation=reclamation, kind=EventKind.ACKNOWLEDGED)
    assert event.actor == handler and "courrier" in event.summary


def test_it_refuses_an_acknowledgement_dated_in_the_future(login, handler, bo_post):
    reclamation = ReclamationFactory(channel="letter", actor=handler)

    response = bo_post(login(handler), reclamation, "acknowledgement",
                       {"means": "courrier", "sent_at": local(timezone.now() + timedelta(days=1))})

    assert response.status_code == 200
    assert "Cette date est dans le futur" in text(response)
    assert reload(reclamation).acknowledged_at is None


def test_step_1_may_be_declared_sans_objet_with_a_reason_only(login, handler, bo_post):
    reclamation = ReclamationFactory(kind="incident", channel="other", complainant_name="", complainant_email="",
                                     complainant_phone="", actor=handler)
    client = login(handler)

    refused = bo_post(client, reclamation, "not_applicable", {"reason": "  "})
    assert refused.status_code == 200
    assert "Ce champ est obligatoire" in text(refused)
    assert reload(reclamation).not_applicable == {}

    assert bo_post(client, reclamation, "not_applicable", {"reason": "Aléa sans réclamant."}).status_code == 302
    assert reload(reclamation).not_applicable == {"received": "Aléa sans réclamant."}
    assert complete(client, bo_post, reclamation).status_code == 302
    assert reload(reclamation).state == Step.IDENTIFICATION


# --- Step 2 --------------------------------------------------------------------------------------------
def test_a_handler_takes_an_unassigned_record(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.IDENTIFICATION, handler)

    response = bo_post(login(handler), reclamation, "self_assign", prefix="")

    assert response.status_code == 302
    assert reload(reclamation).handler == handler
    assert Event.objects.get(reclamation=reclamation, kind=EventKind.ASSIGNED).actor == handler


def test_a_handler_gives_an_unassigned_record_to_a_colleague(login, handler, other_handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.IDENTIFICATION, handler)

    response = bo_post(login(handler), reclamation, "assign", {"handler": other_handler.pk})

    assert response.status_code == 302
    assert reload(reclamation).handler == other_handler


def test_it_edits_the_complainant_identity_service_and_subject_with_an_event(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(complainant_name="", service=None), Step.IDENTIFICATION, handler)
    service = ServiceFactory(name="Formation intra-entreprise")
    data = {"kind": "complaint", "stakeholder_type": "company", "complainant_name": "Marc Dufour",
            "complainant_role": "Responsable RH", "complainant_organisation": "Logistique Côte d'Opale",
            "complainant_phone": "03 53 01 67 90", "complainant_email": "marc.dufour@example.org",
            "complainant_address": "", "service": service.pk, "training_action": "Gestes et postures",
            "subject": "Formateur absent le deuxième jour"}

    response = bo_post(login(handler), reclamation, "identification", data)

    assert response.status_code == 302
    reclamation = reload(reclamation)
    assert reclamation.complainant_name == "Marc Dufour"
    assert reclamation.service == service
    assert reclamation.subject == "Formateur absent le deuxième jour"
    event = Event.objects.filter(reclamation=reclamation, kind=EventKind.UPDATED).last()
    assert event.actor == handler
    assert event.data["changes"]["complainant_name"] == {"before": "", "after": "Marc Dufour"}


def test_it_refuses_an_identification_with_an_invalid_email_or_no_subject(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.IDENTIFICATION, handler)

    response = bo_post(login(handler), reclamation, "identification",
                       {"kind": "complaint", "complainant_name": "Claire Dupont",
                        "complainant_email": "pas-un-courriel", "subject": ""})

    assert response.status_code == 200
    page = text(response)
    assert "Ce formulaire n'a pas été enregistré" in page
    assert "Saisissez une adresse de courriel valide" in page
    assert reload(reclamation).complainant_email == "claire.dupont@example.org"


def test_step_2_is_refused_until_a_handler_is_named(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.IDENTIFICATION, handler)

    page = text(complete(login(handler), bo_post, reclamation))

    assert "Pour terminer l'étape 2 (Identification), enregistrez le responsable du traitement." in page


# --- Step 3 --------------------------------------------------------------------------------------------
def test_it_records_the_reformulation_and_the_call_back(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.REFORMULATION, handler)
    client = login(handler)

    assert bo_post(client, reclamation, "reformulation",
                   {"reformulation": "Convocation tardive ; report demandé."}).status_code == 302
    refused = complete(client, bo_post, reclamation)
    assert "l'appel au réclamant (ou la raison pour laquelle il n'a pas eu lieu)" in text(refused)

    call = {"kind": "call", "direction": "outbound", "purpose": "general",
            "occurred_at": local(timezone.now() - timedelta(minutes=30)), "duration_minutes": "12",
            "body": "La cliente confirme les faits."}
    assert bo_post(client, reclamation, "communication", call).status_code == 302

    assert complete(client, bo_post, reclamation).status_code == 302
    reclamation = reload(reclamation)
    assert reclamation.state == Step.ACTION_PROPOSAL
    logged = reclamation.communications.get(kind="call")
    assert logged.duration_minutes == 12 and logged.author == handler and not logged.public
    assert Event.objects.filter(reclamation=reclamation, kind=EventKind.COMMUNICATION, actor=handler).exists()


def test_it_refuses_an_empty_reformulation_and_a_call_without_summary(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.REFORMULATION, handler)
    client = login(handler)

    assert "Ce champ est obligatoire" in text(bo_post(client, reclamation, "reformulation", {"reformulation": ""}))
    refused = bo_post(client, reclamation, "communication",
                      {"kind": "call", "direction": "outbound", "purpose": "general",
                       "occurred_at": local(timezone.now()), "body": ""})
    assert refused.status_code == 200
    assert "Résumé" in text(refused)
    assert not reload(reclamation).communications.exists()


def test_a_written_complaint_skips_the_call_only_with_a_reason(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(complainant_phone=""), Step.REFORMULATION, handler)
    services.reclamation_update(reclamation=reclamation, actor=handler, changes={"reformulation": "Points clés."})
    client = login(handler)

    assert bo_post(client, reclamation, "not_applicable", {"reason": "Aucun numéro de téléphone."}).status_code == 302

    assert complete(client, bo_post, reclamation).status_code == 302
    assert reload(reclamation).state == Step.ACTION_PROPOSAL


def test_an_internal_note_is_never_public(login, handler, bo_post):
    reclamation = ReclamationFactory()

    bo_post(login(handler), reclamation, "communication",
            {"kind": "note", "direction": "outbound", "purpose": "general", "occurred_at": local(timezone.now()),
             "body": "À voir avec la direction.", "public": "on"})

    note = reclamation.communications.get()
    assert note.direction == "internal" and not note.public


# --- Step 4 --------------------------------------------------------------------------------------------
def test_the_evaluation_gives_a_priority_shown_as_a_colour_and_a_word(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.ACTION_PROPOSAL, handler)
    client = login(handler)

    response = bo_post(client, reclamation, "evaluation", {"severity": 3, "complexity": 3, "repercussions": 2})

    assert response.status_code == 302
    assert reload(reclamation).priority == "critical"
    page = client.get(reverse("backoffice:detail", args=[reclamation.pk])).content.decode()
    assert '<span class="badge text-bg-danger bo-priority">● Critique</span>' in page


def test_it_refuses_an_incomplete_evaluation(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.ACTION_PROPOSAL, handler)

    response = bo_post(login(handler), reclamation, "evaluation", {"severity": 3, "complexity": 2})

    assert response.status_code == 200
    assert "Ce champ est obligatoire" in text(response)
    assert reload(reclamation).severity is None


# --- Step 6 --------------------------------------------------------------------------------------------
def _at_step_6_with_actions_done(handler):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    for action in reclamation.actions.all():
        services.reclamation_update_action(action=action, actor=handler, changes={"status": "done"})
    return reclamation


ANSWER = {"decision": "partial", "answer": "Nous reportons votre session ; les frais de déplacement restent à "
                                          "votre charge car la convocation était conforme au contrat.",
          "compensation_type": "credit_note", "compensation_description": "Avoir sur la prochaine session",
          "compensation_amount": "120.00", "means": "email"}


def test_it_saves_the_argued_answer_as_a_draft_without_sending_it(login, handler, bo_post):
    reclamation = _at_step_6_with_actions_done(handler)

    response = bo_post(login(handler), reclamation, "answer", ANSWER, send="0")

    assert response.status_code == 302
    reclamation = reload(reclamation)
    assert reclamation.decision == "partial" and str(reclamation.compensation_amount) == "120.00"
    assert reclamation.answered_at is None


def test_the_answer_form_shows_each_saved_draft_at_once(login, handler, bo_post):
    # The form's fields are kept per content (blank_form_tags): a saved change is a new content.
    reclamation = _at_step_6_with_actions_done(handler)
    client = login(handler)
    page = client.get(f"/backoffice/reclamations/{reclamation.pk}/").content.decode()
    assert 'name="answer-compensation_amount"' in page and "120.00" not in page

    for amount, words in (("120.00", "Nous reportons votre session"), ("80.00", "Nouvelle version <b>gras</b>")):
        bo_post(client, reclamation, "answer", {**ANSWER, "answer": words, "compensation_amount": amount}, send="0")
        page = client.get(f"/backoffice/reclamations/{reclamation.pk}/").content.decode()
        assert f'value="{amount}"' in page
        assert html.escape(words, quote=False) in page

    assert "Nous reportons votre session" not in page
    assert "<b>gras</b>" not in page


def test_it_sends_the_argued_answer_by_email_and_completes_step_6(
    login, handler, bo_post, django_capture_on_commit_callbacks
):
    reclamation = _at_step_6_with_actions_done(handler)
    client = login(handler)

    with django_capture_on_commit_callbacks(execute=True):
        response = bo_post(client, reclamation, "answer", ANSWER, send="1")

    assert response.status_code == 302
    reclamation = reload(reclamation)
    assert reclamation.answered_at is not None
    answer = reclamation.communications.get(purpose=Communication.Purpose.ANSWER)
    assert answer.public and answer.email is not None
    sent = [m for m in mail.outbox if m.to == ["claire.dupont@example.org"] and reclamation.reference in m.subject]
    assert len(sent) == 1
    assert "Nous reportons votre session" in sent[0].body
    assert "Décision : Partiellement favorable" in sent[0].body
    assert "Dédommagement : Avoir — Avoir sur la prochaine session (120,00 €)" in sent[0].body
    assert complete(client, bo_post, reclamation).status_code == 302
    # Step 7 asks for a message to the client after step 3: the answer is one, so it completed too.
    assert reload(reclamation).state == Step.CONCLUSION
    assert reclamation.events.filter(summary__startswith="Étape 7 terminée automatiquement").exists()


def test_it_refuses_to_send_an_answer_without_decision(login, handler, bo_post):
    reclamation = _at_step_6_with_actions_done(handler)

    response = bo_post(login(handler), reclamation, "answer", {**ANSWER, "decision": ""}, send="1")

    assert response.status_code == 200
    assert "Renseignez la décision et la réponse argumentée avant de l'envoyer." in text(response)
    assert reload(reclamation).answered_at is None


def test_an_answer_given_by_letter_is_recorded_with_its_date_and_not_emailed(login, handler, bo_post):
    with time_machine.travel(timezone.now() - timedelta(hours=5)):  # acknowledged before the answer was given
        reclamation = _at_step_6_with_actions_done(handler)
    client = login(handler)

    missing_date = bo_post(client, reclamation, "answer", {**ANSWER, "means": "letter"}, send="1")
    assert "Indiquez quand la réponse a été remise." in text(missing_date)

    given = timezone.now() - timedelta(hours=3)
    assert bo_post(client, reclamation, "answer", {**ANSWER, "means": "letter", "sent_at": local(given)},
                   send="1").status_code == 302
    answer = reload(reclamation).communications.get(purpose=Communication.Purpose.ANSWER)
    assert answer.kind == "letter" and answer.email is None


def test_step_6_is_refused_while_actions_are_not_done(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)

    page = text(complete(login(handler), bo_post, reclamation))

    assert "la réalisation de toutes les actions du plan" in page


# --- Step 7 --------------------------------------------------------------------------------------------
def _answered_by_hand(handler) -> Reclamation:
    """At step 7 with no message to the client since step 3: step 6's answer was given in person.
    Handled an hour ago, so that an exchange logged now (to the minute) comes after step 3."""
    with time_machine.travel(timezone.now() - timedelta(hours=1)):
        reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
        for action in reclamation.actions.all():
            services.reclamation_update_action(action=action, actor=handler, changes={"status": "done"})
        services.reclamation_mark_not_applicable(reclamation=reclamation, actor=handler, step=Step.ACTION,
                                                 reason="Réponse remise en main propre.")
        services.reclamation_update(reclamation=reclamation, actor=handler, changes={"answer": "Session reportée."})
        return services.reclamation_complete_step(reclamation=reclamation, actor=handler,
                                                  expected_state=Step.ACTION)


def test_the_answer_sent_at_step_6_completes_step_7_without_another_email(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.FOLLOW_UP, handler)
    mail.outbox.clear()

    assert complete(login(handler), bo_post, reclamation).status_code == 302

    assert reload(reclamation).state == Step.CONCLUSION
    assert mail.outbox == []  # completing step 7 sends the client nothing


def test_a_progress_update_sent_from_the_page_completes_step_7(login, handler, bo_post):
    reclamation = _answered_by_hand(handler)
    client = login(handler)
    refusal = text(complete(client, bo_post, reclamation))
    assert "au moins un message au réclamant après la reformulation (la réponse argumentée compte)" in refusal

    response = bo_post(client, reclamation, "message",
                       {"purpose": "progress", "subject": "Point d'avancement", "body": "Votre avoir est émis."})

    assert response.status_code == 302
    assert complete(client, bo_post, reclamation).status_code == 302
    assert reload(reclamation).state == Step.CONCLUSION


def test_a_progress_update_given_by_phone_counts_for_step_7(login, handler, bo_post):
    reclamation = _answered_by_hand(handler)
    client = login(handler)

    bo_post(client, reclamation, "communication",
            {"kind": "call", "direction": "outbound", "purpose": "progress", "occurred_at": local(timezone.now()),
             "duration_minutes": "5", "body": "Avoir en cours d'émission."})

    assert complete(client, bo_post, reclamation).status_code == 302
    assert reload(reclamation).state == Step.CONCLUSION


# --- Step 8 --------------------------------------------------------------------------------------------
def test_it_records_the_conclusion_with_a_root_cause_category(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.CONCLUSION, handler)
    category = RootCauseCategoryFactory(name="Communication")
    client = login(handler)

    response = bo_post(client, reclamation, "conclusion",
                       {"conclusion": "Report accordé.", "root_cause_category": category.pk,
                        "root_cause_analysis": "Envoi manuel des convocations.",
                        "complementary_offer": "Module e-learning offert."})

    assert response.status_code == 302
    reclamation = reload(reclamation)
    assert reclamation.root_cause_category == category
    assert reclamation.complementary_offer == "Module e-learning offert."
    assert complete(client, bo_post, reclamation).status_code == 302


def test_it_refuses_a_conclusion_without_root_cause_and_offers_only_active_categories(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.CONCLUSION, handler)
    retired = RootCauseCategoryFactory(name="Ancienne catégorie", active=False)
    client = login(handler)

    response = bo_post(client, reclamation, "conclusion",
                       {"conclusion": "Fait.", "root_cause_category": retired.pk, "root_cause_analysis": ""})

    assert response.status_code == 200
    page = text(response)
    assert "Sélectionnez un choix valide" in page
    assert reload(reclamation).conclusion == ""


# --- Step 9 --------------------------------------------------------------------------------------------
def test_feedback_received_by_phone_closes_the_record(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.FEEDBACK, handler)
    client = login(handler)

    response = bo_post(client, reclamation, "feedback", {"satisfaction": "4", "comment": "Merci, c'est réglé."})

    assert response.status_code == 302
    reclamation = reload(reclamation)
    assert reclamation.feedback_satisfaction == 4 and reclamation.feedback_comment == "Merci, c'est réglé."
    assert Event.objects.filter(reclamation=reclamation, actor=handler, summary__contains="4/5").exists()
    # The feedback was all step 9 asked for: the record closed by itself, and the history says so.
    assert reclamation.state == Step.CLOSED
    assert reclamation.events.filter(summary="Étape 9 terminée automatiquement : avis du client recueilli.").exists()


def test_it_refuses_a_feedback_without_a_satisfaction_score(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.FEEDBACK, handler)

    response = bo_post(login(handler), reclamation, "feedback", {"satisfaction": "9"})

    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in text(response)
    assert reload(reclamation).feedback_received_at is None


def test_step_9_may_be_declared_sans_objet(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.FEEDBACK, handler)
    client = login(handler)

    bo_post(client, reclamation, "not_applicable", {"reason": "Le client ne souhaite plus être contacté."})

    assert complete(client, bo_post, reclamation).status_code == 302
    assert reload(reclamation).state == Step.CLOSED


# --- Discard, reopen, reception date ---------------------------------------------------------------------
def test_it_discards_with_a_reason_and_refuses_without(login, handler, bo_post):
    reclamation = ReclamationFactory()
    client = login(handler)

    assert "Ce champ est obligatoire" in text(bo_post(client, reclamation, "discard", {"reason": ""}))
    assert reload(reclamation).state == Step.RECEIVED

    assert bo_post(client, reclamation, "discard", {"reason": "Doublon de R-2026-0001"}).status_code == 302
    reclamation = reload(reclamation)
    assert reclamation.state == Step.DISCARDED
    assert Event.objects.get(reclamation=reclamation, kind=EventKind.DISCARDED).actor == handler


def test_it_reopens_a_closed_record_at_the_chosen_step(login, handler, quality_lead, bo_post):
    reclamation = advance(ReclamationFactory(), Step.CLOSED, handler)
    client = login(quality_lead)

    assert "Ce champ est obligatoire" in text(bo_post(client, reclamation, "reopen", {"step": "action_proposal"}))

    response = bo_post(client, reclamation, "reopen", {"step": "action_proposal", "reason": "Le problème persiste."})

    assert response.status_code == 302
    assert reload(reclamation).state == Step.ACTION_PROPOSAL
    assert Event.objects.get(reclamation=reclamation, kind=EventKind.REOPENED).actor == quality_lead


def test_it_corrects_the_reception_date_and_recomputes_the_deadlines(login, handler, bo_post):
    reclamation = ReclamationFactory()
    before = reclamation.answer_due_at
    client = login(handler)
    earlier = timezone.now() - timedelta(days=3)

    refused = bo_post(client, reclamation, "received_at",
                      {"received_at": local(timezone.now() + timedelta(days=1)), "reason": "Erreur de saisie"})
    assert "Cette date est dans le futur" in text(refused)

    response = bo_post(client, reclamation, "received_at",
                       {"received_at": local(earlier), "reason": "Courrier daté du cachet de la poste"})

    assert response.status_code == 302
    reclamation = reload(reclamation)
    assert reclamation.answer_due_at < before
    assert Event.objects.get(reclamation=reclamation, kind=EventKind.DEADLINES_RECOMPUTED).actor == handler


def test_a_form_posted_to_a_closed_record_is_refused_with_the_services_message(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.CLOSED, handler)

    response = bo_post(login(handler), reclamation, "reformulation", {"reformulation": "Nouveau texte"})

    assert response.status_code == 200
    assert "seul le responsable qualité peut la rouvrir pour la modifier" in text(response)


def test_a_refused_sending_leaves_the_answer_as_it_was(login, handler, bo_post):
    reclamation = _at_step_6_with_actions_done(handler)

    response = bo_post(login(handler), reclamation, "answer", {**ANSWER, "decision": ""}, send="1")

    assert "Renseignez la décision et la réponse argumentée avant de l'envoyer." in text(response)
    assert reload(reclamation).answer == ""  # typed text stays in the form on the page, not half-saved
    assert ANSWER["answer"].split()[0] in text(response)


def test_an_answer_dated_in_year_one_is_refused_in_french(login, handler, bo_post):
    reclamation = _at_step_6_with_actions_done(handler)

    response = bo_post(login(handler), reclamation, "answer",
                       {**ANSWER, "means": "letter", "sent_at": "0001-01-01T00:30"}, send="1")

    assert response.status_code == 200
    assert "Cette date est trop ancienne : vérifiez l'année." in text(response)
    assert reload(reclamation).answered_at is None
