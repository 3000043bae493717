"""The list as a help-desk user works through it, in Chromium: many rows on a laptop's screen,
keyboard shortcuts, ticking rows to assign them, and no serious axe violation on the list and the
record page."""

from __future__ import annotations

import os
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command

from reclamations.models import Reclamation

PASSWORD = "demo-reclamations-2026"
LAPTOP = {"width": 1366, "height": 900}


@pytest.fixture
def demo(live_server, transactional_db):
    call_command("seed_demo", password=PASSWORD, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return live_server


@pytest.fixture
def page(browser, demo):
    context = browser.new_context(viewport=LAPTOP, locale="fr-FR", timezone_id="Europe/Paris")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{demo.url}/backoffice/connexion/")
    page.get_by_label("Identifiant").fill("qualite")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{demo.url}/backoffice/")
    yield page
    context.close()


def assert_no_blocking_violation(page) -> None:
    violations = Axe().run(page).response["violations"]
    blocking = [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]][:5])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert not blocking, (page.url, blocking)


def visible_rows(page) -> int:
    """Rows of the list wholly inside the window, as a person sees them without scrolling."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.bo-table tbody tr')).filter(row => {
             const box = row.getBoundingClientRect();
             return box.top >= 0 && box.bottom <= window.innerHeight && box.height > 0;
           }).length"""
    )


def test_at_least_fifteen_records_are_visible_on_a_1366_by_900_screen(page, demo):
    page.goto(f"{demo.url}/backoffice/reclamations/")

    shown = visible_rows(page)
    print(f"\nrows visible at 1366×900: {shown}")
    assert shown >= 15
    # One line a record: every row the same height, that of a line of text and its padding.
    heights = page.evaluate("Array.from(document.querySelectorAll('.bo-table tbody tr')).map(r => r.offsetHeight)")
    assert max(heights) <= 40, heights


def test_keyboard_shortcuts_move_open_search_and_show_their_help(page, demo):
    page.goto(f"{demo.url}/backoffice/reclamations/?ordre=reference")
    references = page.locator(".bo-table tbody tr td:nth-child(2) a")
    second = references.nth(1).inner_text()

    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.textContent") == second
    page.keyboard.press("k")
    page.keyboard.press("j")
    page.keyboard.press("x")
    assert page.locator(".bo-table tbody tr").nth(1).locator(".bo-select").is_checked()
    assert page.locator("#bulk-count").inner_text().startswith("1 réclamation cochée")

    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.type") == "search"
    page.keyboard.type("jk?")  # typed into the field: text, not shortcuts
    assert page.locator("input[type=search]").input_value() == "jk?"
    assert not page.locator("#raccourcis").is_visible()

    page.locator("h1").click()
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Raccourcis clavier")
    assert dialog.is_visible()
    assert "Ligne suivante / précédente" in dialog.inner_text()
    assert_no_blocking_violation(page)
    page.keyboard.press("Escape")
    assert not dialog.is_visible()

    third = references.nth(2).inner_text()
    page.keyboard.press("j")  # from the second row, where the keyboard was
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/backoffice/reclamations/\d+/$"))
    assert third in page.locator("h1").inner_text()


def test_ticking_every_row_and_assigning_them_in_one_go(page, demo):
    page.goto(f"{demo.url}/backoffice/reclamations/?state=ouvertes&handler=aucun")
    rows = page.locator(".bo-table tbody tr").count()
    assert rows >= 1

    page.get_by_label("Tout sélectionner").check()
    assert page.locator("#bulk-count").inner_text().startswith(f"{rows} réclamation")
    page.get_by_label("Attribuer à").select_option(label="Camille Martin")
    page.get_by_role("button", name="Attribuer", exact=True).click()

    plural = "s" if rows > 1 else ""
    page.get_by_text(f"{rows} réclamation{plural} attribuée{plural} à Camille Martin.").wait_for()
    assert not Reclamation.objects.open().filter(handler__isnull=True).exists()


