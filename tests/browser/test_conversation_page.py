"""The record page's conversation in Chromium (issue 17, point 4): the tabs work with the keyboard,
the reply box opens in place and sends a message with a file of the record, and axe finds no
serious or critical violation."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from django.core import mail
from django.urls import reverse

from reclamations import services
from reclamations.models import Communication
from reclamations.uploads import check_uploads
from reclamations.workflow import Step
from tests.browser.conftest import sign_in
from tests.browser.test_security_csp import COLLECT
from tests.factories import ReclamationFactory, UserFactory, advance, upload


def test_a_handler_reads_the_thread_switches_tabs_by_keyboard_and_replies_with_a_file(desktop_page, live_server):
    page = desktop_page
    handler = UserFactory(role="handler", username="gestionnaire")
    record = advance(ReclamationFactory(), Step.ACTION_PROPOSAL, handler)
    services.reclamation_add_client_message(reclamation=record, body="Avez-vous reçu mon attestation ?")
    services.reclamation_log_communication(
        reclamation=record,
        actor=handler,
        kind="note",
        direction="internal",
        body="Attestation à corriger par le secrétariat.",
    )
    [attestation] = services.reclamation_add_attachments(
        reclamation=record, actor=handler, uploads=check_uploads([upload("attestation.pdf")]), public=False
    )
    page.add_init_script(COLLECT)
    sign_in(page, live_server.url, "gestionnaire")
    page.goto(live_server.url + reverse("backoffice:detail", args=[record.pk]))

    conversation = page.get_by_role("tabpanel", name="Conversation")
    assert conversation.get_by_text("Note interne", exact=True).first.is_visible()
    assert page.get_by_role("tabpanel", name="Historique").count() == 0  # hidden until chosen

    tab = page.get_by_role("tab", name="Conversation")
    tab.focus()
    page.keyboard.press("ArrowRight")
    history = page.get_by_role("tabpanel", name="Historique")
    history.get_by_text("Réclamation enregistrée").first.wait_for()
    assert page.get_by_role("tab", name="Historique").get_attribute("aria-selected") == "true"
    page.keyboard.press("ArrowLeft")
    conversation.wait_for()

    violations = Axe().run(page).response["violations"]
    blocking = [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]][:5])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert not blocking

    page.get_by_text("Répondre au réclamant").click()
    reply = page.locator("#formulaire-message")
    reply.get_by_label("attestation.pdf").check()
    reply.get_by_label("Sujet du courriel").fill("Votre attestation corrigée")
    reply.get_by_role("button", name="Envoyer le message").click()
    page.get_by_text("Message envoyé par courriel").wait_for()

    sent = Communication.objects.get(reclamation=record, subject="Votre attestation corrigée")
    assert list(sent.sent_files.all()) == [attestation]
    assert [m for m in mail.outbox if m.attachments and m.attachments[0][0] == "attestation.pdf"]
    assert page.evaluate("window.__cspViolations") == []


def test_the_older_exchanges_open_in_place_and_the_reply_being_typed_stays(desktop_page, live_server):
    from reclamations import selectors

    page = desktop_page
    handler = UserFactory(role="handler", username="gestionnaire")
    record = advance(ReclamationFactory(), Step.ACTION_PROPOSAL, handler)
    for n in range(1, selectors.CONVERSATION_SHOWN + 3):  # 32 calls, n° 1 the oldest
        services.reclamation_log_communication(reclamation=record, actor=handler, kind="call",
                                               direction="outbound", body=f"Appel numéro {n:02d}.")
    sign_in(page, live_server.url, "gestionnaire")
    page.goto(live_server.url + reverse("backoffice:detail", args=[record.pk]))
    page.get_by_text("Répondre au réclamant").click()
    reply = page.locator("form[action$='/messages/'] textarea").first
    reply.fill("Réponse en cours de rédaction")
    address = page.url

    total = selectors.conversation(record, newest_first=True).total  # the calls, and what the steps sent
    assert page.locator(".bo-conversation > li").count() == selectors.CONVERSATION_SHOWN
    page.get_by_role("link", name=f"Afficher les {total - selectors.CONVERSATION_SHOWN} échanges plus anciens").click()

    page.get_by_text("Appel numéro 01.").wait_for()
    assert page.url == address  # no page load: the thread alone was replaced
    assert page.locator(".bo-conversation > li").count() == total
    assert reply.input_value() == "Réponse en cours de rédaction"
