"""The journal: written with each change, append-only, and tamper-evident."""
from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone

from reclamations import journal_chain, services
from reclamations.journal import record_event, redact_events, verify_chain
from reclamations.models import Event, EventKind, JournalChainHead, Reclamation
from tests.factories import ReclamationFactory, advance

pytestmark = pytest.mark.django_db


def test_each_change_writes_an_event_with_its_author_and_before_after(handler):
    reclamation = ReclamationFactory()
    services.reclamation_update(reclamation=reclamation, actor=handler, changes={"subject": "Salle non chauffée"})

    event = Event.objects.filter(reclamation=reclamation).last()
    assert event.kind == EventKind.UPDATED
    assert event.actor == handler
    assert event.actor_label == "Camille Martin"
    assert event.data["changes"]["subject"] == {
        "before": "Convocation reçue la veille de la formation", "after": "Salle non chauffée"}


def test_an_unchanged_value_writes_no_event(handler):
    reclamation = ReclamationFactory()
    before = Event.objects.count()
    services.reclamation_update(reclamation=reclamation, actor=handler, changes={"subject": reclamation.subject})
    assert Event.objects.count() == before


def test_a_change_that_fails_leaves_neither_change_nor_event(handler):
    reclamation = ReclamationFactory()
    before = Event.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        services.reclamation_update(reclamation=reclamation, actor=handler, changes={"subject": "Nouveau"})
        raise RuntimeError("something later in the same transaction fails")

    assert Event.objects.count() == before
    assert Reclamation.objects.get(pk=reclamation.pk).subject != "Nouveau"


def test_events_can_be_neither_updated_nor_deleted_through_the_orm():
    ReclamationFactory()
    event = Event.objects.first()
    event.summary = "réécrit"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        Event.objects.filter(pk=event.pk).update(summary="réécrit")
    with pytest.raises(PermissionError):
        Event.objects.all().delete()


def test_the_chain_of_a_full_history_verifies(handler, capsys):
    advance(ReclamationFactory(), "closed", handler)
    advance(ReclamationFactory(), "scheduling", handler)

    call_command("verify_journal")

    out = capsys.readouterr().out
    assert f"Chaîne intacte : {Event.objects.count()} événements vérifiés." in out
    head = JournalChainHead.objects.get()
    assert head.verified_at is not None
    assert head.verified_hash == Event.objects.order_by("sequence").last().hash


def _raw_update(sql: str, params: list) -> None:
    # What an attacker with database access would do: bypass the ORM.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_an_event_rolled_back_with_its_savepoint_leaves_no_gap_in_the_chain(handler):
    reclamation = ReclamationFactory()
    with transaction.atomic():
        try:
            with transaction.atomic():  # e.g. a refused step whose event was already written
                services.reclamation_update(reclamation=reclamation, actor=handler, changes={"subject": "Annulé"})
                raise RuntimeError
        except RuntimeError:
            pass
        services.reclamation_update(reclamation=reclamation, actor=handler, changes={"subject": "Gardé"})

    report = verify_chain()
    assert report.intact, report.message
    assert not Event.objects.filter(summary__contains="Annulé").exists()


def test_events_written_by_another_connection_in_between_keep_the_chain_whole(handler):
    # Another process appends to the chain between two of ours: ours must link after its event.
    reclamation = ReclamationFactory()
    services.reclamation_update(reclamation=reclamation, actor=handler, changes={"subject": "Un"})
    head = JournalChainHead.objects.get(pk=1)
    other = Event(sequence=head.last_sequence + 1, created_at=timezone.now(), kind=EventKind.UPDATED,
                  actor_label="Autre processus", summary="Écrit ailleurs", data={}, prev_hash=head.last_hash)
    other.content_hash = other.compute_content_hash()
    other.hash = other.compute_hash(journal_chain.current_key()[0])  # the other process holds the key too
    other.save()
    JournalChainHead.objects.filter(pk=1).update(last_sequence=other.sequence, last_hash=other.hash)

    services.reclamation_update(reclamation=reclamation, actor=handler, changes={"subject": "Deux"})

    report = verify_chain()
    assert report.intact, report.message
    assert Event.objects.order_by("-sequence").first().prev_hash == other.hash


