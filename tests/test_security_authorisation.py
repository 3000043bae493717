"""The authorisation matrix: every URL of the project, as every kind of visitor, gets exactly what the
table below says. The URLs come from the URL conf (tests/security_urls.py): a new view that is not in
the table makes these tests fail until its expected outcomes are written down here.

Outcomes: ``LOGIN`` is a redirect to the sign-in page with ``?next=``; ``REDIRECT`` any other 302;
a number is the status code. Record forms are posted without their hidden ``expected_state``: the
409 ("this page is stale") they answer comes after the permission check, so it proves the visitor
got through it without changing anything.
"""
from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from reclamations.models import Event
from tests.security_urls import ARGS, OTHER_TOKEN_ARGS, build_world, client_as, project_patterns, url_for

pytestmark = pytest.mark.django_db

LOGIN = "login"
REDIRECT = "redirect"
ROLES = ("anonymous", "user", "handler", "quality_lead")
TOKEN_ROLES = ("anonymous", "other_token", "user", "handler", "quality_lead")


def everyone(outcome: int | str) -> dict[str, int | str]:
    return {role: outcome for role in TOKEN_ROLES}


def staff(outcome: int | str) -> dict[str, int | str]:
    """Handlers and the quality lead; anonymous → sign-in page; a non-staff account → 403."""
    return {"anonymous": LOGIN, "user": 403, "handler": outcome, "quality_lead": outcome}


def quality(outcome: int | str) -> dict[str, int | str]:
    """The quality lead only."""
    return {"anonymous": LOGIN, "user": 403, "handler": 403, "quality_lead": outcome}


def token_page(outcome: int | str) -> dict[str, int | str]:
    """The token is the key: whoever holds it gets the page, the holder of another token a 404."""
    return {**everyone(outcome), "other_token": 404}


RECORD_POST = {"GET": everyone(405), "POST": staff(409)}

