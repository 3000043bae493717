"""Unread records: a client's message is new for the person who handles the record (the quality
lead while nobody does), shown in the list, the dashboard and the navigation until they open it."""
from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from post_office.models import Email

from reclamations import services
from reclamations.models import Channel, Reclamation
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, ServiceFactory, UserFactory, advance, inbound_email

pytestmark = pytest.mark.django_db

LIST = "/backoffice/reclamations/"
UNREAD_LIST = {"lecture": "non_lus"}
BADGE = ">Non lu</span>"


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def rows(response) -> dict[str, str]:
    """Each list row's HTML, by the record's reference."""
    found = {}
    for row in re.findall(r"<tr>\n(.*?)</tr>", response.content.decode(), flags=re.S):
        reference = re.search(r'class="fw-semibold">(R-\d{4}-\d{4,})</a>', row)
        if reference:
            found[reference.group(1)] = row
    return found


def detail(reclamation: Reclamation) -> str:
    return f"/backoffice/reclamations/{reclamation.pk}/"


def held_by(handler, **fields) -> Reclamation:
    """An open record that ``handler`` handles (step 3), with its follow-up token."""
    created = ReclamationFactory(**fields)
    reclamation = advance(created, Step.REFORMULATION, handler)
    reclamation.token = created.token
    return reclamation


def client_writes(client, reclamation: Reclamation, body: str = "Avez-vous reçu ma convocation ?") -> None:
    response = client.post(f"/suivi/{reclamation.token}/", {"body": body})
    assert response.status_code == 302


def nav_count(response) -> str | None:
    found = re.search(r'bo-unread-count">(\d+)<', response.content.decode())
    return found.group(1) if found else None


def message_notices() -> list[Email]:
    return list(Email.objects.filter(subject__startswith="Nouveau message du réclamant"))


# --- Who it is unread for ----------------------------------------------------------------------------
def test_it_marks_the_record_unread_for_its_handler_and_not_for_another_handler(
    client, login, handler, other_handler
):
    mine, quiet = held_by(handler), held_by(handler)

    client_writes(client, mine)

    shown = rows(login(handler).get(LIST))
    assert BADGE in shown[mine.reference]
    assert BADGE not in shown[quiet.reference]
    assert BADGE not in rows(login(other_handler).get(LIST))[mine.reference]


def test_it_lists_the_unread_records_under_the_non_lus_filter(client, login, handler):
    mine, quiet = held_by(handler), held_by(handler)
    client_writes(client, mine)

    response = login(handler).get(LIST, UNREAD_LIST)

    assert list(rows(response)) == [mine.reference]
    assert "Lecture : Non lus" in text(response)
    assert "1 réclamation correspondant à votre recherche" in text(response)
    assert quiet.reference not in response.content.decode()


def test_it_counts_the_unread_records_on_the_dashboard_and_in_the_navigation(client, login, handler, other_handler):
    first, second = held_by(handler), held_by(handler)
    client_writes(client, first)
    client_writes(client, second)
    client_writes(client, second, "Encore une question.")

    dashboard = login(handler).get("/backoffice/")

    page = dashboard.content.decode()
    assert nav_count(dashboard) == "2"
    assert re.search(r'fw-semibold lh-1 mb-1">2</span>\s*<span class="d-block small">Non lus<', page)
    assert 'href="/backoffice/reclamations/?lecture=non_lus"' in page
    assert nav_count(login(handler).get(LIST)) == "2"
    # Nothing new for a colleague: no count in their navigation.
    assert nav_count(login(other_handler).get("/backoffice/")) is None


def test_opening_the_record_makes_it_read_for_that_person_only(client, login, quality_lead):
    other_lead = UserFactory(role="quality_lead", username="qualite2")
    reclamation = ReclamationFactory()  # nobody handles it: new for the quality leads
    client_writes(client, reclamation)
    assert BADGE in rows(login(other_lead).get(LIST))[reclamation.reference]

    lead = login(quality_lead)
    assert lead.get(detail(reclamation)).status_code == 200

    assert BADGE not in rows(lead.get(LIST))[reclamation.reference]
    assert nav_count(lead.get(LIST)) is None
    assert BADGE in rows(login(other_lead).get(LIST))[reclamation.reference]
    assert nav_count(login(other_lead).get(LIST)) == "1"


def test_a_new_message_after_reading_makes_the_record_unread_again(client, login, handler):
    reclamation = held_by(handler)
    client_writes(client, reclamation)
    staff = login(handler)
    staff.get(detail(reclamation))
    assert BADGE not in rows(staff.get(LIST))[reclamation.reference]

    client_writes(client, reclamation, "Je n'ai toujours pas de réponse.")

    assert BADGE in rows(staff.get(LIST))[reclamation.reference]


def test_a_reply_by_email_marks_the_record_unread_for_its_handler(login, handler):
    reclamation = ReclamationFactory(complainant_email="claire.dupont@example.org", channel=Channel.PHONE)
    services.reclamation_assign(reclamation=reclamation, actor=handler, handler=handler)

    services.inbound_message_receive(
        raw=inbound_email(subject=f"Complément pour le dossier {reclamation.reference}", text="Session 42."),
        source="pipe",
    )

    assert BADGE in rows(login(handler).get(LIST, UNREAD_LIST))[reclamation.reference]
    (notice,) = message_notices()
    assert notice.to == [handler.email]


# --- Who is e-mailed ---------------------------------------------------------------------------------
def test_the_handler_is_emailed_once_about_a_client_message(client, handler, quality_lead):
    reclamation = held_by(handler)

    client_writes(client, reclamation)

    (notice,) = message_notices()
    assert notice.to == [handler.email]
    assert reclamation.reference in notice.subject
    assert detail(reclamation) in notice.message


def test_without_a_handler_the_quality_lead_is_emailed_once_and_finds_it_unread(client, login, handler,
                                                                                 quality_lead):
    reclamation = ReclamationFactory()

    client_writes(client, reclamation)

    (notice,) = message_notices()
    assert notice.to == [quality_lead.email]
    assert BADGE in rows(login(quality_lead).get(LIST))[reclamation.reference]
    assert BADGE not in rows(login(handler).get(LIST))[reclamation.reference]


# --- Cost ----------------------------------------------------------------------------------------------
def test_the_list_costs_the_same_number_of_queries_however_many_records_are_unread(
    client, login, handler, django_assert_num_queries
):
    service = ServiceFactory()  # one for all: a new service would be read again, once
    for _ in range(2):
        client_writes(client, held_by(handler, service=service))
    staff = login(handler)
    staff.get(LIST, UNREAD_LIST)
    with CaptureQueriesContext(connection) as few:
        staff.get(LIST, UNREAD_LIST)
    count = len(few.captured_queries)  # now: the connection keeps a bounded log
    for _ in range(6):
        client_writes(client, held_by(handler, service=service))

    with django_assert_num_queries(count):
        response = staff.get(LIST, UNREAD_LIST)

    assert sum(BADGE in row for row in rows(response).values()) == 8
