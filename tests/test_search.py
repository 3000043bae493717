"""The list's search over everything written on a record, without regard to accents or case, and
the excerpt that shows where the words were found."""
from __future__ import annotations

import hashlib
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reclamations import services, sla
from reclamations.models import ActionKind, Communication, CommunicationKind, Reclamation
from reclamations.services.search import search_documents_rebuild
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance

pytestmark = pytest.mark.django_db

URL = "/backoffice/reclamations/"


def references(response) -> list[str]:
    return re.findall(r'class="fw-semibold">(R-\d{4}-\d{4,})</a>', response.content.decode())


def excerpts(response) -> list[str]:
    """The excerpts of the rows, as HTML (``<mark>`` and escaped text)."""
    return re.findall(r'<small class="bo-excerpt">(.*?)</small>', response.content.decode(), re.S)


def found(client, query: str) -> set[str]:
    response = client.get(URL, {"q": query})
    assert response.status_code == 200
    return set(references(response))


@pytest.fixture
def other(handler):
    """A record that matches none of the words searched below."""
    return ReclamationFactory(subject="Salle trop froide", description="Le chauffage était coupé.",
                              wished_solution="", complainant_name="Paul Martin",
                              complainant_email="paul.martin@example.org")


# --- What is searched ----------------------------------------------------------------------------
def test_it_finds_a_word_of_the_description(login, handler, other):
    record = ReclamationFactory(description="Le formateur a quitté la séance avant la pause méridienne.")

    assert found(login(handler), "méridienne") == {record.reference}


def test_it_finds_a_word_of_a_client_message(login, handler, other):
    record = ReclamationFactory()
    services.reclamation_add_client_message(reclamation=record, body="Je n'ai toujours pas reçu l'attestation.")

    assert found(login(handler), "attestation") == {record.reference}


def test_it_finds_a_word_of_a_call_note(login, handler, other):
    record = ReclamationFactory()
    services.reclamation_log_communication(
        reclamation=record, actor=handler, kind=CommunicationKind.CALL, direction=Communication.Direction.INTERNAL,
        body="Appel de la stagiaire : elle évoque un malentendu avec le financeur.",
    )

    assert found(login(handler), "malentendu") == {record.reference}


def test_it_finds_a_word_of_an_action_and_of_its_result(login, handler, other):
    record = advance(ReclamationFactory(), Step.ACTION_PROPOSAL, handler)  # the action plan's step
    action = services.reclamation_add_action(reclamation=record, actor=handler, kind=ActionKind.CORRECTIVE,
                                             description="Revoir la procédure de convocation")
    services.reclamation_update_action(action=action, actor=handler, changes={"result": "Gabarit réécrit"})
    client = login(handler)

    assert found(client, "procédure") == {record.reference}
    assert found(client, "gabarit") == {record.reference}


def test_an_edited_text_is_found_by_its_new_words_only(login, handler, other):
    record = advance(ReclamationFactory(), Step.REFORMULATION, handler)
    services.reclamation_update(reclamation=record, actor=handler, changes={"reformulation": "Retard de convocation"})
    services.reclamation_update(reclamation=record, actor=handler, changes={"reformulation": "Horaires confus"})
    client = login(handler)

    assert found(client, "horaires") == {record.reference}
    assert found(client, "retard de convocation") == set()


def test_every_word_must_be_found_somewhere_in_the_record(login, handler, other):
    record = ReclamationFactory(complainant_name="Claire Dupont", description="Dossier CPF refusé.")
    client = login(handler)

    assert found(client, "dupont cpf") == {record.reference}
    assert found(client, "dupont chauffage") == set()


def test_the_template_of_an_automatic_e_mail_does_not_make_every_record_match(login, handler, other):
    closed = advance(ReclamationFactory(), Step.CLOSED, handler)
    # Its closure notice, written by the application alone: "… votre dossier est clos."
    assert Communication.objects.filter(reclamation=closed, purpose=Communication.Purpose.CLOSURE).exists()

    assert found(login(handler), "dossier est clos") == set()


