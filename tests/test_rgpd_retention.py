"""RGPD retention: records closed more than PERSONAL_DATA_RETENTION_YEARS ago are anonymised — the
person and every text gone, statistics and the journal chain unchanged, once only."""
from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from post_office.models import Email

from reclamations import analysis, services, tasks
from reclamations.emails import RECORD_HEADER
from reclamations.exports import Produced
from reclamations.journal import verify_chain
from reclamations.models import (
    Action,
    Attachment,
    Communication,
    Event,
    EventKind,
    ExportJob,
    Reclamation,
)
from reclamations.pdf.sheets import build_sheets, with_sheet_data
from reclamations.services import personal_data
from reclamations.statistics import Period, compute_figures
from reclamations.uploads import check_uploads
from reclamations.workflow import Step
from tests.factories import ReclamationFactory, ServiceFactory, advance, pdf_bytes, upload

pytestmark = pytest.mark.django_db

T0 = datetime(2021, 3, 10, 9, 0, tzinfo=UTC)
SURVEY_LINK = re.compile(r"/enquete/([A-Za-z0-9_-]+)/")
AFTER_RETENTION = datetime(2024, 3, 12, 9, 0, tzinfo=UTC)  # three years and two days after T0
PERSON = {"complainant_name": "Claire Dupont", "complainant_email": "claire.dupont@example.org",
          "complainant_phone": "06 12 34 56 78", "complainant_role": "Assistante RH",
          "complainant_organisation": "Transports Martin", "complainant_address": "3 rue des Lilas, Arras",
          "training_action": "SST, session du 12 mars"}
PERSONAL_WORDS = ("Claire", "Dupont", "claire.dupont@example.org", "06 12 34 56 78", "Transports Martin",
                  "rue des Lilas", "Assistante RH", "convocation", "Convocation", "SST, session",
                  "congés", "Merci.", "Appel : la cliente")


def _full_record(handler, *, to: str = Step.CLOSED, **fields) -> Reclamation:
    """A record with everything a person leaves behind: identity, texts, a file, messages, e-mails
    (the acknowledgement with the clear link, the notice to staff, the answer, the survey)."""
    person = {"service": ServiceFactory(name="Formation inter-entreprises"), **PERSON, **fields}
    created = services.reclamation_submit_contact(
        kind="complaint", consent=True, complainant_email=person.pop("complainant_email"),
        subject="Convocation reçue la veille de la formation",
        description="Claire Dupont : la convocation est arrivée trop tard.",
        uploads=check_uploads([upload("convocation-claire.pdf")]), **person,
    )
    record = created.reclamation
    record.token = created.token
    services.reclamation_log_communication(reclamation=record, actor=handler, kind="note", direction="internal",
                                           body="Note : Claire Dupont rappellera lundi.")
    advanced = advance(record, to, handler)
    advanced.token = created.token
    return advanced


def _reload(record: Reclamation) -> Reclamation:
    return Reclamation.objects.get(pk=record.pk)


@pytest.fixture
def closed_at_t0(handler, django_capture_on_commit_callbacks):
    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        return _full_record(handler)


# --- Which records ---------------------------------------------------------------------------------
def test_it_anonymises_exactly_the_closed_records_past_the_retention_period(handler, closed_at_t0):
    with time_machine.travel(T0, tick=False):
        discarded = ReclamationFactory(**PERSON)
        services.reclamation_discard(reclamation=discarded, actor=handler, reason="Doublon de la demande de Claire")
        still_open = ReclamationFactory(**PERSON)
    with time_machine.travel(T0 + timedelta(days=2 * 365), tick=False):
        closed_later = _full_record(handler)

    # The day before the third anniversary of its closure, nothing is due yet.
    assert services.reclamation_anonymise_expired(now=T0.replace(year=2024) - timedelta(days=1)) == 0
    assert services.reclamation_anonymise_expired(now=AFTER_RETENTION) == 2

    assert _reload(closed_at_t0).anonymised_at is not None
    assert _reload(discarded).anonymised_at is not None
    assert _reload(discarded).discard_reason == ""
    for untouched in (still_open, closed_later):
        record = _reload(untouched)
        assert record.anonymised_at is None
        assert record.complainant_name == "Claire Dupont"