EXPECTED: dict[str, dict[str, dict[str, int | str]]] = {
    "public:home": {"GET": everyone(REDIRECT)},
    "public:contact": {"GET": everyone(200), "POST": everyone(200)},
    "public:contact_done": {"GET": everyone(200)},
    "public:privacy": {"GET": everyone(200)},
    "public:lost_link": {"GET": everyone(200), "POST": everyone(200)},
    "public:follow_up": {"GET": token_page(200), "POST": token_page(200)},
    "public:follow_up_attachment": {"GET": token_page(200)},
    "survey:answer": {"GET": token_page(200), "POST": token_page(200)},
    "backoffice:login": {"GET": everyone(200), "POST": everyone(200)},
    "backoffice:logout": {"GET": everyone(405), "POST": everyone(REDIRECT)},
    "backoffice:password_change": {"GET": staff(200), "POST": staff(200)},
    "backoffice:password_change_done": {"GET": staff(200)},
    # Two-factor authentication. The code step without a password typed first sends back to the login
    # page; new backup codes and turning it off, for an account without it, back to the security page.
    "backoffice:login_code": {"GET": everyone(REDIRECT), "POST": everyone(REDIRECT)},
    "backoffice:account_security": {"GET": staff(200)},
    "backoffice:two_factor_enrol": {"GET": staff(200), "POST": staff(200)},
    "backoffice:two_factor_backup_codes": {"GET": everyone(405), "POST": staff(REDIRECT)},
    "backoffice:two_factor_disable": {"GET": everyone(405), "POST": staff(REDIRECT)},
    "backoffice:dashboard": {"GET": staff(200)},
    "backoffice:list": {"GET": staff(200)},
    "backoffice:create": {"GET": staff(200), "POST": staff(200)},
    # The list's actions: posted empty, the list comes back saying what is missing; a view deleted,
    # or not found, back to the list with a message.
    "backoffice:bulk_action": {"GET": everyone(405), "POST": staff(200)},
    # The rows ticked, as the register's CSV: the register's rule (quality lead); posted empty, refused.
    "backoffice:selection_export": {"GET": everyone(405), "POST": quality(400)},
    "backoffice:saved_view_save": {"GET": everyone(405), "POST": staff(200)},
    "backoffice:saved_view_delete": {"GET": everyone(405), "POST": staff(REDIRECT)},
    "backoffice:detail": {"GET": staff(200)},
    # The record after or before in the list (j / k): to that record, or back to this one at an end.
    "backoffice:next": {"GET": staff(REDIRECT), "POST": everyone(405)},
    "backoffice:previous": {"GET": staff(REDIRECT), "POST": everyone(405)},
    "backoffice:attachment": {"GET": staff(200)},
    # A reader's own display preference (no record changes): any staff member, back to the record.
    "backoffice:conversation_order": {"GET": everyone(405), "POST": staff(REDIRECT)},
    **{f"backoffice:{name}": RECORD_POST for name in (
        "complete_step", "acknowledgement", "not_applicable", "assign", "self_assign", "identification",
        "reformulation", "communication", "evaluation", "action_add", "action_update", "answer", "conclusion",
        "feedback", "message", "discard", "reopen", "received_at", "attachment_add")},
    # Received e-mails: a kept one turned into a record or discarded (empty reason: refused), each
    # answered by a redirect with the outcome.
    "backoffice:inbound_list": {"GET": staff(200)},
    "backoffice:inbound_detail": {"GET": staff(200)},
    "backoffice:inbound_convert": {"GET": everyone(405), "POST": staff(REDIRECT)},
    "backoffice:inbound_discard": {"GET": everyone(405), "POST": staff(REDIRECT)},
    "backoffice:inbound_raw": {"GET": staff(200)},
    "outbox:list": {"GET": staff(200)},
    # Its access check runs before the method check: anonymous visitors are sent to sign in.
    "outbox:resend": {"GET": staff(405), "POST": staff(REDIRECT)},
    "quality:index": {"GET": everyone(REDIRECT)},  # to quality:plan, which checks
    "quality:plan": {"GET": staff(200)},
    "quality:improvement_create": {"GET": quality(200), "POST": quality(200)},
    "quality:improvement_detail": {"GET": staff(200)},
    "quality:improvement_edit": {"GET": quality(200), "POST": quality(200)},
    "quality:improvement_check": {"GET": everyone(405), "POST": quality(200)},
    "quality:promote_action": {"GET": everyone(405), "POST": quality(REDIRECT)},
    "quality:statistics": {"GET": quality(200)},
    "quality:digests": {"GET": staff(200)},
    "quality:digest_send": {"GET": everyone(405), "POST": quality(200)},
    # The handler's own reading link: acknowledged (redirect); someone else's copy → 403.
    "quality:digest_read": {"GET": {"anonymous": LOGIN, "other_token": LOGIN, "user": 403, "handler": REDIRECT,
                                    "quality_lead": 403}},
    # The same link once signed in, its token kept in the session; without one, to the list.
    "quality:digest_read_pending": {"GET": staff(REDIRECT)},
    "quality:digest_detail": {"GET": staff(200)},
    "quality:digest_acknowledge": {"GET": everyone(405), "POST": staff(REDIRECT)},
    # RGPD: the person travels in POST bodies only; posted empty, the form comes back with a 400.
    "quality:personal_data": {"GET": quality(200)},
    "quality:personal_data_search": {"GET": everyone(405), "POST": quality(400)},
    "quality:personal_data_export": {"GET": everyone(405), "POST": quality(400)},
    "quality:personal_data_erase": {"GET": everyone(405), "POST": quality(400)},
    "quality:orphan_files": {"GET": quality(200)},
    "quality:orphan_files_delete": {"GET": everyone(405), "POST": quality(REDIRECT)},
    "evidence:index": {"GET": quality(200)},
    "evidence:pack_pdf": {"GET": everyone(405), "POST": quality(400)},  # no period: the form again, 400
    "evidence:register_xlsx": {"GET": everyone(405), "POST": quality(400)},
    "evidence:register_csv": {"GET": everyone(405), "POST": quality(400)},
    "evidence:job": {"GET": quality(200)},
    "evidence:job_download": {"GET": quality(200)},
    "evidence:record_pdf": {"GET": staff(200)},
    "healthz": {"GET": everyone(200)},
}


