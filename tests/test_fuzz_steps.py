"""Fuzzing every form of a record's page (and the "nouvelle réclamation" form): whatever a signed-in
handler posts, the server never fails (no 5xx) and a change is either made whole — with its audit
event, the record's fields as the form cleaned them — or not at all: row counts, the record and its
actions, and the private storage are exactly as before.

The values come from the forms themselves (``tests.factories.form_value`` reads each field's type,
choices, limits and pattern): each example starts from values the form accepts and spoils one to
four fields — any text (NUL, blanks, hostile strings, texts around and far over the limits), wrong
or missing choices, dates in odd formats or out of range, numbers out of range, hostile files —
and sometimes the hidden ``expected_state`` (a stale page). Each form gets its share of the 1,000+
examples, on a record at the step where it is used; each example is rolled back, so every one starts
from the same record. Derandomised, so a run is reproducible.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django import forms as django_forms
from django.db import transaction
from django.forms.models import model_to_dict
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from post_office.models import Email

from reclamations import services
from reclamations.forms import backoffice as bo_forms
from reclamations.models import Action, ActionStatus, Attachment, Communication, Event, Reclamation
from reclamations.workflow import Step
from tests.factories import (
    ReclamationFactory,
    RootCauseCategoryFactory,
    ServiceFactory,
    advance,
    as_uploads,
    fill_step,
    form_value,
)

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Spec:
    """A form of the back-office, where it is posted, and the step of the record it is tried on."""

    view: str
    form: type[django_forms.BaseForm] | None  # None: no form, only the hidden expected_state
    state: str | None  # None: no record (the "nouvelle réclamation" form)
    prefix: str | None = None  # default: the view's name
    extra: tuple[str, ...] = ()  # further buttons or fields the view reads from the POST
    filled: bool = False  # the step's data recorded, so that completing it can succeed


SPECS = (
    Spec("acknowledgement", bo_forms.AcknowledgementForm, Step.RECEIVED),
    Spec("not_applicable", bo_forms.NotApplicableForm, Step.REFORMULATION),
    Spec("assign", bo_forms.AssignForm, Step.IDENTIFICATION),
    Spec("identification", bo_forms.IdentificationForm, Step.IDENTIFICATION),
    Spec("reformulation", bo_forms.ReformulationForm, Step.REFORMULATION),
    Spec("communication", bo_forms.CommunicationForm, Step.REFORMULATION),
    Spec("evaluation", bo_forms.EvaluationForm, Step.ACTION_PROPOSAL),
    Spec("action_add", bo_forms.ActionAddForm, Step.ACTION_PROPOSAL),
    Spec("action_update", bo_forms.ActionForm, Step.SCHEDULING),
    Spec("answer", bo_forms.AnswerForm, Step.ACTION, extra=("send",)),
    Spec("conclusion", bo_forms.ConclusionForm, Step.CONCLUSION),
    Spec("feedback", bo_forms.FeedbackForm, Step.FEEDBACK),
    Spec("message", bo_forms.MessageForm, Step.FOLLOW_UP),
    Spec("discard", bo_forms.DiscardForm, Step.IDENTIFICATION),
    Spec("reopen", bo_forms.ReopenForm, Step.CLOSED),
    Spec("received_at", bo_forms.ReceivedAtForm, Step.REFORMULATION),
    Spec("attachment_add", bo_forms.AttachmentForm, Step.FOLLOW_UP, prefix="attachment"),
    Spec("create", bo_forms.ReclamationCreateForm, None),
    Spec("complete_step", None, Step.REFORMULATION, prefix="", filled=True),
)
TOTAL_EXAMPLES = 1000
FUZZ = settings(max_examples=math.ceil(TOTAL_EXAMPLES / len(SPECS)), deadline=None, derandomize=True,
                database=None, print_blob=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])
ODD_STATES = ("", "received", "closed", "identification", "\x00", "x" * 300)


def test_every_form_of_the_back_office_is_fuzzed():
    """A form added to reclamations/forms/backoffice.py must join SPECS (signing in is not a record form)."""
    declared = {cls for cls in vars(bo_forms).values()
                if isinstance(cls, type) and issubclass(cls, (bo_forms.BaseForm, bo_forms.BaseModelForm))
                and cls not in (bo_forms.BaseForm, bo_forms.BaseModelForm)}
    assert declared == {spec.form for spec in SPECS if spec.form is not None}


@pytest.fixture(autouse=True)
def _no_template_capture(monkeypatch):
    # The test client keeps a copy of every template context of every response (response.context):
    # thousands of crispy-field templates per record page. No test here reads them.
    monkeypatch.setattr("django.test.client.store_rendered_templates", lambda *args, **kwargs: None)


@pytest.fixture
def target(request, quality_lead, login, settings):
    """The record the form is tried on (quality lead: may change any record), and what to post."""
    settings.ATTACHMENT_MAX_BYTES = 4096
    settings.ATTACHMENT_MAX_FILES = 3
    spec: Spec = request.param
    ServiceFactory(name="Formation inter-entreprises")
    RootCauseCategoryFactory(name="Organisation / logistique")
    record = None
    if spec.state is not None:
        record = ReclamationFactory(channel="letter", actor=quality_lead)
        record = advance(record, spec.state, quality_lead)
        if spec.filled:
            record = fill_step(record, quality_lead)
        if spec.state == Step.ACTION:  # actions done: the answer may be sent
            for action in record.actions.all():
                services.reclamation_update_action(action=action, actor=quality_lead,
                                                   changes={"status": ActionStatus.DONE})
    prefix, url_args = spec.view if spec.prefix is None else spec.prefix, []
    if spec.view == "action_update":
        action = record.actions.order_by("pk").first()
        prefix, url_args = f"action-{action.pk}", [action.pk]
    url = reverse(f"backoffice:{spec.view}", args=[record.pk, *url_args] if record else [])
    return {"spec": spec, "record": record, "prefix": prefix, "url": url, "client": login(quality_lead),
            "storage": Path(settings.STORAGES["default"]["OPTIONS"]["location"]),
            "posts": _posts(spec, record)}


def _form(spec: Spec, instance: Reclamation | None, data: Any = None, prefix: str | None = None):
    kwargs: dict[str, Any] = {"prefix": prefix}
    if issubclass(spec.form, django_forms.ModelForm) and instance is not None:
        kwargs["instance"] = instance
    return spec.form(data, **kwargs) if data is not None else spec.form(**kwargs)


def _posts(spec: Spec, record: Reclamation | None) -> Any:
    """The strategy of one POST: the form's fields (one to four of them spoiled), expected_state."""
    fields = dict(_form(spec, record and Reclamation.objects.get(pk=record.pk)).fields) if spec.form else {}
    good = {name: form_value(field, valid=True) for name, field in fields.items()}
    odd = {name: form_value(field, valid=False) for name, field in fields.items()}
    for name in spec.extra:  # the "Enregistrer et envoyer" button
        good[name] = st.sampled_from(("1", ""))
        odd[name] = st.sampled_from(("1", "", "0", "\x00", "oui"))
    names = sorted(odd)

    @st.composite
    def post(draw: Any) -> dict[str, Any]:
        data = {name: draw(strategy) for name, strategy in good.items()}
        if names:
            for name in draw(st.sets(st.sampled_from(names), min_size=1, max_size=min(4, len(names)))):
                data[name] = None if draw(st.integers(0, 3)) == 0 else draw(odd[name])
        stale = draw(st.integers(0, 19)) == 0
        return {"data": {k: v for k, v in data.items() if v is not None},
                "expected_state": draw(st.sampled_from(ODD_STATES)) if stale else None}

    return post()


