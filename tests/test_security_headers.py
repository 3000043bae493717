"""Security headers on every page of the project, and no open redirect through ``next``.

- every HTML page carries the Content-Security-Policy (no inline script or style, nothing from
  another site, no framing) and ``X-Frame-Options: DENY``;
- a page whose address holds a client's secret is never cached and says ``no-referrer``, except
  the pages with a form, which say ``same-origin``: under ``no-referrer`` Chromium posts the form
  with ``Origin: null`` and the CSRF check refuses it (SECURITY.md);
- ``next`` never sends anybody to another site.
"""
from __future__ import annotations

import pytest
from django.urls import reverse

from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance
from tests.security_urls import build_world, client_as, project_patterns, url_for

pytestmark = pytest.mark.django_db

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")

# The Referrer-Policy of each page whose URL holds a secret (the token of a client or of a reading link).
TOKEN_PAGE_REFERRER_POLICY = {
    "public:follow_up": "same-origin",  # the client's message form (open record)
    "public:follow_up_attachment": "no-referrer",
    "survey:answer": "same-origin",  # the survey form
    "quality:digest_read": "no-referrer",
}


@pytest.fixture
def world():
    return build_world()


def _policies(header: str) -> set[str]:
    return {part.strip() for part in header.split(";")}


def test_every_html_page_carries_the_content_security_policy_and_refuses_framing(world):
    seen_html = 0
    problems = []
    for pattern in project_patterns():
        url = url_for(pattern, world)
        for role in ("anonymous", "handler", "quality_lead"):
            response = client_as(world, role).get(url)
            if response.get("X-Frame-Options") != "DENY":
                problems.append(f"{url} as {role}: X-Frame-Options {response.get('X-Frame-Options')!r}")
            if not response.get("Content-Type", "").startswith("text/html"):
                continue
            seen_html += 1
            if _policies(response.get("Content-Security-Policy", "")) != _policies(CSP):
                problems.append(f"{url} as {role}: Content-Security-Policy {response.get('Content-Security-Policy')!r}")
    assert seen_html > 50
    assert not problems, "\n".join(problems)


def test_the_error_pages_carry_the_policy_too(client):
    response = client.get("/suivi/un-lien-qui-n-existe-pas/")
    assert response.status_code == 404
    assert _policies(response["Content-Security-Policy"]) == _policies(CSP)


def test_every_token_page_has_its_referrer_policy_and_is_never_cached(world):
    token_patterns = [p for p in project_patterns() if p.has_token]
    assert {p.name for p in token_patterns} == set(TOKEN_PAGE_REFERRER_POLICY), (
        "A new URL holds a token: add its Referrer-Policy to TOKEN_PAGE_REFERRER_POLICY.")
    for pattern in token_patterns:
        role = "handler" if pattern.name.startswith("quality:") else "anonymous"
        response = client_as(world, role).get(url_for(pattern, world))
        assert response.status_code in (200, 302), pattern.name
        assert response["Referrer-Policy"] == TOKEN_PAGE_REFERRER_POLICY[pattern.name], pattern.name
        assert "no-store" in response["Cache-Control"], pattern.name


def test_token_pages_without_a_form_say_no_referrer(client, handler):
    created = ReclamationFactory()
    closed = advance(created, Step.CLOSED, handler)
    assert closed.state == Step.CLOSED
    response = client.get(reverse("public:follow_up", args=[created.token]))
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    done = client.get(reverse("public:contact_done"))
    assert done["Referrer-Policy"] == "no-referrer"


def test_ordinary_pages_send_no_referrer_to_other_sites(client):
    assert client.get(reverse("public:contact"))["Referrer-Policy"] == "same-origin"


# --- No open redirect through ``next`` ------------------------------------------------------------
EVIL = ["https://evil.example/", "//evil.example/", "/\\evil.example/", "https:evil.example"]


@pytest.mark.parametrize("target", EVIL)
def test_signing_in_never_redirects_to_another_site(client, handler, target):
    page = client.get(reverse("backoffice:login"), {"next": target}).content.decode()
    assert "evil.example" not in page
    response = client.post(reverse("backoffice:login"),
                           {"username": "gestionnaire", "password": "mot-de-passe-solide-42", "next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:dashboard")


@pytest.mark.parametrize("target", EVIL)
def test_promoting_an_action_never_redirects_to_another_site(world, target):
    client = client_as(world, "quality_lead")
    response = client.post(reverse("quality:promote_action", args=[world.action.pk]), {"next": target})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
    assert response["Location"].startswith("/")


@pytest.mark.parametrize("target", EVIL)
def test_re_sending_an_email_never_redirects_to_another_site(world, target):
    client = client_as(world, "handler")
    response = client.post(reverse("outbox:resend", args=[world.email.pk]), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("outbox:list")


def test_a_safe_next_is_followed(world):
    client = client_as(world, "quality_lead")
    back = reverse("backoffice:detail", args=[world.record.pk])
    response = client.post(reverse("quality:promote_action", args=[world.action.pk]), {"next": back})
    assert response["Location"] == back
