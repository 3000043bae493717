"""The admin keeps the workflow's rules: no hand-edited step, logged edits, a read-only journal."""
from __future__ import annotations

import pytest
from django.apps import apps
from django.urls import reverse

from reclamations import services
from reclamations.models import Event, EventKind, Organisation, Reclamation
from reclamations.uploads import check_uploads
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, advance, upload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [m._meta.model_name for m in apps.get_app_config("reclamations").get_models()])
def test_every_model_has_a_working_list_and_detail_page(admin_client, handler, model):
    # Walks the app's models, so a new model without an admin page fails here.
    record = advance(ReclamationFactory(), Step.FEEDBACK, handler)
    # The file goes in before closing: a closed record takes no more files.
    services.reclamation_add_attachments(reclamation=record, actor=handler, uploads=check_uploads([upload()]))
    advance(record, Step.CLOSED, handler)
    Organisation.current()
    response = admin_client.get(reverse(f"admin:reclamations_{model}_changelist"))
    assert response.status_code == 200
    row = response.context["cl"].result_list.first()
    if row is not None:
        detail = admin_client.get(reverse(f"admin:reclamations_{model}_change", args=[row.pk]))
        assert detail.status_code == 200


def test_the_step_is_shown_but_cannot_be_edited(admin_client):
    reclamation = ReclamationFactory()
    url = reverse("admin:reclamations_reclamation_change", args=[reclamation.pk])

    page = admin_client.get(url)
    assert page.status_code == 200
    assert "state" not in page.context["adminform"].form.fields
    assert "Prise en compte" in page.content.decode()


def test_an_admin_edit_goes_through_the_service_and_is_logged(admin_client, admin_user):
    reclamation = ReclamationFactory()
    url = reverse("admin:reclamations_reclamation_change", args=[reclamation.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update({"subject": "Salle non chauffée", "state": "closed"})
    for prefix in ("actions", "communications", "attachments"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})

    response = admin_client.post(url, data)

    assert response.status_code == 302
    reclamation = Reclamation.objects.get(pk=reclamation.pk)
    assert reclamation.subject == "Salle non chauffée"
    assert reclamation.state == "received"  # the posted state was ignored
    event = Event.objects.filter(reclamation=reclamation).last()
    assert event.kind == EventKind.UPDATED and event.actor == admin_user
    assert event.data["changes"]["subject"]["after"] == "Salle non chauffée"


def test_the_journal_is_read_only_in_the_admin(admin_client):
    ReclamationFactory()
    event = Event.objects.first()
    assert admin_client.get(reverse("admin:reclamations_event_change", args=[event.pk])).status_code == 200
    assert admin_client.post(reverse("admin:reclamations_event_delete", args=[event.pk]),
                             {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:reclamations_event_add")).status_code == 403
    assert Event.objects.filter(pk=event.pk).exists()


def test_records_cannot_be_deleted_or_added_in_the_admin(admin_client):
    reclamation = ReclamationFactory()
    assert admin_client.get(reverse("admin:reclamations_reclamation_add")).status_code == 403
    assert admin_client.post(reverse("admin:reclamations_reclamation_delete", args=[reclamation.pk]),
                             {"post": "yes"}).status_code == 403
    assert Reclamation.objects.filter(pk=reclamation.pk).exists()
