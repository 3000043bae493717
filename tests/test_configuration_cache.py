"""The organisation's configuration, shown on every page, and its services (the Contact form, the
list's filter) are kept in the cache between requests: read once, forgotten when saved, never
needed (a cache that does not answer is skipped), and never used by the workers, which must see a
change at once."""
from __future__ import annotations

import socket

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reclamations.models import Organisation, Service
from reclamations.models.configuration import ORGANISATION_CACHE_KEY, SERVICES_CACHE_KEY
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

DASHBOARD = "/backoffice/"


def _organisation_reads(queries: CaptureQueriesContext) -> int:
    return sum('FROM "reclamations_organisation"' in q["sql"] for q in queries.captured_queries)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_staff_pages_read_the_organisation_once_then_from_the_cache(login, handler):
    Organisation.objects.update_or_create(pk=1, defaults={"name": "Formations Dupont"})
    browser = login(handler)
    browser.get(DASHBOARD)

    with CaptureQueriesContext(connection) as queries:
        page = browser.get(reverse("backoffice:list"))

    assert "Formations Dupont" in page.content.decode()
    assert _organisation_reads(queries) == 0


def test_a_change_saved_in_the_admin_shows_on_the_next_page(login, handler, admin_client):
    Organisation.objects.update_or_create(pk=1, defaults={"name": "Formations Dupont"})
    browser = login(handler)
    assert "Formations Dupont" in browser.get(DASHBOARD).content.decode()  # now in the cache

    form = admin_client.get(reverse("admin:reclamations_organisation_change", args=[1])).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "logo"}
    data |= {"name": "Formations Durand", "responsible_user": "", "alsace_moselle": ""}
    saved = admin_client.post(reverse("admin:reclamations_organisation_change", args=[1]), data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors

    html = browser.get(DASHBOARD).content.decode()
    assert "Formations Durand" in html
    assert "Formations Dupont" not in html


def test_staff_pages_still_work_when_the_cache_does_not_answer(login, handler, settings, caplog):
    Organisation.objects.update_or_create(pk=1, defaults={"name": "Formations Dupont"})
    browser = login(handler)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0"}}

    page = browser.get(reverse("backoffice:list"))

    assert page.status_code == 200
    assert "Formations Dupont" in page.content.decode()
    assert "cache unavailable" in caplog.text


def test_a_worker_reads_the_database_not_the_cache():
    organisation = Organisation.current()
    organisation.name = "Formations Durand"
    organisation.save()
    stale = Organisation(pk=1, name="Formations Dupont")
    cache.set(ORGANISATION_CACHE_KEY, stale)  # as another process might have left it

    assert Organisation.current().name == "Formations Durand"  # outside a web request


def _service_reads(queries: CaptureQueriesContext) -> int:
    return sum('FROM "reclamations_service"' in q["sql"] for q in queries.captured_queries)


def test_the_contact_form_reads_the_services_once_then_from_the_cache(client):
    ServiceFactory(name="Formation inter-entreprises")
    client.get("/contact/")

    with CaptureQueriesContext(connection) as queries:
        page = client.get("/contact/")

    assert "Formation inter-entreprises" in page.content.decode()
    assert _service_reads(queries) == 0


def test_services_deleted_from_the_admin_list_leave_the_list_filter_at_once(login, handler, admin_client):
    kept, gone = ServiceFactory(name="Formation inter-entreprises"), ServiceFactory(name="Accompagnement VAE")
    browser = login(handler)
    assert "Accompagnement VAE" in browser.get(reverse("backoffice:list")).content.decode()

    # The admin's "delete selected" action deletes through a queryset, not each row's delete().
    admin_client.post(reverse("admin:reclamations_service_changelist"),
                      {"action": "delete_selected", "_selected_action": [gone.pk], "post": "yes"})

    assert not Service.objects.filter(pk=gone.pk).exists()
    html = browser.get(reverse("backoffice:list")).content.decode()
    assert "Accompagnement VAE" not in html
    assert kept.name in html


def test_a_worker_reads_the_services_from_the_database():
    ServiceFactory(name="Formation inter-entreprises")
    cache.set(SERVICES_CACHE_KEY, [])  # as another process might have left it

    assert [s.name for s in Service.listed()] == ["Formation inter-entreprises"]


class _DeadCache:
    """A Redis that does not answer, counting how often it is asked."""

    def __init__(self) -> None:
        self.calls = 0

    def _fail(self, *args, **kwargs):
        self.calls += 1
        raise ConnectionError("Timeout connecting to server")

    get = set = delete = _fail


def test_after_a_cache_failure_the_pages_leave_it_alone_for_a_while(login, handler, monkeypatch):
    from reclamations.models import configuration

    Organisation.objects.update_or_create(pk=1, defaults={"name": "Formations Dupont"})
    dead = _DeadCache()
    monkeypatch.setattr(configuration, "cache", dead)
    browser = login(handler)

    assert "Formations Dupont" in browser.get(reverse("backoffice:list")).content.decode()
    asked = dead.calls
    assert asked == 1  # one timeout, then the database answers
    for _ in range(3):
        assert "Formations Dupont" in browser.get(reverse("backoffice:list")).content.decode()
    assert dead.calls == asked


def test_a_change_read_inside_its_own_transaction_is_not_kept_for_others(login, handler):
    from django.db import transaction

    Organisation.objects.update_or_create(pk=1, defaults={"name": "Formations Dupont"})
    try:
        with transaction.atomic():
            organisation = Organisation.current()
            organisation.name = "Nom jamais validé"
            organisation.save()
            from reclamations.models.configuration import read_configuration_once
            with read_configuration_once():
                assert Organisation.current().name == "Nom jamais validé"  # this transaction sees it
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass

    assert cache.get(ORGANISATION_CACHE_KEY) is None
    assert "Formations Dupont" in login(handler).get(DASHBOARD).content.decode()


def test_deleting_the_responsible_account_never_leaves_a_kept_organisation_pointing_at_it(
        login, handler, quality_lead):
    Organisation.objects.update_or_create(pk=1, defaults={"responsible_user": quality_lead})
    browser = login(handler)
    browser.get(DASHBOARD)  # kept, naming the account
    assert cache.get(ORGANISATION_CACHE_KEY).responsible_user_id == quality_lead.pk

    quality_lead.delete()

    assert cache.get(ORGANISATION_CACHE_KEY) is None
    assert browser.get(DASHBOARD).status_code == 200
