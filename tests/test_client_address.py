"""Behind the reverse proxy (every request from 127.0.0.1, the client in X-Real-IP): the rate limits
and the sign-in lockout count per client, and nobody can lock a staff member out from elsewhere."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from reclamations.models import Reclamation
from tests.factories import ServiceFactory, contact_form_data

pytestmark = pytest.mark.django_db

LOGIN = "/backoffice/connexion/"
PASSWORD = "mot-de-passe-solide-42"  # tests/factories.py


@pytest.fixture(autouse=True)
def _behind_proxy(settings):
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"


def browser(address: str) -> Client:
    """A client whose requests reach Django through the proxy, as nginx forwards them."""
    return Client(REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP=address)


def sign_in(client: Client, password: str, username: str = "qualite"):
    return client.post(LOGIN, {"username": username, "password": password})


def test_failures_from_one_address_never_lock_out_the_real_person_elsewhere(quality_lead, settings):
    attacker = browser("198.51.100.7")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(attacker, "pas-le-bon")
    assert sign_in(attacker, PASSWORD).status_code == 429  # the attacker's address is locked

    real_person = browser("203.0.113.5")
    response = sign_in(real_person, PASSWORD)

    assert response.status_code == 302
    assert real_person.session[SESSION_KEY] == str(quality_lead.pk)


def test_the_lockout_counts_the_forwarded_address_not_the_proxy(quality_lead, settings):
    # Two people behind the same proxy each get their own count of failures.
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(browser("198.51.100.7"), "pas-le-bon")
        sign_in(browser("198.51.100.8"), "pas-le-bon")

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7", "198.51.100.8"}
    assert sign_in(browser("198.51.100.7"), PASSWORD).status_code == 302


def test_a_malformed_header_falls_back_to_the_connecting_address(quality_lead):
    sign_in(Client(REMOTE_ADDR="192.0.2.44", HTTP_X_REAL_IP="<script>"), "pas-le-bon")

    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["192.0.2.44"]


def test_failures_from_many_addresses_slow_the_account_down_without_a_wall(quality_lead, settings):
    settings.SIGN_IN_SLOWDOWN_AFTER = 10
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for number in range(10):  # two failures from each of five addresses: none is locked
            sign_in(browser(f"198.51.100.{number // 2}"), "pas-le-bon")
        failures = sum(AccessAttempt.objects.values_list("failures_since_start", flat=True))
        assert failures == 10

        slowed = sign_in(browser("203.0.113.5"), PASSWORD)
        assert slowed.status_code == 429
        page = slowed.content.decode()
        assert "Trop de tentatives de connexion à ce compte : patientez 1 s avant" in page
        assert 'value="qualite"' in page  # the identifier typed is kept
        assert SESSION_KEY not in browser("203.0.113.5").session
        # A refused try is no guess: the password was not checked, nothing was counted.
        assert sum(AccessAttempt.objects.values_list("failures_since_start", flat=True)) == failures

        clock.shift(timedelta(seconds=1))
        real_person = browser("203.0.113.5")
        assert sign_in(real_person, PASSWORD).status_code == 302
        assert real_person.session[SESSION_KEY] == str(quality_lead.pk)


def test_the_wait_doubles_with_each_failure_up_to_the_cap(quality_lead, settings):
    from reclamations import sign_in_slowdown

    settings.SIGN_IN_SLOWDOWN_AFTER = 4
    settings.SIGN_IN_SLOWDOWN_MAX_SECONDS = 30
    waits = []
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for number in range(10):
            sign_in(browser(f"198.51.100.{number}"), "pas-le-bon")
            waits.append(sign_in_slowdown.wait_seconds("qualite"))
            clock.shift(timedelta(seconds=waits[-1]))
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 30, 30]


def test_the_contact_form_limit_counts_each_forwarded_address(
    settings, django_capture_on_commit_callbacks, one_rate_limit_window
):
    settings.CONTACT_RATE_LIMIT = "2/10m"
    service = ServiceFactory()

    def post(address: str) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return browser(address).post("/contact/", contact_form_data(service=service.pk)).status_code

    assert [post("198.51.100.7") for _ in range(3)] == [302, 302, 429]
    assert post("203.0.113.5") == 302  # another client behind the same proxy is not held back
    assert Reclamation.objects.count() == 3
