"""Complaints and replies by e-mail, read from a real IMAP server (Dovecot on loopback) by the
beat's poll: new complaints, threaded replies, attachments, hostile HTML, automatic mail, the same
message twice, two polls at once, and the server going away mid-poll."""
from __future__ import annotations

import shutil
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from post_office.models import Email

from reclamations import imap, services, tasks
from reclamations.models import (
    Attachment,
    Channel,
    Communication,
    Event,
    EventKind,
    InboundMessage,
    InboundStatus,
    Kind,
    MailboxPoll,
    Organisation,
    Reclamation,
)
from tests.conftest import start_dovecot
from tests.factories import (
    HOSTILE_HTML,
    ReclamationFactory,
    advance,
    bounce_email,
    inbound_email,
    pdf_bytes,
    png_bytes,
)

pytestmark = pytest.mark.django_db

INBOUND = "reclamations@organisme.example"
DONE = "Traites"


@pytest.fixture(autouse=True)
def _inbound_address(settings):
    settings.INBOUND_ADDRESS = INBOUND


def poll() -> imap.PollReport:
    report = imap.poll_claimed()
    assert report is not None, MailboxPoll.objects.get(pk=1).last_error
    return report


def acknowledgements_to(address: str) -> list[Email]:
    return list(Email.objects.filter(to=address, subject__startswith="Accusé de réception"))


def first_record() -> Reclamation:
    (record,) = Reclamation.objects.all()
    return record


# --- A new complaint ------------------------------------------------------------------------------
def test_it_turns_a_new_email_into_a_complaint_acknowledged_like_the_contact_form(imap_mailbox, handler):
    arrived = (timezone.now() - timedelta(hours=3)).replace(microsecond=0)
    imap_mailbox.append(inbound_email(files=(("convocation.pdf", pdf_bytes(), "application/pdf"),)), dt=arrived)

    report = poll()

    record = first_record()
    assert (report.seen, report.imported, report.moved) == (1, 1, 1)
    assert (record.channel, record.kind, record.state) == (Channel.EMAIL, Kind.COMPLAINT, "received")
    assert record.subject == "Formation annulée sans prévenir"
    assert "annulée sans prévenir" in record.description
    assert (record.complainant_email, record.complainant_name) == ("claire.dupont@example.org", "Claire Dupont")
    # The 48-hour clocks count from the message's arrival in the mailbox, not from the poll.
    assert record.received_at == arrived
    assert record.ack_due_at == arrived + timedelta(hours=48)
    assert [a.original_name for a in Attachment.objects.filter(reclamation=record)] == ["convocation.pdf"]
    (ack,) = acknowledgements_to("claire.dupont@example.org")
    assert record.reference in ack.subject
    assert ack.message_id  # kept, so that a reply finds its record
    message = ack.email_message()
    assert message.extra_headers["Reply-To"] == INBOUND
    # Handled messages leave the inbox, only after their transaction committed.
    assert (imap_mailbox.count("INBOX"), imap_mailbox.count(DONE)) == (0, 1)
    assert record.staff_notice_pending  # the worker tells staff, as for the Contact form


def test_it_gives_one_acknowledgement_to_a_client_who_writes_ten_times_in_a_minute(imap_mailbox):
    imap_mailbox.append(*[inbound_email(subject=f"Relance {n}", text=f"Message numéro {n}") for n in range(10)])

    poll()

    record = first_record()
    assert len(acknowledgements_to("claire.dupont@example.org")) == 1
    inbound_messages = Communication.objects.filter(reclamation=record, direction="inbound")
    assert inbound_messages.count() == 9  # the first one is the record's description
    assert InboundMessage.objects.count() == 10


