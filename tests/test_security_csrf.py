"""CSRF and methods, on every URL of the project (tests/security_urls.py walks the URL conf):

- a POST without its CSRF token is refused with the French "formulaire expiré" page (403), whatever
  the URL and whoever sends it — no view is ``csrf_exempt``;
- a view that changes data refuses GET (405): the POST-only views are *found* (they answer 405 to
  a GET), the views that show a form on GET and take it on POST are listed below, and every other
  view is read-only: its GET writes nothing to the journal and it answers 405 to a POST.
"""
from __future__ import annotations

import pytest
from django.test import Client

from reclamations.models import Event
from tests.security_urls import build_world, client_as, project_patterns, url_for

pytestmark = pytest.mark.django_db

CSRF_PAGE = "Votre formulaire n'a pas pu être envoyé"

# Pages that show a form on GET and take it on POST (every other view is GET-only or POST-only).
FORM_VIEWS = {
    "public:contact",
    "public:lost_link",
    "public:follow_up",
    "survey:answer",
    "backoffice:login",
    "backoffice:password_change",
    "backoffice:two_factor_enrol",
    "backoffice:create",
    "quality:improvement_create",
    "quality:improvement_edit",
}
# GETs that write, on purpose (each view's docstring says why it is safe).
GET_WRITES = {
    "quality:digest_read",  # the e-mail's one-click "J'ai lu": per-person secret + own session
    "evidence:record_pdf",  # logs the export itself (who took which file, its SHA-256); changes no record
    "evidence:job_download",  # the same for a finished export job's file
}
# Read-only views that answer a POST anyway.
POST_TOLERATED = {
    "quality:index",  # Django's RedirectView redirects every method to the plan page; it writes nothing
    # The second sign-in step: without a password typed first, GET and POST alike send back to the login
    # page and write nothing (the step itself is tested in tests/test_two_factor.py).
    "backoffice:login_code",
}


@pytest.fixture
def world():
    return build_world()


def _with_csrf_token(client: Client) -> str:
    client.get("/backoffice/connexion/")
    return client.cookies["csrftoken"].value


def _get_answers_405(world, pattern) -> bool:
    return client_as(world, "quality_lead").get(url_for(pattern, world)).status_code == 405


def test_every_url_refuses_a_post_without_its_csrf_token(world):
    problems = []
    for pattern in project_patterns():
        url = url_for(pattern, world)
        for role in ("anonymous", "quality_lead"):
            response = client_as(world, role, enforce_csrf_checks=True).post(url, {"x": "1"})
            if response.status_code != 403 or CSRF_PAGE not in response.content.decode():
                problems.append(f"POST {url} ({pattern.name}) as {role} without a CSRF token: {response.status_code}")
    assert not problems, "\n".join(problems)


def test_post_only_views_refuse_get_and_take_a_post_with_its_token(world):
    post_only = [p for p in project_patterns() if _get_answers_405(world, p)]
    names = {p.name for p in post_only}
    # The found set holds what we know changes data (a sanity check of the discovery itself).
    assert {"backoffice:logout", "backoffice:complete_step", "backoffice:message", "outbox:resend",
            "quality:promote_action", "quality:digest_send", "evidence:pack_pdf"} <= names
    assert not names & FORM_VIEWS
    problems = []
    for pattern in post_only:
        url = url_for(pattern, world)
        for role in ("anonymous", "handler"):
            if (status := client_as(world, role).get(url).status_code) not in (405, 302):
                problems.append(f"GET {url} ({pattern.name}) as {role}: {status}, expected 405 (or sign in)")
        client = client_as(world, "quality_lead", enforce_csrf_checks=True)
        response = client.post(url, {"csrfmiddlewaretoken": _with_csrf_token(client)})
        if response.status_code == 403 and CSRF_PAGE in response.content.decode():
            problems.append(f"POST {url} ({pattern.name}) with its CSRF token was refused as a forgery")
    assert not problems, "\n".join(problems)


def test_form_views_show_their_form_on_get_and_need_the_token_on_post(world):
    names = {p.name for p in project_patterns()}
    assert not FORM_VIEWS - names, f"FORM_VIEWS lists views that no longer exist: {FORM_VIEWS - names}"
    for pattern in (p for p in project_patterns() if p.name in FORM_VIEWS):
        url = url_for(pattern, world)
        client = client_as(world, "quality_lead", enforce_csrf_checks=True)
        assert client.get(url).status_code == 200, url
        response = client.post(url, {})
        assert response.status_code == 403, url
        assert CSRF_PAGE in response.content.decode()


def test_every_other_view_is_read_only(world):
    problems = []
    for pattern in project_patterns():
        if pattern.name in FORM_VIEWS or _get_answers_405(world, pattern):
            continue
        url = url_for(pattern, world)
        for role in ("handler", "quality_lead"):
            before = Event.objects.count()
            client_as(world, role).get(url)
            if Event.objects.count() != before and pattern.name not in GET_WRITES:
                problems.append(f"GET {url} ({pattern.name}) as {role} wrote to the journal")
        client = client_as(world, "quality_lead", enforce_csrf_checks=True)
        status = client.post(url, {"csrfmiddlewaretoken": _with_csrf_token(client)}).status_code
        if status != 405 and pattern.name not in POST_TOLERATED:
            problems.append(f"POST {url} ({pattern.name}): {status}; a read-only view must answer 405 "
                            "(or, if it takes a form, be added to FORM_VIEWS)")
    assert not problems, "\n".join(problems)
