"""The Content-Security-Policy breaks nothing: Chromium reports no violation on the main pages (public
Contact form and follow-up page, back-office dashboard and record page, Django's admin).

A violation shows twice in Chromium: a ``securitypolicyviolation`` event in the page (collected by a
script Playwright injects, which the policy does not apply to) and an error in the console.
"""
from __future__ import annotations

import pytest
from django.urls import reverse

from reclamations.workflow import Step
from tests.factories import ReclamationFactory, UserFactory, advance

PASSWORD = "mot-de-passe-solide-42"  # tests/factories.py
COLLECT = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def watched(desktop_page):
    """The desktop page, with every CSP violation (event or console message) collected in ``.csp``."""
    console: list[str] = []
    desktop_page.add_init_script(COLLECT)
    desktop_page.on("console", lambda message: console.append(message.text)
                    if "Content Security Policy" in message.text else None)
    desktop_page.csp_console = console
    return desktop_page


def _violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations") + page.csp_console


def test_the_main_pages_raise_no_csp_violation(watched, live_server):
    page = watched
    base = live_server.url
    handler = UserFactory(role="quality_lead", username="qualite")
    created = ReclamationFactory()
    record = advance(created, Step.REFORMULATION, handler)

    visited = []

    def visit(path: str) -> None:
        page.goto(base + path)
        page.wait_for_load_state("load")
        visited.append((path, _violations(page)))

    visit(reverse("public:contact"))
    page.get_by_label("Objet").fill("Une question")  # scripts of the form run (counter, checks)
    visit(reverse("public:follow_up", args=[created.token]))
    visit("/admin/login/")
    visit(reverse("backoffice:login"))
    page.get_by_label("Identifiant").fill("qualite")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/backoffice/")
    visited.append(("dashboard", _violations(page)))
    visit(reverse("backoffice:detail", args=[record.pk]))
    page.keyboard.press("Tab")
    visit("/admin/")
    visit(reverse("quality:statistics"))

    assert all(not violations for _, violations in visited), visited

    # The watch itself works: an inline style attribute, as an injected one would be, is reported.
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    page.wait_for_function("window.__cspViolations.length > 0")
    assert "style-src" in _violations(page)[0]