# --- Accents and case ----------------------------------------------------------------------------
def test_a_word_typed_without_accents_or_capitals_finds_it_with_them(login, handler, other):
    lower = ReclamationFactory(description="Question sur l'éligibilité de la formation.")
    upper = ReclamationFactory(subject="ÉLIGIBILITÉ CPF CONTESTÉE")
    client = login(handler)

    assert found(client, "eligibilite") == {lower.reference, upper.reference}
    assert found(client, "ÉLIGIBILITÉ") == {lower.reference, upper.reference}
    assert found(client, "Eligibilité") == {lower.reference, upper.reference}


# --- The excerpt ---------------------------------------------------------------------------------
def test_the_row_shows_the_words_around_the_match_marked(login, handler):
    ReclamationFactory(description=(
        "Nous avons envoyé trois courriels au centre. La demande d'ÉLIGIBILITÉ au CPF a été refusée "
        "sans explication, et personne ne répond plus au téléphone depuis le mois dernier, ni par écrit."
    ))

    response = login(handler).get(URL, {"q": "eligibilite"})

    excerpt, = excerpts(response)
    assert "Description :" in excerpt
    assert "<mark>ÉLIGIBILITÉ</mark>" in html.unescape(excerpt)
    assert "La demande d" in html.unescape(excerpt)
    # A few words around, not the whole text.
    assert "ni par écrit" not in html.unescape(excerpt)


def test_hostile_text_in_the_excerpt_is_shown_as_text(login, handler):
    ReclamationFactory(description='Voir <script>alert("piège")</script> dans la convocation <b>jointe</b>.')

    response = login(handler).get(URL, {"q": "piège"})

    content = response.content.decode()
    assert "<script>alert" not in content
    assert "<b>jointe" not in content
    excerpt, = excerpts(response)
    assert "&lt;script&gt;alert(&quot;<mark>piège</mark>&quot;)&lt;/script&gt;" in excerpt


def test_a_list_without_search_shows_no_excerpt(login, handler):
    ReclamationFactory()

    assert excerpts(login(handler).get(URL)) == []


# --- RGPD ----------------------------------------------------------------------------------------
def test_an_anonymised_record_is_no_longer_found_by_what_was_erased(login, handler, quality_lead):
    record = advance(ReclamationFactory(complainant_name="Hortense Vasseur",
                                        description="Mon employeur Vasseur SARL refuse le financement."),
                     Step.CLOSED, quality_lead)
    client = login(handler)
    assert found(client, "vasseur") == {record.reference}

    services.reclamation_anonymise(reclamation=record, actor=quality_lead, reason="Demande de la personne")

    assert found(client, "hortense") == set()
    assert found(client, "financement") == set()
    # The reference is no personal data: the register can still be searched by it.
    assert found(client, record.reference) == {record.reference}


# --- Cost ----------------------------------------------------------------------------------------
def _bulk(count: int, start: int) -> None:
    now = timezone.now()
    deadlines = sla.compute_deadline_set(now)
    created = Reclamation.objects.bulk_create(
        Reclamation(
            reference=f"R-2026-{start + n + 1:05d}", token_hash=hashlib.sha256(f"s-{start + n}".encode()).hexdigest(),
            kind="complaint", channel="email", subject=f"Demande {start + n}",
            description=f"Refus d'éligibilité n° {start + n} " + "texte " * 200, received_at=now,
            ack_due_at=deadlines.ack_due_at, answer_due_at=deadlines.answer_due_at,
            ack_risk_at=deadlines.ack_risk_at, answer_risk_at=deadlines.answer_risk_at,
        )
        for n in range(count)
    )
    search_documents_rebuild(r.pk for r in created)


def test_the_searched_list_costs_the_same_number_of_queries_for_10_and_1000_records(
    login, handler, django_assert_num_queries
):
    _bulk(10, 0)
    client = login(handler)
    client.get(URL, {"q": "eligibilite"})
    with CaptureQueriesContext(connection) as few:
        client.get(URL, {"q": "eligibilite"})
    _bulk(990, 10)

    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(URL, {"q": "eligibilite"})

    assert len(references(response)) == 25
    assert len(excerpts(response)) == 25
