"""The record page's conversation (issue 17, point 4): the exchanges as one thread, in the order
each handler chose (remembered server-side), the reply box first, internal notes unmistakable,
system events in their own "Historique" tab."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from reclamations import services
from reclamations.models import Communication, StaffPreference
from reclamations.uploads import check_uploads
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance, upload

pytestmark = pytest.mark.django_db


def detail_url(reclamation, query: str = "") -> str:
    return reverse("backoffice:detail", args=[reclamation.pk]) + query


def panel(page: str, panel_id: str) -> str:
    match = re.search(rf'<div role="tabpanel" id="{panel_id}"[^>]*>(.*?)</ol>', page, re.S)
    assert match is not None, panel_id
    return match.group(0)


def exchange(reclamation, handler, body: str, **kwargs):
    options = {"kind": "call", "direction": "outbound", "public": True, **kwargs}
    return services.reclamation_log_communication(reclamation=reclamation, actor=handler, body=body, **options)


def a_conversation(handler):
    reclamation = ReclamationFactory()
    services.reclamation_add_client_message(reclamation=reclamation, body="Premier message du client.")
    exchange(reclamation, handler, "Deuxième : notre appel.")
    exchange(reclamation, handler, "Troisième : note pour l'équipe.", kind="note", direction="internal", public=False)
    return reclamation


def test_the_thread_shows_newest_first_until_the_handler_chooses_otherwise(login, handler):
    reclamation = a_conversation(handler)
    client = login(handler)

    thread = panel(client.get(detail_url(reclamation)).content.decode(), "conversation")
    assert thread.index("Troisième") < thread.index("Deuxième") < thread.index("Premier message du client.")

    response = client.post(reverse("backoffice:conversation_order", args=[reclamation.pk]), {"ordre": "ancien"})

    assert response.status_code == 302 and response["Location"].endswith("#conversation")
    thread = panel(client.get(detail_url(reclamation)).content.decode(), "conversation")
    assert thread.index("Premier message du client.") < thread.index("Deuxième") < thread.index("Troisième")


def test_the_order_chosen_is_remembered_for_every_record_and_only_for_that_person(login, handler, other_handler):
    first, second = a_conversation(handler), a_conversation(handler)
    login(handler).post(reverse("backoffice:conversation_order", args=[first.pk]), {"ordre": "ancien"})

    # A new session (another browser): the choice was kept on the server, and applies to any record.
    page = login(handler).get(detail_url(second)).content.decode()
    thread = panel(page, "conversation")
    assert thread.index("Premier message du client.") < thread.index("Troisième")
    assert 'value="ancien" class="btn btn-sm btn-secondary" aria-pressed="true"' in page
    assert StaffPreference.objects.get(user=handler).conversation_newest_first is False
    # A colleague still reads newest first.
    colleague = panel(login(other_handler).get(detail_url(second)).content.decode(), "conversation")
    assert colleague.index("Troisième") < colleague.index("Premier message du client.")


def test_an_unknown_order_changes_nothing(login, handler):
    reclamation = a_conversation(handler)

    response = login(handler).post(reverse("backoffice:conversation_order", args=[reclamation.pk]), {"ordre": "x"})

    assert response.status_code == 302
    assert not StaffPreference.objects.exists()


def test_internal_notes_are_labelled_and_styled_apart_and_never_reach_the_client(login, handler, client):
    reclamation = a_conversation(handler)

    thread = panel(login(handler).get(detail_url(reclamation)).content.decode(), "conversation")

    note = re.search(r'<li class="bo-entry bo-entry-note">(?:(?!</li>).)*</li>', thread, re.S).group(0)
    assert "Note interne" in note and "Troisième : note pour l&#x27;équipe." in note
    call = re.search(r'<li class="bo-entry bo-entry-outbound">(?:(?!</li>).)*</li>', thread, re.S).group(0)
    assert "Deuxième : notre appel." in call and "Note interne" not in call
    inbound = re.search(r'<li class="bo-entry bo-entry-inbound">(?:(?!</li>).)*</li>', thread, re.S).group(0)
    assert "Premier message du client." in inbound
    follow_up = client.get(reverse("public:follow_up", args=[reclamation.token])).content.decode()
    assert "note pour l" not in follow_up


def test_system_events_are_in_the_history_tab_not_in_the_thread(login, handler):
    reclamation = a_conversation(handler)
    services.reclamation_update(reclamation=reclamation, actor=handler, changes={"subject": "Objet corrigé"})
    edited = "Modification : objet."

    page = login(handler).get(detail_url(reclamation)).content.decode()

    thread, history = panel(page, "conversation"), panel(page, "historique-liste")
    assert "Réclamation enregistrée" not in thread and "Réclamation enregistrée" in history
    assert edited not in thread and edited in history
    # Each exchange is shown once, in the thread: not repeated as an event in the history.
    assert "Deuxième : notre appel." not in history
    # The conversation shows first; the history tab is there, hidden, and reachable by its link.
    assert re.search(r'<div role="tabpanel" id="historique-liste"[^>]* hidden>', page)
    assert 'aria-controls="historique-liste" aria-selected="false"' in page


def test_the_history_tab_link_works_without_javascript(login, handler):
    reclamation = a_conversation(handler)

    page = login(handler).get(detail_url(reclamation, "?onglet=historique")).content.decode()

    assert re.search(r'<div role="tabpanel" id="conversation"[^>]* hidden>', page)
    assert not re.search(r'<div role="tabpanel" id="historique-liste"[^>]* hidden>', page)
    assert 'aria-controls="historique-liste" aria-selected="true"' in page


def test_at_step_1_the_reply_box_points_to_the_steps_message_form(login, handler):
    reclamation = a_conversation(handler)

    page = login(handler).get(detail_url(reclamation)).content.decode()

    thread = page[page.index('id="conversation"') :]
    assert '<a href="#message">Répondre au réclamant</a>' in thread
    assert page.count('id="message"') == 1


def test_the_reply_box_comes_before_the_thread(login, handler):
    reclamation = a_conversation(handler)
    # Past step 1, whose card holds the acknowledgement form: the reply box is the conversation's.
    reclamation = advance(reclamation, Step.REFORMULATION, handler)

    page = login(handler).get(detail_url(reclamation, "?formulaire=message")).content.decode()

    thread = page[page.index('id="conversation"') :]
    assert thread.index("Répondre au réclamant") < thread.index("Premier message du client.")
    assert thread.index('name="message-body"') < thread.index("Premier message du client.")


def test_a_file_sent_with_a_message_is_shown_in_it(login, handler):
    reclamation = ReclamationFactory()
    [attestation] = services.reclamation_add_attachments(
        reclamation=reclamation, actor=handler, uploads=check_uploads([upload("attestation.pdf")])
    )
    services.reclamation_send_message(
        reclamation=reclamation,
        actor=handler,
        purpose=Communication.Purpose.PROGRESS,
        subject="Attestation",
        body="Voici votre attestation.",
        attachment_ids=[attestation.pk],
    )

    thread = panel(login(handler).get(detail_url(reclamation)).content.decode(), "conversation")

    message = re.search(
        r'<li class="bo-entry bo-entry-outbound">(?:(?!</li>\n<li).)*Voici votre attestation'
        r"(?:(?!</li>\n<li).)*</li>",
        thread,
        re.S,
    ).group(0)
    assert reverse("backoffice:attachment", args=[attestation.pk]) in message


def test_the_thread_costs_the_same_number_of_queries_however_long(
    login, handler, django_assert_num_queries, django_assert_max_num_queries
):
    from reclamations import selectors

    short, long = a_conversation(handler), a_conversation(handler)
    for n in range(30):
        exchange(long, handler, f"Appel {n}")
    files = [upload(f"piece-{n}.pdf") for n in range(5)]
    services.reclamation_add_attachments(reclamation=long, actor=handler, uploads=check_uploads(files))

    # The thread: exchanges (with their count), files, which file went with which message; the
    # same when only the newest exchanges are read.
    with django_assert_num_queries(3):
        selectors.conversation(long, newest_first=True)
    with django_assert_num_queries(3):
        thread = selectors.conversation(long, newest_first=True, limit=selectors.CONVERSATION_SHOWN)
    assert thread.total == 33 + 5 and thread.hidden == 33 + 5 - selectors.CONVERSATION_SHOWN
    with django_assert_num_queries(1):
        selectors.history(long)

    client = login(handler)
    client.get(detail_url(short))  # warm-up: sessions, caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as for_short:
        client.get(detail_url(short))
    with django_assert_max_num_queries(len(for_short.captured_queries)):
        client.get(detail_url(long))


def test_a_long_thread_shows_its_newest_exchanges_and_the_older_ones_on_demand(login, handler):
    from reclamations import selectors

    reclamation = ReclamationFactory()
    for n in range(1, selectors.CONVERSATION_SHOWN + 4):  # 33 calls, n° 1 the oldest
        exchange(reclamation, handler, f"Appel numéro {n:02d}.")
    client = login(handler)

    page = client.get(detail_url(reclamation)).content.decode()
    thread = panel(page, "conversation")
    assert "Appel numéro 33." in thread and "Appel numéro 04." in thread
    assert "Appel numéro 03." not in thread  # the three oldest wait
    assert re.search(r'Conversation <span class="badge[^"]*">33</span>', page)  # the tab counts them all
    older = re.search(r'<a href="([^"]+)"[^>]*hx-select="#conversation-fil"[^>]*>([^<]+)</a>', page)
    assert older.group(2) == "Afficher les 3 échanges plus anciens"
    assert page.index("Appel numéro 04.") < page.index(older.group(2))  # below them, newest first

    everything = panel(client.get(older.group(1).replace("&amp;", "&")).content.decode(), "conversation")
    assert all(f"Appel numéro {n:02d}." in everything for n in range(1, 34))
    assert "plus anciens" not in everything

    # Oldest first: the link comes before the thread, which starts at the 30th newest.
    client.post(reverse("backoffice:conversation_order", args=[reclamation.pk]), {"ordre": "ancien"})
    page = client.get(detail_url(reclamation)).content.decode()
    assert page.index("Afficher les 3 échanges plus anciens") < page.index("Appel numéro 04.") < page.index(
        "Appel numéro 33.")
    assert "Appel numéro 03." not in page
