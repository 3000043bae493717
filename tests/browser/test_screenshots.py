"""The back-office's dashboard, list and a record page, the statistics page and the client's
follow-up page, on the demo data, at desktop and phone sizes.

Each page must fit the screen's width and have no serious or critical axe-core violation. With
``SCREENSHOTS=1`` the pictures are written to ``docs/screenshots/`` (the ones linked from the
README); otherwise to a temporary folder, so that a normal test run never changes committed files:

    SCREENSHOTS=1 .venv/bin/python -m pytest tests/browser/test_screenshots.py
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.db.models import Q, Sum
from django.db.models.functions import Length

from reclamations import services
from reclamations.models import Reclamation
from reclamations.workflow import Step

PASSWORD = "demo-reclamations-2026"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZES = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
# The statistics and follow-up pictures: a laptop's usual height.
PAGE_SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def demo(live_server, transactional_db):
    call_command("seed_demo", password=PASSWORD, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return live_server


def sign_in(page, base: str, username: str = "gestionnaire") -> None:
    page.goto(f"{base}/backoffice/connexion/")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/backoffice/")


def assert_no_blocking_violation(page) -> None:
    violations = Axe().run(page).response["violations"]
    blocking = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:5]) for v in violations
                if v["impact"] in ("serious", "critical")]
    assert not blocking, (page.url, blocking)


def assert_fits_width(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_dashboard_list_and_record_page_fit_the_screen(browser, demo, size, tmp_path):
    folder = DOCS if os.environ.get("SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=SIZES[size], is_mobile=size == "phone", has_touch=size == "phone",
                                  locale="fr-FR", timezone_id="Europe/Paris",
                                  device_scale_factor=1)
    page = context.new_page()
    try:
        page.goto(f"{demo.url}/backoffice/connexion/")
        assert_fits_width(page)
        assert_no_blocking_violation(page)
        sign_in(page, demo.url)
        # A record in the middle of its handling, with an action plan and a history worth showing.
        record = Reclamation.objects.filter(state=Step.ACTION).order_by("received_at").first()
        pages = {
            "dashboard": "/backoffice/",
            "list": "/backoffice/reclamations/?state=ouvertes&ordre=reponse",
            "detail": f"/backoffice/reclamations/{record.pk}/",
            "create": "/backoffice/reclamations/nouvelle/",
        }
        for name, path in pages.items():
            page.goto(demo.url + path)
            assert page.locator("h1").count() >= 1
            assert_fits_width(page)
            assert_no_blocking_violation(page)
            if name != "create":
                page.screenshot(path=str(folder / f"backoffice-{name}-{size}.png"), full_page=False)
            if name == "detail":
                # The exchanges as one thread, the reply box first (the record page's lower half).
                page.evaluate("window.scrollTo(0, document.querySelector('[role=tablist]')"
                              ".getBoundingClientRect().top + window.scrollY - 60)")
                assert page.locator("#conversation").is_visible()
                page.screenshot(path=str(folder / f"backoffice-conversation-{size}.png"), full_page=False)
    finally:
        context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_statistics_and_follow_up_pages_fit_the_screen(browser, demo, size, tmp_path, settings):
    settings.SITE_URL = demo.url
    folder = DOCS if os.environ.get("SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    # The open record with the most to read on its follow-up page.
    record = (Reclamation.objects.filter(closed_at__isnull=True)
              .annotate(text=Sum(Length("communications__body"), filter=Q(communications__public=True)))
              .order_by("-text").first())
    token = services.reclamation_rotate_token(reclamation=record)
    context = browser.new_context(viewport=PAGE_SIZES[size], is_mobile=size == "phone", has_touch=size == "phone",
                                  locale="fr-FR", timezone_id="Europe/Paris", device_scale_factor=1)
    page = context.new_page()
    try:
        page.goto(f"{demo.url}/suivi/{token}/")
        page.get_by_test_id("reference").wait_for()
        assert_fits_width(page)
        assert_no_blocking_violation(page)
        page.screenshot(path=str(folder / f"public-follow-up-{size}.png"), full_page=False)

        sign_in(page, demo.url, "qualite")
        page.goto(f"{demo.url}/backoffice/qualite/statistiques/")
        assert_fits_width(page)
        assert_no_blocking_violation(page)
        page.screenshot(path=str(folder / f"quality-statistics-{size}.png"), full_page=False)
        page.evaluate("document.getElementById('tableaux-titre').scrollIntoView()")
        page.screenshot(path=str(folder / f"quality-statistics-tables-{size}.png"), full_page=False)
    finally:
        context.close()
