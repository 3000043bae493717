"""Messages to the client: editable starting texts, e-mail through the outbox, the follow-up page."""
from __future__ import annotations

import html
import re

import pytest
from django.core import mail
from django.urls import reverse

from reclamations import services
from reclamations.models import Communication, Event, EventKind, MessageTemplate, Organisation, Reclamation
from reclamations.services import messages
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance

pytestmark = pytest.mark.django_db


def text(response) -> str:
    words = re.sub(r"<[^>]+>", "", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(words))


def reload(reclamation) -> Reclamation:
    return Reclamation.objects.get(pk=reclamation.pk)


# --- Starting texts ------------------------------------------------------------------------------
def test_the_default_text_is_used_until_the_quality_lead_writes_one():
    reclamation = ReclamationFactory()

    subject, body = messages.prefilled_message(reclamation, "progress")

    assert subject == f"Point d'avancement — votre demande {reclamation.reference}"
    assert body.startswith("Bonjour Claire Dupont,")
    assert "« Convocation reçue la veille de la formation »" in body


def test_a_template_edited_in_the_admin_replaces_the_default():
    reclamation = ReclamationFactory()
    MessageTemplate.objects.create(purpose="progress", subject="Suivi {reference}",
                                   body="Madame, Monsieur {nom}, réponse attendue le {date_reponse}. {organisme}")

    subject, body = messages.prefilled_message(reclamation, "progress")

    assert subject == f"Suivi {reclamation.reference}"
    assert body.startswith("Madame, Monsieur Claire Dupont, réponse attendue le ")
    assert body.endswith("Mon organisme de formation")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Bonjour {nom} {inconnu}", "Bonjour Claire Dupont {inconnu}"),
        ("{nom.__class__.__mro__}", "{nom.__class__.__mro__}"),
        ("{nom:>5000}", "Claire Dupont"),
        ("{nom!r}", "Claire Dupont"),
        ("{0} {}", "{0} {}"),
        ("Accolade seule { ici", "Accolade seule { ici"),
    ],
)
def test_placeholders_cannot_read_anything_but_the_five_values(template, expected):
    values = messages.placeholder_values(ReclamationFactory())

    assert messages.fill_placeholders(template, values) == expected


# --- Sending ---------------------------------------------------------------------------------------
def test_a_message_is_a_public_communication_an_event_and_an_email(
    login, handler, bo_post, django_capture_on_commit_callbacks
):
    reclamation = ReclamationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = bo_post(login(handler), reclamation, "message",
                           {"purpose": "information_request", "subject": "Précisions sur votre demande",
                            "body": "Pouvez-vous nous envoyer la convocation reçue ?"})

    assert response.status_code == 302
    communication = reclamation.communications.get(purpose=Communication.Purpose.INFORMATION_REQUEST)
    assert communication.public and communication.direction == "outbound" and communication.kind == "email"
    assert communication.author == handler and communication.email is not None
    event = Event.objects.get(reclamation=reclamation, kind=EventKind.COMMUNICATION,
                              data__communication=communication.pk)
    assert event.actor == handler and event.public
    # The typed subject, with the reference added: a reply finds its record even without our headers.
    sent = [m for m in mail.outbox if m.subject == f"Précisions sur votre demande [{reclamation.reference}]"]
    assert len(sent) == 1 and sent[0].to == ["claire.dupont@example.org"]
    assert "Pouvez-vous nous envoyer la convocation reçue ?" in sent[0].body
    assert f"Référence de votre demande : {reclamation.reference}" in sent[0].body


def test_the_message_appears_on_the_clients_follow_up_page(login, handler, bo_post, client):
    reclamation = ReclamationFactory()

    bo_post(login(handler), reclamation, "message",
            {"purpose": "progress", "subject": "Point d'avancement",
             "body": "Votre nouvelle convocation part cette semaine."})

    page = client.get(reverse("public:follow_up", args=[reclamation.token]))
    assert page.status_code == 200
    assert "Votre nouvelle convocation part cette semaine." in text(page)


def test_without_email_address_the_message_is_recorded_and_the_handler_told(login, handler, bo_post):
    reclamation = ReclamationFactory(complainant_email="", channel="phone")
    client = login(handler)

    response = bo_post(client, reclamation, "message",
                       {"purpose": "progress", "subject": "Point", "body": "Votre dossier avance."})

    assert response.status_code == 302
    communication = reclamation.communications.get(purpose="progress")
    assert communication.kind == "message" and communication.public and communication.email is None
    assert not mail.outbox
    page = text(client.get(response["Location"]))
    assert "n'a pas d'adresse électronique" in page and "par un autre moyen" in page


