"""Nothing typed on a record's page is lost: each of its forms may be submitted (saved, refused, in
place or with a full reload) while the others hold unsaved text, which is still there afterwards.
Leaving the page with unsaved text gets the browser's warning; submitting a form does not.

The three losses seen in issue 17: step 2 (identity edited, then "Terminer l'étape 2"), step 3 (the
reformulation erased by "Consigner l'échange"), step 5 (two due dates typed, the second gone)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from reclamations import services
from reclamations.models import Reclamation
from reclamations.workflow import Step
from tests.browser.conftest import sign_in
from tests.factories import ReclamationFactory, UserFactory, advance

REFORMULATION = "La cliente a reçu sa convocation la veille ; elle demande un report sans frais."


@pytest.fixture
def handler(transactional_db):
    return UserFactory(role="handler", username="gestionnaire", first_name="Camille", last_name="Martin")


def open_record(page, live_server, record: Reclamation) -> None:
    sign_in(page, live_server.url, "gestionnaire")
    page.goto(live_server.url + reverse("backoffice:detail", args=[record.pk]))


def in_form(page, action: str):
    return page.locator(f"form[action$='/{action}/']")


def test_an_identity_edit_is_saved_when_the_handler_completes_step_2(desktop_page, live_server, handler):
    record = advance(ReclamationFactory(), Step.IDENTIFICATION, handler)
    services.reclamation_assign(reclamation=record, actor=handler, handler=handler)
    page = desktop_page
    open_record(page, live_server, record)

    in_form(page, "identification").get_by_label("Téléphone").fill("07 98 76 54 32")
    page.get_by_role("button", name="Terminer l'étape 2", exact=True).click()

    page.get_by_role("heading", name="Étape 3 sur 9 — Reformulation et contact").wait_for()
    record.refresh_from_db()
    assert record.complainant_phone == "07 98 76 54 32"
    assert "Identification enregistrée. Étape 2 (Identification) terminée." in page.locator("main").inner_text()


def test_the_reformulation_survives_logging_the_call_and_a_refused_call(desktop_page, live_server, handler):
    record = advance(ReclamationFactory(), Step.REFORMULATION, handler)
    page = desktop_page
    open_record(page, live_server, record)
    reformulation = in_form(page, "reformulation").get_by_label("Reformulation des points clés")
    reformulation.fill(REFORMULATION)

    # A refused call (no summary): the page comes back with the call's errors and everything typed.
    call = in_form(page, "echanges")
    call.get_by_label("Durée (minutes)").fill("12")
    call.get_by_role("button", name="Consigner l'échange").click()
    page.locator(".bo-error-summary").wait_for()
    assert in_form(page, "echanges").get_by_label("Durée (minutes)").input_value() == "12"
    assert in_form(page, "reformulation").get_by_label("Reformulation des points clés").input_value() == REFORMULATION

    # The call logged: the reformulation, not saved yet, is still in its field, said to be unsaved.
    in_form(page, "echanges").get_by_label("Résumé").fill("Appel : la cliente confirme les faits.")
    in_form(page, "echanges").get_by_role("button", name="Consigner l'échange").click()
    page.get_by_text("consigné(e) dans l'historique").wait_for()
    form = in_form(page, "reformulation")
    assert form.get_by_label("Reformulation des points clés").input_value() == REFORMULATION
    assert form.locator(".bo-restored").is_visible()
    record.refresh_from_db()
    assert record.reformulation == "" and record.communications.filter(kind="call").count() == 1

    # Saved with the step: the text is in the record, and no longer kept as a draft.
    form.get_by_role("button", name="Enregistrer et terminer l'étape 3").click()
    page.get_by_role("heading", name="Étape 4 sur 9 — Proposition d'action").wait_for()
    record.refresh_from_db()
    assert record.reformulation == REFORMULATION
    assert page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('bo-draft:'))") == []


def test_two_due_dates_typed_at_step_5_are_both_kept(desktop_page, live_server, handler):
    record = advance(ReclamationFactory(), Step.SCHEDULING, handler)
    first, second = record.actions.order_by("pk")
    page = desktop_page
    open_record(page, live_server, record)
    page.evaluate("window.__samePage = true")
    due = {first.pk: timezone.localdate() + timedelta(days=7), second.pk: timezone.localdate() + timedelta(days=14)}
    for action in (first, second):
        form = in_form(page, f"actions/{action.pk}")
        form.get_by_label("Responsable").select_option(label="Camille Martin")
        form.get_by_label("Échéance", exact=True).fill(due[action.pk].isoformat())

    in_form(page, f"actions/{first.pk}").get_by_role("button", name="Enregistrer l'action").click()
    page.get_by_text("Action mise à jour.").wait_for()
    assert page.evaluate("window.__samePage") is True  # answered in place
    # The plan is swapped in place; the second action's draft comes back as the new fragment loads.
    expect(in_form(page, f"actions/{second.pk}").get_by_label("Échéance", exact=True)).to_have_value(
        due[second.pk].isoformat()
    )

    in_form(page, f"actions/{second.pk}").get_by_role("button", name="Enregistrer l'action").click()
    page.get_by_text("Tout ce que demande cette étape est enregistré").wait_for()
    for action in (first, second):
        action.refresh_from_db()
        assert (action.owner, action.due_date) == (handler, due[action.pk])


def test_a_refused_action_keeps_the_evaluation_typed_above_it(desktop_page, live_server, handler):
    record = advance(ReclamationFactory(), Step.ACTION_PROPOSAL, handler)
    page = desktop_page
    open_record(page, live_server, record)
    evaluation = in_form(page, "evaluation")
    evaluation.get_by_role("group", name="Gravité").get_by_label("Élevée").check()

    add = in_form(page, "actions")
    add.get_by_label("Échéance", exact=True).fill((timezone.localdate() + timedelta(days=3)).isoformat())
    add.get_by_role("button", name="Ajouter l'action").click()  # no description: refused
    page.locator("#plan-contenu .bo-error-summary").wait_for()

    assert in_form(page, "evaluation").get_by_role("group", name="Gravité").get_by_label("Élevée").is_checked()
    assert in_form(page, "actions").get_by_label("Échéance", exact=True).input_value() != ""
    assert not record.actions.exists()


def test_leaving_with_unsaved_text_warns_but_submitting_does_not(desktop_page, live_server, handler):
    record = advance(ReclamationFactory(), Step.REFORMULATION, handler)
    page = desktop_page
    open_record(page, live_server, record)
    dialogs: list[str] = []

    def answer(dialog) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.on("dialog", answer)
    field = in_form(page, "reformulation").get_by_label("Reformulation des points clés")
    field.click()
    field.press_sequentially("Report demandé.")

    page.get_by_role("navigation", name="Fil d'Ariane").get_by_role("link", name="Réclamations").click()
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    assert "/reclamations/" in page.url and str(record.pk) in page.url  # still on the record

    in_form(page, "reformulation").get_by_role("button", name="Enregistrer la reformulation").click()
    page.get_by_text("Reformulation enregistrée.").wait_for()
    assert dialogs == ["beforeunload"]  # no warning for the form being submitted
    record.refresh_from_db()
    assert record.reformulation == "Report demandé."