def _snapshot(record: Reclamation | None, storage: Path) -> tuple[Any, ...]:
    counts = {m.__name__: m.objects.count() for m in (Reclamation, Action, Communication, Attachment, Event, Email)}
    row = model_to_dict(Reclamation.objects.get(pk=record.pk)) if record else {}
    row.update(state=Reclamation.objects.get(pk=record.pk).state if record else None)
    actions = [model_to_dict(a) for a in Action.objects.filter(reclamation=record).order_by("pk")] if record else []
    files = sorted(storage.rglob("*")) if storage.exists() else []
    return counts, row, actions, files


def _check_saved_whole(spec: Spec, before: Reclamation, data: dict[str, Any], prefix: str) -> None:
    """A model form's changed fields are on the record exactly as the form cleaned them."""
    form = _form(spec, before, data, prefix)
    assert form.is_valid(), form.errors
    after = Reclamation.objects.get(pk=before.pk)
    for name in form.changed_data:
        if name in spec.form.Meta.fields:
            assert getattr(after, name) == form.cleaned_data[name], name


@pytest.mark.parametrize("target", SPECS, ids=[spec.view for spec in SPECS], indirect=True)
@FUZZ
@given(draw=st.data())
def test_no_back_office_post_fails_or_is_half_saved(target, draw):
    spec, record, prefix, client = target["spec"], target["record"], target["prefix"], target["client"]
    post = draw.draw(target["posts"], label="post")
    data = {f"{prefix}-{k}" if prefix and k not in spec.extra else k: v for k, v in post["data"].items()}
    files = {k: as_uploads(v) for k, v in data.items() if isinstance(v, list)}
    fields = {k: v for k, v in data.items() if not isinstance(v, list)}
    if record is not None:
        record.refresh_from_db()
        fields["expected_state"] = post["expected_state"] if post["expected_state"] is not None else record.state
    with transaction.atomic():
        as_it_was = Reclamation.objects.get(pk=record.pk) if record is not None else None
        before = _snapshot(record, target["storage"])
        response = client.post(target["url"], {**fields, **files})
        after = _snapshot(record, target["storage"])

        assert response.status_code < 500
        event(f"answer {response.status_code}")
        if response.status_code == 302:
            assert "connexion" not in response["Location"]
            if after != before:  # a change, whole and logged
                assert after[0]["Event"] > before[0]["Event"], "a change without its journal event"
                event("changed")
                if spec.form and issubclass(spec.form, django_forms.ModelForm) and as_it_was is not None:
                    _check_saved_whole(spec, as_it_was, fields, prefix)
        else:
            assert response.status_code in (200, 409), response.status_code
            assert after == before, "a refused post left something behind"
        transaction.set_rollback(True)