def test_a_record_reopened_since_it_was_picked_is_left_alone(quality_lead, closed_at_t0):
    services.reclamation_reopen(reclamation=closed_at_t0, actor=quality_lead, reason="Le problème persiste")

    assert services.reclamation_anonymise_expired(now=AFTER_RETENTION) == 0
    assert _reload(closed_at_t0).complainant_name == "Claire Dupont"


def test_an_open_record_is_refused_in_french(handler):
    record = ReclamationFactory(**PERSON)
    with pytest.raises(services.WorkflowError, match="encore en cours de traitement"):
        services.reclamation_anonymise(reclamation=record, reason="essai")
    assert _reload(record).anonymised_at is None


# --- What goes -----------------------------------------------------------------------------------
def test_every_trace_of_the_person_is_erased(handler, quality_lead, closed_at_t0, login):
    attachment = closed_at_t0.attachments.get()
    stored_file = attachment.file.name
    assert default_storage.exists(stored_file)
    assert Email.objects.filter(to__contains="claire.dupont").exists()
    staff_notices = Email.objects.filter(**{f"headers__{RECORD_HEADER}": closed_at_t0.reference}).exclude(
        to__contains="claire.dupont")
    assert staff_notices.exists()

    services.reclamation_anonymise_expired(now=AFTER_RETENTION)
    record = _reload(closed_at_t0)

    for name in personal_data.BLANKED_FIELDS:
        assert getattr(record, name) == "", name
    assert record.subject == "Réclamation anonymisée"
    assert record.description == personal_data.ERASED_TEXT
    assert set(Action.objects.filter(reclamation=record).values_list("description", "result")) == {
        (personal_data.ERASED_TEXT, "")}
    assert set(Communication.objects.filter(reclamation=record).values_list("subject", "body", "email")) == {
        ("", personal_data.ERASED_TEXT, None)}
    attachment = Attachment.objects.get(pk=attachment.pk)
    assert (attachment.original_name, attachment.file.name) == (personal_data.ERASED_FILE_NAME, "")
    assert attachment.sha256 and attachment.size  # the evidence that a file was received stays
    assert not default_storage.exists(stored_file)
    assert not default_storage.exists(stored_file.rpartition("/")[0]), "nor the record's emptied folder"
    # The outbox kept the clear links and the texts: every e-mail about the record is gone.
    assert not Email.objects.filter(to__contains="claire.dupont").exists()
    assert not staff_notices.exists()
    # The history keeps its shape, not its words.
    for event in Event.objects.filter(reclamation=record):
        for word in PERSONAL_WORDS:
            assert word not in event.summary and word not in str(event.data), (event.kind, word)

    page = login(quality_lead).get(reverse("backoffice:detail", args=[record.pk])).content.decode()
    assert "Anonymisée" in page and "Données personnelles effacées le" in page
    for word in PERSONAL_WORDS:
        assert word not in page, word
    sheet_html = render_to_string("pdf/_sheet.html", {
        "sheet": build_sheets(with_sheet_data(Reclamation.objects.filter(pk=record.pk)), now=AFTER_RETENTION)[0]})
    assert "Données personnelles effacées le" in sheet_html
    for word in PERSONAL_WORDS:
        assert word not in sheet_html, word
    # Searching the list for the person finds nothing; the file's address answers 404.
    listing = login(quality_lead).get(reverse("backoffice:list"), {"q": "claire.dupont@example.org"})
    assert record.reference not in listing.content.decode()
    assert login(quality_lead).get(reverse("backoffice:attachment", args=[attachment.pk])).status_code == 404


def test_the_follow_up_and_survey_links_stop_working(handler, django_capture_on_commit_callbacks):
    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        created = ReclamationFactory(**PERSON)
        token = created.token
        record = advance(created, Step.FEEDBACK, handler)
    survey_link = next(SURVEY_LINK.search(m.body).group(1) for m in mail.outbox if SURVEY_LINK.search(m.body))
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        services.reclamation_record_no_feedback(reclamation=record)
        services.reclamation_complete_step(reclamation=record, actor=handler, expected_state=Step.FEEDBACK)

    services.reclamation_anonymise_expired(now=AFTER_RETENTION)

    client = Client()
    assert client.get(reverse("public:follow_up", args=[token])).status_code == 404
    assert client.get(reverse("survey:answer", args=[survey_link])).status_code == 404
    assert _reload(record).survey_token_hash is None


