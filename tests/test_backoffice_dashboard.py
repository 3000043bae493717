"""The dashboard: open records per step, delays at risk or late, my work; every figure opens its list."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from reclamations import services
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance

pytestmark = pytest.mark.django_db

URL = "/backoffice/"


def figures(response) -> dict[str, tuple[int, str]]:
    """{label: (count, link)} of the dashboard's figure cards."""
    page = html.unescape(response.content.decode())
    found = re.findall(
        r'<a href="([^"]+)" class="card[^"]*bo-figure[^"]*">\s*<span class="card-body">\s*'
        r'<span class="d-block fs-2 fw-semibold lh-1 mb-1">(\d+)</span>\s*<span class="d-block small">([^<]+)</span>',
        page,
    )
    return {label: (int(count), link) for link, count, label in found}


def list_total(client, link: str) -> int:
    page = re.sub(r"\s+", " ", html.unescape(client.get(link).content.decode()))
    return int(re.search(r"(\d+) réclamations?\b", page).group(1))


@pytest.fixture
def workload(handler, other_handler):
    now = timezone.now()
    ReclamationFactory(subject="Toute neuve")  # on time, unassigned
    ReclamationFactory(subject="Accusé à risque", received_at=now - timedelta(hours=40))
    ReclamationFactory(subject="En retard", received_at=now - timedelta(hours=50))
    # An action two days late belongs to a record received before that (its answer is late too).
    mine = advance(ReclamationFactory(subject="La mienne", received_at=now - timedelta(days=3)), Step.ACTION,
                   handler)
    services.reclamation_update_action(action=mine.actions.first(), actor=handler, past_due_confirmed=True,
                                       changes={"due_date": timezone.localdate() - timedelta(days=2)})
    advance(ReclamationFactory(subject="Avis attendu"), Step.FEEDBACK, other_handler)
    advance(ReclamationFactory(subject="Terminée"), Step.CLOSED, handler)


def test_it_counts_open_records_per_step_with_links_to_the_list(login, handler, workload):
    client = login(handler)
    page = html.unescape(client.get(URL).content.decode())

    steps = dict(re.findall(r'href="/backoffice/reclamations/\?state=(\w+)"[^>]*>\d\. [^<]+</a>\s*'
                            r'<span class="badge[^"]*">(\d+)</span>', page))
    assert steps["received"] == "3"
    assert steps["action"] == "1"
    assert steps["feedback"] == "1"
    assert steps["identification"] == "0"
    assert "Réclamations en cours par étape" in page


def test_it_shows_delays_at_risk_and_late_my_work_and_overdue_actions(login, handler, workload):
    shown = figures(login(handler).get(URL))

    assert shown["Accusés de réception en retard"][0] == 1
    assert shown["Accusés de réception à risque"][0] == 1
    assert shown["Réponses en retard"][0] == 2
    assert shown["Réponses à risque"][0] == 1
    assert shown["Mes réclamations en cours"][0] == 1
    assert shown["Sans responsable"][0] == 3
    assert shown["Actions en retard"][0] == 1
    assert shown["En attente de l'avis du client"][0] == 1


def test_every_figure_opens_the_list_with_the_same_records(login, handler, workload):
    client = login(handler)

    shown = figures(client.get(URL))

    assert len(shown) == 10
    for label, (count, link) in shown.items():
        assert link.startswith("/backoffice/reclamations/?"), label
        if label != "Actions en retard":  # the list counts records, the figure counts actions
            assert list_total(client, link) == count, label


def test_it_lists_the_overdue_actions_with_a_link_to_their_record(login, handler, workload):
    page = html.unescape(login(handler).get(URL).content.decode())

    overdue = page[page.index("Actions en retard</h2>"):]
    assert "Échéance dépassée" in overdue
    assert "#plan" in overdue


def test_an_empty_installation_shows_zeros_not_an_error(login, handler):
    response = login(handler).get(URL)

    assert response.status_code == 200
    assert all(count == 0 for count, _ in figures(response).values())
    assert "Aucune action en retard." in html.unescape(response.content.decode())
