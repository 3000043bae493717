"""Acting on several records from the list: assign them to a colleague, mark them read or unread.

Each record goes through the single action's service (its event, its e-mail); what may not be done
is refused record by record and explained, the rest done, all in one transaction.
"""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse
from post_office.models import Email

from reclamations import services
from reclamations.models import Event, EventKind, Reclamation, RecordRead
from tests.factories import ReclamationFactory

pytestmark = pytest.mark.django_db

URL = reverse("backoffice:bulk_action")
LIST = "/backoffice/reclamations/"


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def bulk(client, records, action: str, *, handler=None, note: str = "", back: str = "", follow: bool = True):
    data = {"bulk-action": action, "bulk-ids": [r.pk for r in records], "bulk-note": note, "bulk-back": back}
    if handler is not None:
        data["bulk-handler"] = handler.pk
    return client.post(URL, data, follow=follow)


def handler_of(record: Reclamation):
    record.refresh_from_db()
    return record.handler


def test_the_quality_lead_assigns_three_records_at_once_each_logged_like_the_single_action(
    login, quality_lead, handler, other_handler
):
    records = [ReclamationFactory(), ReclamationFactory(actor=handler), ReclamationFactory()]
    services.reclamation_assign(reclamation=records[1], actor=handler, handler=handler)

    response = bulk(login(quality_lead), records, "assign", handler=other_handler, note="Pendant mes congés.")

    assert "3 réclamations attribuées à Alex Petit." in text(response)
    assert all(handler_of(r) == other_handler for r in records)
    # The colleague is told of each record, as after a single hand-over.
    told = Email.objects.filter(subject__startswith="Réclamation confiée à vous", to=[other_handler.email])
    assert told.count() == 3
    for record in records:
        event = Event.objects.filter(reclamation=record, kind=EventKind.ASSIGNED).latest("sequence")
        assert event.actor == quality_lead and event.data["note"] == "Pendant mes congés."
        # ... and the colleague finds each of them unread, as after a single hand-over.
        assert RecordRead.objects.filter(user=other_handler, reclamation=record, unread_at__isnull=False).exists()


def test_a_handler_is_refused_the_records_of_a_colleague_and_told_why_the_others_are_assigned(
    login, handler, other_handler
):
    mine = ReclamationFactory()
    services.reclamation_assign(reclamation=mine, actor=handler, handler=handler)
    unassigned = ReclamationFactory()
    theirs = ReclamationFactory()
    services.reclamation_assign(reclamation=theirs, actor=other_handler, handler=other_handler)

    response = bulk(login(handler), [mine, unassigned, theirs], "assign", handler=handler)

    page = text(response)
    assert "1 réclamation attribuée à Camille Martin." in page  # the unassigned one, taken
    assert "1 réclamation l'était déjà à Camille Martin." in page
    assert f"{theirs.reference} non attribuée : Cette réclamation est suivie par Alex Petit." in page
    assert handler_of(unassigned) == handler
    assert handler_of(theirs) == other_handler
    assert not Event.objects.filter(reclamation=theirs, kind=EventKind.ASSIGNED, actor=handler).exists()


def test_a_closed_record_in_the_selection_is_refused_and_left_untouched(login, quality_lead, handler):
    open_record = ReclamationFactory()
    discarded = ReclamationFactory()
    services.reclamation_discard(reclamation=discarded, actor=quality_lead, reason="Doublon")

    page = text(bulk(login(quality_lead), [open_record, discarded], "assign", handler=handler))

    assert "1 réclamation attribuée à Camille Martin." in page
    assert f"{discarded.reference} non attribuée : Cette réclamation est classée sans suite" in page
    assert handler_of(discarded) is None


def test_nothing_is_half_done_when_one_assignment_fails(login, quality_lead, handler, monkeypatch):
    first, second = ReclamationFactory(), ReclamationFactory()
    calls = []
    original = services.bulk.reclamation_assign

    def failing_second(**kwargs):
        calls.append(kwargs["reclamation"].pk)
        if len(calls) == 2:
            raise RuntimeError("database gone")
        return original(**kwargs)

    monkeypatch.setattr(services.bulk, "reclamation_assign", failing_second)

    with pytest.raises(RuntimeError):
        bulk(login(quality_lead), [first, second], "assign", handler=handler)

    assert handler_of(first) is None and handler_of(second) is None
    assert not Event.objects.filter(kind=EventKind.ASSIGNED).exists()


def test_assigning_without_choosing_a_colleague_keeps_the_note_and_the_ticked_rows(login, quality_lead):
    records = [ReclamationFactory(), ReclamationFactory()]

    response = bulk(login(quality_lead), records, "assign", note="À traiter vite", back="state=ouvertes")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Choisissez la personne à qui attribuer les réclamations." in text(response)
    assert 'value="À traiter vite"' in html.unescape(page)
    assert all(f'value="{r.pk}" checked' in page for r in records)


def test_an_empty_selection_says_what_to_do(login, handler):
    ReclamationFactory()

    response = login(handler).post(URL, {"bulk-action": "read"})

    assert response.status_code == 200
    assert "Cochez au moins une réclamation dans la liste." in text(response)


def test_marking_unread_then_read_shows_and_clears_the_badge(login, handler):
    records = [ReclamationFactory(), ReclamationFactory()]
    client = login(handler)

    unread = bulk(client, records, "unread")
    assert "2 réclamations marquées comme non lues." in text(unread)
    assert text(client.get(LIST)).count("Non lu ") == 2

    read = bulk(client, records, "read")
    assert "2 réclamations marquées comme lues." in text(read)
    assert "Non lu " not in text(client.get(LIST))


def test_it_comes_back_to_the_list_as_it_was(login, handler):
    record = ReclamationFactory()

    response = bulk(
        login(handler), [record], "unread", back="state=ouvertes&ordre=-reference&page=1&evil=1", follow=False
    )

    assert response.status_code == 302
    assert response["Location"] == f"{LIST}?state=ouvertes&ordre=-reference&page=1"


def test_it_needs_the_csrf_token(handler):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(handler)
    record = ReclamationFactory()

    response = client.post(URL, {"bulk-action": "unread", "bulk-ids": [record.pk]})

    assert response.status_code == 403
    assert not RecordRead.objects.exists()


def test_a_person_without_the_handler_role_is_refused(login, client_account):
    record = ReclamationFactory()

    response = login(client_account).post(URL, {"bulk-action": "unread", "bulk-ids": [record.pk]})

    assert response.status_code == 403
    assert not RecordRead.objects.exists()


def test_unknown_ids_are_reported_not_a_500(login, handler):
    record = ReclamationFactory()

    response = login(handler).post(URL, {"bulk-action": "unread", "bulk-ids": [record.pk, 999999]}, follow=True)

    assert "1 réclamation de la sélection n'existe plus." in text(response)
    assert "1 réclamation marquée comme non lue." in text(response)