# --- Replies --------------------------------------------------------------------------------------
def test_it_threads_a_reply_to_our_email_by_its_headers_and_tells_the_handler(imap_mailbox, handler):
    imap_mailbox.append(inbound_email())
    poll()
    record = first_record()
    services.reclamation_assign(reclamation=record, actor=handler, handler=handler)
    (ack,) = acknowledgements_to("claire.dupont@example.org")

    # Answered from another address (her phone): the thread headers are ours, so it is hers.
    imap_mailbox.append(inbound_email(sender="Claire <claire.perso@example.net>", subject=f"RE: {ack.subject}",
                                      text="Voici ma convocation.\n\n> Accusé de réception", in_reply_to=ack.message_id,
                                      references=ack.message_id))
    poll()

    assert Reclamation.objects.count() == 1
    reply = Communication.objects.get(reclamation=record, direction="inbound")
    assert (reply.kind, reply.public) == ("email", True)
    assert reply.body.startswith("Voici ma convocation.")
    record.refresh_from_db()
    assert record.complainant_email == "claire.dupont@example.org"  # an e-mail never changes who complains
    (notice,) = Email.objects.filter(to=handler.email, subject__startswith="Nouveau message du réclamant")
    assert "par courriel" in notice.message
    assert len(acknowledgements_to("claire.perso@example.net")) == 0


def test_it_attaches_a_reply_naming_the_reference_only_when_the_complainant_sends_it(imap_mailbox):
    record = ReclamationFactory(complainant_email="claire.dupont@example.org", channel=Channel.PHONE)
    imap_mailbox.append(
        inbound_email(subject=f"Complément pour le dossier {record.reference}", text="Mon numéro de session : 42"),
        inbound_email(sender="Intrus <intrus@example.com>", subject=f"Dossier {record.reference}",
                      text="Je suis Claire, changez mon adresse."),
    )

    poll()

    (from_her,) = Communication.objects.filter(reclamation=record, direction="inbound")
    assert "session : 42" in from_her.body
    stranger = InboundMessage.objects.get(sender="intrus@example.com")
    assert stranger.status == InboundStatus.TO_SORT
    assert record.reference in stranger.reason and "n'est pas son réclamant" in stranger.reason
    assert Reclamation.objects.count() == 1  # no record for the stranger, and no answer to them
    assert acknowledgements_to("intrus@example.com") == []
    record.refresh_from_db()
    assert record.complainant_email == "claire.dupont@example.org"


def test_it_keeps_a_reply_to_a_closed_record_for_a_handler_to_sort(imap_mailbox, quality_lead):
    record = advance(ReclamationFactory(complainant_email="claire.dupont@example.org"), "closed", quality_lead)
    imap_mailbox.append(inbound_email(subject=f"Re: {record.reference}", text="Merci pour votre réponse."))

    poll()

    kept = InboundMessage.objects.get()
    assert (kept.status, kept.reclamation) == (InboundStatus.TO_SORT, record)
    assert "clôturé" in kept.reason
    assert not Communication.objects.filter(reclamation=record, direction="inbound").exists()


