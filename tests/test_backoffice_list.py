"""The list of records: filters, search, sorting, pagination, SLA badges, empty state, query count."""
from __future__ import annotations

import hashlib
import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reclamations import services, sla
from reclamations.models import Reclamation
from reclamations.services.search import search_documents_rebuild
from reclamations.workflow import OPEN_STEPS, Step
from tests.factories import ReclamationFactory, ServiceFactory, UserFactory, advance

pytestmark = pytest.mark.django_db

URL = "/backoffice/reclamations/"


def text(response) -> str:
    words = re.sub(r"<[^>]+>", "", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(words))


def references(response) -> list[str]:
    """The references of the rows, in the order shown."""
    return re.findall(r'class="fw-semibold">(R-\d{4}-\d{4,})</a>', response.content.decode())


def bulk_reclamations(count: int, *, start: int = 0, **fields) -> None:
    """Many rows at once, with every column a list row reads (too many for the services), and the
    search documents the services would have written."""
    now = timezone.now()
    deadlines = sla.compute_deadline_set(now)
    created = Reclamation.objects.bulk_create(
        (
            Reclamation(
                reference=f"R-2026-{start + n + 1:05d}",
                token_hash=hashlib.sha256(f"bulk-{start + n}".encode()).hexdigest(),
                kind="complaint", channel="email", subject=f"Demande {start + n}", description="...",
                complainant_name=f"Client {start + n}", state=OPEN_STEPS[n % 9], priority="normal",
                received_at=now, ack_due_at=deadlines.ack_due_at, answer_due_at=deadlines.answer_due_at,
                ack_risk_at=deadlines.ack_risk_at, answer_risk_at=deadlines.answer_risk_at,
                **fields,
            )
            for n in range(count)
        ),
        batch_size=1000,
    )
    search_documents_rebuild(r.pk for r in created)


# --- Query count ---------------------------------------------------------------------------------
# Session, user, the user's permissions (one query, reclamations.auth_backend), handlers (filter
# choices), the count, the page's rows
# with their handler and service (and whether each is unread for the user, in the same query), the
# navigation's count of unread records; not the organisation (page title, SLA clock) nor the services
# (filter choices), kept in the cache between requests; not the opening hours, which a
# calendar-hours clock does not use. The first page of a process reads those two as well.
LIST_QUERIES = 8


@pytest.mark.parametrize("count", [10, 10_000])
def test_the_list_costs_the_same_number_of_queries_for_10_and_10000_records(
    login, handler, count, django_assert_num_queries
):
    service = ServiceFactory(name="Formation inter-entreprises")
    bulk_reclamations(count, handler=handler, service=service)
    client = login(handler)
    client.get(URL)

    with django_assert_num_queries(LIST_QUERIES):
        response = client.get(URL, {"state": "ouvertes", "ordre": "priorite"})

    assert response.status_code == 200
    assert len(references(response)) == min(count, 25)
    assert f"{count} réclamations" in text(response).replace("\u202f", "").replace(" 000", "000")


def test_a_filtered_searched_and_sorted_list_costs_the_same_number_of_queries_for_10_and_1000_records(
    login, handler, django_assert_num_queries
):
    service = ServiceFactory(name="Formation inter-entreprises")
    bulk_reclamations(10, handler=handler, service=service)
    client = login(handler)
    params = {"q": "demande", "state": "ouvertes", "sla": "on_time", "service": service.pk, "handler": "moi",
              "priority": "normal", "ordre": "-reponse"}
    client.get(URL, params)
    with CaptureQueriesContext(connection) as few:
        client.get(URL, params)
    bulk_reclamations(990, start=10, handler=handler, service=service)

    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(URL, params)

    assert len(references(response)) == 25
    assert "1000 réclamations" in text(response).replace("\u202f", "").replace(" 000", "000")


