"""A handler takes a complaint from the Contact form through the nine steps to closure, in Debian's
Chromium driven by Playwright; then the client's follow-up page shows the progress and the answer."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reclamations import outbox, services
from reclamations.models import Reclamation
from reclamations.workflow import Step
from tests.factories import RootCauseCategoryFactory, ServiceFactory, UserFactory

PASSWORD = "mot-de-passe-solide-42"  # tests/factories.py
ANSWER = ("Madame, la convocation est bien partie trop tard : notre envoi est manuel et a été oublié. "
          "Nous reportons votre session au 14 avril, sans frais.")


@pytest.fixture
def contact_record(live_server, transactional_db):
    """A complaint sent through the Contact form, whose acknowledgement e-mail has gone out."""
    UserFactory(role="handler", username="gestionnaire", first_name="Camille", last_name="Martin")
    RootCauseCategoryFactory(name="Organisation / logistique")
    # The real intake path: the Contact form's service, then the outbox sends the acknowledgement
    # (tasks run in-process in tests), which is what marks step 1's acknowledgement as done.
    created = services.reclamation_submit_contact(
        kind="complaint", stakeholder_type="learner", complainant_name="Claire Dupont",
        complainant_email="claire.dupont@example.org", consent=True,
        service=ServiceFactory(name="Formation inter-entreprises"),
        subject="Convocation reçue la veille de la formation",
        description="La convocation est arrivée trop tard pour organiser mon déplacement.",
        wished_solution="Un report de ma session sans frais.",
    )
    outbox.send_due()
    created.reclamation.refresh_from_db()
    assert created.reclamation.acknowledged_at is not None, "the acknowledgement e-mail was not sent"
    return created


def in_form(page, action: str):
    """The form posting to ``…/<action>/`` (a record page holds several forms)."""
    return page.locator(f"form[action$='/{action}/']")


def complete_step(page, number: int) -> None:
    page.get_by_role("button", name=f"Terminer l'étape {number}").click()
    page.get_by_text(re.compile(rf"Étape {number} \(.+\) terminée\.")).wait_for()


def assert_on_step(page, number: int, label: str) -> None:
    assert page.get_by_role("heading", name=f"Étape {number} sur 9 — {label}").is_visible()


def test_a_handler_takes_a_contact_form_complaint_through_the_nine_steps(desktop_page, live_server, contact_record):
    page = desktop_page
    base = live_server.url
    reclamation = contact_record.reclamation

    # Sign in, find the record in the list, open it.
    page.goto(f"{base}/backoffice/")
    page.get_by_label("Identifiant").fill("gestionnaire")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/backoffice/")
    page.get_by_role("link", name="Réclamations", exact=True).click()
    page.get_by_role("link", name=reclamation.reference).click()
    assert page.get_by_role("heading", name=f"Réclamation {reclamation.reference}").is_visible()
    assert "Formulaire web (Contact)" in page.locator(".bo-record-header").inner_text()

    # 1. The acknowledgement went out with the Contact form.
    assert_on_step(page, 1, "Prise en compte")
    complete_step(page, 1)

    # 2. Completing without a handler is refused, with the guard's message next to the step form.
    assert_on_step(page, 2, "Identification")
    page.get_by_role("button", name="Terminer l'étape 2").click()
    refusal = page.locator("#refus")
    refusal.wait_for()
    assert "Pour terminer l'étape 2 (Identification), enregistrez le responsable du traitement." in (
        refusal.inner_text())
    assert Reclamation.objects.get(pk=reclamation.pk).state == Step.IDENTIFICATION
    in_form(page, "prendre-en-charge").first.get_by_role("button", name="Je prends en charge").click()
    page.get_by_text("Vous êtes le responsable du traitement de cette réclamation.").wait_for()
    form = in_form(page, "identification")
    form.get_by_label("Téléphone").fill("06 12 34 56 78")
    form.get_by_role("button", name="Enregistrer l'identification").click()
    page.get_by_text("Identification enregistrée.").wait_for()
    complete_step(page, 2)

    # 3. Reformulation and the call back (the complaint came in writing).
    assert_on_step(page, 3, "Reformulation et contact")
    form = in_form(page, "reformulation")
    form.get_by_label("Reformulation des points clés").fill(
        "Convocation reçue la veille de la session ; la cliente demande un report sans frais.")
    form.get_by_role("button", name="Enregistrer la reformulation").click()
    page.get_by_text("Reformulation enregistrée.").wait_for()
    form = in_form(page, "echanges")
    form.get_by_label("Durée (minutes)").fill("10")
    form.get_by_label("Résumé").fill("Appel : la cliente confirme les faits et accepte un report.")
    form.get_by_role("button", name="Consigner l'échange").click()
    page.get_by_text("consigné(e) dans l'historique").wait_for()
    complete_step(page, 3)

    # 4. Evaluation and action plan.
    assert_on_step(page, 4, "Proposition d'action")
    form = in_form(page, "evaluation")
    for legend, level in (("Gravité", "Moyenne"), ("Complexité", "Faible"), ("Répercussions", "Moyenne")):
        form.get_by_role("group", name=legend).get_by_label(level).check()
    form.get_by_role("button", name="Enregistrer l'évaluation").click()
    page.get_by_text("Évaluation enregistrée : priorité normale.").wait_for()
    for kind, description in (("Immédiate (recherche de la cause)", "Vérifier la date d'envoi des convocations."),
                              ("Corrective", "Envoyer les convocations quinze jours avant la session.")):
        form = in_form(page, "actions")
        form.get_by_label(re.compile(r"^\s*Action\s*\*?\s*$")).fill(description)
        form.get_by_label("Type").select_option(label=kind)
        form.get_by_role("button", name="Ajouter l'action").click()
        page.get_by_text("Action ajoutée au plan d'action.").wait_for()
    complete_step(page, 4)

    # 5. An owner and a due date for each action.
    assert_on_step(page, 5, "Fixation d'échéances")
    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    for action in Reclamation.objects.get(pk=reclamation.pk).actions.all():
        form = in_form(page, f"actions/{action.pk}")
        form.get_by_label("Responsable").select_option(label="Camille Martin")
        form.get_by_label("Échéance", exact=True).fill(due)
        form.get_by_role("button", name="Enregistrer l'action").click()
        page.get_by_text("Action mise à jour.").wait_for()
    complete_step(page, 5)

    # 6. Actions done, the argued answer sent with its compensation.
    assert_on_step(page, 6, "Action concrète")
    for action in Reclamation.objects.get(pk=reclamation.pk).actions.all():
        page.locator(f"#action-{action.pk}").get_by_role("button", name="Marquer réalisée aujourd'hui").click()
        page.get_by_text("Action mise à jour.").wait_for()
    form = in_form(page, "reponse")
    form.get_by_label("Favorable", exact=True).check()
    form.get_by_label("Réponse argumentée").fill(ANSWER)
    form.get_by_label("Dédommagement", exact=True).select_option(label="Prestation complémentaire")
    form.get_by_label("Description du dédommagement").fill("Report de la session sans frais.")
    form.get_by_role("button", name="Enregistrer et envoyer au réclamant").click()
    page.get_by_text("Réponse argumentée envoyée au réclamant par courriel.").wait_for()
    complete_step(page, 6)

    # 7. A progress update, from its editable starting text.
    assert_on_step(page, 7, "Information du suivi")
    form = in_form(page, "messages")
    body = form.get_by_role("textbox", name=re.compile(r"^\s*Message"))
    assert "Bonjour Claire Dupont" in body.input_value()
    body.fill(body.input_value().replace(":\n\n\n\n", ": votre nouvelle convocation pour le 14 avril est envoyée.\n\n"))
    form.get_by_role("button", name="Envoyer le point d'avancement").click()
    page.get_by_text("Message envoyé par courriel à claire.dupont@example.org.").wait_for()
    complete_step(page, 7)

    # 8. Conclusion and root cause.
    assert_on_step(page, 8, "Conclusion et propositions")
    form = in_form(page, "conclusion")
    form.get_by_label("Conclusion").fill("Report accordé ; la cliente a suivi la session du 14 avril.")
    form.get_by_label("Catégorie de cause racine").select_option(label="Organisation / logistique")
    form.get_by_label("Analyse de la cause racine").fill("Convocations envoyées à la main, oubliées en période "
                                                         "chargée.")
    form.get_by_role("button", name="Enregistrer la conclusion").click()
    page.get_by_text("Conclusion enregistrée.").wait_for()
    complete_step(page, 8)

    # 9. The client's feedback, given by phone.
    assert_on_step(page, 9, "Collecte de feedback")
    form = in_form(page, "avis")
    form.get_by_label("5 — Très satisfait").check()
    form.get_by_label("Commentaire du client").fill("Merci pour la réactivité.")
    form.get_by_role("button", name="Enregistrer l'avis").click()
    page.get_by_text("Avis du client enregistré.").wait_for()
    complete_step(page, 9)

    assert page.get_by_role("heading", name="Réclamation clôturée").is_visible()
    closed = Reclamation.objects.get(pk=reclamation.pk)
    assert closed.state == Step.CLOSED and closed.closed_at is not None

    # The client's follow-up page shows the progress and the answer.
    page.goto(base + reverse("public:follow_up", args=[contact_record.token]))
    follow_up = page.locator("main").inner_text()
    assert "Traitement terminé" in follow_up
    assert "Nous reportons votre session au 14 avril, sans frais." in follow_up
    assert "votre nouvelle convocation pour le 14 avril est envoyée" in follow_up
