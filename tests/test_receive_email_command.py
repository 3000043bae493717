"""``manage.py receive_email``: the mail server pipes one message on standard input. Same corpus
as the IMAP poll (one import for both), and the exit codes an MTA acts on: 0 done or kept aside,
75 (EX_TEMPFAIL) when nothing could be stored."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from post_office.models import Email

from reclamations.models import (
    Attachment,
    Channel,
    Communication,
    InboundMessage,
    InboundStatus,
    Reclamation,
)
from tests.factories import (
    HOSTILE_HTML,
    ReclamationFactory,
    bounce_email,
    inbound_email,
    pdf_bytes,
)

pytestmark = pytest.mark.django_db

BASE_DIR = Path(django_settings.BASE_DIR)


def pipe(monkeypatch, raw: bytes) -> None:
    """What the MTA's pipe transport does: the message on standard input, the command run once."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    call_command("receive_email")


def only_record() -> Reclamation:
    (record,) = Reclamation.objects.all()
    return record


# --- The corpus -----------------------------------------------------------------------------------
def test_it_registers_a_new_complaint_received_when_our_mail_server_stamped_it(monkeypatch):
    stamped = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    received = f"from mx.example.org by mail.organisme.example; {format_datetime(timezone.localtime(stamped))}"
    pipe(monkeypatch, inbound_email(headers={"Received": received},
                                    files=(("attestation.pdf", pdf_bytes(), "application/pdf"),)))

    record = only_record()
    assert (record.channel, record.complainant_email) == (Channel.EMAIL, "claire.dupont@example.org")
    assert record.received_at == stamped
    assert Attachment.objects.filter(reclamation=record).count() == 1
    assert Email.objects.filter(to="claire.dupont@example.org", subject__contains=record.reference).count() == 1
    assert InboundMessage.objects.get().source == "pipe"


def test_it_threads_a_piped_reply_to_the_record_its_headers_answer(monkeypatch):
    pipe(monkeypatch, inbound_email())
    record = only_record()
    ack = Email.objects.get(to="claire.dupont@example.org")

    pipe(monkeypatch, inbound_email(subject=f"Re: {ack.subject}", text="Ma convocation est jointe.",
                                    in_reply_to=ack.message_id))

    assert Reclamation.objects.count() == 1
    reply = Communication.objects.get(reclamation=record, direction="inbound")
    assert reply.body == "Ma convocation est jointe."


def test_it_attaches_by_reference_only_for_the_complainant_address(monkeypatch):
    record = ReclamationFactory(complainant_email="claire.dupont@example.org")

    pipe(monkeypatch, inbound_email(subject=f"{record.reference} : complément", text="Session 42"))
    pipe(monkeypatch, inbound_email(sender="autre@example.com", subject=f"{record.reference} : complément",
                                    text="Envoyez-moi le dossier."))

    assert [c.body for c in Communication.objects.filter(reclamation=record, direction="inbound")] == ["Session 42"]
    assert InboundMessage.objects.get(sender="autre@example.com").status == InboundStatus.TO_SORT
    assert Reclamation.objects.count() == 1


def test_it_keeps_only_the_words_of_a_hostile_html_message(monkeypatch):
    pipe(monkeypatch, inbound_email(text=None, html=HOSTILE_HTML))

    description = only_record().description
    assert "Sauveteur secouriste" in description
    assert not any(bad in description for bad in ("<", "alert", "tracker.example", "javascript"))


@pytest.mark.parametrize("headers, sender", [
    ({"Auto-Submitted": "auto-replied"}, None),
    ({"Auto-Submitted": "auto-generated"}, None),
    ({"Precedence": "bulk"}, None),
    ({"Precedence": "junk"}, None),
    ({"Precedence": "list"}, None),
    ({"Precedence": "auto_reply"}, None),
    ({"X-Autoreply": "yes"}, None),
    ({"X-Autorespond": "Absent"}, None),
    ({}, "MAILER-DAEMON@mx.example.org"),
    ({}, "Postmaster <postmaster@example.org>"),
])
def test_it_never_answers_nor_opens_a_record_for_automatic_mail(monkeypatch, headers, sender):
    pipe(monkeypatch, inbound_email(headers=headers, **({"sender": sender} if sender else {})))

    assert InboundMessage.objects.get().status == InboundStatus.AUTOMATIC
    assert not Reclamation.objects.exists()
    assert not Email.objects.exists()


