"""The satisfaction survey on the handling (step 9): sent when step 8 completes, answered from its own
link (the record closes), reminded once, expired with "pas de réponse"; wrong or expired links 404."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.template import Context, Template
from django.test import Client
from django.urls import reverse

from reclamations import services, tasks, tokens
from reclamations.facts import fact_value
from reclamations.forms.backoffice import FeedbackForm
from reclamations.forms.survey import SurveyForm
from reclamations.models import Communication, Event, EventKind, Organisation, Reclamation
from reclamations.services import survey
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance, fill_step

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
SURVEY_LINK = re.compile(r"/enquete/([A-Za-z0-9_-]+)/")
ANSWERS = {"satisfaction": "4", "solved": "partly", "answer_clear": "oui", "delay_acceptable": "non",
           "comment": "Réponse claire, mais il a fallu relancer."}


def _survey_mails(address: str = "claire.dupont@example.org") -> list:
    return [m for m in mail.outbox if m.to == [address] and "votre avis" in m.subject.lower()]


def _token(message) -> str:
    return SURVEY_LINK.search(message.body).group(1)


@pytest.fixture
def at_conclusion(handler):
    """A record in step 8 with everything recorded: completing the step sends the survey."""
    reclamation = advance(ReclamationFactory(), Step.CONCLUSION, handler)
    return fill_step(reclamation, handler)


@pytest.fixture
def surveyed(at_conclusion, handler, django_capture_on_commit_callbacks):
    """The survey went out at T0; ``.token`` is the link's token, taken from the e-mail."""
    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.reclamation_complete_step(reclamation=at_conclusion, actor=handler, expected_state=Step.CONCLUSION)
    reclamation = Reclamation.objects.get(pk=at_conclusion.pk)
    reclamation.token = _token(_survey_mails()[-1])
    return reclamation


def _answer(client: Client, token: str, **overrides):
    return client.post(reverse("survey:answer", args=[token]), {**ANSWERS, **overrides})


# --- Sending -------------------------------------------------------------------------------------
def test_completing_step_8_sends_the_survey_on_its_own_link(organisation_with_recourse, surveyed):
    (message,) = _survey_mails()
    assert message.subject == f"Votre avis sur le traitement de votre demande {surveyed.reference}"
    assert f"http://127.0.0.1:8000/enquete/{surveyed.token}/" in message.body
    assert "valable jusqu'au 9 avril 2026" in message.body
    assert "Médiateur de test" in message.body  # the recourse text is in the invitation
    assert surveyed.state == Step.FEEDBACK
    assert surveyed.feedback_requested_at == T0
    assert surveyed.survey_expires_at == T0 + timedelta(days=30)
    assert surveyed.survey_token_hash == tokens.hash_token(surveyed.token) != surveyed.token_hash
    communication = Communication.objects.get(reclamation=surveyed, subject=message.subject)
    assert communication.public and communication.direction == "outbound" and communication.email_id
    assert surveyed.token not in communication.body  # the timeline never shows the secret link
    event = Event.objects.get(reclamation=surveyed, kind=EventKind.SURVEY)
    assert event.public and event.summary == (
        "Enquête de satisfaction envoyée au réclamant (réponse possible jusqu'au 09/04/2026).")


@pytest.fixture
def organisation_with_recourse(db):
    organisation = Organisation.current()
    organisation.recourse_text = "Médiateur de test : mediateur@example.org"
    organisation.save()
    return organisation


def test_the_survey_lasts_the_days_set_by_the_quality_lead(at_conclusion, handler):
    organisation = Organisation.current()
    organisation.survey_days = 10
    organisation.save()
    with time_machine.travel(T0, tick=False):
        services.reclamation_complete_step(reclamation=at_conclusion, actor=handler, expected_state=Step.CONCLUSION)

    at_conclusion.refresh_from_db()
    assert at_conclusion.survey_expires_at == T0 + timedelta(days=10)