def test_verify_journal_names_the_first_modified_event(handler):
    advance(ReclamationFactory(), "reformulation", handler)
    target = Event.objects.order_by("sequence")[2]
    _raw_update(f"UPDATE {Event._meta.db_table} SET summary = %s WHERE id = %s", ["Faux résumé", target.pk])

    with pytest.raises(CommandError, match=f"Événement n° {target.sequence} : contenu modifié."):
        call_command("verify_journal")
    assert verify_chain().broken_sequence == target.sequence


def test_verify_journal_detects_a_deleted_event(handler):
    advance(ReclamationFactory(), "reformulation", handler)
    target = Event.objects.order_by("sequence")[1]
    _raw_update(f"DELETE FROM {Event._meta.db_table} WHERE id = %s", [target.pk])

    with pytest.raises(CommandError, match=f"Événement n° {target.sequence} manquant"):
        call_command("verify_journal")


def test_verify_journal_detects_the_last_events_cut_off(handler):
    advance(ReclamationFactory(), "reformulation", handler)
    last = Event.objects.order_by("sequence").last()
    _raw_update(f"DELETE FROM {Event._meta.db_table} WHERE id = %s", [last.pk])

    report = verify_chain()
    assert not report.intact
    assert "tête de chaîne" in report.message


def test_a_recomputed_hash_does_not_hide_a_modification(handler):
    # Rewriting an event and its own hash without the key: the event itself is named, not only the
    # next link (tests/test_journal_chain.py re-hashes the whole chain).
    advance(ReclamationFactory(), "reformulation", handler)
    first = Event.objects.order_by("sequence").first()
    first.summary = "Faux"
    first.content_hash = first.compute_content_hash()
    _raw_update(f"UPDATE {Event._meta.db_table} SET summary = %s, content_hash = %s, hash = %s WHERE id = %s",
                ["Faux", first.content_hash, first.compute_hash(), first.pk])

    report = verify_chain()
    assert report.broken_sequence == first.sequence
    assert f"Événement n° {first.sequence} : contenu modifié" in report.message


def test_redacted_text_is_gone_and_the_chain_still_verifies(handler):
    reclamation = ReclamationFactory(description="Mme Durand, 06 12 34 56 78")
    advance(reclamation, "reformulation", handler)
    events = list(Event.objects.filter(reclamation=reclamation).order_by("sequence"))
    before = [(e.hash, e.content_hash) for e in events]

    with transaction.atomic():  # as the anonymisation does: the redaction and the event allowing it
        redacted = redact_events(events, summary="Texte effacé (RGPD).", keep_data_keys={"step"})
        record_event(kind=EventKind.ANONYMISED, reclamation=reclamation, summary="Données personnelles effacées.")

    assert redacted == len(events)
    after = list(Event.objects.filter(reclamation=reclamation, sequence__lte=events[-1].sequence).order_by("sequence"))
    assert {e.summary for e in after} == {"Texte effacé (RGPD)."}
    assert all(set(e.data) <= {"step"} for e in after)
    assert [(e.hash, e.content_hash) for e in after] == before
    report = verify_chain()
    assert report.intact, report.message
    assert f"dont {len(events)} au texte effacé" in report.message


def test_a_redacted_event_cannot_be_used_to_hide_a_forged_link(handler):
    # Marking an event as redacted skips the text check, never the link check.
    advance(ReclamationFactory(), "reformulation", handler)
    first = Event.objects.order_by("sequence").first()
    _raw_update(f"UPDATE {Event._meta.db_table} SET redacted_at = %s, actor_label = %s WHERE id = %s",
                [timezone.now(), "Quelqu'un d'autre", first.pk])

    report = verify_chain()
    assert not report.intact
    assert report.broken_sequence == first.sequence
