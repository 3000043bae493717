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
        # Rendered before the reference was taken (intake._render_acknowledgement): no stand-in left.
        assert not re.search(r"R-[0-9a-f]{24}", body)
    assert reclamation.reference in message.extra_headers.get("X-Reclamation-Reference", "")
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


def test_the_client_does_not_wait_for_the_staff_notice_the_worker_writes_it_once(
        quality_lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reclamation = submit().reclamation

    # Committed with the record: the acknowledgement, and a flag; no staff e-mail yet.
    assert Email.objects.filter(to=[quality_lead.email]).count() == 0
    assert Reclamation.objects.get(pk=reclamation.pk).staff_notice_pending
    for callback in callbacks:  # the worker, woken by the commit, writes and sends it
        callback()
    assert [m.subject.startswith("Nouvelle réclamation") for m in to(quality_lead.email)] == [True]
    assert not Reclamation.objects.get(pk=reclamation.pk).staff_notice_pending
    # A second worker (or a re-delivered task) finds it claimed.
    assert services.reclamation_announce_submission(reclamation_id=reclamation.pk) == 0
    assert services.reclamation_announce_submissions() == 0
    assert Email.objects.filter(to=[quality_lead.email]).count() == 1
    assert Event.objects.filter(reclamation=reclamation, data__template="new_reclamation_staff").count() == 1


def test_the_run_that_writes_a_notice_sends_it_without_waking_another_worker(
        quality_lead, django_capture_on_commit_callbacks):
    from reclamations import tasks

    with django_capture_on_commit_callbacks(execute=False):
        reclamation = submit().reclamation

    with django_capture_on_commit_callbacks(execute=False) as published:
        tasks.send_outbox()

    assert [m.subject.startswith("Nouvelle réclamation") for m in to(quality_lead.email)] == [True]
    assert reclamation.reference in to(quality_lead.email)[0].subject
    assert published == []  # no second send task for what this run has just sent


def test_a_notice_that_fails_stays_pending_and_the_next_run_writes_it(
        quality_lead, monkeypatch, django_capture_on_commit_callbacks):
    from reclamations import outbox, tasks
    from reclamations.services import intake

    with django_capture_on_commit_callbacks(execute=False):
        first = submit().reclamation
        second = submit(complainant_email="autre@example.org").reclamation
    real_notify = intake._notify_staff

    def broken_for_first(**kwargs):
        if kwargs["reclamation"].pk == first.pk:
            raise RuntimeError("modèle introuvable")
        return real_notify(**kwargs)

    monkeypatch.setattr(intake, "_notify_staff", broken_for_first)
    assert services.reclamation_announce_submissions() == 1  # the other one is not held up

    # Nothing half-written for the failed one: still pending, no e-mail, no event.
    assert Reclamation.objects.get(pk=first.pk).staff_notice_pending
    assert not Event.objects.filter(reclamation=first, data__template="new_reclamation_staff").exists()
    assert not Reclamation.objects.get(pk=second.pk).staff_notice_pending

    # Fixed; beat's periodic outbox re-queue finds the pending notice, even with no e-mail due.
    monkeypatch.setattr(intake, "_notify_staff", real_notify)
    outbox.send_due()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.requeue_outbox()
    notice, = to(quality_lead.email)
    assert first.reference in notice.subject
    assert not Reclamation.objects.get(pk=first.pk).staff_notice_pending


def test_a_failure_to_write_notices_does_not_hold_up_the_acknowledgements(
        quality_lead, monkeypatch, django_capture_on_commit_callbacks):
    from reclamations import tasks

    with django_capture_on_commit_callbacks(execute=False):
        submit()

    def database_locked():
        raise RuntimeError("database is locked")

    monkeypatch.setattr(services, "reclamation_announce_submissions", database_locked)
    tasks.send_outbox()

    assert [m.to for m in mail.outbox] == [["claire.dupont@example.org"]]  # the client's, still sent
    assert Reclamation.objects.get().staff_notice_pending  # the notice, for the next run


def test_a_submission_erased_before_any_worker_ran_tells_staff_nothing(
        quality_lead, handler, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        reclamation = submit().reclamation
    services.reclamation_discard(reclamation=reclamation, actor=handler, reason="Message publicitaire.")
    services.reclamation_anonymise(reclamation=reclamation.pk, actor=quality_lead, reason="Spam effacé.")

    assert services.reclamation_announce_submissions() == 0
    assert not Email.objects.filter(to=[quality_lead.email]).exists()
    assert not Reclamation.objects.get(pk=reclamation.pk).staff_notice_pending


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
