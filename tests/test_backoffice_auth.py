"""Signing in (staff only, locked after repeated failures), signing out, changing one's password."""
from __future__ import annotations

import html
import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/backoffice/connexion/"
PASSWORD = "mot-de-passe-solide-42"  # tests/factories.py


def text(response) -> str:
    words = re.sub(r"<[^>]+>", "", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(words))


def sign_in(client: Client, username: str, password: str, **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def test_the_login_page_is_in_french(client):
    page = text(client.get(LOGIN))

    assert "Connexion au back-office" in page
    assert "Identifiant" in page and "Mot de passe" in page


def test_a_handler_signs_in_and_lands_on_the_dashboard(client, handler):
    response = sign_in(client, "gestionnaire", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/backoffice/"
    assert client.session[SESSION_KEY] == str(handler.pk)


def test_signing_in_returns_to_the_page_asked_for(client, handler):
    asked = client.get("/backoffice/reclamations/?state=feedback")
    assert asked.status_code == 302 and asked["Location"].startswith(LOGIN + "?next=")

    response = sign_in(client, "gestionnaire", PASSWORD, next="/backoffice/reclamations/?state=feedback")

    assert response["Location"] == "/backoffice/reclamations/?state=feedback"


def test_a_wrong_password_is_refused_with_a_clear_message(client, handler):
    response = sign_in(client, "gestionnaire", "pas-le-bon")

    assert response.status_code == 200
    assert "Identifiant ou mot de passe incorrect." in text(response)
    assert SESSION_KEY not in client.session


def test_an_account_without_the_handler_role_cannot_sign_in(client, client_account):
    response = sign_in(client, "client", PASSWORD)

    assert response.status_code == 200
    assert "Ce compte n'a pas accès au back-office des réclamations." in text(response)
    assert SESSION_KEY not in client.session


def test_repeated_failures_lock_the_account_with_a_clear_message(client, handler, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "gestionnaire", "pas-le-bon").status_code == 200

    locked = sign_in(client, "gestionnaire", "pas-le-bon")
    assert locked.status_code == 429
    page = text(locked)
    assert "Connexion temporairement bloquée" in page
    assert "pendant 15 minutes" in page

    # Even the right password is refused while the lock lasts.
    assert sign_in(client, "gestionnaire", PASSWORD).status_code == 429
    assert SESSION_KEY not in client.session


def test_signing_out_takes_a_post(login, handler):
    client = login(handler)

    assert client.get("/backoffice/deconnexion/").status_code == 405
    response = client.post("/backoffice/deconnexion/")

    assert response.status_code == 302 and response["Location"] == LOGIN
    assert SESSION_KEY not in client.session
    assert "Vous êtes déconnecté(e)." in text(client.get(LOGIN))


def test_a_handler_changes_their_password(login, handler):
    client = login(handler)
    assert "Changer de mot de passe" in text(client.get("/backoffice/mot-de-passe/"))

    response = client.post("/backoffice/mot-de-passe/", {
        "old_password": PASSWORD,
        "new_password1": "une-phrase-de-passe-2027",
        "new_password2": "une-phrase-de-passe-2027",
    })

    assert response.status_code == 302
    assert response["Location"] == "/backoffice/mot-de-passe/modifie/"
    handler.refresh_from_db()
    assert handler.check_password("une-phrase-de-passe-2027")
    assert "Votre nouveau mot de passe est enregistré." in text(client.get(response["Location"]))


def test_a_wrong_old_password_or_a_weak_new_one_is_refused_in_french(login, handler):
    client = login(handler)

    response = client.post("/backoffice/mot-de-passe/", {
        "old_password": "faux", "new_password1": "123", "new_password2": "123",
    })

    assert response.status_code == 200
    page = text(response)
    assert "Votre ancien mot de passe est incorrect." in page
    handler.refresh_from_db()
    assert handler.check_password(PASSWORD)


def test_the_password_change_page_is_for_staff_only(client, login, client_account):
    assert client.get("/backoffice/mot-de-passe/")["Location"].startswith(LOGIN)
    assert login(client_account).get("/backoffice/mot-de-passe/").status_code == 403