def test_it_treats_a_bounce_as_automatic_mail(monkeypatch):
    pipe(monkeypatch, bounce_email(original=inbound_email(), auto_submitted=False))

    kept = InboundMessage.objects.get()
    assert kept.status == InboundStatus.AUTOMATIC and "non-remise" in kept.reason
    assert not Email.objects.exists()


def test_it_handles_a_message_that_says_it_is_not_automatic_as_a_person_s(monkeypatch):
    pipe(monkeypatch, inbound_email(headers={"Auto-Submitted": "no"}))

    assert only_record().channel == Channel.EMAIL


def test_it_imports_a_message_the_mail_server_delivers_twice_once(monkeypatch):
    message = inbound_email()
    pipe(monkeypatch, message)
    pipe(monkeypatch, message)

    assert Reclamation.objects.count() == 1
    assert InboundMessage.objects.count() == 1
    assert Email.objects.filter(to="claire.dupont@example.org").count() == 1


@pytest.mark.parametrize("raw, reason", [
    (b"", "vide"),
    (b"\x00\x01\x02 ceci n'est pas un courriel", "RFC 822"),
    (b"Subject: Sans expediteur\r\n\r\nBonjour", "expéditeur"),
])
def test_it_keeps_an_unreadable_message_aside_with_the_reason(monkeypatch, raw, reason):
    pipe(monkeypatch, raw)

    kept = InboundMessage.objects.get()
    assert kept.status == InboundStatus.REJECTED and reason in kept.reason
    assert kept.raw  # the message as received is kept for staff
    assert not Reclamation.objects.exists() and not Email.objects.exists()


def test_it_keeps_an_oversize_message_as_received_without_reading_it(monkeypatch, settings):
    settings.INBOUND_MAX_MESSAGE_BYTES = 10_000
    raw = inbound_email(files=(("scan.pdf", pdf_bytes("x" * 20_000), "application/pdf"),))

    pipe(monkeypatch, raw)

    kept = InboundMessage.objects.get()
    assert kept.status == InboundStatus.REJECTED and "trop volumineux" in kept.reason
    with kept.raw.open("rb") as stored:
        assert stored.read() == raw
    assert not Reclamation.objects.exists()


# --- Exit codes, as the MTA sees them ----------------------------------------------------------------
def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def run_command(raw: bytes, tmp_path: Path, database: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "DATABASE_URL": database, "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
           "CELERY_BROKER_URL": "memory://"}
    return subprocess.run([sys.executable, "manage.py", "receive_email"], input=raw, cwd=BASE_DIR,
                          env=env, capture_output=True, timeout=120, check=False)


@pytest.mark.django_db(transaction=True)
def test_it_exits_0_once_a_message_is_stored(tmp_path):
    result = run_command(inbound_email(), tmp_path, database_url())

    assert result.returncode == 0, result.stderr.decode()
    assert only_record().channel == Channel.EMAIL


@pytest.mark.django_db(transaction=True)
def test_it_exits_0_for_an_unreadable_message_kept_aside_never_bouncing_it(tmp_path):
    result = run_command(b"\x00\x01 pas un courriel", tmp_path, database_url())

    assert result.returncode == 0, result.stderr.decode()
    assert InboundMessage.objects.get().status == InboundStatus.REJECTED


@pytest.mark.django_db(transaction=True)
def test_it_exits_75_when_the_database_is_away_so_the_mail_server_retries(tmp_path):
    result = run_command(inbound_email(), tmp_path, f"sqlite:///{tmp_path}/absent/db.sqlite3")

    assert result.returncode == 75
    assert "nouvel essai" in result.stderr.decode()
    assert not InboundMessage.objects.exists()
