"""Facts bound to the log, and configuration changes as events (issue 18, points 1 and 7).

Every date and value the evidence pack's figures read is carried by the event that wrote it
(``data["facts"]``, see ``reclamations/facts.py``); ``verify_journal`` and the pack's cover hold
each record against its log. A change of the configuration, in the admin or elsewhere, is an event
with who, before and after, listed in the pack.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from reclamations import pdf, services, sla, tokens
from reclamations.facts import FACT_FIELDS, fact_value
from reclamations.journal import record_event, verify_chain
from reclamations.models import Event, EventKind, OpeningHours, Organisation, Reclamation
from reclamations.statistics import Period
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance

pytestmark = pytest.mark.django_db


def _pack_text() -> str:
    document = pdf.build_pack(period=Period.last_twelve_months())
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(document.pdf)).pages)


def _local(moment) -> str:
    return f"{timezone.localtime(moment):%d/%m/%Y à %H:%M:%S}"


def _days_ago(days: float):
    return timezone.now() - timedelta(days=days)


# --- Tampering is named ------------------------------------------------------------------------------
def test_an_acknowledgement_date_changed_in_the_database_is_named_with_record_field_and_both_values(handler):
    reclamation = advance(ReclamationFactory(received_at=_days_ago(5)), Step.REFORMULATION, handler)
    acknowledgement = Event.objects.filter(reclamation=reclamation, kind=EventKind.ACKNOWLEDGED).get()
    logged = acknowledgement.data["facts"]["acknowledged_at"]
    assert logged == fact_value(reclamation.acknowledged_at)
    forged = _days_ago(4.9).replace(microsecond=0)

    Reclamation.objects.filter(pk=reclamation.pk).update(acknowledged_at=forged)
    report = verify_chain()

    assert not report.intact
    (mismatch,) = report.fact_mismatches
    assert (mismatch.reference, mismatch.field) == (reclamation.reference, "acknowledged_at")
    assert mismatch.stored == forged and mismatch.logged == logged
    assert mismatch.sequence == acknowledgement.sequence
    assert mismatch.message.startswith(
        f"Réclamation {reclamation.reference} : « accusé de réception envoyé le » vaut {_local(forged)} dans la base, "
        "mais "
    )
    assert f"dans le journal (événement n° {acknowledgement.sequence})" in mismatch.message
    assert mismatch.message in report.problems
    with pytest.raises(CommandError) as raised:
        call_command("verify_journal")
    assert reclamation.reference in str(raised.value) and _local(forged) in str(raised.value)


def test_the_pack_cover_no_longer_says_intact_and_lists_the_mismatch(handler):
    reclamation = advance(ReclamationFactory(received_at=_days_ago(5)), Step.REFORMULATION, handler)
    forged = _days_ago(4.9).replace(microsecond=0)
    Reclamation.objects.filter(pk=reclamation.pk).update(acknowledged_at=forged)

    text = _pack_text()

    assert "vérifié intact" not in text
    assert "anomalie détectée" in text
    cover = text.split("Indicateurs couverts")[0]
    assert f"Réclamation {reclamation.reference} : « accusé de réception envoyé le » vaut {_local(forged)}" in cover


def test_every_kind_of_fact_changed_behind_the_application_is_reported(handler):
    reclamation = advance(ReclamationFactory(received_at=_days_ago(5)), Step.CLOSED, handler)
    Reclamation.objects.filter(pk=reclamation.pk).update(
        received_at=_days_ago(4),
        answered_at=_days_ago(4.5),
        decision="unfavourable",
        closed_at=None,
        state=Step.FEEDBACK,
        feedback_satisfaction=5,
    )

    fields = {mismatch.field for mismatch in verify_chain().fact_mismatches}

    assert fields == {"received_at", "answered_at", "decision", "closed_at", "state", "feedback_satisfaction"}


# --- What the services write agrees with the log ---------------------------------------------------
def test_a_record_taken_through_every_step_reports_no_mismatch_and_every_fact_is_logged(handler):
    reclamation = advance(ReclamationFactory(received_at=_days_ago(5)), Step.CLOSED, handler)

    report = verify_chain()

    assert report.intact, report.message
    assert report.facts_records == 1
    assert "Dates et valeurs enregistrées conformes au journal (1 réclamation contrôlée)." in report.message
    logged: dict[str, object] = {}
    for event in Event.objects.filter(reclamation=reclamation).order_by("sequence"):
        logged.update(event.data.get("facts", {}))
    reclamation.refresh_from_db()
    for name in (
        "received_at",
        "ack_due_at",
        "answer_due_at",
        "acknowledged_at",
        "answered_at",
        "decision",
        "state",
        "closed_at",
        "feedback_received_at",
        "feedback_satisfaction",
    ):
        assert logged[name] == fact_value(getattr(reclamation, name)), name
    assert set(logged) <= set(FACT_FIELDS)


def test_reopening_discarding_and_a_decision_changed_before_the_answer_stay_in_agreement(handler, quality_lead):
    closed = advance(ReclamationFactory(received_at=_days_ago(5)), Step.CLOSED, handler)
    services.reclamation_reopen(
        reclamation=closed, actor=quality_lead, reason="Le client conteste.", step=Step.ACTION_PROPOSAL
    )
    answered = advance(ReclamationFactory(received_at=_days_ago(4)), Step.ACTION, handler)
    services.reclamation_update(reclamation=answered, actor=handler, changes={"decision": "partial"})
    advance(answered, Step.FOLLOW_UP, handler)  # the answer sent with that decision
    discarded = ReclamationFactory(received_at=_days_ago(3))
    services.reclamation_discard(reclamation=discarded, actor=handler, reason="Doublon.")

    report = verify_chain()

    assert report.intact, report.message
    assert report.facts_records == 3


def test_the_reception_date_correction_updates_the_fact_with_its_event(quality_lead):
    reclamation = ReclamationFactory(received_at=_days_ago(2))
    corrected = _days_ago(3)

    services.reclamation_correct_received_at(
        reclamation=reclamation,
        actor=quality_lead,
        received_at=corrected,
        reason="Courrier reçu la veille, enregistré en retard.",
    )

    event = Event.objects.filter(reclamation=reclamation, kind=EventKind.DEADLINES_RECOMPUTED).get()
    reclamation.refresh_from_db()
    assert event.data["facts"]["received_at"] == fact_value(corrected)
    assert event.data["facts"]["ack_due_at"] == fact_value(reclamation.ack_due_at)
    report = verify_chain()
    assert report.intact, report.message


def test_the_facts_survive_the_anonymisation_and_are_still_checked(handler):
    reclamation = advance(ReclamationFactory(received_at=_days_ago(5)), Step.CLOSED, handler)
    services.reclamation_anonymise(reclamation=reclamation, reason="Demande de la personne.")
    assert verify_chain().intact

    Reclamation.objects.filter(pk=reclamation.pk).update(closed_at=_days_ago(1))

    assert [m.field for m in verify_chain().fact_mismatches] == ["closed_at"]


def test_events_written_before_facts_were_logged_raise_no_false_alarm():
    # A record of before this change: its events carry no facts, so its values are not checked ...
    now = timezone.now()
    deadlines = sla.compute_deadline_set(now)
    old = Reclamation.objects.create(
        reference="R-2025-0001",
        channel="email",
        subject="Ancienne",
        description="Avant les faits.",
        received_at=now,
        token_hash=tokens.new_token()[1],
        ack_due_at=deadlines.ack_due_at,
        answer_due_at=deadlines.answer_due_at,
        ack_risk_at=deadlines.ack_risk_at,
        answer_risk_at=deadlines.answer_risk_at,
        acknowledged_at=now,
    )
    with transaction.atomic():
        record_event(
            kind=EventKind.ACKNOWLEDGED, reclamation=old, summary="Accusé de réception envoyé.", data={"sent_at": now}
        )
    Reclamation.objects.filter(pk=old.pk).update(acknowledged_at=now - timedelta(hours=1))
    assert verify_chain().intact

    # ... until an event carries one: from then on, that field is.
    with transaction.atomic():
        record_event(
            kind=EventKind.UPDATED,
            reclamation=old,
            summary="Correction.",
            data={"facts": {"acknowledged_at": fact_value(now)}},
        )
    assert [m.field for m in verify_chain().fact_mismatches] == ["acknowledged_at"]


def test_checking_the_facts_reads_the_records_in_one_query_however_many_there_are(handler):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert verify_chain().intact
        return len(captured)

    ReclamationFactory()
    advance(ReclamationFactory(), Step.REFORMULATION, handler)
    few = queries()
    for _ in range(5):
        advance(ReclamationFactory(), Step.REFORMULATION, handler)

    assert queries() == few


# --- Configuration changes ---------------------------------------------------------------------------
def _organisation_form(admin_client) -> tuple[str, dict[str, object]]:
    organisation = Organisation.current()
    url = reverse("admin:reclamations_organisation_change", args=[organisation.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False or (hasattr(value, "name") and not value):
            continue
        data[name] = value
    return url, data


def test_changing_the_acknowledgement_delay_in_the_admin_logs_who_and_both_values(admin_client, admin_user):
    url, data = _organisation_form(admin_client)
    data["ack_delay_hours"] = 24

    response = admin_client.post(url, data)

    assert response.status_code == 302
    assert Organisation.current().ack_delay_hours == 24
    event = Event.objects.get(kind=EventKind.CONFIGURATION_CHANGED)
    assert event.actor == admin_user and event.actor_label == "admin"
    assert event.data["changes"] == {
        "ack_delay_hours": {"label": "délai d'accusé de réception (heures)", "before": 48, "after": 24}
    }
    assert "délai d'accusé de réception (heures) : 48 → 24" in event.summary
    assert verify_chain().intact

    text = _pack_text()

    assert "Modifications de la configuration sur la période" in text
    assert "délai d'accusé de réception (heures) : 48 → 24" in text
    assert f"{timezone.localtime(event.created_at):%d/%m/%Y %H:%M} admin" in text


def test_saving_the_admin_form_unchanged_logs_nothing_and_the_pack_says_so(admin_client):
    url, data = _organisation_form(admin_client)

    assert admin_client.post(url, data).status_code == 302

    assert not Event.objects.filter(kind=EventKind.CONFIGURATION_CHANGED).exists()
    assert "Aucune modification de la configuration n'est inscrite au journal depuis le début de la période" in (
        _pack_text()
    )


def test_opening_hours_added_and_deleted_in_the_admin_are_logged(admin_client, admin_user):
    add = reverse("admin:reclamations_openinghours_add")
    assert admin_client.post(add, {"weekday": 0, "opens_at": "09:00", "closes_at": "12:30"}).status_code == 302
    hours = OpeningHours.objects.get()
    delete = reverse("admin:reclamations_openinghours_delete", args=[hours.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302

    created, deleted = Event.objects.filter(kind=EventKind.CONFIGURATION_CHANGED).order_by("sequence")
    assert created.data["action"] == "créé" and created.data["changes"]["closes_at"]["after"] == "12:30:00"
    assert deleted.data["action"] == "supprimé" and deleted.data["changes"]["weekday"]["before"] == "lundi"
    assert deleted.actor == admin_user
    assert not OpeningHours.objects.exists()


def test_a_configuration_change_outside_the_admin_goes_through_the_same_service(quality_lead):
    organisation = Organisation.current()
    organisation.mediator_name = "Médiateur de la formation"

    event = services.configuration_save(instance=organisation, actor=quality_lead)

    assert event.kind == EventKind.CONFIGURATION_CHANGED and event.actor == quality_lead
    assert event.data["changes"]["mediator_name"] == {
        "label": "médiateur de la consommation",
        "before": None,
        "after": "Médiateur de la formation",
    }
    with pytest.raises(TypeError):
        services.configuration_save(instance=ReclamationFactory(), actor=quality_lead)


def test_a_delay_changed_in_the_database_after_a_logged_change_is_named(admin_client):
    url, data = _organisation_form(admin_client)
    data["ack_delay_hours"] = 24
    assert admin_client.post(url, data).status_code == 302
    event = Event.objects.get(kind=EventKind.CONFIGURATION_CHANGED)

    Organisation.objects.filter(pk=1).update(ack_delay_hours=72)
    report = verify_chain()

    assert not report.intact
    assert report.problems == (
        f"Configuration — organisme et procédure « {Organisation.current().name} » : « délai d'accusé de réception "
        f"(heures) » vaut 72 dans la base, mais 24 dans le journal (événement n° {event.sequence}) — modification "
        "non journalisée.",
    )


def test_configuration_never_logged_raises_no_false_alarm():
    # Written before configuration changes were logged (or by a script): nothing to hold it to.
    organisation = Organisation.current()
    organisation.answer_delay_hours = 24
    organisation.save()

    assert verify_chain().intact
