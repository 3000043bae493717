"""Dates of the action plan that make sense: nothing due or done before the complaint arrived,
nothing done in the future, a deadline already past only when the handler confirms it."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from reclamations import services
from reclamations.models import Action, Event, EventKind
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance

pytestmark = pytest.mark.django_db

PAST_DUE = "Cette échéance est déjà passée. S'il s'agit d'un plan enregistré après coup, cochez"


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


@pytest.fixture
def record(handler):
    received = timezone.now() - timedelta(days=10)
    return advance(ReclamationFactory(received_at=received), Step.ACTION_PROPOSAL, handler)


def add(client, bo_post, record, **data):
    fields = {"description": "Relancer le centre d'examen", "kind": "corrective", "owner": "", "due_date": ""}
    return bo_post(client, record, "action_add", {**fields, **data})


def test_it_refuses_a_due_date_before_the_reception(handler, login, bo_post, record):
    before = timezone.localdate(record.received_at) - timedelta(days=1)

    response = add(login(handler), bo_post, record, due_date=before.isoformat())

    page = text(response)
    assert "L'échéance ne peut pas précéder la réception de la réclamation" in page
    assert "Relancer le centre d'examen" in page  # what was typed is shown again
    assert not Action.objects.filter(description="Relancer le centre d'examen").exists()


def test_a_past_due_date_needs_a_confirmation_and_is_logged_as_such(handler, login, bo_post, record):
    client = login(handler)
    past = timezone.localdate() - timedelta(days=2)

    refused = add(client, bo_post, record, due_date=past.isoformat())
    assert PAST_DUE in text(refused)
    assert not Action.objects.filter(description="Relancer le centre d'examen").exists()

    accepted = add(client, bo_post, record, due_date=past.isoformat(), confirm_past_due="on")
    assert accepted.status_code == 302
    action = Action.objects.get(description="Relancer le centre d'examen")
    assert action.due_date == past
    event = Event.objects.filter(kind=EventKind.ACTION_ADDED, data__action=action.pk).get()
    assert event.data["past_due_confirmed"] is True


def test_a_future_due_date_needs_no_confirmation(handler, login, bo_post, record):
    response = add(login(handler), bo_post, record, due_date=(timezone.localdate() + timedelta(days=5)).isoformat())

    assert response.status_code == 302
    assert Action.objects.filter(description="Relancer le centre d'examen").exists()


def test_it_refuses_a_done_date_in_the_future_or_before_the_reception(handler, login, bo_post, record):
    client = login(handler)
    action = services.reclamation_add_action(reclamation=record, actor=handler, description="Vérifier la salle",
                                             kind="immediate", owner=handler,
                                             due_date=timezone.localdate() + timedelta(days=1))
    data = {"description": action.description, "kind": action.kind, "owner": handler.pk,
            "due_date": (timezone.localdate() + timedelta(days=1)).isoformat(), "status": "done", "result": "Fait."}

    future = bo_post(client, record, "action_update", {**data, "done_at": (timezone.localdate()
                                                                           + timedelta(days=1)).isoformat()},
                     prefix=f"action-{action.pk}", url_args=[action.pk])
    too_early = bo_post(client, record, "action_update",
                        {**data, "done_at": (timezone.localdate(record.received_at) - timedelta(days=1)).isoformat()},
                        prefix=f"action-{action.pk}", url_args=[action.pk])

    assert "Cette date est dans le futur : indiquez une date passée." in text(future)
    assert "Une action ne peut pas être réalisée avant la réception de la réclamation" in text(too_early)
    action.refresh_from_db()
    assert action.status != "done"


def test_an_unchanged_past_due_date_needs_no_new_confirmation(handler, login, bo_post, record):
    client = login(handler)
    past = timezone.localdate() - timedelta(days=2)
    add(client, bo_post, record, due_date=past.isoformat(), confirm_past_due="on")
    action = Action.objects.get(description="Relancer le centre d'examen")

    response = bo_post(client, record, "action_update",
                       {"description": action.description, "kind": action.kind, "owner": handler.pk,
                        "due_date": past.isoformat(), "status": "done", "done_at": "", "result": "Fait."},
                       prefix=f"action-{action.pk}", url_args=[action.pk])

    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == "done"
