"""The steps are one table (workflow.STEPS): a tenth step added there, with its card template, is
enforced, numbered, labelled and described everywhere without any other change."""
from __future__ import annotations

import html
import re

import pytest

from reclamations import services, workflow
from reclamations.models import Event, EventKind
from reclamations.pdf.procedure import current_procedure
from reclamations.workflow import STEPS, Step, StepSpec, Workflow
from tests.factories import ReclamationFactory, advance, fill_step

pytestmark = pytest.mark.django_db


def _missing_check(r) -> list[str]:
    if not r.communications.filter(kind="note", body__startswith="Vérification").exists():
        return ["la note de vérification interne"]
    return []


VERIFICATION = StepSpec(
    "verification", "Vérification interne", "Nous vérifions la réponse", _missing_check,
    "Un second membre de l'équipe a relu la réponse et l'a notée.",
)


@pytest.fixture
def ten_steps(monkeypatch, settings, tmp_path):
    """The application's table with a check inserted after step 6, and that step's card template."""
    index = workflow.OPEN_STEPS.index(Step.ACTION) + 1
    monkeypatch.setattr(workflow, "WORKFLOW", Workflow((*STEPS[:index], VERIFICATION, *STEPS[index:])))
    card = tmp_path / "templates" / "backoffice" / "steps" / "verification.html"
    card.parent.mkdir(parents=True)
    card.write_text("<p>Relisez la réponse envoyée, puis notez votre vérification.</p>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path / "templates", *settings.TEMPLATES[0]["DIRS"]]}]


def page_text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def test_the_table_numbers_and_orders_the_tenth_step(ten_steps):
    assert workflow.step_count() == 10
    assert workflow.step_number("verification") == 7
    assert workflow.next_step(Step.ACTION) == "verification"
    assert workflow.next_step("verification") == Step.FOLLOW_UP
    assert workflow.step_number(Step.FEEDBACK) == 10
    assert workflow.step_number(Step.CLOSED) == 11


def test_a_record_goes_through_the_tenth_step_and_its_guard_is_enforced(ten_steps, handler):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    reclamation = fill_step(reclamation, handler)
    reclamation = services.reclamation_complete_step(reclamation=reclamation, actor=handler,
                                                     expected_state=Step.ACTION)
    assert reclamation.state == "verification"

    with pytest.raises(services.StepIncomplete) as refused:
        services.reclamation_complete_step(reclamation=reclamation, actor=handler, expected_state="verification")
    assert str(refused.value) == ("Pour terminer l'étape 7 (Vérification interne), enregistrez la note de "
                                  "vérification interne.")

    services.reclamation_log_communication(reclamation=reclamation, actor=handler, kind="note",
                                           direction="internal", body="Vérification : réponse relue.")
    reclamation = services.reclamation_complete_step(reclamation=reclamation, actor=handler,
                                                     expected_state="verification")

    # Then step 8 (follow-up), already met by the answer, completed by itself.
    assert reclamation.state == Step.CONCLUSION
    done = Event.objects.filter(reclamation=reclamation, kind=EventKind.STEP_COMPLETED, data__step=7).get()
    assert done.summary == "Étape 7 terminée : Vérification interne."


def test_the_record_page_shows_the_tenth_step_and_its_card(ten_steps, handler, login):
    reclamation = advance(ReclamationFactory(), Step.ACTION, handler)
    reclamation = services.reclamation_complete_step(reclamation=fill_step(reclamation, handler), actor=handler,
                                                     expected_state=Step.ACTION)

    page = page_text(login(handler).get(f"/backoffice/reclamations/{reclamation.pk}/"))

    assert "Étape 7 sur 10 — Vérification interne" in page
    assert "Relisez la réponse envoyée, puis notez votre vérification." in page
    assert "la note de vérification interne" in page  # what is missing, from the guard


def test_the_client_and_the_auditor_read_the_tenth_step(ten_steps, handler, client):
    reclamation = ReclamationFactory()

    follow_up = page_text(client.get(f"/suivi/{reclamation.token}/"))
    procedure = current_procedure()

    assert "Nous vérifions la réponse" in follow_up
    assert [(s.number, s.label) for s in procedure.steps][6] == (7, "Vérification interne")
    assert procedure.steps[6].completion == "Un second membre de l'équipe a relu la réponse et l'a notée."
    assert len(procedure.steps) == 10


def test_every_effect_of_the_table_is_registered():
    # survey and messages register their effects with services.steps.step_effect (they build on
    # steps, so steps cannot import them): importing reclamations.services must register them all.
    from reclamations.services import steps

    named = {spec.on_enter for spec in STEPS if spec.on_enter} | {workflow.ON_CLOSE}
    assert named <= set(steps.EFFECTS)
    assert steps.EFFECTS["survey"] is services.reclamation_send_survey
