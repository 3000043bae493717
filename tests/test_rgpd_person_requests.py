"""One person's requests, handled by the quality lead on the "Données personnelles" page: everything
held on them as a ZIP (right of access), erasure on request (logged, refused while a record is open)."""
from __future__ import annotations

import hashlib
import html
import io
import json
import zipfile

import pytest
from django.urls import reverse

from reclamations import services
from reclamations.journal import verify_chain
from reclamations.models import Event, EventKind, Reclamation
from reclamations.uploads import check_uploads
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance, pdf_bytes, upload

pytestmark = pytest.mark.django_db

PAGE = reverse("quality:personal_data")
SEARCH = reverse("quality:personal_data_search")
EXPORT = reverse("quality:personal_data_export")
ERASE = reverse("quality:personal_data_erase")
EMAIL = "claire.dupont@example.org"
FILE_BYTES = pdf_bytes("Convocation de Claire Dupont")


@pytest.fixture
def claires(handler):
    """Two closed records of Claire Dupont (one with a file), and one of somebody else."""
    first = ReclamationFactory(complainant_email="Claire.Dupont@Example.org", description="Mon badge ne marche pas.")
    services.reclamation_add_attachments(reclamation=first, actor=None, public=True,
                                         uploads=check_uploads([upload("badge.pdf", FILE_BYTES)]))
    first = advance(first, Step.CLOSED, handler)
    second = ReclamationFactory(subject="Salle trop froide")
    services.reclamation_discard(reclamation=second, actor=handler, reason="Doublon")
    other = advance(ReclamationFactory(complainant_name="Bruno Autre", complainant_email="bruno@example.org"),
                    Step.CLOSED, handler)
    return [Reclamation.objects.get(pk=first.pk), Reclamation.objects.get(pk=second.pk), other]


def _text(response) -> str:
    """The page as a reader sees it (apostrophes are escaped in the HTML)."""
    return html.unescape(response.content.decode())


def _erase(client, person=EMAIL, **overrides):
    data = {"erase-person": person, "erase-confirmation": person, "erase-understood": "on",
            "erase-reason": "Demande reçue par courrier le 03/02/2027."}
    data.update(overrides)
    return client.post(ERASE, {k: v for k, v in data.items() if v is not None})


# --- Finding the person -----------------------------------------------------------------------------
def test_the_quality_lead_finds_a_persons_records_by_email_or_name(quality_lead, login, claires):
    client = login(quality_lead)
    page = _text(client.get(PAGE))
    assert "Données personnelles" in page and "3 ans" in page
    assert 'method="post" action="/backoffice/qualite/donnees-personnelles/recherche/"' in page

    by_email = _text(client.post(SEARCH, {"person": "  CLAIRE.dupont@example.org "}))
    by_name = _text(client.post(SEARCH, {"person": "claire   DUPONT"}))
    for page in (by_email, by_name):
        assert claires[0].reference in page and claires[1].reference in page
        assert claires[2].reference not in page
        assert "Exporter (ZIP)" in page and "Effacer (anonymiser)" in page

    refused = client.post(SEARCH, {"person": ""})
    assert refused.status_code == 400
    assert "Indiquez l'adresse électronique ou le nom de la personne." in _text(refused)


def test_handlers_get_403_and_visitors_the_sign_in_page(handler, login, client, claires):
    colleague = login(handler)
    assert colleague.get(PAGE).status_code == 403
    for url in (SEARCH, EXPORT, ERASE):
        assert colleague.post(url, {"person": EMAIL, "export-person": EMAIL}).status_code == 403
    assert _erase(colleague).status_code == 403
    assert client.get(PAGE)["Location"].startswith("/backoffice/connexion/?next=")
    assert "Données personnelles" not in colleague.get(reverse("quality:plan")).content.decode()
    assert not Event.objects.filter(kind__in=(EventKind.PERSONAL_DATA, EventKind.ANONYMISED)).exists()


