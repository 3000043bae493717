"""The e-mail outbox: claims, sending once, retries with backoff, failures, stuck e-mails, and what
staff see and re-send (the include on the dashboard and record pages, /backoffice/courriels/)."""
from __future__ import annotations

import smtplib
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from post_office.models import STATUS, Email, Log

from reclamations import emails, outbox, services, tasks
from reclamations.models import Communication, Event, EventKind, Organisation, Reclamation
from tests.factories import ReclamationFactory, UserFactory

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # a Tuesday
LIST = "/backoffice/courriels/"


class ScriptedBackend(BaseEmailBackend):
    """An e-mail backend that plays a script: each entry is an exception to raise for one send, or
    None to deliver into ``mail.outbox``. An empty script delivers everything."""

    script: list[BaseException | None] = []

    def send_messages(self, email_messages):
        outcome = ScriptedBackend.script.pop(0) if ScriptedBackend.script else None
        if outcome is not None:
            raise outcome
        mail.outbox.extend(email_messages)
        return len(email_messages)


@pytest.fixture
def scripted(settings):
    ScriptedBackend.script = []
    settings.POST_OFFICE = {**settings.POST_OFFICE, "BACKENDS": {"default": "tests.test_outbox.ScriptedBackend"},
                            "MAX_RETRIES": 2, "RETRY_INTERVAL": timedelta(minutes=5)}
    yield ScriptedBackend
    ScriptedBackend.script = []


def _queue(reclamation: Reclamation, to: str = "claire.dupont@example.org") -> Email:
    """An acknowledgement queued as a change would queue it (its dispatch is left uncalled: the
    test transaction never commits, as if the broker had been down)."""
    return emails.queue(name="acknowledgement", to=[to], context={
        "reclamation": reclamation, "organisation": Organisation.current(),
        "follow_up_url": "https://example.org/suivi/x/"})


def _submit(email: str = "claire.dupont@example.org") -> Reclamation:
    return services.reclamation_submit_contact(
        kind="complaint", subject="Convocation tardive", description="Reçue la veille.",
        complainant_email=email, complainant_name="Claire Dupont", consent=True,
    ).reclamation


# --- Sending once --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_an_email_leaves_after_the_commit_of_its_change_and_only_once(django_capture_on_commit_callbacks):
    reclamation = ReclamationFactory()
    with django_capture_on_commit_callbacks(execute=True):
        email = _queue(reclamation)
        assert mail.outbox == []  # nothing leaves before the change is committed

    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert email.status == STATUS.sent
    assert Log.objects.filter(email=email, status=STATUS.sent).count() == 1

    tasks.send_outbox()
    tasks.requeue_outbox()
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_acknowledgement_counts_from_the_moment_its_email_really_leaves():
    with time_machine.travel(T0, tick=False):
        reclamation = _submit()  # broker down: nothing is sent at submission
    reclamation.refresh_from_db()
    assert reclamation.acknowledged_at is None

    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        tasks.requeue_outbox()

    reclamation.refresh_from_db()
    assert reclamation.acknowledged_at == T0 + timedelta(hours=3)
    ack = Communication.objects.get(reclamation=reclamation, purpose=Communication.Purpose.ACKNOWLEDGEMENT)
    assert ack.email.status == STATUS.sent
    assert ack.email.last_updated == T0 + timedelta(hours=3)


@pytest.mark.django_db
def test_a_claimed_email_is_left_to_its_worker_until_the_claim_expires(settings):
    settings.OUTBOX_LEASE_SECONDS = 300
    with time_machine.travel(T0, tick=False):
        email = _queue(ReclamationFactory())
        assert outbox.claim(email.pk, T0)  # worker A takes it... and dies before sending
        assert not outbox.claim(email.pk, T0)  # worker B cannot take it
        assert outbox.send_due().sent == []
    with time_machine.travel(T0 + timedelta(seconds=299), tick=False):
        assert outbox.send_due().sent == []

    with time_machine.travel(T0 + timedelta(seconds=301), tick=False):
        tasks.requeue_outbox()  # the claim has expired: the periodic re-queue sends it

    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert email.status == STATUS.sent


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_at_once_send_each_email_once(monkeypatch):
    monkeypatch.setattr(emails, "_dispatch_after_commit", lambda: None)  # no sending at commit
    reclamation = ReclamationFactory()
    queued = [_queue(reclamation, to=f"client{i}@example.org").pk for i in range(12)]
    barrier = threading.Barrier(2)
    runs: list[outbox.OutboxRun] = []

    def worker() -> None:
        try:
            barrier.wait()
            runs.append(outbox.send_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    sent = sorted(pk for run in runs for pk in run.sent)
    assert sent == sorted(queued)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"client{i}@example.org" for i in range(12))
    assert Log.objects.filter(status=STATUS.sent).count() == 12


