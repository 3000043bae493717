"""On a phone, in Chromium: a handler sets up two-factor authentication from the QR-code page (the key
typed by hand, as on the phone itself), keeps the backup codes, signs out, and signs in again with
the password and a backup code. Each page has no serious accessibility violation (axe-core) and
raises no Content-Security-Policy violation (the QR code is inline SVG drawn on the server)."""
from __future__ import annotations

import base64

from django_otp.oath import TOTP

from tests.browser.test_public_accessibility import assert_no_blocking_violation
from tests.factories import UserFactory

PASSWORD = "mot-de-passe-solide-42"  # tests/factories.py


def phone_code(secret: str) -> str:
    secret = secret.replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key, step=30, digits=6).token():06d}"


def test_a_handler_sets_up_two_factor_authentication_on_a_phone(phone_page, live_server):
    UserFactory(role="handler", username="gestionnaire", first_name="Camille", last_name="Martin")
    page = phone_page
    csp: list[str] = []
    page.on("console", lambda message: csp.append(message.text)
            if "Content Security Policy" in message.text else None)
    base = live_server.url

    page.goto(f"{base}/backoffice/connexion/")
    page.get_by_label("Identifiant").fill("gestionnaire")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/backoffice/")

    page.goto(f"{base}/backoffice/compte/securite/")
    assert_no_blocking_violation(page)
    page.get_by_role("link", name="Activer la double authentification").click()
    page.wait_for_url(f"{base}/backoffice/compte/securite/activer/")
    assert_no_blocking_violation(page)
    qr = page.get_by_role("img", name="QR code à scanner avec votre application d'authentification")
    box = qr.bounding_box()
    assert box["width"] >= 150 and box["x"] >= 0 and box["x"] + box["width"] <= 390  # whole, on screen

    code_field = page.get_by_label("Code de vérification")
    assert code_field.get_attribute("inputmode") == "numeric"
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    code_field.fill(phone_code(page.locator("#cle-secrete").inner_text()))
    page.get_by_role("button", name="Activer").click()
    page.get_by_role("heading", name="Vos codes de secours").wait_for()
    assert_no_blocking_violation(page)
    codes = page.get_by_role("list", name="Codes de secours").locator("li").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name="J'ai noté mes codes, continuer").click()
    page.get_by_text("Activée").wait_for()

    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{base}/backoffice/connexion/")
    page.get_by_label("Identifiant").fill("gestionnaire")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/backoffice/connexion/code/")
    assert_no_blocking_violation(page)
    page.get_by_label("Code de vérification").fill(codes[0])
    page.get_by_role("button", name="Vérifier et me connecter").click()
    page.wait_for_url(f"{base}/backoffice/")

    assert not csp, csp