# --- Content ---------------------------------------------------------------------------------------
def test_it_stores_attachments_with_the_upload_checks_and_says_which_were_refused(imap_mailbox):
    imap_mailbox.append(inbound_email(files=(
        ("attestation.pdf", pdf_bytes(), "application/pdf"),
        ("photo.png", png_bytes(), "image/png"),
        ("facture.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "application/pdf"),  # a program in disguise
    )))

    poll()

    record = first_record()
    stored = Attachment.objects.filter(reclamation=record).order_by("original_name")
    assert [(a.original_name, a.content_type) for a in stored] == [
        ("attestation.pdf", "application/pdf"), ("photo.png", "image/png")]
    assert "« facture.pdf » n'est pas d'un type accepté" in record.description
    assert "facture.pdf" in InboundMessage.objects.get().reason


def test_it_reads_an_html_only_message_as_text_without_its_markup_scripts_or_images(imap_mailbox, handler, login):
    imap_mailbox.append(inbound_email(text=None, html=HOSTILE_HTML))

    poll()

    record = first_record()
    assert "La formation Sauveteur secouriste du 3 mars a été annulée sans prévenir." in record.description
    assert "Merci de me rembourser & de me tenir informée." in record.description
    for hostile in ("<", "script", "alert", "onerror", "tracker.example", "javascript", "evil.example"):
        assert hostile not in record.description
    page = login(handler).get(f"/backoffice/reclamations/{record.pk}/").content.decode()
    assert "tracker.example" not in page and "alert(" not in page


def test_it_keeps_an_oversize_message_aside_without_downloading_it(imap_mailbox, settings, handler, login):
    settings.INBOUND_MAX_MESSAGE_BYTES = 50_000
    imap_mailbox.append(inbound_email(subject="Pièces volumineuses",
                                      files=(("scan.pdf", pdf_bytes("x" * 80_000), "application/pdf"),)))

    poll()

    kept = InboundMessage.objects.get()
    assert kept.status == InboundStatus.REJECTED
    assert "trop volumineux" in kept.reason and "serveur de messagerie" in kept.reason
    assert kept.subject == "Pièces volumineuses" and kept.sender == "claire.dupont@example.org"
    assert not Reclamation.objects.exists()
    assert imap_mailbox.count(DONE) == 1  # still on the server, out of the way
    assert "Pièces volumineuses" in login(handler).get("/backoffice/courriels-recus/").content.decode()


# --- Automatic mail ----------------------------------------------------------------------------------
def test_it_never_opens_a_record_for_nor_answers_an_out_of_office_reply(imap_mailbox, handler, login):
    imap_mailbox.append(inbound_email(subject="Absence du bureau", text="Je suis absente jusqu'au 12.",
                                      headers={"Auto-Submitted": "auto-replied"}))

    poll()

    kept = InboundMessage.objects.get()
    assert kept.status == InboundStatus.AUTOMATIC and "Auto-Submitted" in kept.reason
    assert not Reclamation.objects.exists()
    assert not Email.objects.exists()
    page = login(handler).get("/backoffice/courriels-recus/").content.decode()
    assert "Absence du bureau" in page  # visible to staff


def test_it_keeps_a_bounce_of_our_acknowledgement_aside_without_answering_it(imap_mailbox):
    imap_mailbox.append(inbound_email())
    poll()
    (ack,) = acknowledgements_to("claire.dupont@example.org")
    sent = ack.email_message().message().as_bytes()

    imap_mailbox.append(bounce_email(original=sent))
    poll()

    bounce = InboundMessage.objects.get(sender="mailer-daemon@mx.example.org")
    assert bounce.status == InboundStatus.AUTOMATIC
    assert bounce.reclamation == first_record()  # linked for staff to see, never added as her message
    assert Email.objects.filter(to="mailer-daemon@mx.example.org").count() == 0
    assert not Communication.objects.filter(direction="inbound").exists()


# --- Never twice, never lost ----------------------------------------------------------------------------
def test_it_imports_the_same_message_delivered_twice_once(imap_mailbox):
    message = inbound_email()
    imap_mailbox.append(message, message)

    report = poll()

    assert (report.imported, report.duplicates, report.moved) == (1, 1, 2)
    assert Reclamation.objects.count() == 1
    assert len(acknowledgements_to("claire.dupont@example.org")) == 1
    assert imap_mailbox.count("INBOX") == 0


@pytest.mark.django_db(transaction=True)
def test_it_imports_each_message_exactly_once_when_two_workers_poll_at_once(imap_mailbox):
    imap_mailbox.append(*[inbound_email(sender=f"Client {n} <client{n}@example.org>", subject=f"Demande {n}")
                          for n in range(12)])
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            imap.poll()  # straight to the poll: the beat's claim would let only one of them in
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert Reclamation.objects.count() == 12
    assert InboundMessage.objects.count() == 12
    assert Email.objects.filter(subject__startswith="Accusé de réception").count() == 12
    assert imap_mailbox.count("INBOX") == 0
    # Every message reached the done folder. Two polls at once (which the beat's claim prevents)
    # may both move a message, and a move is a copy then an expunge: a second copy may be there.
    with imap_mailbox.server.mailbox(imap_mailbox.user, DONE) as box:
        moved = [message.headers["message-id"][0] for message in box.fetch(headers_only=True, mark_seen=False)]
    assert len(set(moved)) == 12


def test_it_lets_only_one_beat_poll_hold_the_mailbox(imap_mailbox):
    MailboxPoll.objects.create(pk=1, claimed_until=timezone.now() + timedelta(minutes=5))
    imap_mailbox.append(inbound_email())

    assert imap.poll_claimed() is None
    assert imap_mailbox.count("INBOX") == 1


def test_it_loses_nothing_when_the_imap_server_goes_away_mid_poll(settings, monkeypatch, handler, login):
    server, root = start_dovecot()
    try:
        user = server.new_user()
        settings.INBOUND_IMAP_URL = server.url(user)
        server.append(user, *[inbound_email(sender=f"Client {n} <client{n}@example.org>") for n in range(6)])
        receive = services.inbound_message_receive
        calls = []

        def receive_then_crash(**kwargs):
            received = receive(**kwargs)
            calls.append(received)
            if len(calls) == 3:
                server.stop()  # the server disappears after the third message committed, before any move
            return received

        monkeypatch.setattr(imap.inbound, "inbound_message_receive", receive_then_crash)
        monkeypatch.setattr(imap, "GROUP_MESSAGES", 3)  # three fetched, imported, then the move fails
        assert imap.poll_claimed() is None
        poll_state = MailboxPoll.objects.get(pk=1)
        assert poll_state.last_error and poll_state.claimed_until is None
        assert "n'a pas pu être relevée" in login(handler).get("/backoffice/courriels-recus/").content.decode()
        assert Reclamation.objects.count() == 3

        monkeypatch.undo()
        server.start()
        report = poll()

        assert (report.seen, report.duplicates, report.imported, report.moved) == (6, 3, 3, 6)
        assert Reclamation.objects.count() == 6
        assert Email.objects.filter(subject__startswith="Accusé de réception").count() == 6
        assert server.count(user, "INBOX") == 0
        assert MailboxPoll.objects.get(pk=1).last_error == ""
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


# --- Switched off: "Courriels à trier" ------------------------------------------------------------------
def test_it_waits_for_a_handler_when_the_quality_lead_switched_automatic_records_off(imap_mailbox, handler, login):
    organisation = Organisation.current()
    organisation.email_intake_creates_records = False
    organisation.save()
    arrived = (timezone.now() - timedelta(hours=5)).replace(microsecond=0)
    imap_mailbox.append(inbound_email(), inbound_email(sender="Spam <promo@example.com>", subject="Promo"), dt=arrived)

    poll()

    assert not Reclamation.objects.exists() and not Email.objects.exists()
    complaint = InboundMessage.objects.get(sender="claire.dupont@example.org")
    spam = InboundMessage.objects.get(sender="promo@example.com")
    staff = login(handler)
    assert "Formation annulée sans prévenir" in staff.get("/backoffice/courriels-recus/").content.decode()

    refused = staff.post(f"/backoffice/courriels-recus/{spam.pk}/ecarter/", {"reason": " "}, follow=True)
    assert "Indiquez pourquoi ce courriel est écarté." in refused.content.decode()
    staff.post(f"/backoffice/courriels-recus/{spam.pk}/ecarter/", {"reason": "Publicité"})
    response = staff.post(f"/backoffice/courriels-recus/{complaint.pk}/dossier/")

    record = first_record()
    assert response.status_code == 302 and response["Location"] == f"/backoffice/reclamations/{record.pk}/"
    assert (record.channel, record.received_at) == (Channel.EMAIL, arrived)
    assert len(acknowledgements_to("claire.dupont@example.org")) == 1
    spam.refresh_from_db()
    assert spam.status == InboundStatus.DISCARDED and "Publicité" in spam.reason and spam.handled_by == handler
    logged = Event.objects.filter(kind=EventKind.INBOUND_EMAIL, actor=handler)
    assert sorted(e.summary for e in logged) == ["Courriel reçu écarté : Publicité",
                                                  "Courriel à trier transformé en dossier."]
    again = staff.post(f"/backoffice/courriels-recus/{complaint.pk}/dossier/", follow=True)
    assert "déjà été trié" in again.content.decode() and Reclamation.objects.count() == 1


def test_it_polls_nothing_when_no_mailbox_is_configured(settings):
    settings.INBOUND_IMAP_URL = ""

    tasks.poll_inbound_mailbox()

    assert imap.poll_claimed() is None
    assert not MailboxPoll.objects.exists()
