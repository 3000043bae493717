"""The action plan on the record page (steps 4 to 6): add, schedule, carry out."""
from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from reclamations import services
from reclamations.models import Action, Event, EventKind, Reclamation
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance, upload

pytestmark = pytest.mark.django_db


def text(response) -> str:
    """The page's words, without markup."""
    words = re.sub(r"<[^>]+>", "", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(words))


def reload(reclamation) -> Reclamation:
    return Reclamation.objects.get(pk=reclamation.pk)


def complete(client, bo_post, reclamation):
    return bo_post(client, reclamation, "complete_step", prefix="")


def action_data(action: Action, **changes) -> dict[str, object]:
    data = {"description": action.description, "kind": action.kind, "owner": action.owner_id or "",
            "due_date": action.due_date.isoformat() if action.due_date else "", "status": action.status,
            "done_at": action.done_at.isoformat() if action.done_at else "", "result": action.result}
    data.update(changes)
    return data


def update(client, bo_post, action: Action, **changes):
    return bo_post(client, action.reclamation, "action_update", action_data(action, **changes),
                   prefix=f"action-{action.pk}", url_args=[action.pk])


def test_it_builds_the_action_plan_and_completes_step_4(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.ACTION_PROPOSAL, handler)
    client = login(handler)
    bo_post(client, reclamation, "evaluation", {"severity": 2, "complexity": 1, "repercussions": 2})

    immediate = bo_post(client, reclamation, "action_add",
                        {"description": "Vérifier la date d'envoi des convocations.", "kind": "immediate",
                         "owner": handler.pk, "due_date": (date.today() + timedelta(days=1)).isoformat()})
    corrective = bo_post(client, reclamation, "action_add",
                         {"description": "Envoyer les convocations 15 jours avant.", "kind": "corrective"})

    assert immediate.status_code == corrective.status_code == 302
    assert corrective["Location"].endswith("#plan")
    actions = list(reclamation.actions.order_by("id"))
    assert [a.kind for a in actions] == ["immediate", "corrective"]
    assert actions[0].owner == handler and actions[1].owner is None
    assert Event.objects.filter(reclamation=reclamation, kind=EventKind.ACTION_ADDED, actor=handler).count() == 2
    assert complete(client, bo_post, reclamation).status_code == 302
    assert reload(reclamation).state == Step.SCHEDULING


def test_it_refuses_an_action_without_description_or_with_an_unknown_kind(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.ACTION_PROPOSAL, handler)

    response = bo_post(login(handler), reclamation, "action_add", {"description": "", "kind": "urgent"})

    assert response.status_code == 200
    page = text(response)
    assert "Action : Ce champ est obligatoire." in page
    assert "Sélectionnez un choix valide" in page
    assert not reclamation.actions.exists()


def test_step_5_needs_an_owner_and_a_due_date_for_every_action(login, handler, other_handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.SCHEDULING, handler)
    client = login(handler)
    page = text(complete(client, bo_post, reclamation))
    assert "un responsable et une échéance pour chaque action du plan" in page

    for action in reclamation.actions.all():
        response = update(client, bo_post, action, owner=other_handler.pk,
                          due_date=(date.today() + timedelta(days=10)).isoformat())
        assert response.status_code == 302

    assert set(reclamation.actions.values_list("owner", flat=True)) == {other_handler.pk}
    assert complete(client, bo_post, reclamation).status_code == 302
    assert reload(reclamation).state == Step.ACTION


def test_marking_an_action_done_without_a_date_dates_it_today(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    action = reclamation.actions.first()

    response = update(login(handler), bo_post, action, status="done", result="Convocations vérifiées.")

    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == "done" and action.done_at == timezone.localdate()
    event = Event.objects.filter(reclamation=reclamation, kind=EventKind.ACTION_UPDATED).last()
    assert event.actor == handler and event.data["changes"]["status"]["after"] == "done"


def test_one_click_marks_an_action_done_and_keeps_its_other_fields(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    action = reclamation.actions.first()
    before = (action.description, action.owner_id, action.due_date)

    response = bo_post(login(handler), reclamation, "action_update", {"status": "done"},
                       prefix=f"action-{action.pk}", url_args=[action.pk])

    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == "done" and action.done_at == timezone.localdate()
    assert (action.description, action.owner_id, action.due_date) == before


def test_it_refuses_a_completion_date_in_the_future(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    action = reclamation.actions.first()

    response = update(login(handler), bo_post, action, status="done",
                      done_at=(date.today() + timedelta(days=5)).isoformat())

    assert response.status_code == 200
    assert "Cette date est dans le futur" in text(response)
    action.refresh_from_db()
    assert action.status != "done"


def test_an_action_of_another_record_is_not_found(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.SCHEDULING, handler)
    other = advance(ReclamationFactory(), Step.SCHEDULING, handler)
    foreign = other.actions.first()

    response = bo_post(login(handler), reclamation, "action_update", action_data(foreign, status="cancelled"),
                       prefix=f"action-{foreign.pk}", url_args=[foreign.pk])

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status != "cancelled"


def test_the_plan_shows_what_each_action_still_lacks(login, handler):
    reclamation = advance(ReclamationFactory(), Step.SCHEDULING, handler)
    services.reclamation_add_action(reclamation=reclamation, actor=handler, kind="preventive",
                                    description="Relecture des convocations par un collègue.")

    page = text(login(handler).get(f"/backoffice/reclamations/{reclamation.pk}/"))

    assert "Relecture des convocations par un collègue." in page
    assert "Responsable : à désigner" in page
    assert "Échéance : à fixer" in page


@pytest.mark.parametrize(("count", "said"), [(1, "1 pièce jointe ajoutée."), (2, "2 pièces jointes ajoutées.")])
def test_it_says_how_many_files_were_added_in_proper_french(login, handler, bo_post, count, said):
    reclamation = ReclamationFactory()
    files = [upload(f"piece-{n}.pdf") for n in range(count)]

    client = login(handler)

    response = bo_post(client, reclamation, "attachment_add", {}, prefix="attachment", **{"attachment-files": files})

    assert said in html.unescape(client.get(response["Location"]).content.decode())
