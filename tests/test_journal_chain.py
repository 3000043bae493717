"""The journal chain against someone who holds the database and nothing else: keyed links, checkpoints
kept outside the database, redactions only where an anonymisation allows them — what
``verify_journal`` and the evidence pack's cover tell the quality lead and the auditor."""
from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from pypdf import PdfReader

from reclamations import journal_chain, pdf, services, tasks
from reclamations.journal import verify_chain
from reclamations.models import Event, EventKind, JournalChainHead
from reclamations.statistics import Period
from tests.factories import ReclamationFactory, advance

pytestmark = pytest.mark.django_db

EVENTS = Event._meta.db_table
HEAD = JournalChainHead._meta.db_table


def _sql(sql: str, params: list) -> None:
    # What an attacker with database access would do: bypass the ORM.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _rehash_from(sequence: int, *, key: bytes | None) -> None:
    """Recompute every link from ``sequence`` on and move the head, as someone with the database
    alone can: with the unkeyed formula (``key=None``) or a key of their own."""
    events = list(Event.objects.order_by("sequence"))
    prev_hash = events[sequence - 2].hash if sequence > 1 else "0" * 64
    for event in events[sequence - 1:]:
        event.prev_hash = prev_hash
        event.content_hash = event.compute_content_hash()
        event.hash = event.compute_hash(key)
        _sql(f"UPDATE {EVENTS} SET prev_hash = %s, content_hash = %s, hash = %s WHERE id = %s",
             [event.prev_hash, event.content_hash, event.hash, event.pk])
        prev_hash = event.hash
    _sql(f"UPDATE {HEAD} SET last_sequence = %s, last_hash = %s WHERE id = 1", [events[-1].sequence, prev_hash])


def _pack_text() -> str:
    document = pdf.build_pack(period=Period.last_twelve_months())
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(document.pdf)).pages)


def _verify_command_error() -> str:
    with pytest.raises(CommandError) as raised:
        call_command("verify_journal")
    return str(raised.value)


# --- Keyed links ---------------------------------------------------------------------------------
@pytest.mark.parametrize("forger_key", [None, b"une-cle-devinee"], ids=["unkeyed-formula", "wrong-key"])
def test_it_detects_an_event_rewritten_and_the_chain_rehashed_without_the_key(handler, forger_key):
    reclamation = ReclamationFactory(received_at=timezone.now() - timedelta(days=3))
    advance(reclamation, "reformulation", handler)
    target = Event.objects.order_by("sequence")[1]
    _sql(f"UPDATE {EVENTS} SET summary = %s WHERE id = %s", ["Accusé de réception envoyé dans le délai.", target.pk])
    _rehash_from(target.sequence, key=forger_key)

    message = _verify_command_error()

    assert "Journal NON intact" in message
    assert f"Événement n° {target.sequence} : contenu modifié" in message
    assert "chaîne recalculée sans la clé" in message
    text = _pack_text()
    assert "Journal anomalie détectée" in text
    assert f"Événement n° {target.sequence} : contenu modifié" in text
    assert "vérifié intact" not in text


def test_the_pack_cover_says_intact_only_when_everything_agrees(handler):
    advance(ReclamationFactory(received_at=timezone.now() - timedelta(days=3)), "reformulation", handler)

    text = _pack_text()

    assert "Journal vérifié intact le" in text
    assert "anomalie détectée" not in text


def test_it_logs_a_key_change_and_old_events_verify_with_the_fallback_key(handler, settings):
    reclamation = ReclamationFactory()
    advance(reclamation, "reformulation", handler)
    old_key = settings.JOURNAL_KEY
    settings.JOURNAL_KEY, settings.JOURNAL_KEY_FALLBACKS = "nouvelle-cle-apres-rotation", [old_key]

    services.reclamation_update(reclamation=reclamation, actor=handler, changes={"subject": "Après la rotation"})

    change = Event.objects.get(kind=EventKind.CHAIN_KEY)
    new_fingerprint = journal_chain.fingerprint("nouvelle-cle-apres-rotation")
    assert change.data == {"fingerprint": new_fingerprint, "previous": journal_chain.fingerprint(old_key)}
    assert "Clé de chaînage du journal changée" in change.summary
    assert old_key not in json.dumps(change.data) + change.summary  # a fingerprint, never the key
    assert JournalChainHead.objects.get().key_fingerprint == new_fingerprint
    assert Event.objects.order_by("sequence").last().summary.startswith("Modification")
    report = verify_chain()
    assert report.intact, report.message

    # Without the old key the events it linked cannot be verified: said, not passed over.
    settings.JOURNAL_KEY_FALLBACKS = []
    report = verify_chain()
    assert not report.intact
    assert report.broken_sequence == 1
    assert "JOURNAL_KEY_FALLBACKS" in report.message


def test_it_still_verifies_a_chain_written_before_keyed_links(handler):
    # The database as the previous version left it: every link plain SHA-256, no key recorded.
    reclamation = ReclamationFactory()
    advance(reclamation, "reformulation", handler)
    _rehash_from(1, key=None)
    _sql(f"UPDATE {HEAD} SET keyed_from = NULL, key_fingerprint = '' WHERE id = 1", [])
    connection.reclamations_journal_last_head = None  # as after a restart on the new version
    legacy = list(Event.objects.order_by("sequence").values_list("sequence", "hash"))

    services.reclamation_update(reclamation=reclamation, actor=handler, changes={"subject": "Après la mise à jour"})

    report = verify_chain()
    assert report.intact, report.message
    assert list(Event.objects.order_by("sequence").values_list("sequence", "hash"))[: len(legacy)] == legacy
    start = Event.objects.get(kind=EventKind.CHAIN_KEY)
    assert start.sequence == len(legacy) + 1 == JournalChainHead.objects.get().keyed_from
    assert "Chaînage à clé (HMAC-SHA256) mis en service" in start.summary

    # From there on, re-hashing without the key is seen again.
    _sql(f"UPDATE {EVENTS} SET summary = %s WHERE sequence = %s", ["Faux", start.sequence + 1])
    _rehash_from(start.sequence + 1, key=None)
    assert f"Événement n° {start.sequence + 1} : contenu modifié" in verify_chain().message


