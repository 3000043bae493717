"""Staff accounts: password rules, sessions that end (maximum length and idle time) with a message
on the sign-in page, and the lock-out that lifts after its cool-off."""
from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.test import Client

from reclamations.models import Reclamation

pytestmark = pytest.mark.django_db

LOGIN = "/backoffice/connexion/"
PASSWORD = "mot-de-passe-solide-42"  # tests/factories.py
CHANGE = "/backoffice/mot-de-passe/"


def text(response) -> str:
    words = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(words)).replace("\xa0", " ")


def sign_in(client: Client, username: str = "gestionnaire", password: str = PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password})


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 11, 2, 8, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


# --- Password rules -------------------------------------------------------------------------------
@pytest.mark.parametrize(("new_password", "message"), [
    ("Kx9#mP2$vL4", "Ce mot de passe est trop court. Il doit contenir au minimum 12 caractères."),
    ("password1234", "Ce mot de passe est trop courant."),
    ("483920174625", "Ce mot de passe est entièrement numérique."),
    ("gestionnaire2026", "Le mot de passe est trop semblable au champ « nom d’utilisateur »."),
])
def test_a_weak_new_password_is_refused_with_the_reason_in_french(login, handler, new_password, message):
    client = login(handler)

    response = client.post(CHANGE, {"old_password": PASSWORD, "new_password1": new_password,
                                    "new_password2": new_password})

    assert response.status_code == 200
    assert message in text(response)
    handler.refresh_from_db()
    assert handler.check_password(PASSWORD)


def test_the_password_page_states_the_rules_and_accepts_a_long_passphrase(login, handler):
    client = login(handler)
    assert "au moins 12 caractères" in text(client.get(CHANGE))

    response = client.post(CHANGE, {"old_password": PASSWORD, "new_password1": "trois chevaux bleus au galop",
                                    "new_password2": "trois chevaux bleus au galop"})

    assert response.status_code == 302
    handler.refresh_from_db()
    assert handler.check_password("trois chevaux bleus au galop")
    assert client.get("/backoffice/").status_code == 200  # still signed in on this browser


# --- Sessions -------------------------------------------------------------------------------------
def test_the_session_cookie_is_http_only_same_site_and_lasts_eight_hours(client, handler):
    response = sign_in(client)

    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 8 * 3600


def test_an_active_session_still_ends_after_eight_hours_with_a_message(client, handler, clock):
    sign_in(client)
    for _ in range(7):  # a request every hour: never idle
        clock.shift(3600)
        assert client.get("/backoffice/reclamations/").status_code == 200
    clock.shift(3600 + 60)

    response = client.get("/backoffice/reclamations/?state=ouvertes")

    assert response.status_code == 302
    assert response["Location"] == LOGIN + "?next=/backoffice/reclamations/%3Fstate%3Douvertes"
    assert SESSION_KEY not in client.session
    page = text(client.get(response["Location"]))
    assert "Votre session a expiré : par sécurité, une session dure au plus 8 heures." in page
    # Signing in again returns to the page asked for.
    again = client.post(response["Location"], {"username": "gestionnaire", "password": PASSWORD,
                                               "next": "/backoffice/reclamations/?state=ouvertes"})
    assert again["Location"] == "/backoffice/reclamations/?state=ouvertes"


def test_a_session_left_idle_for_two_hours_ends_with_a_message(client, handler, clock):
    sign_in(client)
    clock.shift(2 * 3600 - 120)
    assert client.get("/backoffice/").status_code == 200  # just in time: the idle time starts again
    clock.shift(2 * 3600 - 120)
    assert client.get("/backoffice/").status_code == 200
    clock.shift(2 * 3600 + 1)

    response = client.get("/backoffice/", follow=True)

    assert response.redirect_chain[-1][0].startswith(LOGIN)
    assert "Votre session a expiré après 2 heures sans activité." in text(response)
    assert SESSION_KEY not in client.session


def test_a_form_sent_after_the_session_ended_saves_nothing(client, handler, clock):
    sign_in(client)
    page = client.get("/backoffice/reclamations/nouvelle/")
    assert page.status_code == 200
    clock.shift(3 * 3600)

    response = client.post("/backoffice/reclamations/nouvelle/", {"subject": "Une demande"})

    assert response.status_code == 302 and response["Location"] == LOGIN
    assert not Reclamation.objects.exists()
    assert "Votre session a expiré" in text(client.get(LOGIN))


def test_the_limits_follow_the_settings(client, handler, clock, settings):
    settings.SESSION_COOKIE_AGE = 3600
    settings.SESSION_IDLE_TIMEOUT = 0  # no idle limit
    sign_in(client)
    clock.shift(3000)
    assert client.get("/backoffice/").status_code == 200
    clock.shift(700)

    response = client.get("/backoffice/", follow=True)

    assert "une session dure au plus 1 heure." in text(response)


def test_the_security_page_tells_how_long_a_session_lasts(login, handler):
    page = text(login(handler).get("/backoffice/compte/securite/"))

    assert "votre session se termine 8 heures après la connexion, ou après 2 heures sans activité" in page


# --- Lock-out -------------------------------------------------------------------------------------
def test_the_lock_out_lifts_after_its_cool_off(client, handler, clock, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, password="pas-le-bon")
    locked = sign_in(client)
    assert locked.status_code == 429
    assert "la connexion est bloquée pendant 15 minutes" in text(locked)

    clock.shift(14 * 60)
    assert sign_in(client).status_code == 429
    clock.shift(60 + 1)

    response = sign_in(client)
    assert response.status_code == 302 and response["Location"] == "/backoffice/"
    assert SESSION_KEY in client.session


def test_a_locked_account_does_not_lock_a_colleague(client, handler, other_handler, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, password="pas-le-bon")

    assert sign_in(Client(), "gestionnaire2").status_code == 302