def test_every_text_field_is_erased_or_knowingly_kept():
    # A text field added later must be put on one side or the other, here and in the service.
    kept = {
        Reclamation: {"reference", "kind", "channel", "stakeholder_type", "state", "token_hash", "priority",
                      "decision", "compensation_type", "feedback_solved", "survey_token_hash"},
        Action: {"kind", "status"},
        Communication: {"kind", "direction", "purpose"},
        Attachment: {"content_type", "sha256"},
    }
    erased = {
        Reclamation: set(personal_data.BLANKED_FIELDS) | set(personal_data.REPLACED_FIELDS),
        Action: {"description", "result"},
        Communication: {"subject", "body"},
        Attachment: {"original_name", "file"},
    }
    from django.db import models

    for model, known in kept.items():
        text_fields = {f.name for f in model._meta.concrete_fields
                       if isinstance(f, (models.CharField, models.TextField, models.FileField))}
        assert text_fields == known | erased[model], model.__name__


def test_generated_packs_that_hold_the_record_are_deleted(handler, quality_lead, closed_at_t0):
    def finished(start: date, end: date) -> ExportJob:
        job = services.export_request(actor=quality_lead, kind="register_csv", start=start, end=end)
        job = services.export_claim(job_id=job.pk)
        services.export_finish(job=job, produced=Produced(content=b"R-2021;Claire Dupont\r\n", filename="r.csv",
                                                          content_type="text/csv", records=1))
        return ExportJob.objects.get(pk=job.pk)

    covering, other_year = finished(date(2021, 1, 1), date(2021, 12, 31)), finished(date(2022, 1, 1),
                                                                                    date(2022, 12, 31))
    covering_file = covering.file.name

    services.reclamation_anonymise_expired(now=AFTER_RETENTION)

    covering.refresh_from_db()
    assert covering.status == ExportJob.Status.FAILED and not covering.file
    assert "données personnelles effacées" in covering.error
    assert not default_storage.exists(covering_file)
    other_year.refresh_from_db()
    assert other_year.status == ExportJob.Status.DONE and default_storage.exists(other_year.file.name)


# --- What stays ----------------------------------------------------------------------------------
def test_statistics_and_the_packs_figures_are_the_same_after(handler, django_capture_on_commit_callbacks):
    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        records = [_full_record(handler), _full_record(handler, complainant_name="Bruno Autre",
                                                      complainant_email="bruno@example.org")]
        services.reclamation_discard(reclamation=ReclamationFactory(**PERSON), actor=handler, reason="Spam")
        services.reclamation_mark_not_applicable(reclamation=ReclamationFactory(kind="incident"), actor=handler,
                                                 step=Step.RECEIVED, reason="Aléa interne, personne à prévenir")
    period = Period(start=date(2021, 1, 1), end=date(2021, 12, 31))

    def everything():
        figures = compute_figures(period=period, now=AFTER_RETENTION)
        satisfaction = analysis.satisfaction(period)
        return (
            figures,
            [analysis.trend(period, code) for code in analysis.DIMENSIONS],
            analysis.delays_by_month(period, AFTER_RETENTION),
            (satisfaction.surveys_sent, satisfaction.answers, satisfaction.average, satisfaction.distribution,
             satisfaction.solved, satisfaction.answer_clear, satisfaction.delay_acceptable, satisfaction.by_month),
            [(r.dimension, r.label, [x.pk for x in r.records]) for r in analysis.recurrences(period, window=180)],
        )

    before = everything()
    assert before[0].total == 4 and before[0].satisfaction.answers == 2

    assert services.reclamation_anonymise_expired(now=AFTER_RETENTION) == 3  # the open incident stays

    assert everything() == before
    assert all(_reload(r).anonymised_at for r in records)


