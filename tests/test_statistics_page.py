"""The statistics page (quality lead): trends per month, delays, satisfaction from the survey and
recurrence flags, with charts drawn on the server as SVG; its cost does not grow with the data."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reclamations import services
from reclamations.models import Reclamation
from reclamations.services import survey
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, RootCauseCategoryFactory, ServiceFactory, advance, fill_step

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
URL = reverse("quality:statistics")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _answered(handler, **answer) -> Reclamation:
    """A record whose client answered the survey (through the survey service, as the page does)."""
    reclamation = advance(ReclamationFactory(), Step.FEEDBACK, handler)
    token = survey.current_token(Reclamation.objects.get(pk=reclamation.pk))
    values = {"satisfaction": 2, "solved": "no", "answer_clear": False, "delay_acceptable": True,
              "comment": "Toujours pas de nouvelle convocation."}
    values.update(answer)
    return services.reclamation_answer_survey(token=token, answer=survey.SurveyAnswer(**values))


def test_the_page_is_for_the_quality_lead(client, login, handler, client_account):
    anonymous = client.get(URL)
    assert anonymous.status_code == 302 and anonymous["Location"] == f"/backoffice/connexion/?next={URL}"
    assert login(handler).get(URL).status_code == 403
    assert login(client_account).get(URL).status_code == 403


def test_the_survey_answers_are_in_the_statistics(handler, quality_lead, login):
    answered = _answered(handler)

    page = login(quality_lead).get(URL).content.decode()

    assert "2,0 / 5" in page and "satisfaction moyenne (1 réponse)" in page
    assert "« Toujours pas de nouvelle convocation. »" in page
    assert f'href="/backoffice/reclamations/{answered.pk}/">{answered.reference}</a>' in page
    assert "problème résolu : non" in page
    assert 'aria-label="Réponse jugée claire"' in page  # the chart of "was the answer clear"
    assert "100 %" in page  # the answer went out within the delay


def test_the_charts_are_svg_drawn_by_the_server_without_script_or_inline_style(handler, quality_lead, login):
    _answered(handler)

    page = login(quality_lead).get(URL).content.decode()

    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"') >= 10
    assert "<script>" not in page and "cdn" not in page.lower()
    assert not re.search(r"\sstyle=", page)


def test_trends_per_month_by_kind_service_root_cause_and_stakeholder(quality_lead, login, handler):
    cause = RootCauseCategoryFactory(name="Convocation tardive")
    sst = ServiceFactory(name="Formation SST")
    for day, kind, stakeholder in ((date(2026, 4, 2), "complaint", "learner"), (date(2026, 4, 20), "difficulty",
                                   "company"), (date(2026, 5, 5), "complaint", "funder")):
        record = ReclamationFactory(kind=kind, stakeholder_type=stakeholder, service=sst,
                                    received_at=datetime(day.year, day.month, day.day, 9, tzinfo=UTC))
        record = advance(record, Step.CONCLUSION, handler)  # the root cause is step 8's
        services.reclamation_update(reclamation=record, actor=handler, changes={"root_cause_category": cause})

    page = login(quality_lead).get(URL).content.decode()

    assert "Tendance par nature" in page and "Tendance par service concerné" in page
    assert "Tendance par catégorie de cause racine" in page and "Tendance par partie prenante" in page
    row = re.search(r'<th scope="row" class="fw-normal">Formation SST</th>(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r'<td class="text-end[^"]*">(\d+)</td>', row)
    assert cells[:4] == ["3", "0", "1", "2"]  # the total, then the latest month first: June, May, April
    assert 'aria-label="Convocation tardive : réclamations par mois"' in page


def test_recurrences_are_flagged_with_links_to_the_records(quality_lead, login):
    service = ServiceFactory(name="Formation SST")
    first = ReclamationFactory(service=service, received_at=datetime(2026, 3, 1, 9, tzinfo=UTC))
    second = ReclamationFactory(service=service, received_at=datetime(2026, 5, 1, 9, tzinfo=UTC))

    page = login(quality_lead).get(URL).content.decode()

    assert "Service : Formation SST</strong> — 2 demandes en 61 jours" in page
    for record in (first, second):
        assert f'<a href="/backoffice/reclamations/{record.pk}/">{record.reference}</a>' in page
    assert f"/backoffice/qualite/plan/nouvelle/?references={first.reference},{second.reference}" in page


def test_the_quality_lead_chooses_the_period_and_a_wrong_one_is_explained(quality_lead, login):
    ReclamationFactory(received_at=datetime(2025, 2, 10, 9, tzinfo=UTC))
    client = login(quality_lead)

    chosen = client.get(URL, {"start": "2025-01-01", "end": "2025-03-31"}).content.decode()
    wrong = client.get(URL, {"start": "2026-05-01", "end": "2026-01-01"})

    assert "reçus du 01/01/2025 au 31/03/2025" in chosen and "févr. 2025" in chosen
    assert wrong.status_code == 200
    assert "La fin de la période précède son début." in wrong.content.decode()


def test_the_page_costs_the_same_number_of_queries_whatever_the_data(quality_lead, login, handler):
    client = login(quality_lead)
    _answered(handler)
    client.get(URL)  # warm-up (session, permissions caches)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    cause = RootCauseCategoryFactory(name="Salle")
    for month in (1, 2, 3, 4):
        record = ReclamationFactory(service=ServiceFactory(name=f"Service {month}"),
                                    received_at=datetime(2026, month, 3, 9, tzinfo=UTC))
        record = advance(record, Step.CONCLUSION, handler)  # the root cause is step 8's
        services.reclamation_update(reclamation=record, actor=handler, changes={"root_cause_category": cause})
    _answered(handler, comment="Bien.", satisfaction=5)
    with CaptureQueriesContext(connection) as many:
        client.get(URL)

    assert len(many.captured_queries) == len(few.captured_queries)


# --- Delays kept, per month of reception ---------------------------------------------------------
def _timed(handler, received: datetime, *, ack_after: timedelta | None, answer_after: timedelta | None = None):
    """A record received at ``received``, acknowledged and answered (step 6) that long after, each
    at its own moment, as a handler would have done (the delays are 48 h each by default)."""
    with time_machine.travel(received, tick=False):
        record = ReclamationFactory()
    if ack_after is not None:
        with time_machine.travel(received + ack_after, tick=False):
            services.reclamation_record_acknowledgement(reclamation=record, actor=None)
    if answer_after is not None:
        with time_machine.travel(received + answer_after, tick=False):
            record = fill_step(advance(Reclamation.objects.get(pk=record.pk), Step.ACTION, handler), handler)
            assert record.answered_at == received + answer_after
    return record


def _delay_row(page: str, month: str) -> list[str]:
    """The cells of one month's row in the "Délais tenus" table, as read on the page."""
    table = page.split('id="tableau-delais"', 1)[1].split("</table>", 1)[0]
    row = re.search(rf'<th scope="row" class="fw-normal">{re.escape(month)}</th>(.*?)</tr>', table, re.S).group(1)
    return [" ".join(cell.split()) for cell in re.findall(r'<td class="text-end">(.*?)</td>', row, re.S)]


