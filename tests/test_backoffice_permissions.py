"""Who reaches what: anonymous, a client account, handlers, the quality lead; on every view and record."""
from __future__ import annotations

import html
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse

from reclamations import permissions, services
from reclamations.models import Reclamation
from reclamations.uploads import check_uploads
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance, upload

pytestmark = pytest.mark.django_db


def text(response) -> str:
    words = re.sub(r"<[^>]+>", "", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(words))


@pytest.fixture
def record(handler):
    """A record at step 3, assigned to ``handler``, with one attachment."""
    reclamation = advance(ReclamationFactory(), Step.REFORMULATION, handler)
    services.reclamation_add_attachments(reclamation=reclamation, actor=None, uploads=check_uploads([upload()]))
    return Reclamation.objects.get(pk=reclamation.pk)


def get_urls(record) -> list[str]:
    return [
        reverse("backoffice:dashboard"),
        reverse("backoffice:list"),
        reverse("backoffice:create"),
        reverse("backoffice:detail", args=[record.pk]),
        reverse("backoffice:attachment", args=[record.attachments.get().pk]),
        reverse("backoffice:password_change"),
    ]


# Every POST endpoint of a record, with a form that would be accepted.
POSTS = {
    "complete_step": {},
    "acknowledgement": {"acknowledgement-means": "courrier", "acknowledgement-sent_at": "2026-01-02T10:00"},
    "not_applicable": {"not_applicable-reason": "Pas de téléphone."},
    "assign": {},
    "self_assign": {},
    "identification": {"identification-kind": "complaint", "identification-complainant_name": "X",
                       "identification-subject": "Objet"},
    "reformulation": {"reformulation-reformulation": "Points clés"},
    "communication": {"communication-kind": "note", "communication-direction": "internal",
                      "communication-purpose": "general", "communication-occurred_at": "2026-01-02T10:00",
                      "communication-body": "Note"},
    "evaluation": {"evaluation-severity": 1, "evaluation-complexity": 1, "evaluation-repercussions": 1},
    "action_add": {"action_add-description": "Action", "action_add-kind": "immediate"},
    "answer": {"answer-answer": "Réponse", "answer-means": "email"},
    "conclusion": {"conclusion-conclusion": "Fin"},
    "feedback": {"feedback-satisfaction": 4},
    "message": {"message-purpose": "progress", "message-subject": "S", "message-body": "B"},
    "discard": {"discard-reason": "Spam"},
    "reopen": {"reopen-step": "action_proposal", "reopen-reason": "Encore"},
    "received_at": {"received_at-received_at": "2026-01-02T10:00", "received_at-reason": "Erreur"},
    "attachment_add": {},
}


def post(client: Client, record, name: str):
    data = {**POSTS[name], "expected_state": record.state}
    if name == "assign":
        data["assign-handler"] = record.handler_id
    return client.post(reverse(f"backoffice:{name}", args=[record.pk]), data)


# --- The rule itself -----------------------------------------------------------------------------
def test_the_object_rule(handler, other_handler, quality_lead, client_account):
    unassigned = ReclamationFactory()
    mine = ReclamationFactory()
    services.reclamation_assign(reclamation=mine, actor=handler, handler=handler)
    mine.refresh_from_db()

    for user in (handler, other_handler, quality_lead):
        assert permissions.can_view(user, mine)
    assert not permissions.can_view(AnonymousUser(), mine)
    assert not permissions.can_view(client_account, mine)

    assert permissions.can_change(handler, mine) and permissions.can_change(handler, unassigned)
    assert permissions.can_change(other_handler, unassigned)
    assert not permissions.can_change(other_handler, mine)
    assert "suivie par Camille Martin" in permissions.change_denial(other_handler, mine)
    assert permissions.can_change(quality_lead, mine)
    assert permissions.change_denial(client_account, unassigned) == permissions.NOT_STAFF

    assert permissions.assign_denial(handler, mine, other_handler) is None  # handing over their own record
    assert "suivie par Camille Martin" in permissions.assign_denial(other_handler, mine, quality_lead)
    assert permissions.assign_denial(quality_lead, mine, other_handler) is None
    assert permissions.assign_denial(other_handler, unassigned, handler) is None
    assert "ne fait pas partie de l'équipe" in permissions.assign_denial(quality_lead, mine, client_account)
    assert permissions.can_reassign(quality_lead, mine) and permissions.can_reassign(handler, mine)
    assert not permissions.can_reassign(other_handler, mine)