def test_the_services_offered_by_the_filter_are_read_once(login, handler):
    service = ServiceFactory(name="Formation inter-entreprises")
    client = login(handler)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"service": service.pk})

    # The select and the "filters applied" line share one list (a second read was a query per page).
    listed = [q["sql"] for q in queries.captured_queries
              if 'FROM "reclamations_service"' in q["sql"] and "ORDER BY" in q["sql"]]
    assert len(listed) == 1
    assert "Service concerné : Formation inter-entreprises" in text(response)
    # ... and the one chosen is taken from that list, not fetched again to check it.
    assert not [q for q in queries.captured_queries if 'FROM "reclamations_service"' in q["sql"]
                and "ORDER BY" not in q["sql"]]


# --- Filters -------------------------------------------------------------------------------------
@pytest.fixture
def variety(handler, other_handler):
    """Records that differ in every filtered column."""
    inter = ServiceFactory(name="Formation inter-entreprises")
    vae = ServiceFactory(name="Accompagnement VAE")
    records = {
        "web": ReclamationFactory(subject="Convocation tardive", service=inter),
        "phone": ReclamationFactory(kind="difficulty", channel="phone", stakeholder_type="company",
                                    complainant_name="Marc Dufour", complainant_email="marc@example.org",
                                    subject="Planning incomplet", service=vae, actor=handler),
        "incident": ReclamationFactory(kind="incident", channel="other", stakeholder_type="", complainant_name="",
                                       complainant_email="", complainant_phone="", subject="Panne de vidéoprojecteur",
                                       service=None, actor=handler),
    }
    records["phone"] = advance(records["phone"], Step.ACTION_PROPOSAL, handler)
    services.reclamation_update(reclamation=records["phone"], actor=handler,
                                changes={"severity": 3, "complexity": 3, "repercussions": 3})
    services.reclamation_assign(reclamation=records["web"], actor=other_handler, handler=other_handler)
    return {key: Reclamation.objects.get(pk=r.pk) for key, r in records.items()}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "difficulty"}, {"phone"}),
        ({"kind": "incident"}, {"incident"}),
        ({"state": "action_proposal"}, {"phone"}),
        ({"state": "received"}, {"web", "incident"}),
        ({"state": "ouvertes"}, {"web", "phone", "incident"}),
        ({"channel": "phone"}, {"phone"}),
        ({"stakeholder_type": "company"}, {"phone"}),
        ({"handler": "moi"}, {"phone"}),
        ({"handler": "aucun"}, {"incident"}),
        ({"priority": "critical"}, {"phone"}),
        ({"q": "marc@EXAMPLE"}, {"phone"}),
        ({"q": "dufour"}, {"phone"}),
        ({"q": "vidéoprojecteur"}, {"incident"}),
        ({"q": "convocation", "kind": "complaint"}, {"web"}),
    ],
)
def test_it_filters_and_searches(login, handler, variety, params, expected):
    response = login(handler).get(URL, params)

    assert response.status_code == 200
    assert set(references(response)) == {variety[key].reference for key in expected}


def test_it_filters_by_service_and_by_named_handler(login, handler, other_handler, variety):
    client = login(handler)

    by_service = client.get(URL, {"service": variety["phone"].service_id})
    by_handler = client.get(URL, {"handler": other_handler.pk})

    assert references(by_service) == [variety["phone"].reference]
    assert references(by_handler) == [variety["web"].reference]


def test_it_searches_by_reference(login, handler, variety):
    response = login(handler).get(URL, {"q": variety["incident"].reference.lower()})

    assert references(response) == [variety["incident"].reference]


def test_on_postgresql_the_search_is_answered_by_the_trigram_index(variety):
    # On a national network's hundred thousand records, a search that reads every row takes a
    # tenth of a second and more: the search documents have an index matching Django's SQL.
    if connection.vendor != "postgresql":
        pytest.skip("trigram indexes exist on PostgreSQL only (migration 0016)")
    from reclamations import selectors
    from reclamations.filters import ReclamationFilter

    searched = ReclamationFilter({"q": "videoprojecteur"}, queryset=selectors.reclamations_for_list()).qs
    with connection.cursor() as cursor:
        # A test table is too small for the planner to want them: leave it bitmap scans only.
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
    plan = searched.explain()

    assert "search_document_folded_trgm" in plan, plan
    assert [r.reference for r in searched] == [variety["incident"].reference]