# --- Checkpoints outside the database ------------------------------------------------------------
def test_it_detects_the_last_event_deleted_and_the_head_moved_back_through_the_checkpoint_file(handler, settings):
    advance(ReclamationFactory(), "reformulation", handler)
    tasks.checkpoint_journal()  # beat's hourly copy of the head
    last = Event.objects.order_by("sequence").last()
    line = json.loads(settings.JOURNAL_CHECKPOINT_FILE.read_text().splitlines()[-1])
    assert (line["sequence"], line["hash"]) == (last.sequence, last.hash)
    assert line["time"] and line["reason"] == "périodique"

    previous = Event.objects.get(sequence=last.sequence - 1)
    _sql(f"DELETE FROM {EVENTS} WHERE id = %s", [last.pk])
    _sql(f"UPDATE {HEAD} SET last_sequence = %s, last_hash = %s WHERE id = 1", [previous.sequence, previous.hash])

    message = _verify_command_error()
    assert f"(événement n° {last.sequence}) : cet événement n'existe plus — journal tronqué" in message
    assert f"dernier événement présent : n° {previous.sequence}" in message


def test_it_detects_a_whole_chain_rehashed_without_keys_through_the_checkpoint_file(handler):
    # The one forgery the key alone cannot see: every link recomputed unkeyed and the database
    # made to say it was never keyed. The head copied outside the database no longer matches.
    advance(ReclamationFactory(), "reformulation", handler)
    tasks.checkpoint_journal()
    checkpointed = Event.objects.order_by("sequence").last()
    _sql(f"UPDATE {EVENTS} SET summary = %s WHERE sequence = 1", ["Faux"])
    _rehash_from(1, key=None)
    _sql(f"UPDATE {HEAD} SET keyed_from = NULL, key_fingerprint = '' WHERE id = 1", [])

    report = verify_chain()

    assert not report.intact
    assert (f"(événement n° {checkpointed.sequence}) : l'empreinte de l'événement n'est plus celle relevée — "
            "chaîne réécrite") in report.message
    assert "le chaînage à clé commençait à l'événement n° 1, la base indique aucun" in report.message


def test_the_pack_writes_a_checkpoint_and_prints_it(handler, settings):
    advance(ReclamationFactory(received_at=timezone.now() - timedelta(days=3)), "reformulation", handler)
    head = JournalChainHead.objects.get()

    text = _pack_text()

    line = json.loads(settings.JOURNAL_CHECKPOINT_FILE.read_text().splitlines()[-1])
    assert (line["sequence"], line["hash"], line["reason"]) == (head.last_sequence, head.last_hash,
                                                                  "dossier de preuves")
    assert f"Dernier point de contrôle hors base le {journal_chain.latest_checkpoint().time_label}" in text
    assert f"événement n° {head.last_sequence}" in text
    assert head.last_hash in text.replace(" ", "")


def test_the_digest_states_the_head_and_writes_a_checkpoint(handler, settings, django_capture_on_commit_callbacks):
    advance(ReclamationFactory(), "reformulation", handler)
    head = JournalChainHead.objects.get()
    today = timezone.localdate()
    last_month = Period(start=(today.replace(day=1) - timedelta(days=1)).replace(day=1),
                        end=today.replace(day=1) - timedelta(days=1))

    with django_capture_on_commit_callbacks(execute=True):
        services.digest_send(period=last_month)

    (message,) = [m for m in mail.outbox if m.subject.startswith("Bilan des réclamations")]
    assert (f"Journal à l'envoi de ce bilan : événement n° {head.last_sequence}, empreinte de tête "
            f"{head.last_hash}") in message.body
    line = json.loads(settings.JOURNAL_CHECKPOINT_FILE.read_text().splitlines()[-1])
    digest_event = Event.objects.get(kind=EventKind.DIGEST)
    assert (line["sequence"], line["hash"], line["reason"]) == (digest_event.sequence, digest_event.hash,
                                                                  "bilan interne")
    assert verify_chain().intact


# --- Redactions ----------------------------------------------------------------------------------
def test_it_flags_a_redaction_on_a_record_never_anonymised(handler):
    reclamation = ReclamationFactory()
    advance(reclamation, "reformulation", handler)
    target = Event.objects.filter(reclamation=reclamation).order_by("sequence")[1]
    # Only redacted_at: the text check is skipped for a redacted event, the links stay whole.
    _sql(f"UPDATE {EVENTS} SET redacted_at = %s WHERE id = %s", [timezone.now(), target.pk])

    message = _verify_command_error()

    assert (f"Événement n° {target.sequence} : texte effacé (RGPD) sans anonymisation ni effacement enregistré "
            "pour sa réclamation.") in message


def test_the_redactions_of_an_anonymised_record_verify(handler):
    reclamation = advance(ReclamationFactory(), "closed", handler)
    services.reclamation_anonymise(reclamation=reclamation, actor=handler, reason="durée de conservation écoulée")

    report = verify_chain()

    assert report.intact, report.message
    assert "au texte effacé (RGPD)" in report.message