# --- Pages ---------------------------------------------------------------------------------------
def test_anonymous_visitors_are_sent_to_the_login_page(client, record):
    for url in get_urls(record):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/backoffice/connexion/?next="), url


def test_a_signed_in_client_never_reaches_a_back_office_page(login, client_account, record):
    client = login(client_account)

    for url in get_urls(record):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "réservé à l'équipe qui traite les réclamations" in text(response), url


@pytest.mark.parametrize("role", ["handler", "other_handler", "quality_lead"])
def test_every_handler_and_the_quality_lead_reach_every_page(login, record, role, request):
    client = login(request.getfixturevalue(role))

    for url in get_urls(record):
        assert client.get(url).status_code == 200, url


def test_a_colleague_reads_a_record_assigned_to_someone_else_without_forms(login, other_handler, record):
    page = text(login(other_handler).get(reverse("backoffice:detail", args=[record.pk])))

    assert "Cette réclamation est suivie par Camille Martin." in page
    assert "Enregistrer la reformulation" not in page
    assert "Terminer l'étape" not in page


def test_the_attachment_is_served_as_a_download(login, handler, record):
    response = login(handler).get(reverse("backoffice:attachment", args=[record.attachments.get().pk]))

    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert login(handler).get(reverse("backoffice:attachment", args=[999999])).status_code == 404


# --- Writes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(POSTS))
def test_anonymous_and_client_posts_change_nothing(client, login, client_account, record, name):
    before = Reclamation.objects.get(pk=record.pk).updated_at

    anonymous = post(client, record, name)
    as_client = post(login(client_account), record, name)

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/backoffice/connexion/")
    assert as_client.status_code == 403
    assert Reclamation.objects.get(pk=record.pk).updated_at == before


@pytest.mark.parametrize("name", sorted(POSTS))
def test_a_handler_cannot_change_a_colleagues_record(login, other_handler, record, name):
    before = Reclamation.objects.get(pk=record.pk).updated_at

    response = post(login(other_handler), record, name)

    assert response.status_code == 403
    assert "seul son responsable du traitement ou le responsable qualité peut la modifier" in text(response)
    assert Reclamation.objects.get(pk=record.pk).updated_at == before


@pytest.mark.parametrize("name", ["reformulation", "message", "discard"])
def test_the_quality_lead_may_change_any_record(login, quality_lead, record, name):
    assert post(login(quality_lead), record, name).status_code == 302


def test_only_its_handler_or_the_quality_lead_hands_a_record_over(login, handler, other_handler, quality_lead,
                                                                    record):
    url = reverse("backoffice:assign", args=[record.pk])

    refused = login(other_handler).post(url, {"assign-handler": other_handler.pk, "expected_state": record.state})
    assert refused.status_code == 403
    assert "seul son responsable du traitement ou le responsable qualité peut la modifier" in text(refused)
    assert Reclamation.objects.get(pk=record.pk).handler == handler

    assert login(handler).post(url, {"assign-handler": other_handler.pk, "expected_state": record.state}
                               ).status_code == 302
    assert Reclamation.objects.get(pk=record.pk).handler == other_handler

    assert login(quality_lead).post(url, {"assign-handler": handler.pk, "expected_state": record.state}
                                    ).status_code == 302
    assert Reclamation.objects.get(pk=record.pk).handler == handler


def test_record_endpoints_refuse_get(login, handler, record):
    client = login(handler)

    for name in POSTS:
        assert client.get(reverse(f"backoffice:{name}", args=[record.pk])).status_code == 405, name


def test_posts_without_csrf_token_are_refused(handler, record):
    client = Client(enforce_csrf_checks=True)
    client.force_login(handler)

    response = client.post(reverse("backoffice:reformulation", args=[record.pk]),
                           {"reformulation-reformulation": "X", "expected_state": record.state})

    assert response.status_code == 403
    assert Reclamation.objects.get(pk=record.pk).reformulation == ""