def outcome(response) -> int | str:
    if response.status_code == 302:
        if response["Location"].startswith(f"{settings.LOGIN_URL}?next="):
            return LOGIN
        return REDIRECT
    return response.status_code


@pytest.fixture
def world(settings):
    # The matrix sends many forms from one address: the rate limits are tested elsewhere.
    for name in ("CONTACT_RATE_LIMIT", "LOST_LINK_RATE_LIMIT", "FOLLOW_UP_RATE_LIMIT", "SURVEY_RATE_LIMIT"):
        setattr(settings, name, "1000/m")
    return build_world()


def test_every_url_pattern_has_its_arguments_and_expected_outcomes():
    patterns = project_patterns()
    assert len(patterns) > 40  # the walk found the project's URL modules
    problems = []
    for pattern in patterns:
        if not pattern.name:
            problems.append(f"{pattern.route!r} has no name")
            continue
        if pattern.name not in ARGS:
            problems.append(f"{pattern.name}: add it to ARGS in tests/security_urls.py")
        if pattern.name not in EXPECTED:
            problems.append(f"{pattern.name}: add its expected outcomes to EXPECTED in {__name__}")
        if pattern.has_token and pattern.name not in OTHER_TOKEN_ARGS:
            problems.append(f"{pattern.name}: holds a token, add it to OTHER_TOKEN_ARGS in tests/security_urls.py")
    names = {p.name for p in patterns}
    problems += [f"{name}: in EXPECTED but no longer a URL pattern" for name in set(EXPECTED) - names]
    assert not problems, "New or changed views must be added to the security tests:\n" + "\n".join(problems)


def test_every_url_gives_each_visitor_exactly_what_the_table_says(world):
    mismatches = []
    for pattern in project_patterns():
        expected = EXPECTED.get(pattern.name)
        if expected is None:
            continue  # reported by the test above
        roles = TOKEN_ROLES if pattern.has_token else ROLES
        for method, by_role in expected.items():
            for role in roles:
                client = client_as(world, role)
                url = url_for(pattern, world, other_token=role == "other_token")
                response = client.get(url) if method == "GET" else client.post(url, {})
                got = outcome(response)
                if got != by_role[role]:
                    mismatches.append(f"{method} {url} ({pattern.name}) as {role}: expected {by_role[role]}, got {got}")
    assert not mismatches, "\n".join(mismatches)


def test_a_client_token_reaches_its_own_record_and_nothing_else(world, client):
    page = client.get(reverse("public:follow_up", args=[world.other_token])).content.decode()
    assert world.other.reference in page
    assert world.record.reference not in page
    assert world.record.subject not in page
    # Its own attachment with its own token: a download, never shown inline.
    response = client.get(reverse("public:follow_up_attachment", args=[world.token, world.attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    # A survey token is not a follow-up token, and the reverse.
    assert client.get(reverse("public:follow_up", args=[world.survey_token])).status_code == 404
    assert client.get(reverse("survey:answer", args=[world.token])).status_code == 404


def test_a_private_attachment_is_not_reachable_with_the_records_own_token(world, client):
    world.attachment.public = False
    world.attachment.save(update_fields=["public"])
    response = client.get(reverse("public:follow_up_attachment", args=[world.token, world.attachment.pk]))
    assert response.status_code == 404


def test_a_handler_sees_another_handlers_record_but_cannot_change_it(world, login, other_handler):
    colleague = login(other_handler)
    assert colleague.get(reverse("backoffice:detail", args=[world.record.pk])).status_code == 200
    before = Event.objects.count()
    response = colleague.post(reverse("backoffice:reformulation", args=[world.record.pk]),
                              {"expected_state": world.record.state, "reformulation-reformulation": "Pris !"})
    assert response.status_code == 403
    assert Event.objects.count() == before
