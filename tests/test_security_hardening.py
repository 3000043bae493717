"""Findings of the attack on a running copy (SECURITY.md), each fixed: pages never cached, the
browser features we never use denied, subjects with a line break refused, admin lists filtered only
by their listed filters."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from reclamations.models import Communication
from tests.factories import ReclamationFactory, advance
from tests.security_urls import build_world, client_as, project_patterns, url_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings):
    for name in ("CONTACT_RATE_LIMIT", "LOST_LINK_RATE_LIMIT", "FOLLOW_UP_RATE_LIMIT", "SURVEY_RATE_LIMIT"):
        setattr(settings, name, "1000/m")
    return build_world()


def test_no_page_built_by_the_application_may_be_stored_by_a_browser_or_proxy(world):
    problems = []
    for pattern in project_patterns():
        url = url_for(pattern, world)
        for role in ("anonymous", "handler", "quality_lead"):
            response = client_as(world, role).get(url)
            if "no-store" not in response.get("Cache-Control", ""):
                problems.append(f"{url} as {role}: Cache-Control {response.get('Cache-Control')!r}")
    assert not problems, "\n".join(problems)


def test_every_page_denies_the_browser_features_we_never_use(client, handler, login):
    for response in (client.get("/contact/"), login(handler).get("/backoffice/"), client.get("/nulle-part/")):
        policy = response["Permissions-Policy"]
        for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
            assert feature in policy


def test_a_message_subject_with_a_line_break_is_refused_not_joined(handler, login, bo_post):
    reclamation = advance(ReclamationFactory(), "action", handler)
    client = login(handler)
    before = Communication.objects.filter(reclamation=reclamation).count()

    response = bo_post(client, reclamation, "message", {
        "purpose": "information_request", "subject": "Votre dossier\r\nBcc: intrus@example.org",
        "body": "Pouvez-vous nous envoyer l'attestation ?",
    })

    assert response.status_code == 400 or response.status_code == 200
    assert "Ce champ doit tenir sur une seule ligne, sans retour à la ligne." in response.content.decode()
    assert "Pouvez-vous nous envoyer l&#x27;attestation ?" in response.content.decode()  # what was typed stays
    assert Communication.objects.filter(reclamation=reclamation).count() == before


@pytest.mark.parametrize("query", ["token_hash__startswith=a", "survey_token_hash=x", "complainant_email__contains=@"])
def test_the_admin_lists_filter_only_by_their_listed_filters(quality_lead, login, query):
    quality_lead.is_superuser = True
    quality_lead.save()
    ReclamationFactory()
    client = login(quality_lead)

    assert client.get("/admin/reclamations/reclamation/?state=received").status_code == 200
    assert client.get(f"/admin/reclamations/reclamation/?{query}").status_code == 400


def test_the_libraries_admin_lists_are_restricted_too(quality_lead, login):
    quality_lead.is_superuser = True
    quality_lead.save()
    user_model = get_user_model()
    client = login(quality_lead)

    assert client.get(f"/admin/auth/{user_model._meta.model_name}/?is_staff__exact=1").status_code == 200
    assert client.get(f"/admin/auth/{user_model._meta.model_name}/?password__startswith=md5").status_code == 400
