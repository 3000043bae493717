"""Browser fixtures: Debian's Chromium driven by Playwright (never a downloaded browser).

Every test under tests/browser/ is marked ``browser``. A missing Chromium is a failure with the
command that installs it, not a skip: `.ci/run` installs it, the README says how.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the test body's ORM calls are still
# plain synchronous code, so Django's async-safety guard does not apply here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
PASSWORD = "mot-de-passe-solide-42"  # tests/factories.py
DESKTOP = {"width": 1366, "height": 768}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium with `apt-get install chromium` (README).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _page(browser: object, viewport: dict[str, int], mobile: bool) -> Iterator[object]:
    context = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile, locale="fr-FR",
                                  timezone_id="Europe/Paris")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(browser: object, live_server: object, transactional_db: None) -> Iterator[object]:
    """A 390×844 phone page; ``live_server.url`` is the app's base URL."""
    yield from _page(browser, PHONE, mobile=True)


@pytest.fixture
def desktop_page(browser: object, live_server: object, transactional_db: None) -> Iterator[object]:
    """A 1366×768 desktop page."""
    yield from _page(browser, DESKTOP, mobile=False)


def sign_in(page: object, base: str, username: str, password: str = PASSWORD) -> None:
    """Through the back-office's sign-in form, as a person would."""
    page.goto(f"{base}/backoffice/connexion/")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