def test_without_an_email_address_nothing_is_sent_and_the_handler_is_told(handler):
    reclamation = advance(ReclamationFactory(complainant_email=""), Step.CONCLUSION, handler)
    reclamation = fill_step(reclamation, handler)
    outbox_before = len(mail.outbox)

    reclamation = services.reclamation_complete_step(reclamation=reclamation, actor=handler,
                                                     expected_state=Step.CONCLUSION)

    assert reclamation.state == Step.FEEDBACK
    assert reclamation.survey_token_hash is None and reclamation.survey_expires_at is None
    assert len(mail.outbox) == outbox_before
    event = Event.objects.get(reclamation=reclamation, kind=EventKind.SURVEY)
    assert "pas d'adresse électronique" in event.summary and "sans objet" in event.summary
    with time_machine.travel(datetime(2027, 1, 1, tzinfo=UTC)):
        assert survey.survey_expire() == 0  # never closed as "no answer" without having asked


# --- Answering -----------------------------------------------------------------------------------
def test_the_client_answers_and_the_record_closes(surveyed, client):
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        page = client.get(reverse("survey:answer", args=[surveyed.token]))
        assert page.status_code == 200
        assert "no-store" in page["Cache-Control"] and page["Referrer-Policy"] == "same-origin"
        assert "Votre problème est-il résolu ?" in page.content.decode()

        response = _answer(client, surveyed.token)

    assert response.status_code == 302 and response["Location"] == f"/enquete/{surveyed.token}/"
    surveyed.refresh_from_db()
    assert surveyed.state == Step.CLOSED
    assert surveyed.closed_at == T0 + timedelta(days=2)
    assert (surveyed.feedback_satisfaction, surveyed.feedback_solved) == (4, "partly")
    assert surveyed.feedback_answer_clear is True and surveyed.feedback_delay_acceptable is False
    assert surveyed.feedback_comment == "Réponse claire, mais il a fallu relancer."
    feedback = Event.objects.get(reclamation=surveyed, kind=EventKind.FEEDBACK)
    assert feedback.actor_label == "Client (enquête)" and feedback.public
    assert feedback.summary == ("Avis du client reçu (satisfaction 4/5, problème résolu : en partie, "
                                "réponse claire : oui, délai acceptable : non).")
    closing = Event.objects.filter(reclamation=surveyed, kind=EventKind.STEP_COMPLETED).last()
    assert closing.data == {"from": "feedback", "to": "closed", "step": 9, "automatic": True,
                            "facts": {"state": "closed", "closed_at": fact_value(surveyed.closed_at)}}
    assert closing.summary == "Étape 9 terminée automatiquement : avis du client recueilli."


def test_after_answering_the_link_says_thank_you_and_cannot_answer_twice(surveyed, client):
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        _answer(client, surveyed.token)
        again = client.get(reverse("survey:answer", args=[surveyed.token]))
        second = _answer(client, surveyed.token, satisfaction="1")

    assert again.status_code == 200 and "Merci pour votre avis" in again.content.decode()
    assert again["Referrer-Policy"] == "no-referrer"
    assert second.status_code == 200  # the thank-you page again, nothing recorded
    surveyed.refresh_from_db()
    assert surveyed.feedback_satisfaction == 4
    assert Event.objects.filter(reclamation=surveyed, kind=EventKind.FEEDBACK).count() == 1


def test_it_tells_the_client_how_to_escalate_without_mentioning_a_courriel_on_the_thank_you_page(surveyed, client):
    organisation = Organisation.current()
    organisation.contact_email = "qualite@example.org"
    organisation.save()  # the recourse text is the default one, written for e-mails
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        _answer(client, surveyed.token)
        page = client.get(reverse("survey:answer", args=[surveyed.token])).content.decode()

    assert "Merci pour votre avis" in page
    assert "demander un réexamen par la direction en nous écrivant à qualite@example.org" in page
    assert "courriel" not in page


def test_an_incomplete_answer_is_refused_with_the_questions_to_fix(surveyed, client):
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        response = _answer(client, surveyed.token, satisfaction="9", solved="")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Votre avis n'a pas encore été envoyé" in page
    assert "Choisissez une note de 1 à 5." in page and "Indiquez si votre problème est résolu." in page
    assert 'href="#id_satisfaction_0"' in page  # the summary links to the radio group
    surveyed.refresh_from_db()
    assert surveyed.state == Step.FEEDBACK and surveyed.feedback_received_at is None


@pytest.mark.parametrize("token", ["x" * 43, "court", "a" * 300])
def test_a_wrong_survey_link_gets_the_ordinary_404_page(surveyed, client, token):
    unknown = client.get("/adresse-qui-n-existe-pas/")

    response = client.get(f"/enquete/{token}/")

    assert response.status_code == 404
    assert response.content == unknown.content


