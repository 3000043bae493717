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


def assert_on_step(page, number: int, label: str) -> None:
    page.get_by_role("heading", name=f"Étape {number} sur 9 — {label}").wait_for()


# Counts what the handler does, as the issue measured it: every press of the mouse (a button, a
# link, a radio) and every full page load (a navigation of the main frame; htmx swaps are not).
COUNT_CLICKS = """
document.addEventListener("pointerdown", function (event) {
  if (event.isTrusted) { window.__journeyClick(); }
}, true);
"""


class Counter:
    def __init__(self, page) -> None:
        self.clicks = 0
        self.loads = 0
        self.counting = False
        page.expose_function("__journeyClick", self.click)
        page.add_init_script(COUNT_CLICKS)
        page.on("framenavigated", lambda frame: self.load() if frame == page.main_frame else None)

    def click(self) -> None:
        self.clicks += self.counting

    def load(self) -> None:
        self.loads += self.counting


def history(page) -> str:
    """The record's "Historique" tab (system events), read without opening it: no click counted."""
    return page.locator("#historique-liste").text_content()


def test_a_handler_takes_a_contact_form_complaint_through_the_nine_steps(desktop_page, live_server, contact_record):
    page = desktop_page
    base = live_server.url
    reclamation = contact_record.reclamation
    counter = Counter(page)

    # Sign in and open the list (not counted: the handler's day starts there).
    page.goto(f"{base}/backoffice/")
    page.get_by_label("Identifiant").fill("gestionnaire")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/backoffice/")
    page.goto(f"{base}/backoffice/reclamations/")

    counter.counting = True
    page.get_by_role("link", name=reclamation.reference).click()
    assert page.get_by_role("heading", name=f"Réclamation {reclamation.reference}").is_visible()
    assert "Formulaire web (Contact)" in page.locator(".bo-record-header").inner_text()

    # 1. The acknowledgement went out with the Contact form: step 1 completed by itself, and says so.
    assert_on_step(page, 2, "Identification")
    assert "Étape 1 terminée automatiquement : accusé de réception envoyé." in history(page)

    # 2. The Contact form brought everything: one click takes the record, saves and completes.
    form = in_form(page, "identification")
    form.get_by_label("Téléphone").fill("06 12 34 56 78")
    form.get_by_role("button", name="Prendre en charge, enregistrer et terminer l'étape 2").click()
    assert_on_step(page, 3, "Reformulation et contact")

    # 3. The call back (the complaint came in writing), then the reformulation, saved with the step.
    form = in_form(page, "reformulation")
    form.get_by_label("Reformulation des points clés").fill(
        "Convocation reçue la veille de la session ; la cliente demande un report sans frais.")
    form = in_form(page, "echanges")
    form.get_by_label("Durée (minutes)").fill("10")
    form.get_by_label("Résumé").fill("Appel : la cliente confirme les faits et accepte un report.")
    form.get_by_role("button", name="Consigner l'échange").click()
    page.get_by_text("consigné(e) dans l'historique").wait_for()
    in_form(page, "reformulation").get_by_role("button", name="Enregistrer et terminer l'étape 3").click()
    assert_on_step(page, 4, "Proposition d'action")

    # 4. The plan, each action with its owner and due date (added in place), then the evaluation.
    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    for kind, description in (("Immédiate (recherche de la cause)", "Vérifier la date d'envoi des convocations."),
                              ("Corrective", "Envoyer les convocations quinze jours avant la session.")):
        form = in_form(page, "actions")
        form.get_by_label(re.compile(r"^\s*Action\s*\*?\s*$")).fill(description)
        form.get_by_label("Type").select_option(label=kind)
        form.get_by_label("Responsable").select_option(label="Camille Martin")
        form.get_by_label("Échéance", exact=True).fill(due)
        form.get_by_role("button", name="Ajouter l'action").click()
        page.locator("#plan-contenu .bo-action", has_text=description).wait_for()
    form = in_form(page, "evaluation")
    for legend, level in (("Gravité", "Moyenne"), ("Complexité", "Faible"), ("Répercussions", "Moyenne")):
        form.get_by_role("group", name=legend).get_by_label(level).check()
    form.get_by_role("button", name="Enregistrer et terminer l'étape 4").click()

    # 5. Every action already had an owner and a due date: step 5 completed by itself.
    assert_on_step(page, 6, "Action concrète")
    assert "Étape 5 terminée automatiquement" in history(page)

    # 6. Actions done (in place), the argued answer sent with its compensation, the step completed.
    for action in Reclamation.objects.get(pk=reclamation.pk).actions.all():
        page.locator(f"#action-{action.pk}").get_by_role("button", name="Marquer réalisée aujourd'hui").click()
        page.locator(f"#action-{action.pk} .badge", has_text="Réalisée").wait_for()
    form = in_form(page, "reponse")
    form.get_by_label("Favorable", exact=True).check()
    form.get_by_label("Réponse argumentée").fill(ANSWER)
    form.get_by_label("Dédommagement", exact=True).select_option(label="Prestation complémentaire")
    form.get_by_label("Description du dédommagement").fill("Report de la session sans frais.")
    form.get_by_role("button", name="Envoyer et terminer l'étape 6").click()

    # 7. The answer informed the client: step 7 completed by itself, no extra e-mail.
    assert_on_step(page, 8, "Conclusion et propositions")
    assert "Étape 7 terminée automatiquement" in history(page)

    # 8. Conclusion and root cause, saved with the step; the survey goes to the client.
    form = in_form(page, "conclusion")
    form.get_by_label("Conclusion").fill("Report accordé ; la cliente a suivi la session du 14 avril.")
    form.get_by_label("Catégorie de cause racine").select_option(label="Organisation / logistique")
    form.get_by_label("Analyse de la cause racine").fill("Convocations envoyées à la main, oubliées en période "
                                                         "chargée.")
    form.get_by_role("button", name="Enregistrer et terminer l'étape 8").click()
    assert_on_step(page, 9, "Collecte de feedback")
    counter.counting = False

    # 9. The client answers the survey (their clicks, not the handler's): the record closes by itself.
    closed = Reclamation.objects.get(pk=reclamation.pk)
    assert closed.state == Step.FEEDBACK
    services.reclamation_record_feedback(reclamation=closed, satisfaction=5, comment="Merci pour la réactivité.",
                                         label="Client (enquête)")
    counter.counting = True
    page.reload()
    assert page.get_by_role("heading", name="Réclamation clôturée").is_visible()
    assert "Étape 9 terminée automatiquement : avis du client recueilli." in history(page)
    counter.counting = False

    print(f"\nJourney (Contact complaint, step 1 to closure): {counter.clicks} clicks, "
          f"{counter.loads} page loads for the handler")
    assert counter.clicks <= 15, counter.clicks
    assert counter.loads <= 10, counter.loads
    closed = Reclamation.objects.get(pk=reclamation.pk)
    assert closed.state == Step.CLOSED and closed.closed_at is not None
    assert closed.complainant_phone == "06 12 34 56 78"
    assert closed.reformulation.startswith("Convocation reçue la veille")
    assert closed.severity and closed.conclusion.startswith("Report accordé")
    # One e-mail per click at most: no progress update was sent on top of the answer.
    assert not closed.communications.filter(purpose="progress").exists()

    # The client's follow-up page shows the progress and the answer.
    page.goto(base + reverse("public:follow_up", args=[contact_record.token]))
    follow_up = page.locator("main").inner_text()
    assert "Traitement terminé" in follow_up
    assert "Nous reportons votre session au 14 avril, sans frais." in follow_up
