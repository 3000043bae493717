"""The statistics page on a laptop (1366×900), on the demo data: no serious or critical axe-core
violation, and the latest month of every table can be read without scrolling sideways."""
from __future__ import annotations

import os

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.utils import timezone

from reclamations.statistics import month_label

PASSWORD = "demo-reclamations-2026"
LAPTOP = {"width": 1366, "height": 900}


@pytest.fixture
def laptop_page(browser, live_server, transactional_db):
    call_command("seed_demo", password=PASSWORD, stdout=open(os.devnull, "w"))  # noqa: SIM115
    context = browser.new_context(viewport=LAPTOP, locale="fr-FR", timezone_id="Europe/Paris")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/backoffice/connexion/")
    page.get_by_label("Identifiant").fill("qualite")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/backoffice/")
    page.goto(f"{live_server.url}/backoffice/qualite/statistiques/")
    yield page
    context.close()


def test_it_has_no_serious_or_critical_accessibility_violation(laptop_page):
    violations = Axe().run(laptop_page).response["violations"]
    blocking = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:5]) for v in violations
                if v["impact"] in ("serious", "critical")]

    assert not blocking


def test_it_shows_the_latest_month_of_every_table_without_scrolling_sideways(laptop_page):
    latest = month_label(timezone.localdate())
    for name in ("Par nature", "Par service", "Par cause racine", "Par partie prenante", "Délais tenus"):
        region = laptop_page.get_by_role("region", name=name, exact=True)
        region.scroll_into_view_if_needed()
        header = "rowheader" if name == "Délais tenus" else "columnheader"
        box = region.get_by_role(header, name=latest, exact=True).bounding_box()
        frame = region.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= min(LAPTOP["width"], frame["x"] + frame["width"]), (
            name, box, frame)
    page_overflow = laptop_page.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert page_overflow <= 0
