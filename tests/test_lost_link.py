"""The "lien perdu" page: a further follow-up link for each of the address's records, sent by the
worker after the page has answered; the link the client holds keeps working; limits per address
and per record; the same answer and the same work whether anything matched."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reclamations import services, tasks
from reclamations.models import Communication, Event, FollowUpLink, LinkRequest, Reclamation
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance, contact_form_data

pytestmark = pytest.mark.django_db

LOST = "/suivi/lien-perdu/"
LINK = re.compile(r"http://127\.0\.0\.1:8000(/suivi/[A-Za-z0-9_-]{43}/)")


def _lost(client, django_capture_on_commit_callbacks, *, execute=True, **overrides):
    """Post the form; with ``execute``, then let the worker run, as the commit asks it to."""
    data = {"reference": "", "email": "", "website": "", "started": contact_form_data()["started"], **overrides}
    with django_capture_on_commit_callbacks():
        response = client.post(LOST, data)
    if execute and response.status_code == 200:
        tasks.send_outbox()
    return response


def links_sent() -> list[str]:
    return [LINK.search(m.body).group(1) for m in mail.outbox if "nouveau lien de suivi" in m.subject]


def test_a_further_link_is_sent_and_the_link_the_client_holds_keeps_working(
    client, django_capture_on_commit_callbacks
):
    reclamation = ReclamationFactory(complainant_email="Claire.Dupont@example.org")
    old_link = f"/suivi/{reclamation.token}/"
    mail.outbox.clear()

    response = _lost(client, django_capture_on_commit_callbacks, email=" claire.dupont@EXAMPLE.org ")

    assert response.status_code == 200
    assert "un lien de suivi y sera envoyé" in " ".join(response.content.decode().split())
    sent, = mail.outbox
    assert sent.to == ["Claire.Dupont@example.org"]
    assert sent.subject == f"Votre nouveau lien de suivi — {reclamation.reference}"
    assert "Le lien que vous aviez reste valable." in sent.body
    new_link, = links_sent()
    assert new_link != old_link
    assert client.get(new_link).status_code == 200
    assert client.get(old_link).status_code == 200
    communication = Communication.objects.get(reclamation=reclamation, subject=sent.subject)
    assert communication.direction == "outbound" and communication.public
    assert new_link not in communication.body  # the record keeps the text, not the secret
    assert "[lien de suivi personnel]" in communication.body
    assert Event.objects.filter(
        reclamation=reclamation, summary="Nouveau lien de suivi envoyé au réclamant (le précédent reste valable)."
    ).exists()
    assert not LinkRequest.objects.exists()  # the request, with its address, is gone once handled


def test_the_address_alone_gets_a_link_for_each_of_its_records_and_the_reference_narrows_it(
    client, django_capture_on_commit_callbacks
):
    first = ReclamationFactory(complainant_email="claire.dupont@example.org")
    second = ReclamationFactory(complainant_email="claire.dupont@example.org")
    ReclamationFactory(complainant_email="quelquun@example.org")
    mail.outbox.clear()

    _lost(client, django_capture_on_commit_callbacks, email="claire.dupont@example.org")
    assert sorted(m.subject for m in mail.outbox) == sorted(
        f"Votre nouveau lien de suivi — {r.reference}" for r in (first, second)
    )

    mail.outbox.clear()
    _lost(client, django_capture_on_commit_callbacks, email="claire.dupont@example.org",
          reference=second.reference.lower())
    assert [m.subject for m in mail.outbox] == [f"Votre nouveau lien de suivi — {second.reference}"]


@pytest.mark.parametrize(
    ("reference", "email"),
    [("R-2099-9999", "claire.dupont@example.org"), ("", "quelquun@example.org"), ("", "claire.dupont@example.or")],
)
def test_the_page_answers_the_same_and_does_the_same_work_when_nothing_matches(
    client, reference, email, django_capture_on_commit_callbacks
):
    ReclamationFactory(complainant_email="claire.dupont@example.org")
    mail.outbox.clear()
    client.get(LOST)  # the organisation's settings read once and kept, as on a running site

    with CaptureQueriesContext(connection) as matching_queries:
        matching = _lost(client, django_capture_on_commit_callbacks, execute=False,
                         email="claire.dupont@example.org")
    with CaptureQueriesContext(connection) as other_queries:
        other = _lost(client, django_capture_on_commit_callbacks, execute=False, reference=reference, email=email)

    assert other.status_code == matching.status_code == 200
    assert other.content == matching.content
    # No lookup in the request: the page's queries are the same (one stored request) either way.
    assert [q["sql"].split()[0] for q in other_queries] == [q["sql"].split()[0] for q in matching_queries]
    assert mail.outbox == []  # nothing is sent before the worker runs

    tasks.send_outbox()
    assert len(links_sent()) == 1  # the matching request only
    assert FollowUpLink.objects.count() == 1


def test_a_request_left_by_a_down_broker_is_handled_by_the_periodic_requeue(
    client, django_capture_on_commit_callbacks
):
    ReclamationFactory(complainant_email="claire.dupont@example.org")
    mail.outbox.clear()
    _lost(client, django_capture_on_commit_callbacks, execute=False, email="claire.dupont@example.org")
    assert LinkRequest.objects.count() == 1

    tasks.requeue_outbox()

    assert len(links_sent()) == 1
    assert not LinkRequest.objects.exists()


def test_a_request_is_handled_once_whatever_the_number_of_runs(client, django_capture_on_commit_callbacks):
    ReclamationFactory(complainant_email="claire.dupont@example.org")
    mail.outbox.clear()
    _lost(client, django_capture_on_commit_callbacks, execute=False, email="claire.dupont@example.org")

    assert services.reclamation_send_requested_links() == 1
    assert services.reclamation_send_requested_links() == 0
    assert FollowUpLink.objects.count() == 1


def test_a_record_gets_at_most_three_further_links_a_day(client, django_capture_on_commit_callbacks, settings):
    assert settings.LOST_LINK_PER_RECORD_PER_DAY == 3
    ReclamationFactory(complainant_email="claire.dupont@example.org")
    mail.outbox.clear()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(4):
            services.reclamation_request_lost_link(email="claire.dupont@example.org")
            tasks.send_outbox()
        assert len(links_sent()) == 3

        clock.shift(timedelta(days=1, seconds=1))
        services.reclamation_request_lost_link(email="claire.dupont@example.org")
        tasks.send_outbox()
        assert len(links_sent()) == 4


def test_a_further_link_expires_on_its_own(client, settings, django_capture_on_commit_callbacks):
    settings.FOLLOW_UP_TOKEN_DAYS = 30
    ReclamationFactory(complainant_email="claire.dupont@example.org")
    mail.outbox.clear()
    _lost(client, django_capture_on_commit_callbacks, email="claire.dupont@example.org")
    link, = links_sent()

    with time_machine.travel(timezone.now() + timedelta(days=29)):
        assert client.get(link).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert client.get(link).status_code == 404


def test_no_further_link_works_once_the_record_is_anonymised(client, quality_lead, django_capture_on_commit_callbacks):
    reclamation = advance(ReclamationFactory(complainant_email="claire.dupont@example.org"), Step.CLOSED, quality_lead)
    mail.outbox.clear()
    _lost(client, django_capture_on_commit_callbacks, email="claire.dupont@example.org")
    link, = links_sent()

    services.reclamation_anonymise(reclamation=reclamation, actor=quality_lead, reason="Demande de la personne")

    assert client.get(link).status_code == 404
    assert not FollowUpLink.objects.exists()


def test_no_link_for_a_record_closed_long_ago(client, handler, settings, django_capture_on_commit_callbacks):
    settings.FOLLOW_UP_TOKEN_DAYS = 30
    reclamation = advance(ReclamationFactory(complainant_email="claire.dupont@example.org"), Step.CLOSED, handler)
    Reclamation.objects.filter(pk=reclamation.pk).update(closed_at=timezone.now() - timedelta(days=31))
    mail.outbox.clear()

    _lost(client, django_capture_on_commit_callbacks, email="claire.dupont@example.org")
    assert links_sent() == []

    Reclamation.objects.filter(pk=reclamation.pk).update(closed_at=timezone.now() - timedelta(days=29))
    _lost(client, django_capture_on_commit_callbacks, email="claire.dupont@example.org")
    assert len(links_sent()) == 1


def test_the_form_checks_its_input_and_robots(client, django_capture_on_commit_callbacks):
    ReclamationFactory()

    invalid = _lost(client, django_capture_on_commit_callbacks, email="pas-une-adresse")
    empty = _lost(client, django_capture_on_commit_callbacks, email="")
    robot = _lost(client, django_capture_on_commit_callbacks, email="claire.dupont@example.org",
                  website="http://spam.example")
    injected = _lost(client, django_capture_on_commit_callbacks,
                     email="claire.dupont@example.org\r\nBcc: x@example.org")

    assert "Saisissez une adresse électronique valide" in invalid.content.decode()
    assert "Indiquez votre adresse électronique." in empty.content.decode()
    assert "Votre demande n&#x27;a pas pu être envoyée" in robot.content.decode()
    assert "sans retour à la ligne" in injected.content.decode()
    assert not LinkRequest.objects.exists()
    assert mail.outbox == []


def test_requests_are_rate_limited_per_address(
    client, settings, django_capture_on_commit_callbacks, one_rate_limit_window
):
    settings.LOST_LINK_RATE_LIMIT = "2/10m"
    ReclamationFactory(complainant_email="claire.dupont@example.org")
    mail.outbox.clear()
    for _ in range(2):
        _lost(client, django_capture_on_commit_callbacks, email="x@example.org")

    response = _lost(client, django_capture_on_commit_callbacks, email="claire.dupont@example.org")

    assert response.status_code == 429
    assert links_sent() == []