def test_a_nul_character_in_a_step_form_gets_a_french_message_and_changes_nothing(login, quality_lead, bo_post):
    record = advance(ReclamationFactory(channel="letter", actor=quality_lead), Step.REFORMULATION, quality_lead)

    response = bo_post(login(quality_lead), record, "reformulation", {"reformulation": "Points\x00clés"})

    assert response.status_code == 200
    assert "Le caractère nul n’est pas autorisé." in response.content.decode()
    assert Reclamation.objects.get(pk=record.pk).reformulation == ""


def test_an_overlong_answer_gets_a_french_message_and_changes_nothing(login, quality_lead, bo_post, settings):
    record = advance(ReclamationFactory(channel="letter", actor=quality_lead), Step.ACTION, quality_lead)

    response = bo_post(login(quality_lead), record, "answer", {
        "decision": "favourable", "answer": "é" * (settings.CONTACT_TEXT_MAX_CHARS + 1), "means": "email"})

    assert response.status_code == 200
    assert "Ce texte est trop long : 20\u202f000 caractères au maximum." in response.content.decode()
    assert Reclamation.objects.get(pk=record.pk).answer == ""


def test_a_date_far_out_of_range_gets_a_french_message(login, quality_lead, bo_post):
    record = advance(ReclamationFactory(channel="letter", actor=quality_lead), Step.ACTION_PROPOSAL, quality_lead)

    response = bo_post(login(quality_lead), record, "action_add", {
        "description": "Vérifier", "kind": "corrective", "due_date": "10000-01-01"})

    assert response.status_code == 200
    assert "Saisissez une date valide." in response.content.decode()
    assert not record.actions.exists()