def test_an_acknowledgement_carries_a_working_follow_up_link_and_counts_once_sent(
    login, handler, bo_post, client, django_capture_on_commit_callbacks
):
    reclamation = ReclamationFactory(channel="email", actor=handler)
    subject, body = messages.prefilled_message(reclamation, "acknowledgement")

    with django_capture_on_commit_callbacks(execute=True):
        bo_post(login(handler), reclamation, "message", {"purpose": "acknowledgement", "subject": subject,
                                                         "body": body})

    assert reload(reclamation).acknowledged_at is not None  # the outbox sent it and recorded it
    email = next(m for m in mail.outbox if m.subject == subject)
    link = re.search(r"https?://\S+/suivi/(\S+)/", email.body)
    assert link is not None
    assert client.get(reverse("public:follow_up", args=[link.group(1)])).status_code == 200


def test_a_message_is_refused_when_empty(login, handler, bo_post):
    reclamation = ReclamationFactory()

    response = bo_post(login(handler), reclamation, "message", {"purpose": "progress", "subject": "", "body": " "})

    assert response.status_code == 200
    assert "Ce formulaire n'a pas été enregistré" in text(response)
    assert not reclamation.communications.exists()


def test_the_argued_answer_is_not_sent_from_the_message_form(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)

    response = bo_post(login(handler), reclamation, "message", {"purpose": "answer", "subject": "R", "body": "B"})

    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in text(response)
    assert reload(reclamation).answered_at is None


def test_a_message_and_its_email_are_saved_together_or_not_at_all(handler, monkeypatch):
    reclamation = ReclamationFactory()
    events = Event.objects.count()

    def broken(**kwargs):
        raise RuntimeError("template missing")

    monkeypatch.setattr(messages.emails, "queue", broken)
    with pytest.raises(RuntimeError):
        services.reclamation_send_message(reclamation=reclamation, actor=handler, purpose="progress",
                                          subject="Point", body="Texte")

    assert not reclamation.communications.exists()
    assert Event.objects.count() == events


def test_the_quality_lead_edits_the_templates_in_the_admin(login, quality_lead, handler):
    lead = login(quality_lead)

    response = lead.post(reverse("admin:reclamations_messagetemplate_add"),
                         {"purpose": "progress", "subject": "Suivi {reference}", "body": "Bonjour {nom},"})

    assert response.status_code == 302
    assert MessageTemplate.objects.get(purpose="progress").subject == "Suivi {reference}"
    assert login(handler).get(reverse("admin:reclamations_messagetemplate_changelist")).status_code in (302, 403)


def test_the_closure_and_answer_emails_state_how_to_escalate_and_others_do_not(
    handler, django_capture_on_commit_callbacks
):
    organisation = Organisation.current()
    organisation.recourse_text = "Vous pouvez saisir notre médiateur : mediation@example.org."
    organisation.save()
    reclamation = ReclamationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        for purpose in ("progress", "closure"):
            messages.reclamation_send_message(reclamation=reclamation, actor=handler, purpose=purpose,
                                              subject=f"Message {purpose}", body="Bonjour.")
        answered = advance(reclamation, Step.ACTION, handler)
        services.reclamation_update(reclamation=answered, actor=handler, changes={
            "decision": "unfavourable", "answer": "Nous ne pouvons pas rembourser."})
        services.reclamation_send_answer(reclamation=answered, actor=handler)

    by_subject = {m.subject: m for m in mail.outbox}
    assert "mediation@example.org" not in by_subject[f"Message progress [{reclamation.reference}]"].body
    assert "mediation@example.org" in by_subject[f"Message closure [{reclamation.reference}]"].body
    answer = next(m for m in mail.outbox if "Nous ne pouvons pas rembourser." in m.body)
    assert "Vos recours :" in answer.body
    assert "mediation@example.org" in answer.alternatives[0][0]


def test_it_does_not_say_the_same_thing_twice_in_the_answer_email(handler, django_capture_on_commit_callbacks):
    reclamation = ReclamationFactory()  # the organisation's recourse text is the default one

    with django_capture_on_commit_callbacks(execute=True):
        answered = advance(reclamation, Step.ACTION, handler)
        services.reclamation_update(reclamation=answered, actor=handler, changes={
            "decision": "unfavourable", "answer": messages.prefilled_message(answered, "answer")[1]})
        services.reclamation_send_answer(reclamation=answered, actor=handler)

    answer = next(m for m in mail.outbox if m.subject.startswith("Réponse à votre demande"))
    for text in (answer.body, html.unescape(answer.alternatives[0][0])):
        assert text.count("ne vous satisfait pas") == 1
        assert "Vos recours" in text