def test_the_list_and_the_record_page_have_no_serious_violation(page, demo):
    page.goto(f"{demo.url}/backoffice/reclamations/?state=ouvertes")
    page.locator(".bo-table tbody tr .bo-select").first.check()
    page.get_by_text("Enregistrer les filtres actuels").click()
    assert_no_blocking_violation(page)

    record = Reclamation.objects.open().order_by("received_at").first()
    page.goto(f"{demo.url}/backoffice/reclamations/{record.pk}/")
    assert_no_blocking_violation(page)


def test_the_record_page_has_its_shortcuts(page, demo):
    record = Reclamation.objects.open().order_by("received_at").first()
    page.goto(f"{demo.url}/backoffice/reclamations/{record.pk}/")

    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Raccourcis clavier")
    assert "Écrire au réclamant" in dialog.inner_text()
    assert_no_blocking_violation(page)
    page.keyboard.press("Escape")

    page.keyboard.press("u")
    page.wait_for_url(f"{demo.url}/backoffice/reclamations/")


def test_from_a_record_j_and_k_follow_the_list_r_goes_to_the_reply_box_and_e_to_the_step_button(page, demo):
    page.goto(f"{demo.url}/backoffice/reclamations/?state=ouvertes&ordre=reference")
    references = page.locator(".bo-table tbody tr td:nth-child(2) a").all_inner_texts()[:3]
    record_url = re.compile(r"/backoffice/reclamations/\d+/$")

    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(record_url)
    assert references[0] in page.locator("h1").inner_text()

    # The list's filters and sort travel with it: j is the next row of that list, k the one before.
    page.keyboard.press("j")
    page.wait_for_function("ref => document.querySelector('h1').textContent.includes(ref)", arg=references[1])
    assert "Suivante" in page.get_by_role("navigation", name="Parcourir la liste").inner_text()
    page.keyboard.press("j")
    page.wait_for_function("ref => document.querySelector('h1').textContent.includes(ref)", arg=references[2])
    page.keyboard.press("k")
    page.wait_for_function("ref => document.querySelector('h1').textContent.includes(ref)", arg=references[1])

    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Raccourcis clavier")
    help_text = dialog.inner_text()
    assert "Réclamation suivante / précédente de la liste" in help_text
    assert "Enregistrer et terminer l'étape" in help_text
    page.keyboard.press("Escape")

    # e: the focus on the button that completes the step, nothing clicked (Enter would confirm).
    state = Reclamation.objects.get(reference=references[1]).state
    page.keyboard.press("e")
    focused = page.evaluate(
        "() => { const el = document.activeElement; return {tag: el.tagName, text: el.textContent.trim(),"
        " inStep: Boolean(el.closest('#etape'))}; }"
    )
    assert focused["tag"] == "BUTTON" and focused["inStep"], focused
    assert "terminer l'étape" in focused["text"].lower(), focused
    assert Reclamation.objects.get(reference=references[1]).state == state

    # r: the reply box, unfolded if it was folded; what is typed there is text, not shortcuts.
    page.keyboard.press("r")
    page.wait_for_function(
        "() => document.activeElement.tagName === 'TEXTAREA'"
        " && document.activeElement.closest(\"form[action$='/messages/']\") !== null"
    )
    address = page.url
    page.keyboard.type("jk")
    assert "jk" in page.evaluate("document.activeElement.value")  # typed in the box (prefilled text)
    page.wait_for_timeout(300)
    assert page.url == address and references[1] in page.locator("h1").inner_text()


def test_the_quality_lead_exports_the_ticked_rows_as_the_register_csv(page, demo):
    page.goto(f"{demo.url}/backoffice/reclamations/?ordre=reference")
    rows = page.locator(".bo-table tbody tr")
    ticked = [rows.nth(i).locator("td:nth-child(2) a").inner_text() for i in (0, 2)]
    for i in (0, 2):
        rows.nth(i).locator(".bo-select").check()

    with page.expect_download() as download:
        page.get_by_role("button", name="Exporter (CSV)").click()

    content = download.value.path().read_bytes().decode("utf-8-sig")
    lines = content.split("\r\n")
    register = lines[lines.index("") + 1:]
    assert register[0].startswith("Référence;Reçue le;Nature")
    assert sorted(line.split(";")[0] for line in register[1:] if line) == sorted(ticked)
    assert download.value.suggested_filename.startswith("selection-reclamations_")
