"""A folded form of a record's page ("Autres actions") is fetched when it is opened, in place, and
works like any other: a handler logs a call from it. No Content-Security-Policy violation."""
from __future__ import annotations

from django.urls import reverse

from reclamations.models import Communication
from reclamations.workflow import Step
from tests.browser.conftest import sign_in
from tests.browser.test_security_csp import COLLECT
from tests.factories import ReclamationFactory, UserFactory, advance


def test_a_handler_opens_a_folded_form_and_logs_a_call_with_it(desktop_page, live_server):
    page = desktop_page
    handler = UserFactory(role="handler", username="gestionnaire")
    record = advance(ReclamationFactory(), Step.ACTION, handler)
    page.add_init_script(COLLECT)
    sign_in(page, live_server.url, "gestionnaire")
    page.goto(live_server.url + reverse("backoffice:detail", args=[record.pk]))
    page.evaluate("window.__samePage = true")
    folded = page.locator("#formulaire-communication")
    assert folded.locator("a", has_text="Afficher le formulaire").count() == 1  # inside the closed <details>

    page.get_by_text("Consigner un échange (appel, courrier, entretien, note interne)").click()
    summary = page.locator("#formulaire-communication").get_by_label("Résumé")
    summary.wait_for(timeout=10_000)

    assert page.evaluate("window.__samePage") is True  # fetched in place, not by a new page
    summary.fill("Appel de la cliente : elle confirme ses disponibilités.")
    page.locator("#formulaire-communication").get_by_role("button", name="Consigner l'échange").click()
    page.get_by_text("consigné(e) dans l'historique").wait_for()
    assert Communication.objects.filter(reclamation=record, body__startswith="Appel de la cliente").exists()
    assert page.evaluate("window.__cspViolations") == []