def test_an_expired_survey_link_gets_the_ordinary_404_page(surveyed, client):
    with time_machine.travel(T0 + timedelta(days=30), tick=False):
        response = client.get(reverse("survey:answer", args=[surveyed.token]))
        post = _answer(client, surveyed.token)

    assert response.status_code == 404 and post.status_code == 404
    surveyed.refresh_from_db()
    assert surveyed.feedback_received_at is None


def test_the_survey_form_needs_its_csrf_token(surveyed):
    strict = Client(enforce_csrf_checks=True)
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        response = strict.post(reverse("survey:answer", args=[surveyed.token]), ANSWERS)

    assert response.status_code == 403
    surveyed.refresh_from_db()
    assert surveyed.state == Step.FEEDBACK


def test_answers_are_rate_limited_per_address(surveyed, client, settings):
    settings.SURVEY_RATE_LIMIT = "2/10m"
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        codes = [_answer(client, surveyed.token, satisfaction="").status_code for _ in range(3)]

    assert codes == [200, 200, 429]


# --- Reminder and expiry (run by the SLA sweep) --------------------------------------------------
def test_the_client_is_reminded_once_after_seven_days_with_the_same_link(surveyed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert survey.survey_send_reminders(T0 + timedelta(days=7, minutes=-1)) == 0
        assert survey.survey_send_reminders(T0 + timedelta(days=7)) == 1
        assert survey.survey_send_reminders(T0 + timedelta(days=8)) == 0

    _invitation, reminder = _survey_mails()
    assert reminder.subject == f"Rappel : votre avis sur le traitement de votre demande {surveyed.reference}"
    assert _token(reminder) == surveyed.token  # the first e-mail's link still works, and this one too
    assert "Ceci est notre seule relance." in reminder.body
    event = Event.objects.get(reclamation=surveyed, kind=EventKind.REMINDER)
    assert event.public and event.data["reminder"] == "survey" and event.data["with_link"] is True


def test_the_reminder_waits_the_days_set_by_the_quality_lead(surveyed):
    organisation = Organisation.current()
    organisation.survey_reminder_days = 3
    organisation.save()

    assert survey.survey_send_reminders(T0 + timedelta(days=3)) == 1


def test_after_a_secret_key_change_the_reminder_goes_without_a_link(surveyed, settings,
                                                                    django_capture_on_commit_callbacks):
    settings.SECRET_KEY = "une-autre-cle-" + "x" * 40
    with django_capture_on_commit_callbacks(execute=True):
        assert survey.survey_send_reminders(T0 + timedelta(days=7)) == 1

    reminder = _survey_mails()[-1]
    assert not SURVEY_LINK.search(reminder.body)
    assert "utilisez le lien personnel reçu dans notre premier courriel" in reminder.body


def test_an_answered_survey_is_neither_reminded_nor_expired(surveyed, client):
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        _answer(client, surveyed.token)

    assert survey.survey_send_reminders(T0 + timedelta(days=8)) == 0
    assert survey.survey_expire(T0 + timedelta(days=31)) == 0


def test_a_survey_that_runs_out_records_no_answer_and_closes_the_record(surveyed, client):
    assert survey.survey_expire(T0 + timedelta(days=30, minutes=-1)) == 0

    with time_machine.travel(T0 + timedelta(days=30, minutes=1), tick=False):
        assert survey.survey_expire() == 1
        assert survey.survey_expire() == 0  # once
        gone = client.get(reverse("survey:answer", args=[surveyed.token]))

    surveyed.refresh_from_db()
    assert surveyed.state == Step.CLOSED and surveyed.feedback_no_answer
    assert surveyed.feedback_received_at is None
    event = Event.objects.get(reclamation=surveyed, kind=EventKind.FEEDBACK)
    assert event.summary == "Enquête de satisfaction : pas de réponse dans le délai (fin de l'enquête le 09/04/2026)."
    assert gone.status_code == 404


def test_a_reopened_record_gets_a_new_survey_and_the_old_link_stops(surveyed, client, handler, quality_lead,
                                                                   django_capture_on_commit_callbacks):
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        _answer(client, surveyed.token)
    reclamation = services.reclamation_reopen(reclamation=Reclamation.objects.get(pk=surveyed.pk), actor=quality_lead,
                                              reason="Le problème est revenu.", step=Step.CONCLUSION)
    with time_machine.travel(T0 + timedelta(days=5), tick=False), django_capture_on_commit_callbacks(execute=True):
        services.reclamation_complete_step(reclamation=reclamation, actor=handler, expected_state=Step.CONCLUSION)

    reclamation.refresh_from_db()
    assert reclamation.state == Step.FEEDBACK
    assert reclamation.feedback_requested_at == T0 + timedelta(days=5)
    assert client.get(reverse("survey:answer", args=[surveyed.token])).status_code == 404
    new_token = _token(_survey_mails()[-1])
    with time_machine.travel(T0 + timedelta(days=6), tick=False):
        assert client.get(reverse("survey:answer", args=[new_token])).status_code == 200


# --- The recourse text, for every e-mail that needs it --------------------------------------------
def test_the_recourse_tag_gives_the_configured_text_escaped(organisation_with_recourse):
    organisation_with_recourse.recourse_text = "Médiateur <b>Dupont</b>"
    organisation_with_recourse.save()

    rendered = Template("{% load quality_tags %}{% recourse_text %}").render(Context({}))

    assert rendered == "Médiateur &lt;b&gt;Dupont&lt;/b&gt;"


def test_the_handler_reads_every_answer_on_the_record_page(surveyed, client, handler):
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        _answer(client, surveyed.token)
    staff = Client()
    staff.force_login(handler)

    page = staff.get(reverse("backoffice:detail", args=[surveyed.pk])).content.decode()

    assert ("4/5 · problème résolu : en partie · réponse claire : oui · délai acceptable : non" in page)
    assert "« Réponse claire, mais il a fallu relancer. »" in page


# --- Closure -------------------------------------------------------------------------------------
def _closure_mails(reference: str) -> list:
    return [m for m in mail.outbox if m.subject == f"Clôture de votre demande {reference}"]


def test_answering_closes_the_record_and_the_client_is_told_how_to_escalate(
    organisation_with_recourse, surveyed, client
):
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        _answer(client, surveyed.token)
    tasks.send_outbox()

    (message,) = _closure_mails(surveyed.reference)
    assert message.to == ["claire.dupont@example.org"]
    assert "votre dossier est clos" in message.body
    assert "Merci d'avoir répondu à notre enquête de satisfaction" in message.body
    assert "Vos recours :\nMédiateur de test : mediateur@example.org" in message.body
    html = message.alternatives[0][0]
    assert "Médiateur de test : mediateur@example.org" in html
    closure = Communication.objects.get(reclamation=surveyed, purpose=Communication.Purpose.CLOSURE)
    assert closure.public and closure.email_id  # on the follow-up page and the record's timeline


def test_a_survey_that_runs_out_closes_with_a_closure_email_that_says_so(organisation_with_recourse, surveyed):
    with time_machine.travel(T0 + timedelta(days=30, minutes=1), tick=False):
        survey.survey_expire()
        survey.survey_expire()
    tasks.send_outbox()

    (message,) = _closure_mails(surveyed.reference)
    assert "Nous n'avons pas reçu de réponse à notre enquête de satisfaction" in message.body
    assert "Médiateur de test" in message.body


def test_no_second_closure_email_when_the_handler_already_sent_one(surveyed, client, handler):
    services.reclamation_send_message(reclamation=surveyed, actor=handler, purpose=Communication.Purpose.CLOSURE,
                                      subject="Votre dossier est clos", body="Merci, nous clôturons le dossier.")
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        _answer(client, surveyed.token)
    tasks.send_outbox()

    assert _closure_mails(surveyed.reference) == []
    assert [m.subject for m in mail.outbox].count(f"Votre dossier est clos [{surveyed.reference}]") == 1


def test_it_lists_the_satisfaction_scale_in_the_same_order_for_the_client_and_the_handler():
    client_scale = [label for _value, label in SurveyForm().fields["satisfaction"].choices]
    handler_scale = [label for _value, label in FeedbackForm().fields["satisfaction"].choices]

    assert handler_scale == client_scale
    assert client_scale[0].startswith("1 — Pas du tout satisfait")
