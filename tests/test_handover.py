"""Handing a record over: its handler (or the quality lead, for any record) gives it to a colleague
with a note; the colleague is e-mailed and finds the record unread."""
from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse
from post_office.models import Email

from reclamations.models import Event, EventKind, Reclamation
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance

pytestmark = pytest.mark.django_db

LIST = "/backoffice/reclamations/"
BADGE = ">Non lu</span>"
NOTE = "Cliente rappelée le 3 : elle attend le devis du report. À relancer jeudi."


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def row_of(response, reclamation: Reclamation) -> str:
    for row in re.findall(r"<tr>\n(.*?)</tr>", response.content.decode(), flags=re.S):
        if f'class="fw-semibold">{reclamation.reference}</a>' in row:
            return row
    raise AssertionError(f"{reclamation.reference} is not listed")


def hand_over(client, reclamation: Reclamation, to, note: str = NOTE):
    reclamation.refresh_from_db()
    return client.post(reverse("backoffice:assign", args=[reclamation.pk]),
                       {"assign-handler": to.pk, "assign-note": note, "expected_state": reclamation.state})


def handover_emails() -> list[Email]:
    return list(Email.objects.filter(subject__startswith="Réclamation confiée à vous"))


@pytest.fixture
def record(handler) -> Reclamation:
    """An open record at step 3 that ``handler`` handles."""
    return advance(ReclamationFactory(), Step.REFORMULATION, handler)


def test_it_hands_a_record_over_to_a_colleague_with_a_note(login, handler, other_handler, record):
    response = hand_over(login(handler), record, other_handler)

    assert response.status_code == 302
    record.refresh_from_db()
    assert record.handler == other_handler
    event = Event.objects.filter(reclamation=record, kind=EventKind.ASSIGNED).latest("sequence")
    assert event.actor == handler and event.data["note"] == NOTE
    (email,) = handover_emails()
    assert email.to == [other_handler.email]
    assert record.reference in email.subject
    for part in (email.message, email.html_message):
        assert "Camille Martin vous a confié la réclamation" in html.unescape(part)
        assert NOTE in html.unescape(part)
        assert f"/backoffice/reclamations/{record.pk}/" in part
    colleague = login(other_handler)
    assert BADGE in row_of(colleague.get(LIST), record)
    assert BADGE not in row_of(login(handler).get(LIST), record)
    # The colleague opens it: the note is in its history, and it is read.
    assert NOTE in text(colleague.get(f"/backoffice/reclamations/{record.pk}/"))
    assert BADGE not in row_of(colleague.get(LIST), record)


def test_a_handler_cannot_hand_over_a_colleagues_record(login, other_handler, quality_lead, record):
    response = hand_over(login(other_handler), record, quality_lead)

    assert response.status_code == 403
    assert "Cette réclamation est suivie par Camille Martin" in text(response)
    assert "seul son responsable du traitement ou le responsable qualité peut la modifier" in text(response)
    record.refresh_from_db()
    assert record.handler.username == "gestionnaire"
    assert handover_emails() == []
    assert BADGE not in row_of(login(quality_lead).get(LIST), record)


def test_the_quality_lead_hands_over_any_record(login, handler, other_handler, quality_lead, record):
    response = hand_over(login(quality_lead), record, other_handler, note="")

    assert response.status_code == 302
    record.refresh_from_db()
    assert record.handler == other_handler
    (email,) = handover_emails()
    assert email.to == [other_handler.email]
    assert "Note de passation" not in email.message
    assert BADGE in row_of(login(other_handler).get(LIST), record)


def test_taking_a_record_for_oneself_sends_nothing_and_leaves_it_read(login, handler):
    reclamation = advance(ReclamationFactory(), Step.IDENTIFICATION, handler)
    staff = login(handler)

    response = staff.post(reverse("backoffice:self_assign", args=[reclamation.pk]),
                          {"expected_state": reclamation.state})

    assert response.status_code == 302
    assert handover_emails() == []
    assert BADGE not in row_of(staff.get(LIST), reclamation)


def test_the_hand_over_form_offers_a_note_to_the_handler_of_the_record(login, handler, other_handler, record):
    page = login(handler).get(f"/backoffice/reclamations/{record.pk}/", {"formulaire": "assign"})

    assert "Confier à quelqu'un d'autre" in text(page)
    assert 'name="assign-note"' in page.content.decode()
    assert "Confier à quelqu'un d'autre" not in text(login(other_handler).get(f"/backoffice/reclamations/{record.pk}/"))


def test_it_refuses_a_note_for_the_person_who_already_handles_the_record(login, handler, record):
    response = hand_over(login(handler), record, handler)

    # Not "saved" while the note goes nowhere: the form comes back with the note and says why.
    assert response.status_code == 200
    page = text(response)
    assert "Camille Martin est déjà responsable du traitement : choisissez le collègue" in page
    assert NOTE in html.unescape(response.content.decode())
    assert not Event.objects.filter(reclamation=record, kind=EventKind.ASSIGNED, data__note=NOTE).exists()
    assert handover_emails() == []
