"""A record's page: header, nine-step progress bar, the current step's forms, the timeline."""
from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reclamations import services
from reclamations.models import Communication, Event, Organisation
from reclamations.workflow import OPEN_STEPS, Step
from tests.factories import ReclamationFactory, advance, upload

pytestmark = pytest.mark.django_db


def detail_url(reclamation) -> str:
    return reverse("backoffice:detail", args=[reclamation.pk])


def text(response) -> str:
    """The page as a reader sees it: entities decoded, white space collapsed."""
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def test_the_header_shows_reference_kind_complainant_channel_handler_and_both_deadlines(login, handler):
    reclamation = advance(ReclamationFactory(), Step.REFORMULATION, handler)

    page = text(login(handler).get(detail_url(reclamation)))

    assert f"Réclamation {reclamation.reference}" in page
    assert "Claire Dupont" in page
    assert "Formulaire web (Contact)" in page
    assert "Camille Martin" in page
    assert "Accusé de réception" in page and "Réponse argumentée" in page
    assert "Fait dans les délais" in page  # the acknowledgement was sent at once
    assert "Dans les délais" in page and "reste" in page  # the answer is still due, with the time left


def test_the_progress_bar_marks_done_current_and_coming_steps(login, handler):
    reclamation = advance(ReclamationFactory(), Step.ACTION_PROPOSAL, handler)

    page = text(login(handler).get(detail_url(reclamation)))

    assert page.count('class="bo-step bo-step-done"') == 3
    assert page.count('class="bo-step bo-step-current" aria-current="step"') == 1
    assert page.count('class="bo-step bo-step-todo"') == 5
    assert "Étape 4 sur 9 — Proposition d'action" in page


@pytest.mark.parametrize(
    ("state", "present", "absent"),
    [
        (Step.RECEIVED, ["Envoyer l'accusé de réception", "Accusé de réception déjà donné autrement"],
         ["Enregistrer l'évaluation"]),
        (Step.IDENTIFICATION, ["Enregistrer l'identification", "Nom du réclamant"], ["Enregistrer la reformulation"]),
        (Step.REFORMULATION, ["Enregistrer la reformulation", "Durée (minutes)", "l'appel au réclamant sans objet"],
         ["Enregistrer l'identification\"", "Enregistrer l'évaluation"]),
        (Step.ACTION_PROPOSAL, ["Enregistrer l'évaluation", "Gravité", "Ajouter l'action"], ["Réponse argumentée\""]),
        (Step.SCHEDULING, ["responsables et échéances", "Enregistrer l'action"], ["Enregistrer l'évaluation"]),
        (Step.ACTION, ["Enregistrer et envoyer au réclamant", "Dédommagement", "Réalisation des actions"],
         ["Enregistrer l'évaluation"]),
        # Informed already (the answer of step 6 counts): one message form, the conversation's.
        (Step.FOLLOW_UP, ["Le réclamant est déjà informé", "Répondre au réclamant"],
         ["Envoyer le point d'avancement", "Enregistrer l'évaluation"]),
        (Step.CONCLUSION, ["Enregistrer la conclusion", "Catégorie de cause racine"], ["Enregistrer l'évaluation"]),
        (Step.FEEDBACK, ["Enregistrer l'avis", "Satisfaction du client", "l'enquête de satisfaction sans objet"],
         ["Enregistrer la conclusion"]),
    ],
)
def test_each_step_shows_its_own_form_and_the_button_that_completes_it(login, handler, state, present, absent):
    reclamation = advance(ReclamationFactory(), state, handler)

    response = login(handler).get(detail_url(reclamation))

    assert response.status_code == 200
    page = text(response)
    number = OPEN_STEPS.index(state) + 1
    assert f"Terminer l'étape {number}" in page
    for snippet in present:
        assert snippet in page
    for snippet in absent:
        assert snippet not in page


def test_it_lists_what_the_step_still_needs_before_any_attempt(login, handler):
    reclamation = advance(ReclamationFactory(), Step.ACTION_PROPOSAL, handler)

    page = text(login(handler).get(detail_url(reclamation)))

    assert "Pour terminer cette étape, il reste à enregistrer" in page
    assert "une action immédiate pour rechercher la cause" in page


