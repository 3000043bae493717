"""Registering a record received by phone, e-mail, letter, survey or in person, or an aléa."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reclamations import sla
from reclamations.models import Event, EventKind, Reclamation
from reclamations.workflow import Step
from tests.factories import ServiceFactory, pdf_bytes, upload

pytestmark = pytest.mark.django_db

URL = "/backoffice/reclamations/nouvelle/"


def text(response) -> str:
    words = re.sub(r"<[^>]+>", "", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(words))


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def form(**overrides) -> dict[str, object]:
    data = {
        "kind": "complaint", "channel": "letter", "received_at": local(timezone.now() - timedelta(days=2)),
        "stakeholder_type": "funder", "complainant_name": "Julien Caron",
        "complainant_role": "Chargé de financement", "complainant_organisation": "OPCO EP",
        "complainant_phone": "03 53 01 22 18", "complainant_email": "",
        "complainant_address": "10 rue de la Gare\n59000 Lille", "service": "",
        "training_action": "Habilitation électrique", "subject": "Facture erronée transmise à l'OPCO",
        "description": "Le montant facturé ne correspond pas à l'accord de prise en charge.",
        "wished_solution": "Une facture rectificative.", "files_public": "on",
    }
    data.update(overrides)
    return {f"create-{key}": value for key, value in data.items() if value is not None}


def test_the_form_offers_every_channel_but_the_contact_form(login, handler):
    page = login(handler).get(URL).content.decode()

    assert 'value="letter"' in page and 'value="phone"' in page and 'value="survey"' in page
    assert 'value="web_form"' not in page
    assert 'enctype="multipart/form-data"' in page


def test_it_registers_a_letter_with_its_real_reception_date_and_the_scanned_letter(login, handler):
    received = timezone.now() - timedelta(days=2)
    service = ServiceFactory(name="Administration et facturation")

    response = login(handler).post(URL, {
        **form(received_at=local(received), service=service.pk),
        "create-files": [upload("courrier.pdf", pdf_bytes("Courrier OPCO"))],
    })

    reclamation = Reclamation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:detail", args=[reclamation.pk])
    assert reclamation.channel == "letter" and reclamation.state == Step.RECEIVED
    assert reclamation.created_by == handler and reclamation.service == service
    assert abs(reclamation.received_at - received) < timedelta(minutes=1)
    # The deadlines count from the real reception date, not from the moment it was typed in.
    assert reclamation.answer_due_at == sla.compute_deadline_set(reclamation.received_at).answer_due_at
    attachment = reclamation.attachments.get()
    assert attachment.original_name == "courrier.pdf" and attachment.public and attachment.uploaded_by == handler
    kinds = list(Event.objects.filter(reclamation=reclamation).values_list("kind", flat=True))
    assert kinds == [EventKind.CREATED, EventKind.ATTACHMENT_ADDED]
    assert Event.objects.get(reclamation=reclamation, kind=EventKind.CREATED).actor == handler


def test_an_incident_may_have_no_complainant(login, handler):
    response = login(handler).post(URL, form(kind="incident", channel="other", complainant_name="",
                                             complainant_role="", complainant_organisation="",
                                             complainant_phone="", complainant_address="", stakeholder_type="",
                                             subject="Vidéoprojecteur en panne",
                                             description="Panne pendant la session du matin."))

    assert response.status_code == 302
    reclamation = Reclamation.objects.get()
    assert reclamation.kind == "incident" and reclamation.complainant_name == ""


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"received_at": "FUTURE"}, "Cette date est dans le futur"),
        ({"channel": "web_form"}, "Sélectionnez un choix valide"),
        ({"complainant_name": ""}, "Indiquez le nom du réclamant (seul un aléa peut ne pas en avoir)."),
        ({"subject": ""}, "Objet : Ce champ est obligatoire."),
        ({"received_at": ""}, "Reçue le : Ce champ est obligatoire."),
    ],
)
def test_it_refuses_what_it_cannot_register_and_saves_nothing(login, handler, overrides, message):
    if overrides.get("received_at") == "FUTURE":
        overrides = {"received_at": local(timezone.now() + timedelta(days=1))}

    response = login(handler).post(URL, form(**overrides))

    assert response.status_code == 200
    assert message in text(response)
    assert not Reclamation.objects.exists()


def test_it_refuses_an_address_our_emails_cannot_go_to_as_the_contact_form_does(login, handler):
    response = login(handler).post(URL, {**form(complainant_email='"<a>"@example.org'),
                                         "create-files": [upload("courrier.pdf")]})

    assert response.status_code == 200
    assert "Courriel : Cette adresse électronique ne peut pas recevoir nos courriels" in text(response)
    assert not Reclamation.objects.exists()


def test_a_file_of_another_type_is_refused_and_nothing_is_saved(login, handler):
    response = login(handler).post(URL, {
        **form(), "create-files": [upload("lettre.pdf", b"<html><script>alert(1)</script></html>", "application/pdf")],
    })

    assert response.status_code == 200
    assert "n'est pas d'un type accepté" in text(response)
    assert not Reclamation.objects.exists()
    assert not Event.objects.exists()


def test_too_many_files_are_refused(login, handler, settings):
    settings.ATTACHMENT_MAX_FILES = 1

    response = login(handler).post(URL, {**form(), "create-files": [upload("a.pdf"), upload("b.pdf")]})

    assert response.status_code == 200
    assert "Vous pouvez joindre au plus 1 fichiers." in text(response)
    assert not Reclamation.objects.exists()