def test_it_filters_by_sla_status_and_shows_the_badges(login, handler):
    now = timezone.now()
    on_time = ReclamationFactory(subject="À l'heure")
    at_risk = ReclamationFactory(subject="À risque", received_at=now - timedelta(hours=40))
    late = ReclamationFactory(subject="En retard", received_at=now - timedelta(hours=50))
    client = login(handler)

    assert references(client.get(URL, {"sla": "on_time"})) == [on_time.reference]
    assert references(client.get(URL, {"sla": "at_risk"})) == [at_risk.reference]
    assert references(client.get(URL, {"sla": "late"})) == [late.reference]
    assert references(client.get(URL, {"sla": "answer_late"})) == [late.reference]
    assert references(client.get(URL, {"sla": "ack_at_risk"})) == [at_risk.reference]
    page = client.get(URL).content.decode()
    # One line a record: the deadline that comes next, the acknowledgement's while it is not sent.
    assert page.count('class="badge text-bg-danger"') == 1
    assert page.count('class="badge text-bg-warning"') == 1
    assert page.count('class="badge text-bg-success"') == 1
    assert "Accusé de réception : </span>En retard" in html.unescape(page)
    assert "en retard de" in html.unescape(page)


def test_it_filters_by_reception_period(login, handler):
    now = timezone.now()
    old = ReclamationFactory(subject="Ancienne", received_at=now - timedelta(days=40))
    recent = ReclamationFactory(subject="Récente", received_at=now - timedelta(days=2))
    client = login(handler)
    start = timezone.localdate(now - timedelta(days=10)).isoformat()
    end = timezone.localdate(now - timedelta(days=30)).isoformat()

    assert references(client.get(URL, {"recue_du": start})) == [recent.reference]
    assert references(client.get(URL, {"recue_au": end})) == [old.reference]


def test_it_finds_records_with_an_overdue_action(login, handler):
    overdue = advance(ReclamationFactory(received_at=timezone.now() - timedelta(days=5)), Step.ACTION, handler)
    action = overdue.actions.first()
    services.reclamation_update_action(action=action, actor=handler, past_due_confirmed=True,
                                       changes={"due_date": timezone.localdate() - timedelta(days=3)})
    advance(ReclamationFactory(), Step.ACTION, handler)  # its actions are due next week

    response = login(handler).get(URL, {"actions": "en_retard"})

    assert references(response) == [overdue.reference]


def test_an_invalid_filter_value_is_reported_not_a_500(login, handler, variety):
    response = login(handler).get(URL, {"kind": "n'importe quoi", "recue_du": "hier", "page": "zzz",
                                        "ordre": "password"})

    assert response.status_code == 200
    page = text(response)
    assert "Sélectionnez un choix valide" in page
    assert "Saisissez une date valide" in page
    assert len(references(response)) == 3


@pytest.mark.parametrize("service", ["abc", "999999", "1 OR 1=1"])
def test_an_unknown_service_is_reported_not_a_500(login, handler, variety, service):
    response = login(handler).get(URL, {"service": service})

    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in text(response)
    assert len(references(response)) == 3


# --- Sorting and pages ---------------------------------------------------------------------------
def test_columns_sort_both_ways(login, handler, variety):
    client = login(handler)
    ordered = sorted(r.reference for r in variety.values())

    assert references(client.get(URL, {"ordre": "reference"})) == ordered
    assert references(client.get(URL, {"ordre": "-reference"})) == ordered[::-1]
    by_priority = references(client.get(URL, {"ordre": "-priorite"}))
    assert by_priority[0] == variety["phone"].reference  # critical first
    by_step = references(client.get(URL, {"ordre": "-etape"}))
    assert by_step[0] == variety["phone"].reference  # step 4 before step 1


def test_the_sorted_column_is_announced_and_its_link_reverses_the_order(login, handler, variety):
    page = login(handler).get(URL, {"ordre": "reference", "kind": "complaint"}).content.decode()

    assert 'aria-sort="ascending"' in page
    assert "?ordre=-reference&amp;kind=complaint" in page or "?kind=complaint&amp;ordre=-reference" in page