def test_a_closed_record_offers_reopening_and_no_step_form(login, handler):
    reclamation = advance(ReclamationFactory(), Step.CLOSED, handler)

    page = text(login(handler).get(detail_url(reclamation)))

    assert "Réclamation clôturée" in page
    assert "Rouvrir la réclamation" in page
    assert "Terminer l'étape" not in page
    assert page.count('class="bo-step bo-step-done"') == 9


def test_a_discarded_record_shows_its_reason(login, handler):
    reclamation = services.reclamation_discard(reclamation=ReclamationFactory(), actor=handler, reason="Spam évident")

    page = text(login(handler).get(detail_url(reclamation)))

    assert "Classée sans suite" in page
    assert "Spam évident" in page
    assert "Terminer l'étape" not in page


def test_the_timeline_shows_events_messages_calls_and_files_with_internal_ones_marked(login, handler):
    reclamation = ReclamationFactory()
    services.reclamation_log_communication(
        reclamation=reclamation, actor=handler, kind="note", direction="internal",
        body="Vérifier avec le formateur avant de rappeler.")
    services.reclamation_log_communication(
        reclamation=reclamation, actor=handler, kind="call", direction="outbound", public=True,
        body="La cliente confirme la date de la convocation.", duration_minutes=12)
    from reclamations.uploads import check_uploads

    services.reclamation_add_attachments(reclamation=reclamation, actor=handler,
                                         uploads=check_uploads([upload("convocation.pdf")]))

    page = text(login(handler).get(detail_url(reclamation)))

    timeline = page[page.index('id="historique"'):]
    assert "Réclamation enregistrée" in timeline  # the creation event
    # The conversation: an internal note looks unlike any message (issue 17, point 4).
    internal = re.search(r'<li class="bo-entry bo-entry-note">.*?</li>', timeline).group(0)
    assert "Note interne" in internal and "Vérifier avec le formateur" in internal
    call = re.search(r'<li class="bo-entry bo-entry-outbound">(?:(?!</li>).)*12 min.*?</li>', timeline).group(0)
    assert "Visible par le client" in call and "La cliente confirme" in call
    assert "convocation.pdf" in timeline
    attachment = reclamation.attachments.get()
    assert reverse("backoffice:attachment", args=[attachment.pk]) in timeline


def test_the_timeline_shows_a_message_once_with_its_content(login, handler):
    reclamation = ReclamationFactory()
    services.reclamation_send_message(
        reclamation=reclamation, actor=handler, purpose=Communication.Purpose.INFORMATION_REQUEST,
        subject="Précisions", body="Pouvez-vous nous envoyer votre convocation ?")

    page = text(login(handler).get(detail_url(reclamation)))

    timeline = page[page.index('id="historique"'):]
    assert timeline.count("Pouvez-vous nous envoyer votre convocation ?") == 1
    assert "Courriel : en attente d'envoi" in timeline or "Courriel : envoyé" in timeline


def test_each_message_in_the_timeline_says_who_wrote_it_and_whether_its_email_left(login, handler):
    from post_office.models import STATUS

    handler.first_name, handler.last_name = "Léa", "Martin"
    handler.save()
    reclamation = ReclamationFactory()
    for subject, status in (("Envoyé", STATUS.sent), ("Refusé", STATUS.failed)):
        services.reclamation_send_message(
            reclamation=reclamation, actor=handler, purpose=Communication.Purpose.INFORMATION_REQUEST,
            subject=subject, body=f"Message {subject.lower()}")
        email = reclamation.communications.get(subject=subject).email
        email.status = status
        email.save(update_fields=["status"])

    page = text(login(handler).get(detail_url(reclamation)))

    timeline = page[page.index('id="historique"'):]
    sent = re.search(r'<li class="bo-entry[^"]*">(?:(?!</li>).)*Message envoyé.*?</li>', timeline).group(0)
    failed = re.search(r'<li class="bo-entry[^"]*">(?:(?!</li>).)*Message refusé.*?</li>', timeline).group(0)
    assert "Léa Martin" in sent and "Courriel : envoyé" in sent
    assert "Léa Martin" in failed and "échec de l'envoi" in failed


