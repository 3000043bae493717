"""The e-mails a Contact submission causes: the acknowledgement (queued with the record, counted as
done only once actually sent) and the notice to the quality lead(s) and the handlers on duty."""
from __future__ import annotations

import re
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from post_office.models import STATUS, Email

from reclamations import services, uploads
from reclamations.models import Communication, Event, EventKind, Organisation, Reclamation, StaffProfile
from tests.factories import ServiceFactory, UserFactory, contact_form_data, upload

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror="alert(1)"><a href="javascript:alert(2)">clic</a>'


class RefusingBackend(BaseEmailBackend):
    """An SMTP server that is down."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture
def organisation():
    organisation = Organisation.current()
    organisation.name = "SECURICONSULT"
    organisation.contact_email = "admin@securiconsult.fr"
    organisation.phone = "06 76 16 35 60"
    organisation.save()
    return organisation


def submit(**overrides):
    """What the Contact view does with a valid form."""
    data = contact_form_data(service=ServiceFactory(name="Formation inter-entreprises"), **overrides)
    for robot_field in ("website", "started"):
        data.pop(robot_field)
    data["consent"] = True
    files = data.pop("attachments", [])
    return services.reclamation_submit_contact(uploads=uploads.check_uploads(files), **data)


def html_of(message) -> str:
    (html, mimetype), = message.alternatives
    assert mimetype == "text/html"
    return html


def to(address: str) -> list:
    return [m for m in mail.outbox if m.to == [address]]


# --- The acknowledgement ----------------------------------------------------------------------------
def test_the_acknowledgement_is_queued_with_the_record_and_sent_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        created = submit()
        reclamation = created.reclamation

        # In the outbox, in the record's transaction; nothing has left yet.
        communication = Communication.objects.get(reclamation=reclamation,
                                                  purpose=Communication.Purpose.ACKNOWLEDGEMENT)
        assert (communication.kind, communication.direction, communication.public) == ("email", "outbound", True)
        assert communication.email.status == STATUS.queued
        assert communication.email.to == ["claire.dupont@example.org"]
        assert mail.outbox == []
        # Not done at submission: only the sending counts.
        assert Reclamation.objects.get(pk=reclamation.pk).acknowledged_at is None
        assert not Event.objects.filter(reclamation=reclamation, kind=EventKind.ACKNOWLEDGED).exists()
        assert Event.objects.filter(reclamation=reclamation, kind=EventKind.EMAIL_QUEUED).exists()
    assert callbacks

    for callback in callbacks:
        callback()

    communication.email.refresh_from_db()
    assert communication.email.status == STATUS.sent
    assert len(to("claire.dupont@example.org")) == 1
    reclamation.refresh_from_db()
    assert reclamation.acknowledged_at == communication.email.last_updated
    event = Event.objects.get(reclamation=reclamation, kind=EventKind.ACKNOWLEDGED)
    assert event.public
    assert event.data["sent_at"] is not None


def test_an_acknowledgement_that_cannot_be_sent_is_not_counted_as_done(settings, django_capture_on_commit_callbacks):
    settings.POST_OFFICE = {**settings.POST_OFFICE, "BACKENDS": {"default": f"{__name__}.RefusingBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        reclamation = submit().reclamation

    reclamation.refresh_from_db()
    assert reclamation.acknowledged_at is None
    assert not Event.objects.filter(reclamation=reclamation, kind=EventKind.ACKNOWLEDGED).exists()
    email = Communication.objects.get(reclamation=reclamation, purpose="acknowledgement").email
    assert email.status != STATUS.sent


def test_the_acknowledgement_says_what_was_received_what_comes_next_and_how_to_follow(
        client, organisation, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = submit(attachments=[upload("convocation.pdf")])
    reclamation = created.reclamation
    message, = to("claire.dupont@example.org")
    html = html_of(message)

    assert message.subject == f"Accusé de réception de votre réclamation {reclamation.reference}"
    assert message.from_email == "Réclamations <reclamations@localhost>"
    for body in (message.body, html):
        assert "Bonjour Claire Dupont" in body
        assert reclamation.reference in body
        assert "Convocation reçue la veille de la formation" in body
        assert "La convocation est arrivée trop tard" in body
        assert "Un report de ma session sans frais." in body
        assert "Formation inter-entreprises" in body
        assert "convocation.pdf" in body
        assert "Le responsable du traitement prend contact avec vous" in body
        assert "réponse argumentée au plus tard le" in body
        assert "admin@securiconsult.fr" in body and "06 76 16 35 60" in body
    link = f"http://127.0.0.1:8000/suivi/{created.token}/"
    assert link in message.body
    assert f'href="{link}"' in html
    assert client.get(link.removeprefix("http://127.0.0.1:8000")).status_code == 200
    # The copy kept on the record has the text, not the secret link.
    kept = Communication.objects.get(reclamation=reclamation, purpose="acknowledgement")
    assert created.token not in kept.body and "[lien de suivi personnel]" in kept.body
    assert kept.subject == message.subject


def test_hostile_text_is_inert_in_both_email_bodies(quality_lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit(complainant_name='Claire <b onmouseover="alert(0)">', subject="<script>alert('objet')</script>",
               description=HOSTILE, wished_solution=HOSTILE, training_action='<a href="javascript:x()">SST</a>')

    client_message, = to("claire.dupont@example.org")
    staff_message, = to(quality_lead.email)
    for html in (html_of(client_message), html_of(staff_message)):
        assert "<script" not in html
        assert "<img" not in html
        assert 'href="javascript:' not in html
        assert "onmouseover=\"" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html_of(client_message)
    assert "&lt;a href=&quot;javascript:x()&quot;&gt;SST&lt;/a&gt;" in html_of(client_message)
    assert "&lt;script&gt;alert(&#x27;objet&#x27;)&lt;/script&gt;" in html_of(staff_message)
    # The plain-text part is shown as text by every mail reader: the words are kept as typed.
    assert HOSTILE in client_message.body
    assert client_message.content_subtype == "plain"


def test_a_line_break_never_reaches_a_subject_line(quality_lead, django_capture_on_commit_callbacks):
    # The form refuses it; the e-mails do not rely on that.
    with django_capture_on_commit_callbacks(execute=True):
        submit(subject="Objet\r\nBcc: victime@example.org")

    for message in mail.outbox:
        assert "\n" not in message.subject and "\r" not in message.subject
        assert "victime@example.org" not in message.to + message.cc + message.bcc


# --- The notice to staff ----------------------------------------------------------------------------
def test_the_quality_leads_and_the_handlers_on_duty_are_told_of_a_new_record(
        quality_lead, handler, other_handler, django_capture_on_commit_callbacks):
    StaffProfile.objects.create(user=handler, on_duty=True)
    StaffProfile.objects.create(user=other_handler, on_duty=False)  # off duty
    no_profile = UserFactory(role="handler", username="remplacant")  # on duty by default
    UserFactory(role="handler", username="parti", is_active=False)
    UserFactory(username="stagiaire-staff")  # staff without the handler permission

    with django_capture_on_commit_callbacks(execute=True):
        created = submit()
    reclamation = created.reclamation

    told = sorted(m.to[0] for m in mail.outbox if m.to != ["claire.dupont@example.org"])
    assert told == sorted([quality_lead.email, handler.email, no_profile.email])
    message, = to(handler.email)
    html = html_of(message)
    assert message.subject == (
        f"Nouvelle réclamation {reclamation.reference} : Convocation reçue la veille de la formation")
    for body in (message.body, html):
        assert reclamation.reference in body
        assert "Réclamation" in body
        assert "Convocation reçue la veille de la formation" in body
        assert f"http://127.0.0.1:8000/backoffice/reclamations/{reclamation.pk}/" in body
        assert created.token not in body
        assert "/suivi/" not in body
    event = Event.objects.get(reclamation=reclamation, kind=EventKind.EMAIL_QUEUED,
                              data__template="new_reclamation_staff")
    assert not event.public
    assert len(event.data["emails"]) == 3


def test_with_no_staff_yet_the_notice_goes_to_the_organisation_address(organisation,
                                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit()

    assert [m.subject.startswith("Nouvelle réclamation") for m in to("admin@securiconsult.fr")] == [True]


def test_a_rejected_submission_queues_no_email(client, quality_lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/contact/", contact_form_data(service=ServiceFactory().pk, website="http://robot.example"))
        client.post("/contact/", contact_form_data(service=ServiceFactory().pk, consent=None))

    assert Email.objects.count() == 0
    assert mail.outbox == []


def test_the_contact_page_sends_both_emails(client, quality_lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/contact/", contact_form_data(service=ServiceFactory().pk))

    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == sorted(["claire.dupont@example.org", quality_lead.email])
    reference = Reclamation.objects.get().reference
    assert all(reference in m.subject for m in mail.outbox)
    assert re.search(r"/suivi/[A-Za-z0-9_-]{43}/", to("claire.dupont@example.org")[0].body)