# --- Export --------------------------------------------------------------------------------------
def test_the_export_is_a_zip_of_everything_held_on_the_person(quality_lead, login, claires):
    response = login(quality_lead).post(EXPORT, {"export-person": EMAIL})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="donnees-personnelles-')
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("donnees.json"))
    references = [r["reference"] for r in data["reclamations"]]
    assert references == [claires[0].reference, claires[1].reference]
    first = data["reclamations"][0]
    assert first["reclamant"]["nom"] == "Claire Dupont"
    assert first["reclamant"]["telephone"] == "06 12 34 56 78"
    assert first["description"] == "Mon badge ne marche pas."
    assert first["reponse"] == "Votre session est reportée sans frais."
    assert first["avis"]["satisfaction"] == 4
    assert any(c["contenu"] == "Appel : la cliente confirme les faits." for c in first["echanges"])
    assert any(h["type"] == "Étape terminée" for h in first["historique"])
    assert data["reclamations"][1]["motif_de_classement"] == "Doublon"
    (piece,) = first["pieces"]
    assert piece["nom"] == "badge.pdf" and archive.read(piece["fichier"]) == FILE_BYTES
    assert "Bruno" not in archive.read("donnees.json").decode()
    # Logged on each record: who, and the SHA-256 of what was handed out (not the data itself).
    events = Event.objects.filter(kind=EventKind.PERSONAL_DATA).order_by("sequence")
    assert [e.reclamation_id for e in events] == [claires[0].pk, claires[1].pk]
    assert {e.data["sha256"] for e in events} == {hashlib.sha256(response.content).hexdigest()}
    assert all(e.actor == quality_lead and EMAIL not in e.summary for e in events)


def test_an_export_for_nobody_is_refused_in_french(quality_lead, login, claires):
    response = login(quality_lead).post(EXPORT, {"export-person": "personne@example.org"})
    assert response.status_code == 400
    assert "Aucune donnée personnelle n'est conservée pour cette personne" in _text(response)
    assert not Event.objects.filter(kind=EventKind.PERSONAL_DATA).exists()


# --- Erasure -------------------------------------------------------------------------------------
def test_erasure_anonymises_every_record_of_the_person_and_is_logged(quality_lead, login, claires):
    client = login(quality_lead)
    response = _erase(client)

    assert response.status_code == 302 and response["Location"] == PAGE
    page = _text(client.get(PAGE))
    assert f"Données personnelles effacées : 2 réclamations anonymisées ({claires[0].reference}, " in page
    for record in claires[:2]:
        record.refresh_from_db()
        assert record.anonymised_at is not None and record.complainant_email == "" and record.complainant_name == ""
        (event,) = Event.objects.filter(reclamation=record, kind=EventKind.ANONYMISED)
        assert event.actor == quality_lead
        assert event.summary == ("Données personnelles effacées : demande d'effacement de la personne concernée "
                                 "— Demande reçue par courrier le 03/02/2027.")
    assert Reclamation.objects.get(pk=claires[2].pk).complainant_name == "Bruno Autre"
    assert verify_chain().intact
    # Nothing is held any more: the search is empty and the export refused.
    assert "Aucune réclamation ne contient de données personnelles" in _text(client.post(
        SEARCH, {"person": EMAIL}))
    assert client.post(EXPORT, {"export-person": EMAIL}).status_code == 400
    # A second request changes nothing.
    assert _erase(client).status_code == 400
    assert Event.objects.filter(kind=EventKind.ANONYMISED).count() == 2


def test_erasure_is_refused_while_a_record_is_still_open(quality_lead, login, claires):
    still_open = ReclamationFactory(complainant_email=EMAIL)

    response = _erase(login(quality_lead))

    assert response.status_code == 400
    page = _text(response)
    assert f"la réclamation {still_open.reference} est encore en cours de traitement" in page
    assert "Clôturez-les ou classez-les sans suite" in page
    assert not Reclamation.objects.filter(anonymised_at__isnull=False).exists()
    assert not Event.objects.filter(kind=EventKind.ANONYMISED).exists()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"erase-confirmation": "claire@example.org"}, "Ce n'est pas la même valeur que la personne recherchée."),
    ({"erase-understood": None}, "Cochez la case pour confirmer que l'effacement est définitif."),
    ({"erase-reason": ""}, "Indiquez le motif de l'effacement."),
    ({"erase-reason": "Courriel de Mme Dupont du 3 février"}, "il ne doit contenir ni le nom ni l'adresse"),
    ({"erase-reason": "Demande de claire.dupont@example.org"}, "il ne doit contenir ni le nom ni l'adresse"),
])
def test_erasure_needs_a_confirmation_and_a_motif_without_the_person(quality_lead, login, claires, overrides,
                                                                      message):
    response = _erase(login(quality_lead), **overrides)

    assert response.status_code == 400
    assert message in _text(response)
    assert not Reclamation.objects.filter(anonymised_at__isnull=False).exists()


def test_an_anonymised_record_still_shows_in_the_list_with_its_badge(quality_lead, login, claires):
    client = login(quality_lead)
    _erase(client)

    listing = client.get(reverse("backoffice:list")).content.decode()
    assert claires[0].reference in listing and "anonymisée" in listing
    assert "Claire Dupont" not in listing
    detail = client.get(reverse("backoffice:detail", args=[claires[1].pk])).content.decode()
    assert "Motif :</strong> effacé (RGPD)" in detail
    assert "Doublon" not in detail