def test_user_text_is_escaped(login, handler):
    reclamation = ReclamationFactory(subject="<script>alert(1)</script>", description="<b>gras</b>")

    page = login(handler).get(detail_url(reclamation)).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>gras</b>" not in page


def test_an_unknown_record_is_a_404(login, handler):
    assert login(handler).get(reverse("backoffice:detail", args=[999999])).status_code == 404


def test_the_message_form_starts_from_the_chosen_template(login, handler):
    reclamation = advance(ReclamationFactory(), Step.REFORMULATION, handler)

    page = text(login(handler).get(detail_url(reclamation) + "?modele=progress"))

    assert f"Point d'avancement — votre demande {reclamation.reference}" in page
    assert "Bonjour Claire Dupont" in page


def test_the_quality_lead_may_carry_a_corrective_action_to_the_improvement_plan(login, handler, quality_lead):
    reclamation = advance(ReclamationFactory(), Step.SCHEDULING, handler)
    corrective = reclamation.actions.get(kind="corrective")
    url = reverse("quality:promote_action", args=[corrective.pk])

    assert url in login(quality_lead).get(detail_url(reclamation)).content.decode()
    assert url not in login(handler).get(detail_url(reclamation)).content.decode()


# --- Folded forms ---------------------------------------------------------------------------------
def test_folded_forms_come_with_the_page_only_when_asked_for(login, handler):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    client = login(handler)

    page = client.get(detail_url(reclamation)).content.decode()
    asked = client.get(detail_url(reclamation), {"formulaire": "communication"}).content.decode()

    # Folded: a link that opens it (htmx fetches the same URL and keeps that part).
    assert 'name="communication-body"' not in page
    assert f'href="{detail_url(reclamation)}?formulaire=communication#formulaire-communication"' in page
    assert 'hx-trigger="toggle from:closest details once"' in page and "htmx-2" in page
    # Asked for: open, with its form, on the same page.
    assert re.search(r'<details class="bo-more mb-2" open>\s*<summary>Consigner un échange', asked)
    assert 'id="formulaire-communication"' in asked and 'name="communication-body"' in asked
    action = reclamation.actions.first()
    assert f'name="action-{action.pk}-description"' not in page
    assert f'name="action-{action.pk}-description"' in client.get(
        detail_url(reclamation), {"formulaire": f"action-{action.pk}"}).content.decode()


def test_the_add_action_form_is_open_at_step_4_and_folded_afterwards(login, handler):
    proposal = advance(ReclamationFactory(), Step.ACTION_PROPOSAL, handler)
    later = advance(ReclamationFactory(), Step.ACTION, handler)
    client = login(handler)

    at_step_4 = client.get(detail_url(proposal)).content.decode()
    at_step_6 = client.get(detail_url(later)).content.decode()
    asked = client.get(detail_url(later), {"formulaire": "action_add"}).content.decode()

    assert re.search(r'<details class="bo-more" open>\s*<summary>Ajouter une action au plan', at_step_4)
    assert 'name="action_add-description"' in at_step_4
    assert 'name="action_add-description"' not in at_step_6
    assert f'href="{detail_url(later)}?formulaire=action_add#formulaire-action_add"' in at_step_6
    assert 'id="formulaire-action_add"' in asked and 'name="action_add-description"' in asked