# --- Errors --------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_temporary_error_is_retried_with_a_growing_wait_then_left_failed(scripted):
    # Greylisting: the server answers, but refuses this recipient for now.
    greylisted = {"claire.dupont@example.org": (451, b"4.3.0 Try again later")}
    scripted.script = [smtplib.SMTPRecipientsRefused(greylisted)] * 3
    with time_machine.travel(T0, tick=False):
        email = _queue(ReclamationFactory())
        assert outbox.send_due().retried == [email.pk]
        email.refresh_from_db()
        assert (email.status, email.number_of_retries) == (STATUS.requeued, 1)
        assert email.scheduled_time == T0 + timedelta(minutes=5)
        assert outbox.send_due().retried == []  # not before its time

    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        assert outbox.send_due().retried == [email.pk]
        email.refresh_from_db()
        assert email.number_of_retries == 2
        assert email.scheduled_time == T0 + timedelta(minutes=15)  # 5 then 10 minutes

    with time_machine.travel(T0 + timedelta(minutes=15), tick=False):
        assert outbox.send_due().failed == [email.pk]

    email.refresh_from_db()
    assert email.status == STATUS.failed
    messages = list(Log.objects.filter(email=email).order_by("pk").values_list("message", flat=True))
    assert len(messages) == 3
    assert messages[0].startswith("Échec temporaire, nouvel essai le 10/03/2026 à 10:05.")
    assert messages[-1] == ("Abandon après 3 essais. Destinataire refusé par le serveur "
                            "(claire.dupont@example.org : 451 4.3.0 Try again later)")
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_permanent_error_fails_at_once_and_is_written_on_the_record(scripted):
    reclamation = ReclamationFactory()
    scripted.script = [smtplib.SMTPRecipientsRefused({"claire.dupont@example.org": (550, b"5.1.1 No such user")})]
    email = _queue(reclamation)

    run = outbox.send_due()

    assert run.failed == [email.pk]
    email.refresh_from_db()
    assert email.status == STATUS.failed
    assert email.number_of_retries is None
    log = Log.objects.get(email=email)
    assert log.message == ("Échec définitif. Destinataire refusé par le serveur "
                           "(claire.dupont@example.org : 550 5.1.1 No such user)")
    event = Event.objects.get(reclamation=reclamation, kind=EventKind.EMAIL_FAILED)
    assert event.summary.endswith("(échec définitif, code 550).")
    assert "claire.dupont" not in event.summary + str(event.data)  # no address in the append-only log


@pytest.mark.django_db
def test_an_unreachable_server_stops_the_run_and_leaves_the_rest_queued(scripted):
    reclamation = ReclamationFactory()
    first, second, third = (_queue(reclamation, to=f"c{i}@example.org") for i in range(3))
    scripted.script = [ConnectionRefusedError(111, "Connection refused")]

    run = outbox.send_due()

    assert run.retried == [first.pk] and run.stopped_early
    assert Email.objects.get(pk=first.pk).number_of_retries == 1
    for other in (second, third):
        other.refresh_from_db()
        assert (other.status, other.number_of_retries) == (STATUS.queued, None)
    assert outbox.send_due().sent == [second.pk, third.pk]  # the server is back


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (smtplib.SMTPRecipientsRefused({"a@example.org": (450, b"mailbox busy")}), outbox.TEMPORARY),
        (smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"no such user")}), outbox.PERMANENT),
        (smtplib.SMTPRecipientsRefused({"a@example.org": (450, b"busy"), "b@example.org": (550, b"no")}),
         outbox.PERMANENT),
        (smtplib.SMTPSenderRefused(451, b"try later", "from@example.org"), outbox.TEMPORARY),
        (smtplib.SMTPDataError(554, b"message refused"), outbox.PERMANENT),
        (smtplib.SMTPDataError(421, b"service not available"), outbox.TEMPORARY),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), outbox.TEMPORARY),
        (smtplib.SMTPConnectError(554, b"no service"), outbox.TEMPORARY),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), outbox.TEMPORARY),
        (ConnectionRefusedError(111, "Connection refused"), outbox.TEMPORARY),
        (TimeoutError("timed out"), outbox.TEMPORARY),
        (ValueError("aucun destinataire"), outbox.PERMANENT),
    ],
)
def test_it_tells_temporary_from_permanent_errors(error, expected):
    assert outbox.classify(error) == expected


