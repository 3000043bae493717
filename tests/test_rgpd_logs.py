"""Logs never contain personal data: a client's whole journey (Contact form, acknowledgement sent,
follow-up page, lost link, survey), wrong links included, writes neither their name, address,
phone number nor any of their secret links to the configured log handler."""
from __future__ import annotations

import io
import logging
import re
import time

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from reclamations.forms.public import started_token
from reclamations.log_filters import redact
from reclamations.models import Reclamation
from reclamations.workflow import Step
from tests.factories import ServiceFactory, advance, contact_form_data, fill_step

pytestmark = pytest.mark.django_db

FOLLOW_UP_LINK = re.compile(r"/suivi/([A-Za-z0-9_-]{20,})/")
SURVEY_LINK = re.compile(r"/enquete/([A-Za-z0-9_-]{20,})/")
PERSON = ("Claire Dupont", "Dupont", "claire.dupont@example.org", "06 12 34 56 78", "Transports Martin",
          "3 rue des Lilas")


@pytest.fixture
def log_output():
    """What the project's configured handler (LOGGING "console") writes, at every level."""
    (handler,) = [h for h in logging.getLogger().handlers if h.name == "console"]
    stream = io.StringIO()
    previous_stream = handler.setStream(stream)
    root = logging.getLogger()
    previous_level = root.level
    root.setLevel(logging.DEBUG)
    yield stream
    root.setLevel(previous_level)
    handler.setStream(previous_stream)


def test_a_clients_journey_logs_nothing_personal(log_output, handler, django_capture_on_commit_callbacks):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/contact/", contact_form_data(service=ServiceFactory(name="Formation").pk))
    assert response.status_code == 302
    token = FOLLOW_UP_LINK.search(mail.outbox[0].body).group(1)  # the acknowledgement, sent
    assert client.get(reverse("public:follow_up", args=[token])).status_code == 200
    assert client.get(reverse("public:follow_up", args=[token[::-1]])).status_code == 404
    record = Reclamation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("public:lost_link"), {"reference": record.reference, "email": "claire.dupont@example.org",
                                                  "website": "", "started": started_token(time.time() - 60)})
    new_token = FOLLOW_UP_LINK.search(mail.outbox[-1].body).group(1)  # the lost link, sent again
    assert new_token != token
    with django_capture_on_commit_callbacks(execute=True):
        advance(fill_step(record, handler), Step.FEEDBACK, handler)
    survey_token = next(SURVEY_LINK.search(m.body).group(1) for m in mail.outbox if SURVEY_LINK.search(m.body))
    assert client.get(reverse("survey:answer", args=[survey_token[::-1]])).status_code == 404
    answered = client.post(reverse("survey:answer", args=[survey_token]),
                           {"satisfaction": "4", "solved": "yes", "answer_clear": "oui", "delay_acceptable": "oui",
                            "comment": "Merci Camille, Claire Dupont"})
    assert answered.status_code in (200, 302)
    assert Reclamation.objects.get().state == Step.CLOSED
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /suivi/{token}/ HTTP/1.1", "200", "1234")

    written = log_output.getvalue()
    assert "Not Found: /suivi/[jeton]/" in written  # Django's own 404 line went through, without the token
    assert "/suivi/[jeton]/ HTTP/1.1" in written  # and runserver's request line
    assert "outbox: " in written  # the e-mails were sent while we listened
    for secret in (*PERSON, token, token[::-1], new_token, survey_token, survey_token[::-1]):
        assert secret not in written, secret


def test_the_filter_rewrites_token_paths_and_addresses_only():
    line = ("Not Found: /suivi/AbC-123_xyz/pieces/4/ from jean.martin+rh@exemple.fr; "
            "/enquete/Zz9/ /backoffice/qualite/bilans/lu/tok/ /suivi/lien-perdu/ R-2026-0042 reclamation 17")
    assert redact(line) == ("Not Found: /suivi/[jeton]/pieces/4/ from [courriel]; /enquete/[jeton]/ "
                            "/backoffice/qualite/bilans/lu/[jeton]/ /suivi/lien-perdu/ R-2026-0042 reclamation 17")
