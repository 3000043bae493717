"""The outbox against a real SMTP server (aiosmtpd, in the test) that refuses temporarily, then
permanently: the e-mail is retried with backoff, then marked failed and shown to staff, who can
send it again once the address is fixed on the server's side."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from post_office.models import STATUS, Email, Log

from reclamations import emails, outbox, tasks
from reclamations.models import Event, EventKind, Organisation
from tests.factories import ReclamationFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
ADDRESS = "claire.dupont@example.org"


class ScriptedSmtpHandler:
    """Answers RCPT TO with the next scripted reply ("451 ...", "550 ...") or accepts it."""

    def __init__(self) -> None:
        self.replies: list[str] = []
        self.received: list[bytes] = []
        self.attempts = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.attempts += 1
        if self.replies:
            return self.replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope.content)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings) -> Iterator[ScriptedSmtpHandler]:
    handler = ScriptedSmtpHandler()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.POST_OFFICE = {**settings.POST_OFFICE,
                            "BACKENDS": {"default": "django.core.mail.backends.smtp.EmailBackend"},
                            "MAX_RETRIES": 2, "RETRY_INTERVAL": timedelta(minutes=5)}
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield handler
    controller.stop()


def _queue(reclamation) -> Email:
    return emails.queue(name="acknowledgement", to=[ADDRESS], context={
        "reclamation": reclamation, "organisation": Organisation.current(),
        "follow_up_url": "https://example.org/suivi/x/"})


def test_it_delivers_through_smtp_once(smtp_server):
    email = _queue(ReclamationFactory())

    tasks.send_outbox()
    tasks.send_outbox()

    assert len(smtp_server.received) == 1
    assert email.message_id.encode() in smtp_server.received[0]
    assert Email.objects.get(pk=email.pk).status == STATUS.sent


def test_a_temporary_refusal_is_retried_then_a_permanent_one_fails_and_is_shown_to_staff(
    smtp_server, client, handler, django_capture_on_commit_callbacks
):
    reclamation = ReclamationFactory()
    smtp_server.replies = ["451 4.7.1 Greylisted, please try again later",
                           "550 5.1.1 <claire.dupont@example.org>: Recipient address rejected"]
    with time_machine.travel(T0, tick=False):
        email = _queue(reclamation)
        tasks.send_outbox()
        email.refresh_from_db()
        assert (email.status, email.number_of_retries) == (STATUS.requeued, 1)
        assert email.scheduled_time == T0 + timedelta(minutes=5)
        tasks.send_outbox()  # too early: not tried again
        assert smtp_server.attempts == 1

    with time_machine.travel(T0 + timedelta(minutes=6), tick=False):
        tasks.requeue_outbox()

    email.refresh_from_db()
    assert email.status == STATUS.failed
    assert smtp_server.attempts == 2 and smtp_server.received == []
    first, second = Log.objects.filter(email=email).order_by("pk")
    assert "451 4.7.1 Greylisted" in first.message and first.message.startswith("Échec temporaire")
    assert "550 5.1.1" in second.message and second.message.startswith("Échec définitif")
    assert Event.objects.filter(reclamation=reclamation, kind=EventKind.EMAIL_FAILED).count() == 1

    client.force_login(handler)
    page = client.get(f"/backoffice/reclamations/{reclamation.pk}/").content.decode()
    listing = client.get("/backoffice/courriels/").content.decode()
    for html in (page, listing):
        assert "Non envoyé" in html and "550 5.1.1" in html and f"/backoffice/courriels/{email.pk}/renvoyer/" in html

    # The address is fixed on the server's side; a handler sends it again, and it leaves once.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/backoffice/courriels/{email.pk}/renvoyer/")
    assert len(smtp_server.received) == 1
    assert Email.objects.get(pk=email.pk).status == STATUS.sent


def test_a_server_that_does_not_answer_is_a_temporary_error(settings):
    settings.POST_OFFICE = {**settings.POST_OFFICE,
                            "BACKENDS": {"default": "django.core.mail.backends.smtp.EmailBackend"}}
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    email = _queue(ReclamationFactory())

    run = outbox.send_due()

    assert run.retried == [email.pk] and run.stopped_early
    email.refresh_from_db()
    assert (email.status, email.number_of_retries) == (STATUS.requeued, 1)
    assert "Serveur de messagerie injoignable" in Log.objects.get(email=email).message


def test_a_weekend_without_smtp_server_loses_no_email_and_each_leaves_once_it_is_back(settings):
    """Friday evening to Monday morning: nothing answers on the SMTP port. No e-mail is given up,
    the waits stay short, and once a server answers every e-mail goes out once."""
    port = _free_port()
    settings.POST_OFFICE = {**settings.POST_OFFICE,
                            "BACKENDS": {"default": "django.core.mail.backends.smtp.EmailBackend"},
                            "MAX_RETRIES": 2, "RETRY_INTERVAL": timedelta(minutes=5)}
    settings.OUTBOX_OUTAGE_MAX_WAIT_MINUTES = 30
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    friday = datetime(2026, 3, 13, 18, 0, tzinfo=UTC)
    with time_machine.travel(friday, tick=False):
        first, second = _queue(ReclamationFactory()), _queue(ReclamationFactory())

    attempts, moment = 0, friday
    while moment < friday + timedelta(days=2, hours=14):  # the periodic re-queue, every 10 minutes
        with time_machine.travel(moment, tick=False):
            attempts += len(outbox.send_due().retried)
        moment += timedelta(minutes=10)

    for email in (first, second):
        email.refresh_from_db()
        assert email.status == STATUS.requeued  # waiting, not failed
        assert email.scheduled_time - moment <= timedelta(minutes=30)
    assert attempts > 2 * 2  # far more than MAX_RETRIES, yet none given up
    assert "le courriel attend son retour" in Log.objects.filter(email=first).last().message

    handler = ScriptedSmtpHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with time_machine.travel(moment + timedelta(minutes=31), tick=False):
            assert sorted(outbox.send_due().sent) == sorted([first.pk, second.pk])
            assert outbox.send_due().sent == []
    finally:
        controller.stop()
    assert len(handler.received) == 2
    assert Email.objects.filter(status=STATUS.failed).count() == 0