# --- What staff see ------------------------------------------------------------------------------
def _fail(email: Email, message: str = "Échec définitif. Réponse du serveur : 550 5.1.1 No such user") -> None:
    Email.objects.filter(pk=email.pk).update(status=STATUS.failed)
    Log.objects.create(email=email, status=STATUS.failed, message=message)


@pytest.mark.django_db
def test_the_include_lists_every_email_in_difficulty_or_one_records(handler, settings):
    settings.OUTBOX_STUCK_MINUTES = 15
    first, second = ReclamationFactory(), ReclamationFactory(subject="Salle trop froide")
    with time_machine.travel(T0, tick=False):
        failed = _queue(first, to="claire.dupont@example.org")
        _fail(failed)
        stuck = _queue(second, to="paul.durand@example.org")
        sent = _queue(second, to="sent@example.org")
        Email.objects.filter(pk=sent.pk).update(status=STATUS.sent)
    request = RequestFactory().get("/backoffice/")
    request.user = handler

    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        everything = render_to_string("backoffice/_outbox_failures.html", {}, request=request)
        for_first = render_to_string("backoffice/_outbox_failures.html", {"reclamation": first}, request=request)
        for_second = render_to_string("backoffice/_outbox_failures.html", {"reclamation": second}, request=request)

    assert "Non envoyé" in everything and "Bloqué dans la file" in everything
    assert "550 5.1.1 No such user" in everything
    assert first.reference in everything and second.reference in everything
    assert f'action="/backoffice/courriels/{failed.pk}/renvoyer/"' in everything
    assert f'action="/backoffice/courriels/{stuck.pk}/renvoyer/"' in everything
    assert 'name="csrfmiddlewaretoken"' in everything
    assert "sent@example.org" not in everything
    assert "claire.dupont@example.org" in for_first and "paul.durand@example.org" not in for_first
    assert "paul.durand@example.org" in for_second and "claire.dupont@example.org" not in for_second


@pytest.mark.django_db
def test_the_include_says_nothing_when_every_email_left(handler):
    request = RequestFactory().get("/backoffice/")
    request.user = handler
    assert render_to_string("backoffice/_outbox_failures.html", {}, request=request).strip() == ""


@pytest.mark.django_db
def test_a_client_email_is_found_on_its_record_through_its_communication(handler):
    reclamation = _submit()
    ack = Communication.objects.get(reclamation=reclamation, purpose=Communication.Purpose.ACKNOWLEDGEMENT)
    _fail(ack.email)

    (problem,) = outbox.problems(reclamation=reclamation)

    assert problem.email == ack.email
    assert problem.problem == outbox.FAILED
    assert outbox.record_of(ack.email) == reclamation


@pytest.mark.django_db
def test_staff_see_failed_emails_and_re_send_one(client, handler, django_capture_on_commit_callbacks):
    reclamation = ReclamationFactory()
    email = _queue(reclamation)
    _fail(email)
    client.force_login(handler)

    page = client.get(LIST).content.decode()
    assert email.subject in page and "550 5.1.1 No such user" in page and reclamation.reference in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{LIST}{email.pk}/renvoyer/", {"next": f"/backoffice/reclamations/{reclamation.pk}/"})

    assert response.status_code == 302
    assert response["Location"] == f"/backoffice/reclamations/{reclamation.pk}/"
    email.refresh_from_db()
    assert email.status == STATUS.sent
    assert len(mail.outbox) == 1
    event = Event.objects.get(reclamation=reclamation, kind=EventKind.EMAIL_RESENT)
    assert event.actor == handler
    assert "Tous les courriels sont partis" in client.get(LIST).content.decode()


@pytest.mark.django_db
def test_a_double_click_re_sends_once(client, handler, django_capture_on_commit_callbacks):
    email = _queue(ReclamationFactory())
    _fail(email)
    client.force_login(handler)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{LIST}{email.pk}/renvoyer/")
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(f"{LIST}{email.pk}/renvoyer/", follow=True)

    assert len(mail.outbox) == 1
    assert "Ce courriel n&#x27;est plus en échec ni bloqué" in second.content.decode()
    assert Event.objects.filter(kind=EventKind.EMAIL_RESENT).count() == 1


