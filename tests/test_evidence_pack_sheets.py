"""What the evidence pack's sheets and figures say, read back from the PDF: the acknowledgement among
the exchanges, the files (never their content), the survey's questions as asked, and the French."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from reclamations import pdf, services
from reclamations.models import ActionKind, Communication, EventKind
from reclamations.statistics import Period
from reclamations.text import shorten
from reclamations.uploads import check_uploads
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance, pdf_bytes, upload

pytestmark = pytest.mark.django_db


def _text(document: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(document)).pages)


def _sheet(record) -> str:
    return _text(pdf.build_record_pdf(reclamation=record, generated_by="Dominique Bernard").pdf)


def _pack() -> str:
    return _text(pdf.build_pack(period=Period.last_twelve_months(), generated_by="Dominique Bernard").pdf)


def _days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def _exchanges(text: str) -> str:
    return text[text.index("Échanges"):text.index("Pièces justificatives")]


# --- The acknowledgement among the exchanges ----------------------------------------------------
def test_the_acknowledgement_e_mail_is_among_the_exchanges_with_its_recipient_subject_and_text(handler):
    record = ReclamationFactory(received_at=_days_ago(2), channel="email", actor=handler)
    services.reclamation_send_message(
        reclamation=record, actor=handler, purpose=Communication.Purpose.ACKNOWLEDGEMENT,
        subject="Accusé de réception de votre réclamation",
        body="Nous avons bien reçu votre réclamation et la traitons sous dix jours ouvrés.",
    )
    services.reclamation_record_acknowledgement(reclamation=record, actor=None)

    exchanges = _exchanges(_sheet(record))

    assert "Aucun échange enregistré" not in exchanges
    assert "(accusé de réception)" in exchanges and "— à claire.dupont@example.org" in exchanges
    assert "Accusé de réception de votre réclamation." in exchanges
    assert "Nous avons bien reçu votre réclamation et la traitons sous dix jours ouvrés." in exchanges


def test_an_acknowledgement_recorded_without_a_kept_message_is_still_an_exchange(handler):
    record = ReclamationFactory(received_at=_days_ago(3), channel="letter", actor=handler)
    sent_at = _days_ago(2)
    services.reclamation_record_acknowledgement(reclamation=record, actor=handler, sent_at=sent_at,
                                                means="courrier")

    exchanges = _exchanges(_sheet(record))

    assert "Aucun échange enregistré" not in exchanges
    assert (f"{timezone.localtime(sent_at):%d/%m/%Y %H:%M} — Accusé de réception envoyé au réclamant (courrier) — "
            f"enregistré par {handler.get_full_name()}") in exchanges


def test_a_record_with_no_acknowledgement_nor_message_says_so():
    record = ReclamationFactory(received_at=_days_ago(1))

    assert "Aucun échange enregistré." in _exchanges(_sheet(record))


# --- The files ------------------------------------------------------------------------------------
def test_each_sheet_lists_its_files_with_size_date_and_who_added_them_never_their_content(handler):
    record = ReclamationFactory(received_at=_days_ago(2))
    services.reclamation_add_attachments(reclamation=record, actor=None,
                                         uploads=check_uploads([upload("convocation.pdf")]))
    services.reclamation_add_attachments(
        reclamation=record, actor=handler,
        uploads=check_uploads([upload("courrier-scanne.pdf", pdf_bytes("Texte secret du courrier"))]))

    text = _sheet(record)

    files = text[text.index("Pièces justificatives"):text.index("Historique (journal)")]
    today = timezone.localdate().strftime("%d/%m/%Y")
    assert re.search(rf"convocation\.pdf — [\d,]+ (octets|Ko) — ajoutée le {today} à \d\d:\d\d par le réclamant", files)
    assert re.search(rf"courrier-scanne\.pdf — [\d,]+ (octets|Ko) — ajoutée le {today} à \d\d:\d\d par "
                     rf"{handler.get_full_name()}", files)
    assert "Texte secret du courrier" not in text


def test_a_sheet_without_files_says_so():
    record = ReclamationFactory(received_at=_days_ago(1))

    text = _sheet(record)

    assert "Pièces justificatives Aucune pièce." in text


def test_a_message_names_the_files_sent_with_it(handler):
    record = ReclamationFactory(received_at=_days_ago(2))
    services.reclamation_add_client_message(reclamation=record, body="Voici ma facture.",
                                            uploads=check_uploads([upload("facture-0412.pdf")]))

    exchanges = _exchanges(_sheet(record))

    assert "Voici ma facture." in exchanges and "Pièce jointe : facture-0412.pdf" in exchanges


# --- The survey's questions as asked ------------------------------------------------------------
def test_questions_nobody_was_asked_are_not_counted_as_answered_no(handler):
    record = advance(ReclamationFactory(received_at=_days_ago(30)), Step.FEEDBACK, handler)
    services.reclamation_record_feedback(reclamation=record, satisfaction=4)  # the score alone, by phone

    text = _pack()

    assert "Enquête de satisfaction 1 réponse, moyenne 4,0 / 5" in text
    assert "Problème résolu (selon le réclamant)" not in text
    assert "Réponse jugée claire" not in text and "Délai jugé acceptable" not in text
    assert "oui : 0 — en partie : 0 — non : 0" not in text


def test_no_survey_answer_is_written_in_the_singular():
    ReclamationFactory(received_at=_days_ago(5))

    assert "Enquête de satisfaction 0 réponse" in _pack()


# --- French -------------------------------------------------------------------------------------
def test_the_journal_never_repeats_the_kind_of_an_event(handler):
    record = advance(ReclamationFactory(received_at=_days_ago(10)), Step.ACTION_PROPOSAL, handler)
    assert record.events.filter(kind=EventKind.UPDATED, summary__startswith="Modification : ").exists()

    text = _sheet(record)

    assert "Modification : Modification" not in text
    assert "Modification : reformulation des points clés." in text


def test_a_subject_ending_with_its_own_punctuation_gets_no_second_full_stop(handler):
    record = ReclamationFactory(received_at=_days_ago(2))
    services.reclamation_log_communication(reclamation=record, actor=handler, kind="call", direction="outbound",
                                           subject="Pouvez-vous préciser la date ?", body="Oui, le 14 janvier.")
    services.reclamation_log_communication(reclamation=record, actor=handler, kind="email", direction="outbound",
                                           subject="Rappel des faits.", body="Voir ci-dessous.")

    exchanges = _exchanges(_sheet(record))

    assert "Pouvez-vous préciser la date ? Oui, le 14 janvier." in exchanges
    assert "Rappel des faits. Voir ci-dessous." in exchanges
    assert ".." not in exchanges and "?." not in exchanges


def test_an_improvement_title_taken_from_a_long_action_is_cut_between_words(handler, quality_lead):
    record = advance(ReclamationFactory(received_at=_days_ago(5)), Step.ACTION_PROPOSAL, handler)
    description = ("Ajouter au contrat de location une clause de température minimale de dix-neuf degrés et une "
                   "visite de la salle la veille de chaque session par le formateur référent")
    action = services.reclamation_add_action(reclamation=record, actor=handler, description=description,
                                             kind=ActionKind.CORRECTIVE)

    improvement, _ = services.reclamation_promote_action(action=action, actor=quality_lead)

    assert improvement.title.endswith("…") and len(improvement.title) <= 120
    assert description.startswith(improvement.title[:-1])
    assert description[len(improvement.title) - 1] == " "  # the next character: the cut fell between words


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("Salle non chauffée", 40, "Salle non chauffée"),
    ("Salle de formation non chauffée le premier jour", 25, "Salle de formation non…"),
    ("Anticonstitutionnellement", 10, "Anticonst…"),  # one long word: cut it, nothing better
    ("Visite de la salle, puis check-list", 20, "Visite de la salle…"),
])
def test_shorten_cuts_on_a_word_boundary(text, limit, expected):
    assert shorten(text, limit) == expected


def test_an_effectiveness_comment_ending_with_a_full_stop_gets_no_second_one(handler, quality_lead):
    record = advance(ReclamationFactory(received_at=_days_ago(40)), Step.CLOSED, handler)
    improvement = services.improvement_create(
        actor=quality_lead, origin="records", title="Convocations à J-10", owner=quality_lead,
        description="Envoi automatique des convocations dix jours avant.", reclamations=[record])
    services.improvement_update(improvement=improvement, actor=quality_lead, changes={"status": "done"})
    services.improvement_record_check(improvement=improvement, actor=quality_lead, result="partly",
                                      comment="Deux convocations parties à J-6.")

    text = _pack()

    assert "Deux convocations parties à J-6. Envoi automatique des convocations dix jours avant." in text
    assert "J-6.." not in text
