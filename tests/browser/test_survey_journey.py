"""The client answers the satisfaction survey from the e-mail link on a phone; the quality lead then
finds the answer on the statistics page (Debian's Chromium, driven by Playwright)."""
from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core import mail

from reclamations import services
from reclamations.models import Reclamation
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, UserFactory, advance, fill_step

PASSWORD = "mot-de-passe-solide-42"  # UserFactory's
COMMENT = "Merci pour le report, mais la réponse est arrivée tard."


@pytest.fixture
def surveyed(settings, live_server, transactional_db):
    """A record whose step 8 was just completed: the survey e-mail is in the outbox."""
    settings.SITE_URL = live_server.url
    handler = UserFactory(role="handler", username="gestionnaire", first_name="Camille", last_name="Martin")
    UserFactory(role="quality_lead", username="qualite", first_name="Dominique", last_name="Bernard")
    reclamation = fill_step(advance(ReclamationFactory(), Step.CONCLUSION, handler), handler)
    services.reclamation_complete_step(reclamation=reclamation, actor=handler, expected_state=Step.CONCLUSION)
    return Reclamation.objects.get(pk=reclamation.pk)


def _survey_link(base: str) -> str:
    message = next(m for m in mail.outbox if m.subject.startswith("Votre avis sur le traitement"))
    return re.search(rf"{re.escape(base)}/enquete/[A-Za-z0-9_-]{{43}}/", message.body).group(0)


def _assert_fits_width(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


def _assert_no_serious_violation(page) -> None:
    violations = Axe().run(page).response["violations"]
    blocking = [(v["id"], v["help"]) for v in violations if v["impact"] in {"serious", "critical"}]
    assert not blocking, blocking


def test_the_client_answers_on_a_phone_and_the_quality_lead_sees_it(phone_page, desktop_page, live_server, surveyed):
    base = live_server.url
    page = phone_page
    page.set_viewport_size({"width": 360, "height": 740})

    # The client opens the link of the e-mail on their phone.
    page.goto(_survey_link(base))
    assert page.get_by_role("heading", name="Votre avis sur le traitement de votre demande").is_visible()
    _assert_fits_width(page)
    _assert_no_serious_violation(page)

    # Sending without answering: the summary says what is missing, nothing is recorded.
    page.get_by_role("button", name="Envoyer mon avis").click()
    page.locator("#resume-erreurs").wait_for()
    assert "Choisissez une note de 1 à 5." in page.locator("#resume-erreurs").inner_text()
    surveyed.refresh_from_db()
    assert surveyed.feedback_received_at is None

    # Each question is a radio group named by its legend.
    page.get_by_role("group", name="êtes-vous satisfait(e)").get_by_label("4 — Satisfait(e)").check()
    page.get_by_role("group", name="Votre problème est-il résolu").get_by_label("En partie").check()
    page.get_by_role("group", name="Notre réponse était-elle claire").get_by_label("Oui").check()
    page.get_by_role("group", name="Le délai de traitement").get_by_label("Non").check()
    page.get_by_label("Un commentaire ?").fill(COMMENT)
    page.get_by_role("button", name="Envoyer mon avis").click()

    page.get_by_role("heading", name="Merci pour votre avis").wait_for()
    _assert_fits_width(page)
    surveyed.refresh_from_db()
    assert surveyed.state == Step.CLOSED
    assert (surveyed.feedback_satisfaction, surveyed.feedback_solved) == (4, "partly")
    assert surveyed.feedback_answer_clear is True and surveyed.feedback_delay_acceptable is False

    # The quality lead signs in and finds the answer on the statistics page.
    desk = desktop_page
    desk.goto(f"{base}/backoffice/qualite/statistiques/")
    desk.get_by_label("Identifiant").fill("qualite")
    desk.get_by_label("Mot de passe").fill(PASSWORD)
    desk.get_by_role("button", name="Se connecter").click()
    desk.wait_for_url(f"{base}/backoffice/qualite/statistiques/")
    assert desk.get_by_role("heading", name="Statistiques et analyse des réclamations").is_visible()
    figures = desk.locator("#chiffres-titre").locator("..").inner_text()
    assert "4,0 / 5" in figures and "satisfaction moyenne (1 réponse)" in figures
    assert desk.get_by_text(f"« {COMMENT} »").is_visible()
    assert desk.get_by_role("img", name="Problème résolu").is_visible()  # a server-drawn SVG chart
    desk.get_by_role("link", name=surveyed.reference).first.click()
    desk.wait_for_url(f"{base}/backoffice/reclamations/{surveyed.pk}/")
