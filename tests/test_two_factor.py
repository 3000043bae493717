"""Two-factor authentication of staff: setting it up, signing in with a code or a backup code,
new backup codes, turning it off, and the setting that makes it mandatory for quality leads.

Codes are computed as the person's phone would, from the secret shown on the set-up page, at the
time of a frozen clock.
"""
from __future__ import annotations

import base64
import html
import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from reclamations import tasks
from reclamations.models import Event, EventKind, Organisation
from reclamations.services import two_factor as tf_services
from tests.security_urls import build_world, project_patterns, url_for

pytestmark = pytest.mark.django_db

LOGIN = "/backoffice/connexion/"
CODE_STEP = "/backoffice/connexion/code/"
SECURITY = "/backoffice/compte/securite/"
ENROL = "/backoffice/compte/securite/activer/"
NEW_CODES = "/backoffice/compte/securite/codes-de-secours/"
DISABLE = "/backoffice/compte/securite/desactiver/"
PASSWORD = "mot-de-passe-solide-42"  # tests/factories.py


def text(response) -> str:
    words = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(words))


@pytest.fixture
def clock():
    # On a 30-second boundary: each shift(31) gives the phone a new code.
    with time_machine.travel(datetime(2026, 11, 2, 9, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def phone_code(secret: str) -> str:
    """What the authenticator app shows now for the base32 ``secret`` typed from the set-up page."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key, step=30, digits=6).token():06d}"


def sign_in(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def enrol(client: Client) -> tuple[str, list[str]]:
    """Set up two-factor authentication through the pages; the secret and the backup codes shown."""
    page = client.get(ENROL).content.decode()
    secret = re.search(r'id="cle-secrete">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    shown = client.post(ENROL, {"code": phone_code(secret)})
    assert shown.status_code == 200
    codes = re.findall(r"<li>(\d{5} \d{5})</li>", shown.content.decode())
    return secret, codes


def sign_out(client: Client) -> None:
    client.post("/backoffice/deconnexion/")
    assert not signed_in(client)


@pytest.fixture
def enrolled(client, handler, clock):
    """``handler`` with two-factor authentication, signed out, half a minute later."""
    assert sign_in(client, "gestionnaire")["Location"] == "/backoffice/"
    secret, codes = enrol(client)
    sign_out(client)
    clock.shift(31)
    return secret, codes


# --- Setting it up --------------------------------------------------------------------------------
def test_the_set_up_page_shows_a_qr_code_the_key_to_type_and_a_phone_friendly_field(client, handler):
    organisation = Organisation.current()
    organisation.name = "SECURICONSULT"
    organisation.save()
    sign_in(client, "gestionnaire")
    response = client.get(ENROL)

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert '<svg role="img" aria-label="QR code à scanner avec votre application d\'authentification"' in page
    secret = re.search(r'id="cle-secrete">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert len(secret) == 32
    # The same secret in the link a phone opens in its app, under the organisation's name.
    uri = html.unescape(re.search(r'href="(otpauth://[^"]+)"', page).group(1))
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    assert uri.startswith("otpauth://totp/SECURICONSULT%3Agestionnaire?") and "issuer=SECURICONSULT" in uri
    field = re.search(r"<input[^>]*name=\"code\"[^>]*>", page).group(0)
    assert 'autocomplete="one-time-code"' in field and 'inputmode="numeric"' in field
    assert re.search(r'<label[^>]*for="id_code"[^>]*>\s*Code de vérification', page)
    # Reloading the page keeps the same secret (the app may already have it).
    assert secret in client.get(ENROL).content.decode().replace(" ", "").replace("\n", "")


def test_a_wrong_first_code_is_refused_and_nothing_is_turned_on(client, handler, clock):
    sign_in(client, "gestionnaire")
    client.get(ENROL)

    response = client.post(ENROL, {"code": "000000"})

    assert response.status_code == 200
    assert "Ce code ne correspond pas." in text(response)
    assert not TOTPDevice.objects.filter(user=handler).exists()
    assert "Désactivée" in text(client.get(SECURITY))


def test_the_first_code_turns_it_on_and_shows_ten_backup_codes_once(client, handler, clock):
    sign_in(client, "gestionnaire")
    _, codes = enrol(client)

    assert len(codes) == 10 and len(set(codes)) == 10
    page = text(client.get(SECURITY))
    assert "Activée" in page
    assert "Codes de secours non utilisés : 10" in page
    assert not any(code in page for code in codes)  # never shown again
    assert Event.objects.filter(kind=EventKind.CONFIGURATION, actor=handler,
                                summary__startswith="Double authentification activée").exists()


# --- Signing in -----------------------------------------------------------------------------------
def test_after_enrolment_signing_in_needs_a_code_and_a_wrong_one_is_refused(client, handler, enrolled, clock):
    secret, _ = enrolled

    response = sign_in(client, "gestionnaire", next="/backoffice/reclamations/")
    assert response.status_code == 302 and response["Location"] == CODE_STEP
    assert not signed_in(client)  # the password alone signs nobody in
    assert client.get("/backoffice/")["Location"].startswith(LOGIN)

    page = client.get(CODE_STEP)
    assert "Code de vérification" in text(page) and "gestionnaire" in text(page)
    wrong = client.post(CODE_STEP, {"code": "123456" if phone_code(secret) != "123456" else "654321"})
    assert wrong.status_code == 200
    assert "Ce code n'est pas valide." in text(wrong)
    assert not signed_in(client)

    clock.shift(5)  # past django-otp's one-second back-off after a failure
    right = client.post(CODE_STEP, {"code": phone_code(secret)})
    assert right.status_code == 302 and right["Location"] == "/backoffice/reclamations/"
    assert client.session[SESSION_KEY] == str(handler.pk)
    assert client.get("/backoffice/").status_code == 200


def test_a_code_typed_twice_at_once_asks_to_wait_and_is_not_counted_as_a_guess(client, handler, enrolled):
    sign_in(client, "gestionnaire")
    client.post(CODE_STEP, {"code": "000000"})

    again = client.post(CODE_STEP, {"code": "000000"})

    assert "attendez quelques secondes" in text(again)


def test_the_code_that_enrolled_the_app_cannot_sign_in(client, handler, clock):
    sign_in(client, "gestionnaire")
    secret, _ = enrol(client)
    used = phone_code(secret)
    sign_out(client)

    sign_in(client, "gestionnaire")
    response = client.post(CODE_STEP, {"code": used})

    assert "Ce code n'est pas valide." in text(response)
    assert not signed_in(client)


def test_a_backup_code_signs_in_once_only(client, handler, enrolled, clock):
    _, codes = enrolled

    sign_in(client, "gestionnaire")
    response = client.post(CODE_STEP, {"code": codes[0]})  # typed with its space
    assert response.status_code == 302 and signed_in(client)
    assert "Codes de secours non utilisés : 9" in text(client.get(SECURITY))
    sign_out(client)
    clock.shift(31)

    sign_in(client, "gestionnaire")
    response = client.post(CODE_STEP, {"code": codes[0].replace(" ", "")})
    assert "Ce code n'est pas valide." in text(response)
    assert not signed_in(client)


def test_a_warning_comes_when_few_backup_codes_are_left(client, handler, enrolled, clock):
    _, codes = enrolled
    StaticToken.objects.filter(token__in=[c.replace(" ", "") for c in codes[1:8]]).delete()

    sign_in(client, "gestionnaire")
    client.post(CODE_STEP, {"code": codes[0]})

    assert "Il vous en reste 2" in text(client.get("/backoffice/"))


def test_wrong_codes_count_towards_the_lock_out(client, handler, enrolled, clock, settings):
    secret, _ = enrolled
    sign_in(client, "gestionnaire")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(CODE_STEP, {"code": "000000"}).status_code == 200
        clock.shift(20)  # each try after the back-off: every one is a real guess

    locked = client.post(CODE_STEP, {"code": "000000"})

    assert locked.status_code == 429
    assert "Connexion temporairement bloquée" in text(locked)
    clock.shift(20)
    assert client.post(CODE_STEP, {"code": phone_code(secret)}).status_code == 429
    assert not signed_in(client)
    assert sign_in(Client(), "gestionnaire").status_code == 429  # the password step is locked too


def test_the_code_step_expires_after_five_minutes(client, handler, enrolled, clock):
    secret, _ = enrolled
    sign_in(client, "gestionnaire")
    clock.shift(301)

    response = client.post(CODE_STEP, {"code": phone_code(secret)}, follow=True)

    assert response.redirect_chain[-1][0] == LOGIN
    assert "Le délai pour saisir le code est dépassé" in text(response)
    assert not signed_in(client)


def test_the_code_step_without_a_password_first_sends_to_the_login_page(client, handler, enrolled):
    response = client.get(CODE_STEP)

    assert response.status_code == 302 and response["Location"] == LOGIN


def test_the_admin_sign_in_page_cannot_skip_the_code(client, handler, enrolled):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN + "?next=%2Fadmin%2F"

    posted = client.post("/admin/login/", {"username": "gestionnaire", "password": PASSWORD})
    assert posted.status_code == 405
    assert not signed_in(client)


# --- New backup codes, turning it off -------------------------------------------------------------
def test_new_backup_codes_need_a_current_code_and_replace_the_old_ones(client, handler, enrolled, clock):
    secret, old_codes = enrolled
    sign_in(client, "gestionnaire")
    client.post(CODE_STEP, {"code": phone_code(secret)})
    clock.shift(31)

    refused = client.post(NEW_CODES, {"codes-code": "000000"})
    assert refused.status_code == 200
    assert "Ce code n'est pas valide." in text(refused)

    clock.shift(5)
    response = client.post(NEW_CODES, {"codes-code": phone_code(secret)})
    assert "Vos nouveaux codes de secours sont prêts" in text(response)
    new_codes = re.findall(r"<li>(\d{5} \d{5})</li>", response.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert response["Cache-Control"] == "no-store"

    sign_out(client)
    sign_in(client, "gestionnaire")
    assert "Ce code n'est pas valide." in text(client.post(CODE_STEP, {"code": old_codes[1]}))
    clock.shift(5)
    assert client.post(CODE_STEP, {"code": new_codes[0]}).status_code == 302


def test_turning_it_off_needs_the_password_and_a_code(client, handler, enrolled, clock):
    secret, _ = enrolled
    sign_in(client, "gestionnaire")
    client.post(CODE_STEP, {"code": phone_code(secret)})
    clock.shift(31)

    wrong_password = client.post(DISABLE, {"desactiver-password": "pas-le-bon", "desactiver-code": phone_code(secret)})
    assert "Mot de passe incorrect." in text(wrong_password)
    assert TOTPDevice.objects.filter(user=handler).exists()

    clock.shift(31)
    response = client.post(DISABLE, {"desactiver-password": PASSWORD, "desactiver-code": phone_code(secret)},
                           follow=True)
    assert "La double authentification est désactivée." in text(response)
    assert "Désactivée" in text(response)

    sign_out(client)
    assert sign_in(client, "gestionnaire")["Location"] == "/backoffice/"  # the password alone again
    assert signed_in(client)


# --- Mandatory for quality leads ------------------------------------------------------------------
@pytest.fixture
def mandatory(settings):
    settings.OTP_REQUIRED_FOR_QUALITY_LEADS = True


def test_when_mandatory_a_quality_lead_is_sent_to_enrolment_until_it_is_done(
    client, quality_lead, mandatory, clock
):
    assert sign_in(client, "qualite")["Location"] == "/backoffice/"

    for path in ("/backoffice/", "/backoffice/reclamations/", reverse("quality:statistics"), "/admin/",
                 SECURITY, "/backoffice/mot-de-passe/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(ENROL + "?next="), path
    page = client.get(ENROL, {"next": "/backoffice/reclamations/"})
    assert "obligatoire pour les responsables qualité" in text(page)

    secret = re.search(r'id="cle-secrete">([A-Z2-7 ]+)<', page.content.decode()).group(1).replace(" ", "")
    codes_page = client.post(ENROL, {"code": phone_code(secret), "next": "/backoffice/reclamations/"})
    assert 'href="/backoffice/reclamations/"' in codes_page.content.decode()  # "continuer" goes back there
    assert client.get("/backoffice/reclamations/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_when_mandatory_a_handler_is_not_forced(client, handler, mandatory):
    sign_in(client, "gestionnaire")

    assert client.get("/backoffice/").status_code == 200


def test_when_mandatory_it_cannot_be_turned_off(client, quality_lead, mandatory, clock):
    sign_in(client, "qualite")
    secret, _ = enrol(client)
    clock.shift(31)

    assert "ne peut pas être désactivée" in text(client.get(SECURITY))
    response = client.post(DISABLE, {"desactiver-password": PASSWORD, "desactiver-code": phone_code(secret)})
    assert "ne peut pas être désactivée" in text(response)
    assert TOTPDevice.objects.filter(user=quality_lead).exists()


def test_when_mandatory_every_back_office_url_leads_a_quality_lead_to_enrolment(mandatory):
    world = build_world()
    client = Client()
    client.force_login(world.quality_lead)
    open_pages = {"backoffice:login", "backoffice:login_code", "backoffice:logout", "backoffice:two_factor_enrol"}
    missed = []
    for pattern in project_patterns():
        if not pattern.route.startswith("backoffice/") or pattern.name in open_pages:
            continue
        url = url_for(pattern, world)
        response = client.get(url)
        if response.status_code != 302 or not response["Location"].startswith(ENROL):
            missed.append(f"{url} ({pattern.name}): {response.status_code}")
    assert not missed, "\n".join(missed)


def test_when_mandatory_a_session_that_skipped_the_code_is_signed_out(client, quality_lead, mandatory, clock):
    sign_in(client, "qualite")
    enrol(client)
    other_browser = Client()
    other_browser.force_login(quality_lead)  # e.g. a session opened before the set-up

    response = other_browser.get("/backoffice/", follow=True)

    assert response.redirect_chain[-1][0].startswith(LOGIN)
    assert "reconnectez-vous avec votre mot de passe puis le code" in text(response)
    assert SESSION_KEY not in other_browser.session


def test_services_refuse_turning_it_off_when_mandatory_in_french(quality_lead, mandatory):
    with pytest.raises(tf_services.TwoFactorError, match="obligatoire pour les responsables qualité"):
        tf_services.two_factor_disable(user=quality_lead, password=PASSWORD, code="000000")


# --- The person is told ---------------------------------------------------------------------------
def test_each_change_of_the_second_factor_is_e_mailed_to_the_person_and_a_refused_one_is_not(
    client, handler, enrolled, clock
):
    tasks.send_outbox()
    enabled = [m for m in mail.outbox if m.to == [handler.email]]
    assert len(enabled) == 1 and "double authentification activée" in enabled[0].subject
    assert "Si ce n'est pas vous, changez votre mot de passe" in enabled[0].body
    assert SECURITY in enabled[0].body
    mail.outbox.clear()
    secret, _ = enrolled
    sign_in(client, "gestionnaire")
    client.post(CODE_STEP, {"code": phone_code(secret)})
    clock.shift(31)

    client.post(NEW_CODES, {"codes-code": "000000"})  # refused
    client.post(DISABLE, {"desactiver-password": "pas-le-bon", "desactiver-code": phone_code(secret)})  # refused
    tasks.send_outbox()
    assert mail.outbox == []

    clock.shift(31)
    client.post(NEW_CODES, {"codes-code": phone_code(secret)})
    clock.shift(31)
    client.post(DISABLE, {"desactiver-password": PASSWORD, "desactiver-code": phone_code(secret)})
    tasks.send_outbox()

    assert [m.subject for m in mail.outbox] == [
        "Sécurité de votre compte : nouveaux codes de secours",
        "Sécurité de votre compte : double authentification désactivée",
    ]
    assert all(m.to == [handler.email] for m in mail.outbox)