def test_the_chain_verifies_after_with_one_event_per_anonymisation(handler, django_capture_on_commit_callbacks):
    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        records = [_full_record(handler) for _ in range(3)]

    assert services.reclamation_anonymise_expired(now=AFTER_RETENTION) == 3

    report = verify_chain()
    assert report.intact, report.message
    assert "au texte effacé (RGPD)" in report.message
    for record in records:
        (event,) = Event.objects.filter(reclamation=record, kind=EventKind.ANONYMISED)
        assert event.actor is None and event.redacted_at is None
        assert event.summary == ("Données personnelles effacées : durée de conservation écoulée "
                                 "(3 ans après la clôture).")
        # The record sheet still says when each step was completed.
        steps = Event.objects.filter(reclamation=record, kind=EventKind.STEP_COMPLETED).order_by("sequence")
        assert [e.data["step"] for e in steps] == list(range(1, 10))
        assert steps.first().summary == "Étape 1 terminée : Prise en compte."


def test_a_second_run_does_nothing(handler, closed_at_t0):
    assert services.reclamation_anonymise_expired(now=AFTER_RETENTION) == 1
    events = Event.objects.count()

    assert services.reclamation_anonymise_expired(now=AFTER_RETENTION) == 0
    assert services.reclamation_anonymise(reclamation=closed_at_t0, reason="encore") is False
    assert Event.objects.count() == events


def test_the_daily_task_and_the_command_do_the_same_work(handler, closed_at_t0, capsys, settings):
    assert settings.CELERY_BEAT_SCHEDULE["anonymise-expired"]["task"] == "reclamations.tasks.anonymise_expired"

    with time_machine.travel(AFTER_RETENTION, tick=False):
        call_command("anonymise_expired", "--dry-run")
        assert f"1 réclamation(s) à anonymiser : {closed_at_t0.reference}." in capsys.readouterr().out
        assert _reload(closed_at_t0).anonymised_at is None

        call_command("anonymise_expired")
        out = capsys.readouterr().out
        assert f"{closed_at_t0.reference} anonymisée." in out
        assert "1 réclamation(s) anonymisée(s)." in out

        tasks.anonymise_expired.delay()  # eager in tests: nothing left to do, nothing done twice
    assert Event.objects.filter(kind=EventKind.ANONYMISED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_anonymise_each_record_once(handler):
    with time_machine.travel(T0, tick=False):
        records = []
        for n in range(3):
            record = ReclamationFactory(**PERSON)
            services.reclamation_add_attachments(
                reclamation=record, actor=None, public=True,
                uploads=check_uploads([upload(f"piece-{n}.pdf", pdf_bytes(f"piece {n}"))]))
            records.append(advance(record, Step.CLOSED, handler))
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def run() -> None:
        try:
            barrier.wait()
            counts.append(services.reclamation_anonymise_expired(now=AFTER_RETENTION))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(counts) == 3
    assert Event.objects.filter(kind=EventKind.ANONYMISED).count() == 3
    assert all(Reclamation.objects.get(pk=r.pk).anonymised_at for r in records)
    assert verify_chain().intact


def test_nothing_can_be_added_to_an_anonymised_record_nor_can_it_be_reopened(handler, closed_at_t0):
    with time_machine.travel(AFTER_RETENTION, tick=False):
        services.reclamation_anonymise_expired()
    record = _reload(closed_at_t0)
    attempts = {
        "reopen": lambda: services.reclamation_reopen(reclamation=record, actor=handler, reason="Nouvelle plainte"),
        "file": lambda: services.reclamation_add_attachments(
            reclamation=record, actor=handler, uploads=check_uploads([upload("retour-claire.pdf")])),
        "note": lambda: services.reclamation_log_communication(
            reclamation=record, actor=handler, kind="note", direction="internal", body="Claire a rappelé."),
        "date": lambda: services.reclamation_correct_received_at(
            reclamation=record, actor=handler, received_at=T0 - timedelta(days=1), reason="Erreur de saisie"),
    }
    events_before = Event.objects.filter(reclamation=record).count()

    for name, attempt in attempts.items():
        with pytest.raises(services.WorkflowError, match=r"anonymisée le .* ne peut plus être modifiée"):
            attempt()
            pytest.fail(f"{name}: accepted on an anonymised record")

    record = _reload(record)
    assert record.state == Step.CLOSED
    assert not Attachment.objects.filter(reclamation=record, original_name="retour-claire.pdf").exists()
    assert not Communication.objects.filter(reclamation=record, body__contains="Claire").exists()
    assert Event.objects.filter(reclamation=record).count() == events_before
