"""Fuzzing the public Contact form: whatever a client, or a robot, posts, the server never fails
(no 5xx) and either a record is saved whole — its fields as the form cleaned them, its files, its
creation event — or nothing at all is written.

Each example starts from a plausible submission (every field drawn from what the form accepts) and
spoils one to four fields, the robot-check ones included: any text (NUL, control characters, blanks,
hostile strings, texts around and far over the limits), wrong or missing choices, forged or stale
timestamps, hostile files. One example in ten goes as a raw form body carrying bytes that are not
UTF-8 (a browser cannot send a lone surrogate; another client can). 1,000 examples, derandomised
so that a run is reproducible; each is rolled back so that the next starts from the same database.
The rate limit is lifted and the cache emptied between examples (the robot checks stay on).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from post_office.models import Email

from reclamations.forms.public import HONEYPOT_FIELD, STARTED_FIELD, ContactForm, started_token
from reclamations.models import Attachment, Communication, Event, Reclamation
from tests.factories import NOT_UTF8, ServiceFactory, as_uploads, contact_form_data, form_value, odd_text

pytestmark = pytest.mark.django_db

CONTACT = "/contact/"
TEXT_FIELDS = [name for name, field in ContactForm.base_fields.items()
               if type(field).__name__ in ("SingleLineCharField", "LongTextField", "CharField")]
FUZZ = settings(max_examples=1000, deadline=None, derandomize=True, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.filter_too_much])


def submissions() -> Any:
    """(form data, files, raw body or None): a plausible submission with a few fields spoiled.

    Built once per test: the form's fields (and the services offered) do not change meanwhile."""
    form = ContactForm()
    good = {name: form_value(field, valid=True) for name, field in form.fields.items()}
    odd = {name: form_value(field, valid=False) for name, field in form.fields.items()}
    odd[HONEYPOT_FIELD] = st.one_of(st.just(""), odd_text(50))
    now = time.time()
    odd[STARTED_FIELD] = st.sampled_from([
        started_token(now - 60), started_token(now), started_token(now + 3600), started_token(now - 25 * 3600),
        "", "garbage", "\x00", started_token(now - 60) + "x"])
    names = sorted(odd)

    @st.composite
    def submission(draw: Any) -> dict[str, Any]:
        data: dict[str, Any] = {name: draw(strategy) for name, strategy in good.items()}
        data[HONEYPOT_FIELD] = ""
        data[STARTED_FIELD] = started_token(time.time() - 60)
        for name in draw(st.sets(st.sampled_from(names), min_size=1, max_size=4)):
            data[name] = None if draw(st.integers(0, 3)) == 0 else draw(odd[name])  # None: left out
        files = data.pop("attachments", None) or []
        data = {name: value for name, value in data.items() if value is not None}
        raw = None
        if draw(st.integers(0, 9)) == 0:
            field = draw(st.sampled_from(TEXT_FIELDS))
            broken = draw(st.sampled_from(NOT_UTF8))
            data[field] = str(data.get(field) or "")
            raw = "&".join(f"{quote(k)}={quote(str(v))}" + (broken if k == field else "") for k, v in data.items())
            files = []
        return {"data": data, "files": files, "raw": raw}

    return submission()


def _state(storage: Path) -> tuple[dict[str, int], list[Path]]:
    counts = {m.__name__: m.objects.count() for m in (Reclamation, Attachment, Communication, Event, Email)}
    return counts, sorted(storage.rglob("*")) if storage.exists() else []


@pytest.fixture
def storage(settings) -> Path:
    # Set once for all the examples (each change of ``settings`` stacks an override).
    settings.CONTACT_RATE_LIMIT = "100000/m"
    settings.ATTACHMENT_MAX_BYTES = 4096
    settings.ATTACHMENT_MAX_FILES = 3
    return Path(settings.STORAGES["default"]["OPTIONS"]["location"])


@pytest.fixture
def submission_strategy(service) -> Any:
    return submissions()


@FUZZ
@given(draw=st.data())
def test_no_contact_submission_fails_or_is_half_saved(client, storage, submission_strategy, draw):
    submission = draw.draw(submission_strategy, label="submission")
    data, files, raw = submission["data"], submission["files"], submission["raw"]
    cache.clear()  # the rate limit and the "already sent" marks
    with transaction.atomic():
        before, stored_before = _state(storage)
        if raw is None:
            response = client.post(CONTACT, {**data, "attachments": as_uploads(files)})
        else:
            response = client.post(CONTACT, raw.encode("ascii"), content_type="application/x-www-form-urlencoded")
        after, stored_after = _state(storage)

        assert response.status_code < 500
        event(f"answer {response.status_code}")  # --hypothesis-show-statistics shows the mix
        if response.status_code == 302 and response["Location"] == reverse("public:contact_done"):
            assert after["Reclamation"] == before["Reclamation"] + 1
            record = Reclamation.objects.latest("pk")
            assert Event.objects.filter(reclamation=record).exists(), "a record without its creation event"
            if raw is None:  # saved whole: every field as the form cleans it, every file
                form = ContactForm(data, {"attachments": as_uploads(files)})
                assert form.is_valid(), form.errors
                for name, value in form.submission().items():
                    if name in ("uploads", "consent"):
                        continue
                    assert getattr(record, name) == value, name
                assert record.attachments.count() == len(form.cleaned_data["attachments"])
        else:
            assert response.status_code == 200, response.status_code
            assert (after, stored_after) == (before, stored_before), "a refused submission left something behind"
        transaction.set_rollback(True)


@pytest.fixture
def service():
    return ServiceFactory(name="Formation inter-entreprises")


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_a_nul_character_in_any_text_field_gets_a_french_message_and_stores_nothing(client, service, field):
    """PostgreSQL refuses NUL in text: the form must say so in French before the database does."""
    response = client.post(CONTACT, contact_form_data(service=service.pk, **{field: "Texte\x00caché"}))

    assert response.status_code == 200
    assert "Le caractère nul n’est pas autorisé." in response.content.decode()
    assert not Reclamation.objects.exists() and not Event.objects.exists()


def test_bytes_that_are_not_utf8_are_read_as_replacement_characters_not_an_error(client, service):
    body = "&".join(f"{quote(k)}={quote(str(v))}" for k, v in contact_form_data(service=service.pk).items())

    response = client.post(CONTACT, (body + "&subject=Objet%ED%A0%80%FF").encode("ascii"),
                           content_type="application/x-www-form-urlencoded")

    assert response.status_code == 302
    assert Reclamation.objects.get().subject == "Objet\ufffd\ufffd\ufffd\ufffd"
