"""The consumer mediator, configured once in the admin, named wherever the client hears of their
recourse: the acknowledgement, the argued answer, the closure e-mail, the follow-up page, the
evidence pack's procedure (consumer code: name, address, website)."""
from __future__ import annotations

import html
import re

import pytest
from django.core import mail
from post_office.models import Email

from reclamations.models import Organisation
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, ServiceFactory, advance, contact_form_data

pytestmark = pytest.mark.django_db

LINE = "Médiateur de la consommation : CMFP, 12 rue des Tests 75010 Paris, https://cmfp.example.org."


@pytest.fixture
def mediator():
    organisation = Organisation.current()
    organisation.mediator_name = "CMFP"
    organisation.mediator_address = "12 rue des Tests\n75010 Paris"
    organisation.mediator_website = "https://cmfp.example.org"
    organisation.save()
    return organisation


def page_text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def test_the_acknowledgement_names_the_mediator(mediator, client, django_capture_on_commit_callbacks):
    service = ServiceFactory()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/contact/", contact_form_data(service=service.pk, complainant_email="claire@example.org"))
    acknowledgement, = (m for m in mail.outbox if m.to == ["claire@example.org"])

    assert LINE in acknowledgement.body
    html_part = acknowledgement.alternatives[0][0]
    assert "CMFP" in html_part and "https://cmfp.example.org" in html_part


def test_the_answer_and_the_closure_email_name_the_mediator(mediator, handler):
    reclamation = advance(ReclamationFactory(complainant_email="claire@example.org"), Step.CLOSED, handler)

    # The e-mails as the outbox holds them (sent after commit by the worker).
    to_client = [e for e in Email.objects.all() if "claire@example.org" in e.to]
    answer = next(e for e in to_client if "Réponse" in e.subject)
    closure = next(e for e in to_client if e.subject.startswith("Clôture"))
    assert LINE in answer.message
    assert LINE in closure.message
    assert reclamation.state == Step.CLOSED


def test_the_follow_up_page_names_the_mediator(mediator, client):
    reclamation = ReclamationFactory()

    page = page_text(client.get(f"/suivi/{reclamation.token}/"))

    assert "Vos recours" in page
    assert LINE in page


def test_a_hostile_mediator_name_is_shown_as_text(client):
    organisation = Organisation.current()
    organisation.mediator_name = '<script>alert("x")</script>'
    organisation.save()
    reclamation = ReclamationFactory()

    content = client.get(f"/suivi/{reclamation.token}/").content.decode()

    assert "<script>alert" not in content
    assert "&lt;script&gt;alert" in content


def test_without_a_mediator_nothing_is_invented():
    organisation = Organisation.current()

    assert organisation.mediator_line == ""