def test_the_delays_kept_are_shown_per_month_of_reception(handler, quality_lead, login):
    april, may = datetime(2026, 4, 7, 9, tzinfo=UTC), datetime(2026, 5, 12, 9, tzinfo=UTC)
    # April: one acknowledged and answered in time; one acknowledged 3 days late and never answered.
    _timed(handler, april, ack_after=timedelta(hours=2), answer_after=timedelta(hours=30))
    _timed(handler, april, ack_after=timedelta(days=3))
    # May: every acknowledgement in time (one at the very due time); one answer in time, two late.
    _timed(handler, may, ack_after=timedelta(hours=1), answer_after=timedelta(hours=47))
    _timed(handler, may, ack_after=timedelta(hours=48), answer_after=timedelta(hours=49))
    _timed(handler, may, ack_after=timedelta(hours=1), answer_after=timedelta(days=5))
    # June: received two hours ago, nothing due yet.
    _timed(handler, datetime(2026, 6, 15, 8, tzinfo=UTC), ack_after=None)

    page = login(quality_lead).get(URL).content.decode()

    # Received, acknowledgements in time, answers in time, still running.
    assert _delay_row(page, "mars 2026") == ["0", "—", "—", "0"]
    assert _delay_row(page, "avr. 2026") == ["2", "50 % (1/2)", "50 % (1/2)", "0"]
    assert _delay_row(page, "mai 2026") == ["3", "100 % (3/3)", "33 % (1/3)", "0"]
    assert _delay_row(page, "juin 2026") == ["1", "—", "—", "1"]


def test_it_shows_the_charts_first_then_the_tables_then_the_recurrences(quality_lead, login):
    service = ServiceFactory(name="Formation SST")
    for month in (3, 5):
        ReclamationFactory(service=service, received_at=datetime(2026, month, 1, 9, tzinfo=UTC))

    page = login(quality_lead).get(URL).content.decode()

    last_chart = page.rindex('class="chart" role="img"')
    first_table = page.index("<table")
    recurrence = page.index("Service : Formation SST</strong>")
    assert last_chart < first_table < recurrence
    assert '<summary>Voir les 2 demandes</summary>' in page  # the records of a recurrence, folded


def test_it_makes_the_month_tables_keyboard_scrollable_regions_with_a_name(quality_lead, login):
    ReclamationFactory(received_at=datetime(2026, 5, 1, 9, tzinfo=UTC))

    page = login(quality_lead).get(URL).content.decode()

    regions = re.findall(r'q-scroll" tabindex="0" role="region" aria-labelledby="([^"]+)"', page)
    assert "tableau-kind" in regions and "tableau-delais" in regions
    for region in regions:
        assert f'id="{region}"' in page