def test_it_shows_25_records_per_page(login, handler):
    bulk_reclamations(30)
    client = login(handler)

    first = client.get(URL, {"ordre": "reference"})
    second = client.get(URL, {"ordre": "reference", "page": 2})

    assert len(references(first)) == 25 and len(references(second)) == 5
    assert "page 1 sur 2" in text(first)
    assert "?ordre=reference&amp;page=2" in first.content.decode()


# --- Empty state ---------------------------------------------------------------------------------
def test_the_empty_list_says_what_to_do(login, handler):
    page = text(login(handler).get(URL))

    assert "Aucune réclamation pour l'instant." in page
    assert "formulaire Contact apparaîtront ici" in page
    assert "Enregistrer une réclamation reçue" in page


def test_a_search_without_result_says_how_to_widen_it(login, handler, variety):
    page = text(login(handler).get(URL, {"q": "introuvable"}))

    assert "Aucune réclamation ne correspond à ces critères." in page
    assert "retirez un filtre" in page


# --- One line a record, ticked for the bulk actions -------------------------------------------------
def test_each_row_is_one_line_with_a_checkbox_named_after_its_reference(login, handler, variety):
    page = login(handler).get(URL, {"ordre": "reference"}).content.decode()

    for record in variety.values():
        assert f'name="bulk-ids" value="{record.pk}" aria-label="Sélectionner {record.reference}"' in page
    assert 'aria-label="Tout sélectionner"' in page
    assert 'form="bulk"' in page and '<form id="bulk" method="post"' in page
    # The step's name, not its code; the client beside the subject.
    row = next(r for r in re.findall(r"<tr>\n(.*?)</tr>", page, flags=re.S) if variety["phone"].reference in r)
    assert "Proposition d&#x27;action" in row or "Proposition d'action" in html.unescape(row)
    assert "Marc Dufour" in row


# --- From the list to its records (the record page's j / k) -------------------------------------
def pager(client, pk: int) -> dict[str, str]:
    """Where the record page's "‹ Précédente" / "Suivante ›" links (k / j) lead from record ``pk``:
    {"prev": a record's pk, "next": ...}, a side left out when its link comes back to the record."""
    page = client.get(f"{URL}{pk}/").content.decode()
    found = {}
    for rel, href in re.findall(r'rel="(prev|next)" href="([^"]+)"', page):
        response = client.get(href)
        assert response.status_code == 302
        target = re.fullmatch(r"/backoffice/reclamations/(\d+)/", response["Location"]).group(1)
        if target != str(pk):
            found[rel] = target
    return found


def test_a_record_opened_from_a_sorted_filtered_list_leads_to_its_neighbours_in_that_list(login, handler):
    now = timezone.now()
    a, b, c = (ReclamationFactory(received_at=now - timedelta(days=d), subject=f"Chauffage {d}") for d in (3, 2, 1))
    ReclamationFactory(received_at=now - timedelta(hours=1), subject="Autre chose")  # filtered out
    client = login(handler)
    client.get(URL, {"q": "chauffage", "ordre": "recue"})  # oldest first, the search's rows only

    assert pager(client, b.pk) == {"prev": str(a.pk), "next": str(c.pk)}
    assert pager(client, c.pk) == {"prev": str(b.pk)}  # the last one: no next


@pytest.mark.parametrize("sort", ["recue", "-recue", "responsable", "-responsable", "etape", "accuse", "-objet"])
def test_following_next_from_the_first_row_visits_the_list_in_its_order(login, handler, sort):
    # Ties, and empty values (records with no handler) on both sides: each record exactly once.
    now = timezone.now()
    other = UserFactory(role="handler", last_name="Bernard")
    for days, who in ((3, None), (2, handler), (2, None), (1, other), (1, handler), (0, None)):
        record = ReclamationFactory(received_at=now - timedelta(days=days), subject=f"Objet {days}")
        if who is not None:
            services.reclamation_assign(reclamation=record, actor=who, handler=who)
    client = login(handler)
    listed = [int(pk) for pk in re.findall(r'name="bulk-ids" value="(\d+)"', client.get(URL, {"ordre": sort})
                                           .content.decode())]
    assert len(listed) == 6

    def walk(start: int, rel: str) -> list[int]:
        visited = [start]
        while len(visited) <= len(listed) and (pk := pager(client, visited[-1]).get(rel)):
            visited.append(int(pk))
        return visited

    assert walk(listed[0], "next") == listed
    assert walk(listed[-1], "prev") == listed[::-1]


