"""Chronology: enforced where a date or a step's data is entered, flagged where it is not.

Refused by the services (and so by every page): a reception date after the acknowledgement or in
the future, or corrected after the acknowledgement by anyone but the quality lead; an answer dated
before the acknowledgement; a step's data before its step; any change to a closed or discarded
record but its reopening by the quality lead. Whatever still breaks the order (imports, old data) is
listed on the record's sheet and in the evidence pack's « Contrôles de cohérence ».
"""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from pypdf import PdfReader

from reclamations import pdf, services
from reclamations.consistency import anomalies_of
from reclamations.journal import record_event
from reclamations.models import ActionKind, Communication, Event, EventKind, Reclamation
from reclamations.statistics import Period
from reclamations.uploads import check_uploads
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, RootCauseCategoryFactory, advance, upload

pytestmark = pytest.mark.django_db

CLOSED_MESSAGE = "Cette réclamation est clôturée : seul le responsable qualité peut la rouvrir pour la modifier."


def _reload(reclamation: Reclamation) -> Reclamation:
    return Reclamation.objects.get(pk=reclamation.pk)


def _pack_text() -> str:
    document = pdf.build_pack(period=Period.last_twelve_months()).pdf
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(document)).pages)


def _page(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def _acknowledged(handler, *, received_days_ago: float = 3, acknowledged_days_ago: float = 2) -> Reclamation:
    now = timezone.now()
    record = ReclamationFactory(received_at=now - timedelta(days=received_days_ago))
    services.reclamation_record_acknowledgement(
        reclamation=record, actor=handler, sent_at=now - timedelta(days=acknowledged_days_ago)
    )
    return _reload(record)


def _corrections(record: Reclamation) -> int:
    return Event.objects.filter(reclamation=record, kind=EventKind.DEADLINES_RECOMPUTED).count()


# --- The reception date ---------------------------------------------------------------------------------
def test_it_refuses_a_reception_date_after_the_acknowledgement(quality_lead, handler):
    record = _acknowledged(handler)
    before = record.received_at

    with pytest.raises(services.WorkflowError, match="ne peut pas suivre l'accusé de réception"):
        services.reclamation_correct_received_at(
            reclamation=record,
            actor=quality_lead,
            reason="Cachet de la poste",
            received_at=timezone.now() - timedelta(days=1),
        )

    assert _reload(record).received_at == before
    assert _corrections(record) == 0


def test_it_refuses_a_reception_date_in_the_future(handler):
    record = ReclamationFactory(received_at=timezone.now() - timedelta(days=1))

    with pytest.raises(services.WorkflowError, match="ne peut pas être dans le futur"):
        services.reclamation_correct_received_at(
            reclamation=record, actor=handler, reason="Erreur", received_at=timezone.now() + timedelta(hours=2)
        )

    assert _corrections(record) == 0


def test_a_handler_corrects_the_reception_date_before_the_acknowledgement_only(handler):
    record = ReclamationFactory(received_at=timezone.now() - timedelta(days=1))
    services.reclamation_correct_received_at(
        reclamation=record,
        actor=handler,
        reason="Courrier daté de la veille",
        received_at=timezone.now() - timedelta(days=2),
    )
    services.reclamation_record_acknowledgement(reclamation=record, actor=handler)

    with pytest.raises(services.WorkflowError, match="seul le responsable qualité peut encore corriger"):
        services.reclamation_correct_received_at(
            reclamation=record, actor=handler, reason="Encore", received_at=timezone.now() - timedelta(days=3)
        )

    assert _corrections(record) == 1


def test_the_quality_lead_corrects_it_after_the_acknowledgement_and_the_pack_says_who_when_and_why(
    handler, quality_lead
):
    record = _acknowledged(handler)
    corrected = timezone.now() - timedelta(days=4)

    with pytest.raises(services.WorkflowError, match="motif"):
        services.reclamation_correct_received_at(
            reclamation=record, actor=quality_lead, reason=" ", received_at=corrected
        )
    services.reclamation_correct_received_at(
        reclamation=record, actor=quality_lead, received_at=corrected, reason="Le cachet de la poste fait foi"
    )

    event = Event.objects.get(reclamation=record, kind=EventKind.DEADLINES_RECOMPUTED)
    assert event.actor == quality_lead and event.data["after_acknowledgement"] is True
    text = _pack_text()
    assert "(date corrigée)" in text  # the sheet's reception line
    assert (
        f"Date de réception corrigée le {timezone.localtime(event.created_at):%d/%m/%Y à %H:%M} par "
        f"{quality_lead.get_full_name()}"
    ) in text
    assert "motif : Le cachet de la poste fait foi" in text
    assert (
        f"date corrigée le {timezone.localtime(event.created_at):%d/%m/%Y} par {quality_lead.get_full_name()}" in text
    )


def test_the_page_refuses_a_late_correction_by_a_handler_and_keeps_what_was_typed(login, handler, bo_post):
    record = _acknowledged(handler)

    response = bo_post(
        login(handler),
        record,
        "received_at",
        {
            "received_at": timezone.localtime(timezone.now() - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M"),
            "reason": "Cachet de la poste du 2 décembre",
        },
    )

    assert response.status_code == 200
    page = _page(response)
    assert "seul le responsable qualité peut encore corriger la date de réception" in page
    assert "Cachet de la poste du 2 décembre" in page
    assert _corrections(record) == 0


# --- Acknowledgement and answer ----------------------------------------------------------------------------
def test_it_refuses_an_acknowledgement_before_the_reception(handler):
    record = ReclamationFactory(received_at=timezone.now() - timedelta(days=1))

    with pytest.raises(services.WorkflowError, match="ne peut pas précéder la réception"):
        services.reclamation_record_acknowledgement(
            reclamation=record, actor=handler, sent_at=timezone.now() - timedelta(days=2), means="courrier"
        )

    assert _reload(record).acknowledged_at is None


def test_it_refuses_an_answer_dated_before_the_acknowledgement(handler):
    with time_machine.travel(timezone.now() - timedelta(days=2)):
        record = advance(ReclamationFactory(), Step.ACTION, handler)
    for action in record.actions.all():
        services.reclamation_update_action(action=action, actor=handler, changes={"status": "done"})
    services.reclamation_update(
        reclamation=record,
        actor=handler,
        changes={"decision": "favourable", "answer": "Votre session est reportée sans frais."},
    )
    acknowledged_at = _reload(record).acknowledged_at

    with pytest.raises(services.WorkflowError, match="ne peut pas être datée avant l'accusé de réception"):
        services.reclamation_send_answer(
            reclamation=record, actor=handler, means="letter", sent_at=acknowledged_at - timedelta(hours=1)
        )

    record = _reload(record)
    assert record.answered_at is None
    assert not record.communications.filter(purpose=Communication.Purpose.ANSWER).exists()


# --- A step's data at its step ------------------------------------------------------------------------------
def test_it_refuses_the_conclusion_at_step_1(handler):
    record = ReclamationFactory()

    with pytest.raises(services.WorkflowError, match=r"^Conclusion : à enregistrer à partir de l'étape 8"):
        services.reclamation_update(reclamation=record, actor=handler, changes={"conclusion": "Tout est réglé."})

    record = _reload(record)
    assert record.conclusion == ""
    assert not Event.objects.filter(reclamation=record, kind=EventKind.UPDATED).exists()


@pytest.mark.parametrize(
    "changes, step",
    [
        ({"severity": 3, "complexity": 2, "repercussions": 2}, "l'étape 4 (Proposition d'action)"),
        ({"decision": "favourable", "answer": "Accordé."}, "l'étape 6 (Action concrète)"),
        ({"root_cause_analysis": "Envoi manuel."}, "l'étape 8 (Conclusion et propositions)"),
        ({"reformulation": "Points clés."}, "l'étape 3 (Reformulation et contact)"),
    ],
    ids=["evaluation", "answer", "root-cause", "reformulation"],
)
def test_it_refuses_a_later_steps_data_at_step_1(handler, changes, step):
    record = ReclamationFactory()

    with pytest.raises(
        services.WorkflowError,
        match=re.escape(f"à partir de {step} ; cette réclamation est à l'étape 1 (Prise en compte)"),
    ):
        services.reclamation_update(reclamation=record, actor=handler, changes=changes)

    assert not Event.objects.filter(reclamation=record, kind=EventKind.UPDATED).exists()


def test_it_refuses_an_action_plan_before_step_4(handler):
    record = advance(ReclamationFactory(), Step.REFORMULATION, handler)

    with pytest.raises(services.WorkflowError, match="Plan d'action : à enregistrer à partir de l'étape 4"):
        services.reclamation_add_action(
            reclamation=record,
            actor=handler,
            kind=ActionKind.CORRECTIVE,
            description="Envoyer les convocations plus tôt.",
        )

    assert not record.actions.exists()


def test_an_earlier_steps_data_may_still_be_corrected_while_the_record_is_open(handler):
    record = advance(ReclamationFactory(), Step.CONCLUSION, handler)

    services.reclamation_update(reclamation=record, actor=handler, changes={"reformulation": "Reformulation précisée."})

    assert _reload(record).reformulation == "Reformulation précisée."


def test_the_page_refuses_the_conclusion_at_step_1_and_keeps_what_was_typed(login, handler, bo_post):
    record = ReclamationFactory()
    category = RootCauseCategoryFactory()

    response = bo_post(
        login(handler),
        record,
        "conclusion",
        {
            "conclusion": "Report accordé, cliente satisfaite.",
            "root_cause_category": category.pk,
            "root_cause_analysis": "Oubli pendant les congés.",
        },
    )

    assert response.status_code == 200
    page = _page(response)
    assert "à enregistrer à partir de l'étape 8 (Conclusion et propositions)" in page
    assert "Report accordé, cliente satisfaite." in page and "Oubli pendant les congés." in page
    record = _reload(record)
    assert record.conclusion == "" and record.root_cause_category is None


# --- Closed and discarded records ---------------------------------------------------------------------------
@pytest.fixture
def closed(handler) -> Reclamation:
    return advance(ReclamationFactory(received_at=timezone.now() - timedelta(days=5)), Step.CLOSED, handler)


def _attempts(record: Reclamation, actor) -> dict:
    return {
        "note": lambda: services.reclamation_log_communication(
            reclamation=record, actor=actor, kind="note", direction="internal", body="Claire a rappelé."
        ),
        "call": lambda: services.reclamation_log_communication(
            reclamation=record, actor=actor, kind="call", direction="outbound", body="Appel de suivi."
        ),
        "file": lambda: services.reclamation_add_attachments(
            reclamation=record, actor=actor, uploads=check_uploads([upload("retour.pdf")])
        ),
        "date": lambda: services.reclamation_correct_received_at(
            reclamation=record, actor=actor, received_at=timezone.now() - timedelta(days=6), reason="Erreur"
        ),
        "message": lambda: services.reclamation_send_message(
            reclamation=record, actor=actor, purpose="progress", subject="Point", body="Nouvelles."
        ),
        "conclusion": lambda: services.reclamation_update(
            reclamation=record, actor=actor, changes={"conclusion": "Autre conclusion."}
        ),
        "action": lambda: services.reclamation_add_action(
            reclamation=record, actor=actor, kind=ActionKind.PREVENTIVE, description="Encore une action."
        ),
    }


def test_a_closed_record_refuses_a_note(closed, quality_lead):
    with pytest.raises(
        services.WorkflowError,
        match=re.escape(CLOSED_MESSAGE),
    ):
        _attempts(closed, quality_lead)["note"]()

    assert not closed.communications.filter(direction="internal").exists()


@pytest.mark.parametrize("state", [Step.CLOSED, Step.DISCARDED])
def test_a_closed_or_discarded_record_refuses_every_change(handler, quality_lead, state):
    record = ReclamationFactory(received_at=timezone.now() - timedelta(days=5))
    if state == Step.CLOSED:
        record = advance(record, Step.CLOSED, handler)
    else:
        record = services.reclamation_discard(reclamation=record, actor=handler, reason="Doublon")
    events = Event.objects.filter(reclamation=record).count()

    for name, attempt in _attempts(record, quality_lead).items():
        with pytest.raises(
            services.WorkflowError,
            match=r"clôturée : seul le responsable qualité peut la rouvrir|"
            r"classée sans suite : elle ne peut plus être modifiée",
        ):
            attempt()
            pytest.fail(f"{name}: accepted on a {state} record")

    assert Event.objects.filter(reclamation=record).count() == events
    assert not record.attachments.exists()


def test_the_page_refuses_a_call_on_a_closed_record(login, closed, handler, bo_post):
    response = bo_post(
        login(handler),
        closed,
        "communication",
        {
            "kind": "call",
            "direction": "outbound",
            "purpose": "general",
            "body": "Appel après clôture.",
            "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
    )

    assert response.status_code == 200
    assert CLOSED_MESSAGE in _page(response)
    assert not closed.communications.filter(body="Appel après clôture.").exists()


def test_only_the_quality_lead_reopens_a_closed_record(closed, handler, quality_lead):
    with pytest.raises(services.WorkflowError, match="Seul le responsable qualité peut rouvrir"):
        services.reclamation_reopen(reclamation=closed, actor=handler, reason="Le problème persiste")
    assert _reload(closed).state == Step.CLOSED

    reopened = services.reclamation_reopen(reclamation=closed, actor=quality_lead, reason="Le problème persiste")

    assert reopened.state == Step.ACTION_PROPOSAL


# --- The answer stays as the client received it ----------------------------------------------------------------
def test_it_refuses_to_rewrite_the_answer_once_sent(handler, quality_lead):
    record = advance(ReclamationFactory(received_at=timezone.now() - timedelta(days=5)), Step.CONCLUSION, handler)
    sent = record.answer

    for changes in ({"answer": "Une autre réponse, plus favorable."}, {"decision": "unfavourable"}):
        with pytest.raises(services.WorkflowError, match="restent tels que le réclamant les a reçus"):
            services.reclamation_update(reclamation=record, actor=handler, changes=changes)
    assert _reload(record).answer == sent
    assert Communication.objects.get(reclamation=record, purpose="answer").body == sent
    # The rest of the record is still open to corrections.
    services.reclamation_update(reclamation=record, actor=handler, changes={"conclusion": "Report accordé."})

    closed = advance(record, Step.CLOSED, handler)
    reopened = services.reclamation_reopen(reclamation=closed, actor=quality_lead, reason="Le problème persiste")
    advance(reopened, Step.ACTION, handler)
    services.reclamation_update(reclamation=reopened, actor=handler, changes={"answer": "Une nouvelle réponse."})
    assert _reload(record).answer == "Une nouvelle réponse."


# --- Reopening resets the steps after it ------------------------------------------------------------------
def test_reopening_step_4_resets_steps_5_to_9(closed, handler, quality_lead):
    reopened = services.reclamation_reopen(reclamation=closed, actor=quality_lead, reason="Le problème persiste")

    event = Event.objects.get(reclamation=closed, kind=EventKind.REOPENED)
    assert event.data["reset_steps"] == [5, 6, 7, 8, 9]
    assert event.summary == "Réouverte à l'étape 4 : Le problème persiste. Étapes 5 à 9 à refaire."
    record = advance(reopened, Step.CLOSED, handler)  # steps 4 to 9 done again
    assert record.state == Step.CLOSED

    text = _pack_text()
    assert "remise à faire par la réouverture du" in text
    assert "refaite le" in text
    assert anomalies_of(record) == []


# --- Anomalies that escaped the checks ----------------------------------------------------------------------
def test_the_pack_lists_an_answer_before_the_acknowledgement(closed):
    # As an import or old data would leave it: the database written directly.
    answered_at = closed.acknowledged_at - timedelta(hours=2)
    Reclamation.objects.filter(pk=closed.pk).update(answered_at=answered_at)

    text = _pack_text()

    expected = (
        f"Réponse argumentée envoyée le {timezone.localtime(answered_at):%d/%m/%Y à %H:%M}, avant l'accusé "
        f"de réception ({timezone.localtime(closed.acknowledged_at):%d/%m/%Y à %H:%M})."
    )
    assert "Contrôles de cohérence" in text
    assert text.count(expected) == 2  # the pack's section and the record's sheet
    assert f"{closed.reference} — {closed.subject}" in text
    assert "Aucune incohérence détectée sur la période." not in text


def test_the_record_page_shows_the_anomaly_before_the_auditor_reads_it(closed, login, handler):
    answered_at = closed.acknowledged_at - timedelta(hours=2)
    Reclamation.objects.filter(pk=closed.pk).update(answered_at=answered_at)
    in_order = advance(ReclamationFactory(received_at=timezone.now() - timedelta(days=5)), Step.CLOSED, handler)
    client = login(handler)

    page = html.unescape(client.get(f"/backoffice/reclamations/{closed.pk}/").content.decode())
    assert "Contrôles de cohérence" in page
    assert f"Réponse argumentée envoyée le {timezone.localtime(answered_at):%d/%m/%Y à %H:%M}, avant" in page

    page = html.unescape(client.get(f"/backoffice/reclamations/{in_order.pk}/").content.decode())
    assert "Contrôles de cohérence" not in page


def test_a_period_in_order_says_so(closed):
    text = _pack_text()

    assert "Contrôles de cohérence" in text
    assert "Aucune incohérence détectée sur la période." in text


def test_it_flags_a_step_completed_before_the_previous_one(handler):
    record = ReclamationFactory(received_at=timezone.now() - timedelta(days=3))
    with time_machine.travel(timezone.now() - timedelta(days=1)):
        record = advance(record, Step.IDENTIFICATION, handler)
    with time_machine.travel(timezone.now() - timedelta(days=2)):  # a step 2 logged a day before step 1
        record_event(
            kind=EventKind.STEP_COMPLETED,
            reclamation=record,
            actor=handler,
            summary="Import.",
            data={"from": Step.IDENTIFICATION, "to": Step.REFORMULATION, "step": 2},
        )
    record_event(
        kind=EventKind.STEP_COMPLETED,
        reclamation=record,
        actor=handler,
        summary="Import.",
        data={"from": Step.ACTION_PROPOSAL, "to": Step.SCHEDULING, "step": 4},
    )

    found = anomalies_of(record)

    assert len(found) == 2
    assert (
        found[0].startswith("Étape 2 (Identification) terminée le ") and ", avant l'étape 1 (terminée le " in found[0]
    )
    assert found[1].startswith("Étape 4 (Proposition d'action) terminée le ")
    assert found[1].endswith("sans que l'étape 3 l'ait été.")


def test_it_flags_dates_out_of_order_or_in_the_future(handler):
    record = ReclamationFactory(received_at=timezone.now() - timedelta(days=10))
    now = timezone.now()
    record.acknowledged_at = now - timedelta(days=11)
    record.answered_at = now - timedelta(days=5)
    record.closed_at = now - timedelta(days=6)
    record.feedback_requested_at = now - timedelta(days=4)
    record.feedback_received_at = now - timedelta(days=4, hours=1)

    found = " ".join(anomalies_of(record, [], now=now))
    assert "Accusé de réception envoyé le" in found and "avant la réception" in found
    assert "Clôture le" in found and "avant la réponse argumentée" in found
    assert "Enquête de satisfaction répondue le" in found and "avant son envoi" in found

    record.answered_at = now + timedelta(days=1)
    assert "Réponse argumentée : date dans le futur" in " ".join(anomalies_of(record, [], now=now))