@pytest.mark.django_db
def test_an_email_being_sent_or_retrying_cannot_be_re_sent_by_hand(scripted):
    scripted.script = [smtplib.SMTPResponseException(451, b"4.3.0 Try again later")]
    retrying, claimed = _queue(ReclamationFactory()), _queue(ReclamationFactory())
    outbox.send_due(limit=1)
    assert outbox.claim(claimed.pk, datetime.now(UTC))

    assert outbox.resend(email_id=retrying.pk, actor=None) is None
    assert outbox.resend(email_id=claimed.pk, actor=None) is None
    (problem,) = outbox.problems()
    assert (problem.email.pk, problem.problem, problem.can_resend) == (retrying.pk, outbox.RETRYING, False)


@pytest.mark.django_db
def test_the_re_send_after_an_outage_goes_back_to_a_fresh_count(scripted):
    email = _queue(ReclamationFactory())
    _fail(email)
    Email.objects.filter(pk=email.pk).update(number_of_retries=2)

    assert outbox.resend(email_id=email.pk, actor=None) is not None

    email.refresh_from_db()
    assert (email.status, email.number_of_retries, email.scheduled_time) == (STATUS.queued, 0, None)


@pytest.mark.django_db
def test_the_outbox_pages_are_for_handlers_only(client):
    email = _queue(ReclamationFactory())
    _fail(email)
    resend = f"{LIST}{email.pk}/renvoyer/"

    assert client.get(LIST)["Location"].startswith("/backoffice/connexion/?next=")
    assert client.post(resend).status_code == 302
    outsider = UserFactory(username="stagiaire")  # a staff account without the handler role
    outsider.save()  # the factory leaves the password it set unsaved without a role
    client.force_login(outsider)
    assert client.get(LIST).status_code == 403
    assert client.post(resend).status_code == 403
    assert Email.objects.get(pk=email.pk).status == STATUS.failed


@pytest.mark.django_db
def test_re_send_is_a_post_and_refuses_unknown_emails_and_foreign_redirects(client, handler):
    email = _queue(ReclamationFactory())
    _fail(email)
    client.force_login(handler)

    assert client.get(f"{LIST}{email.pk}/renvoyer/").status_code == 405
    assert client.post(f"{LIST}999999/renvoyer/").status_code == 404
    response = client.post(f"{LIST}{email.pk}/renvoyer/", {"next": "https://evil.example.com/"})
    assert response["Location"] == LIST


@pytest.mark.django_db
def test_the_dashboard_and_the_record_page_show_a_failed_email(client, handler):
    reclamation = ReclamationFactory()
    email = _queue(reclamation)
    _fail(email)
    client.force_login(handler)

    dashboard = client.get("/backoffice/").content.decode()
    record = client.get(f"/backoffice/reclamations/{reclamation.pk}/").content.decode()

    for page in (dashboard, record):
        assert "Courriels" in page and email.subject in page
        assert f"/backoffice/courriels/{email.pk}/renvoyer/" in page


# --- Stuck e-mails and the periodic re-queue -----------------------------------------------------
@pytest.mark.django_db
def test_an_email_nobody_sent_becomes_stuck_then_the_periodic_re_queue_sends_it(settings):
    settings.OUTBOX_STUCK_MINUTES = 15
    with time_machine.travel(T0, tick=False):
        email = _queue(ReclamationFactory())
    with time_machine.travel(T0 + timedelta(minutes=14), tick=False):
        assert outbox.problems() == []
    with time_machine.travel(T0 + timedelta(minutes=16), tick=False):
        (problem,) = outbox.problems()
        assert problem.problem == outbox.STUCK and problem.can_resend
        assert outbox.requeue_stuck() == 1
        tasks.requeue_outbox()

    email.refresh_from_db()
    assert email.status == STATUS.sent
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_down_broker_at_commit_loses_nothing(monkeypatch, django_capture_on_commit_callbacks):
    def down(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(tasks.send_outbox, "delay", down)
    with django_capture_on_commit_callbacks(execute=True):
        reclamation = _submit()  # the publish fails after commit: the request still succeeds

    assert Reclamation.objects.filter(pk=reclamation.pk).exists()
    assert mail.outbox == []
    assert Email.objects.filter(status=STATUS.queued).count() >= 1
    monkeypatch.undo()
    tasks.requeue_outbox()
    assert Email.objects.exclude(status=STATUS.sent).count() == 0