def test_without_a_list_the_record_page_follows_the_default_list_newest_first(login, handler):
    now = timezone.now()
    older, newer = ReclamationFactory(received_at=now - timedelta(days=2)), ReclamationFactory(received_at=now)

    assert pager(login(handler), newer.pk) == {"next": str(older.pk)}


def test_going_back_to_the_unfiltered_list_forgets_the_filters(login, handler):
    now = timezone.now()
    a, b = ReclamationFactory(received_at=now - timedelta(days=2)), ReclamationFactory(received_at=now)
    client = login(handler)
    client.get(URL, {"ordre": "recue"})
    assert client.cookies["bo_liste"].value
    assert pager(client, a.pk) == {"next": str(b.pk)}

    client.get(URL)

    assert not client.cookies["bo_liste"].value
    assert pager(client, a.pk) == {"prev": str(b.pk)}


def test_a_record_read_on_the_unread_list_still_leads_to_the_next_unread_one(login, handler):
    now = timezone.now()
    records = [ReclamationFactory(received_at=now - timedelta(days=d)) for d in (3, 2, 1)]
    services.reclamation_mark_unread(reclamation=records[0], users=[handler], at=now)
    services.reclamation_mark_unread(reclamation=records[2], users=[handler], at=now)
    client = login(handler)
    client.get(URL, {"lecture": "non_lus"})

    # Opening it marks it read: it leaves the filtered list, and still leads to the next unread one.
    assert pager(client, records[2].pk) == {"next": str(records[0].pk)}


def test_next_from_the_last_record_comes_back_to_it_and_says_it_is_the_last(login, handler):
    now = timezone.now()
    older, newer = ReclamationFactory(received_at=now - timedelta(days=2)), ReclamationFactory(received_at=now)
    client = login(handler)

    page = client.get(f"{URL}{older.pk}/suivante/", follow=True)  # newest first: nothing after the oldest

    assert page.redirect_chain == [(f"{URL}{older.pk}/", 302)]
    assert "C'est la dernière réclamation de la liste" in html.unescape(page.content.decode())
    page = client.get(f"{URL}{newer.pk}/precedente/", follow=True)
    assert "C'est la première réclamation de la liste" in html.unescape(page.content.decode())
    assert client.get(f"{URL}{newer.pk + 1000}/suivante/").status_code == 404


@pytest.mark.parametrize("cookie", ["ordre=%27%3BDROP", "state=nimporte&service=abc", "q=" + "x" * 500, "\x00"])
def test_a_tampered_list_cookie_is_ignored_like_a_bad_address(login, handler, cookie):
    record = ReclamationFactory()
    client = login(handler)
    client.cookies["bo_liste"] = cookie

    assert client.get(f"{URL}{record.pk}/").status_code == 200
    assert client.get(f"{URL}{record.pk}/suivante/")["Location"] == f"{URL}{record.pk}/"


def test_past_the_count_limit_the_list_says_more_than_and_pages_through_the_first_ones(login, handler, monkeypatch):
    from reclamations import pagination

    monkeypatch.setattr(pagination, "COUNT_LIMIT", 30)
    ReclamationFactory.create_batch(31)
    client = login(handler)

    page = html.unescape(client.get(URL).content.decode())
    assert "Plus de 30 réclamations : les 30 premières sont parcourues ici" in page
    assert "page 1 sur" not in page and "Dernière »" not in page  # the last page is not known
    assert "Suivante ›" in page
    second = html.unescape(client.get(URL, {"page": 2}).content.decode())
    assert len(re.findall(r'name="bulk-ids"', second)) == 5  # rows 26 to 30
    assert "Suivante ›" not in second

    # Within the limit, the exact count, as always.
    filtered = html.unescape(client.get(URL, {"q": ReclamationFactory(subject="Chauffage").reference}).content
                             .decode())
    assert "1 réclamation correspondant à votre recherche" in filtered
