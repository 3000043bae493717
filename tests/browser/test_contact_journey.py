"""A client on a phone files a complaint with a document, reads the reference, opens the follow-up
link from the e-mail they received and adds a message (Debian's Chromium, driven by Playwright)."""
from __future__ import annotations

import re
import time

import pytest
from django.core import mail

from reclamations.models import Communication, Reclamation
from tests.factories import ServiceFactory, pdf_bytes

CLIENT_EMAIL = "claire.dupont@example.org"


@pytest.fixture
def public_site(settings, live_server, transactional_db):
    """The live server as the public site: links in e-mails point to it, no waiting before sending."""
    settings.SITE_URL = live_server.url
    settings.CONTACT_MIN_FILL_SECONDS = 0
    ServiceFactory(name="Formation inter-entreprises")
    ServiceFactory(name="Accompagnement VAE")
    return live_server


def fill_contact_form(page, *, with_file: bool = True) -> None:
    """Fill the Contact form the way a person does: by the visible labels."""
    page.get_by_label("Une réclamation").check()
    page.get_by_label("Bénéficiaire / stagiaire").check()
    page.get_by_label("Nom et prénom").fill("Claire Dupont")
    page.get_by_label("Adresse électronique").fill(CLIENT_EMAIL)
    page.get_by_label("Téléphone").fill("06 12 34 56 78")
    page.get_by_label("Service concerné").select_option(label="Formation inter-entreprises")
    page.get_by_label("Formation ou session concernée").fill("SST, session du 12 mars")
    page.get_by_label("Objet").fill("Convocation reçue la veille de la formation")
    page.get_by_label("Description").fill("La convocation est arrivée trop tard pour organiser mon déplacement.")
    page.get_by_label("Solution souhaitée").fill("Un report de ma session sans frais.")
    if with_file:
        page.get_by_label("Pièces justificatives", exact=True).set_input_files(
            files=[{"name": "convocation.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}])
    page.get_by_label("J'accepte que mes données personnelles soient utilisées").check()


def wait_for_email(to: str, timeout: float = 10.0):
    """The outbox task runs in the server's thread after its commit; give it a moment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [m for m in mail.outbox if m.to == [to]]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no e-mail to {to}; outbox: {[m.to for m in mail.outbox]}")


def assert_fits_width(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


def test_a_client_files_a_complaint_on_a_phone_and_follows_it_from_the_email(phone_page, public_site):
    page = phone_page
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{public_site.url}/contact/")
    assert_fits_width(page)

    fill_contact_form(page)
    page.get_by_role("button", name="Envoyer ma demande").click()

    page.wait_for_url(f"{public_site.url}/contact/merci/")
    reference = page.get_by_test_id("reference").inner_text()
    assert re.fullmatch(r"R-\d{4}-\d{4}", reference)
    assert_fits_width(page)
    reclamation = Reclamation.objects.get(reference=reference)
    assert reclamation.attachments.get().original_name == "convocation.pdf"

    acknowledgement = wait_for_email(CLIENT_EMAIL)
    assert reference in acknowledgement.subject
    link = re.search(rf"{re.escape(public_site.url)}/suivi/[A-Za-z0-9_-]{{43}}/", acknowledgement.body).group(0)

    page.goto(link)
    assert page.get_by_test_id("reference").inner_text() == reference
    # Once the acknowledgement is recorded as sent (the outbox's run), step 1 completes by itself.
    assert page.get_by_test_id("state").inner_text() in ("Votre demande est reçue", "Nous identifions votre demande")
    assert page.get_by_role("link", name="convocation.pdf").is_visible()
    assert_fits_width(page)

    page.get_by_label("Votre message").fill("J'ajoute le billet de train que j'ai dû annuler.")
    page.get_by_label("Pièces justificatives", exact=True).set_input_files(
        files=[{"name": "billet.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes("Billet")}])
    page.get_by_role("button", name="Envoyer mon message").click()

    page.get_by_text("Votre message a bien été transmis").wait_for()
    messages = page.get_by_test_id("message")
    assert "J'ajoute le billet de train que j'ai dû annuler." in messages.first.inner_text()  # newest first
    assert page.get_by_role("link", name="billet.pdf").is_visible()
    message = Communication.objects.get(reclamation=reclamation, direction="inbound")
    assert message.attachments.get().original_name == "billet.pdf"
    assert_fits_width(page)


def test_the_form_is_usable_with_the_keyboard_alone(desktop_page, public_site):
    page = desktop_page
    page.goto(f"{public_site.url}/contact/")

    # The first Tab reaches the skip link, which leads to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Aller au contenu"
    # Every field is reached by Tab, in the reading order, and the honeypot never is.
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.name || document.activeElement.id || ''"))
    assert "website" not in reached
    for name in ("kind", "stakeholder_type", "complainant_name", "complainant_email", "service", "subject",
                 "description", "attachments", "consent"):
        assert name in reached, name
    assert reached.index("complainant_name") < reached.index("subject") < reached.index("consent")


def test_errors_are_summarised_and_the_summary_takes_the_focus(phone_page, public_site):
    page = phone_page
    page.goto(f"{public_site.url}/contact/")

    page.get_by_role("button", name="Envoyer ma demande").click()

    summary = page.locator("#resume-erreurs")
    summary.wait_for()
    assert page.evaluate("document.activeElement.id") == "resume-erreurs"
    assert "Indiquez votre nom et prénom." in summary.inner_text()
    summary.get_by_role("link", name=re.compile("Nom et prénom")).click()
    assert page.evaluate("document.activeElement.id") == "id_complainant_name"
    assert Reclamation.objects.count() == 0
