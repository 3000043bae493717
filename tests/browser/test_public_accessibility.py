"""axe-core check of the client's pages: the Contact form (empty and with errors), the confirmation
page and the follow-up page report no serious or critical violation, on a phone and on a desktop."""
from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from reclamations import services, uploads
from tests.browser.test_contact_journey import fill_contact_form
from tests.factories import ServiceFactory, upload

BLOCKING = {"serious", "critical"}


@pytest.fixture
def public_site(settings, live_server, transactional_db):
    settings.SITE_URL = live_server.url
    settings.CONTACT_MIN_FILL_SECONDS = 0
    ServiceFactory(name="Formation inter-entreprises")
    return live_server


def assert_no_blocking_violation(page) -> None:
    results = Axe().run(page)
    blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING]
    details = [
        (v["id"], v["impact"], v["help"], [node["target"] for node in v["nodes"]][:5]) for v in blocking
    ]
    assert not blocking, details


def followed_record(live_url: str) -> str:
    """A record as the client sees it after a while: a file, a message from them, one from us."""
    created = services.reclamation_submit_contact(
        kind="difficulty", stakeholder_type="company", complainant_name="Paul Martin",
        complainant_email="paul.martin@example.org", consent=True, subject="Salle trop petite",
        description="Douze stagiaires pour huit places.", service=ServiceFactory(name="Formation intra-entreprise"),
        uploads=uploads.check_uploads([upload("plan.pdf")]),
    )
    services.reclamation_add_client_message(reclamation=created.reclamation, body="Voici une photo de la salle.",
                                            uploads=uploads.check_uploads([upload("photo.pdf")]))
    services.reclamation_log_communication(
        reclamation=created.reclamation, actor=None, kind="email", direction="outbound", public=True,
        subject="Point d'avancement", body="Nous cherchons une autre salle pour la session suivante.",
        purpose="progress")
    return f"{live_url}/suivi/{created.token}/"


@pytest.mark.parametrize("page_fixture", ["phone_page", "desktop_page"])
def test_the_contact_form_has_no_serious_violation(request, page_fixture, public_site):
    page = request.getfixturevalue(page_fixture)
    page.goto(f"{public_site.url}/contact/")

    assert_no_blocking_violation(page)


@pytest.mark.parametrize("page_fixture", ["phone_page", "desktop_page"])
def test_the_contact_form_with_errors_shown_has_no_serious_violation(request, page_fixture, public_site):
    page = request.getfixturevalue(page_fixture)
    page.goto(f"{public_site.url}/contact/")
    page.get_by_label("Adresse électronique").fill("pas-une-adresse")
    page.get_by_role("button", name="Envoyer ma demande").click()
    page.locator("#resume-erreurs").wait_for()

    assert_no_blocking_violation(page)


def test_the_confirmation_page_has_no_serious_violation(phone_page, public_site):
    page = phone_page
    page.goto(f"{public_site.url}/contact/")
    fill_contact_form(page, with_file=False)
    page.get_by_role("button", name="Envoyer ma demande").click()
    page.get_by_test_id("reference").wait_for()

    assert_no_blocking_violation(page)


@pytest.mark.parametrize("page_fixture", ["phone_page", "desktop_page"])
def test_the_follow_up_page_has_no_serious_violation(request, page_fixture, public_site):
    page = request.getfixturevalue(page_fixture)
    page.goto(followed_record(public_site.url))
    page.get_by_test_id("reference").wait_for()

    assert_no_blocking_violation(page)

    # With the message form in error as well.
    page.get_by_role("button", name="Envoyer mon message").click()
    page.locator("#resume-erreurs").wait_for()
    assert_no_blocking_violation(page)


@pytest.mark.parametrize("path", ["/confidentialite/", "/suivi/lien-perdu/"])
def test_the_other_public_pages_have_no_serious_violation(phone_page, public_site, path):
    phone_page.goto(f"{public_site.url}{path}")

    assert_no_blocking_violation(phone_page)