def test_the_sans_objet_form_is_folded_until_opened_and_comes_back_open_when_refused(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    client = login(handler)

    page = client.get(detail_url(reclamation)).content.decode()
    asked = client.get(detail_url(reclamation), {"formulaire": "not_applicable"}).content.decode()
    refused = bo_post(client, reclamation, "not_applicable", {"reason": "  "}).content.decode()

    assert "Déclarer l&#x27;envoi de la réponse au réclamant sans objet" in page
    assert 'name="not_applicable-reason"' not in page
    assert f'href="{detail_url(reclamation)}?formulaire=not_applicable#formulaire-not_applicable"' in page
    # The refused page answers at the form's POST-only URL: the other folded forms are still fetched
    # from the record's own page, or they would never open (405).
    assert f'hx-get="{detail_url(reclamation)}?formulaire=discard"' in refused
    for shown in (asked, refused):
        assert re.search(r'<details class="bo-more mt-3" open>\s*<summary>Impossible \? Déclarer', shown)
        assert 'id="formulaire-not_applicable"' in shown and 'name="not_applicable-reason"' in shown


def test_an_action_refused_at_step_6_comes_back_open_with_its_errors(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)

    response = bo_post(login(handler), reclamation, "action_add", {"description": "", "kind": "corrective"})

    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<details class="bo-more" open>\s*<summary>Ajouter une action au plan', page)
    assert 'name="action_add-description"' in page


def test_a_folded_form_refused_comes_back_open_with_its_errors(login, handler, bo_post):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)

    response = bo_post(login(handler), reclamation, "communication", {"kind": "call", "direction": "outbound",
                                                                      "body": ""})

    assert response.status_code == 200
    assert 'id="formulaire-communication"' in response.content.decode()
    assert re.search(r'<details class="bo-more mb-2" open>\s*<summary>Consigner un échange', response.content.decode())


# --- Query count ---------------------------------------------------------------------------------
def test_the_record_page_costs_the_same_number_of_queries_with_a_short_or_a_long_history(login, handler):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    client = login(handler)
    client.get(detail_url(reclamation))
    services.reclamation_send_message(  # an e-mail in the outbox, as every real case has
        reclamation=reclamation, actor=handler, purpose=Communication.Purpose.PROGRESS,
        subject="Premier point", body="Nous avons bien reçu votre demande.")
    with CaptureQueriesContext(connection) as short:
        assert client.get(detail_url(reclamation)).status_code == 200
    for n in range(30):  # messages with their e-mails, calls, notes, edits: a long case
        if n % 3 == 0:
            services.reclamation_send_message(
                reclamation=reclamation, actor=handler, purpose=Communication.Purpose.PROGRESS,
                subject=f"Point n° {n}", body="Nous avançons sur votre demande.")
        else:
            services.reclamation_log_communication(
                reclamation=reclamation, actor=handler, kind="call" if n % 3 == 1 else "note",
                direction="outbound" if n % 3 == 1 else "internal", body=f"Échange n° {n}")
        services.reclamation_update(reclamation=reclamation, actor=handler, changes={"reformulation": f"Version {n}"})
    assert Event.objects.filter(reclamation=reclamation).count() >= 60

    with CaptureQueriesContext(connection) as long:
        response = client.get(detail_url(reclamation))

    assert response.status_code == 200
    assert "Échange n° 29" in text(response) and "Point n° 27" in text(response)
    assert "échanges plus anciens" in text(response)  # the thread is cut: the older ones are counted
    assert len(long.captured_queries) == len(short.captured_queries), [q["sql"] for q in long.captured_queries]


def test_a_record_page_reads_the_configuration_once_and_a_saved_change_is_seen_at_once(login, handler):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    client = login(handler)

    with CaptureQueriesContext(connection) as page:
        assert client.get(detail_url(reclamation)).status_code == 200
    organisation = Organisation.current()
    organisation.name = "Organisme renommé"
    organisation.save()

    reads = [q["sql"] for q in page.captured_queries if "reclamations_organisation" in q["sql"]]
    assert len(reads) == 1, reads  # the header, the badges' clock and the message texts share it
    assert "Organisme renommé" in client.get(detail_url(reclamation)).content.decode()


def test_the_action_plan_is_read_once_for_the_plan_and_the_steps_checklist(login, handler):
    from reclamations import workflow

    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    client = login(handler)
    client.get(detail_url(reclamation))

    with CaptureQueriesContext(connection) as queries:
        page = text(client.get(detail_url(reclamation)))

    assert sum('FROM "reclamations_action"' in q["sql"] for q in queries.captured_queries) == 1
    # The checklist computed from that list is the one the step's completion checks against.
    missing = workflow.missing_for(reclamation.__class__.objects.get(pk=reclamation.pk))
    assert "la réalisation de toutes les actions du plan" in missing
    for item in missing:
        assert item in page
