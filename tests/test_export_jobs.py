"""The evidence pack as a background job: queued, made by a worker with its progress, downloaded from
private storage; a second delivery, a failure, a dead worker and a down broker; who may see what."""
from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from reclamations import pdf, services, tasks
from reclamations.models import Event, EventKind, ExportJob
from reclamations.pdf import render
from reclamations.services import exports as export_services
from reclamations.statistics import Period
from tests.factories import ReclamationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _form() -> dict[str, str]:
    period = Period.last_twelve_months()
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}


def _request(quality_lead) -> ExportJob:
    period = Period.last_twelve_months()
    return services.export_request(actor=quality_lead, kind="pack", start=period.start, end=period.end)


def _fake_document(content: bytes = b"%PDF-1.7 fake pack") -> pdf.PdfDocument:
    return pdf.PdfDocument(pdf=content, filename="dossier.pdf", pages=3, records=2,
                           sha256=hashlib.sha256(content).hexdigest(), rendered=None)


@pytest.fixture
def other_quality_lead(db):
    return UserFactory(role="quality_lead", username="qualite2", first_name="Sacha", last_name="Roux")


# --- Asking, making, downloading -----------------------------------------------------------------
def test_asking_for_the_pack_creates_a_queued_job_and_its_page_says_it_waits(login, quality_lead,
                                                                             django_capture_on_commit_callbacks):
    signed_in = login(quality_lead)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = signed_in.post(reverse("evidence:pack_pdf"), _form())

    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("evidence:job", args=[job.pk])
    assert job.status == ExportJob.Status.QUEUED and job.kind == "pack" and job.requested_by == quality_lead
    assert len(callbacks) == 1  # the worker is asked once the job is committed
    event = Event.objects.get(kind=EventKind.EXPORT)
    assert event.actor == quality_lead and event.data["job"] == job.pk and event.data["requested"] is True
    page = signed_in.get(response["Location"]).content.decode()
    assert "En attente" in page and '<meta http-equiv="refresh" content="3">' in page
    assert reverse("evidence:job_download", args=[job.pk]) not in page
    assert "<script>" not in page and 'style="' not in page


def test_the_worker_makes_the_pack_and_the_page_then_offers_the_download(login, quality_lead,
                                                                         django_capture_on_commit_callbacks):
    ReclamationFactory(received_at=timezone.now() - timedelta(days=4))
    signed_in = login(quality_lead)

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(reverse("evidence:pack_pdf"), _form())

    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.DONE and job.progress == 100
    assert job.record_count == 1 and job.file_name.startswith("dossier-preuves-reclamations_")
    with job.file.open("rb") as stored:
        content = stored.read()
    assert hashlib.sha256(content).hexdigest() == job.sha256 and len(content) == job.size
    assert len(PdfReader(io.BytesIO(content)).pages) > 8
    page = signed_in.get(response["Location"]).content.decode()
    assert "Le dossier est prêt" in page and reverse("evidence:job_download", args=[job.pk]) in page
    assert 'http-equiv="refresh"' not in page


def test_the_download_is_an_attachment_from_private_storage_and_is_logged_with_its_hash(login, quality_lead,
                                                                                        monkeypatch):
    monkeypatch.setattr(pdf, "build_pack", lambda **kwargs: _fake_document())
    job = _request(quality_lead)
    tasks.build_export(job.pk)

    response = login(quality_lead).get(reverse("evidence:job_download", args=[job.pk]))

    assert response.status_code == 200
    assert response.content == b"%PDF-1.7 fake pack"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="dossier.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    download = Event.objects.filter(kind=EventKind.EXPORT).order_by("sequence").last()
    assert download.actor == quality_lead
    assert download.data["sha256"] == hashlib.sha256(b"%PDF-1.7 fake pack").hexdigest()
    assert download.data["job"] == job.pk and download.data["records"] == 2


def test_a_job_that_is_not_ready_cannot_be_downloaded(login, quality_lead):
    job = _request(quality_lead)

    assert login(quality_lead).get(reverse("evidence:job_download", args=[job.pk])).status_code == 404
    assert login(quality_lead).get(reverse("evidence:job_download", args=[999999])).status_code == 404


def test_progress_is_recorded_in_the_job_as_the_pack_is_built(quality_lead, monkeypatch):
    job = _request(quality_lead)
    seen = []

    def fake_build_pack(*, progress, **kwargs):
        for percent, label in [(5, "Calcul des chiffres clés et du registre"),
                               (41, "Fiches des réclamations : 120 / 1\u00a0000"),
                               (95, "Assemblage du PDF")]:
            progress(percent, label)
            row = ExportJob.objects.get(pk=job.pk)
            seen.append((row.status, row.progress, row.progress_label))
        return _fake_document()

    monkeypatch.setattr(pdf, "build_pack", fake_build_pack)

    tasks.build_export(job.pk)

    assert seen == [("running", 5, "Calcul des chiffres clés et du registre"),
                    ("running", 41, "Fiches des réclamations : 120 / 1\u00a0000"),
                    ("running", 95, "Assemblage du PDF")]
    job.refresh_from_db()
    assert (job.status, job.progress) == ("done", 100)


def test_the_running_page_shows_the_percentage_and_the_step(login, quality_lead):
    job = _request(quality_lead)
    claimed = services.export_claim(job_id=job.pk)
    services.export_progress(job=claimed, percent=41, label="Fiches des réclamations : 120 / 1 000")

    page = login(quality_lead).get(reverse("evidence:job", args=[job.pk])).content.decode()

    assert "Fiches des réclamations : 120 / 1 000 — 41 %" in page
    assert '<progress id="export-avancement" class="w-100" max="100" value="41">' in page
    assert '<meta http-equiv="refresh" content="3">' in page


def test_a_second_delivery_of_the_task_does_nothing(quality_lead, monkeypatch):
    calls = []
    monkeypatch.setattr(pdf, "build_pack", lambda **kwargs: calls.append(1) or _fake_document())
    job = _request(quality_lead)
    tasks.build_export(job.pk)
    job.refresh_from_db()
    finished = job.finished_at

    tasks.build_export(job.pk)

    job.refresh_from_db()
    assert calls == [1]
    assert job.status == ExportJob.Status.DONE and job.finished_at == finished
    assert services.export_claim(job_id=job.pk) is None


def test_two_workers_cannot_claim_the_same_job(quality_lead):
    job = _request(quality_lead)

    first = services.export_claim(job_id=job.pk)
    second = services.export_claim(job_id=job.pk)

    assert first is not None and first.status == ExportJob.Status.RUNNING and first.lease_until > timezone.now()
    assert second is None


# --- Failures ------------------------------------------------------------------------------------
def test_a_pack_that_cannot_be_laid_out_fails_the_job_with_a_french_message_not_a_500(
        login, quality_lead, monkeypatch, django_capture_on_commit_callbacks):
    def too_big(**kwargs):
        raise render.RenderTooLarge(render.MEMORY_MESSAGE)

    monkeypatch.setattr(pdf, "build_pack", too_big)
    signed_in = login(quality_lead)

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(reverse("evidence:pack_pdf"), _form())

    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.FAILED and not job.file
    page = signed_in.get(response["Location"])
    assert page.status_code == 200
    assert "Le dossier n'a pas pu être produit" in page.content.decode()
    assert "a dépassé la mémoire autorisée" in page.content.decode()
    assert signed_in.get(reverse("evidence:job_download", args=[job.pk])).status_code == 404
    assert not Event.objects.filter(kind=EventKind.EXPORT, data__sha256__isnull=False).exists()


def test_an_unexpected_error_fails_the_job_with_a_general_french_message(quality_lead, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pdf, "build_pack", broken)
    job = _request(quality_lead)

    tasks.build_export(job.pk)

    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED
    assert job.error == export_services.FAILED_UNEXPECTEDLY and "disk on fire" not in job.error


# --- Beat: jobs nobody took, workers that died ----------------------------------------------------
def test_a_job_whose_worker_died_is_queued_again_and_made_by_the_next_beat_run(quality_lead, monkeypatch):
    monkeypatch.setattr(pdf, "build_pack", lambda **kwargs: _fake_document())
    job = _request(quality_lead)
    services.export_claim(job_id=job.pk)  # a worker took it, then died

    tasks.requeue_exports()
    job.refresh_from_db()
    assert job.status == ExportJob.Status.RUNNING  # its lease still runs: left alone

    with time_machine.travel(timezone.now() + timedelta(seconds=export_services.lease_seconds() + 1)):
        tasks.requeue_exports()

    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE and job.sha256


def test_a_job_whose_worker_keeps_dying_is_given_up_with_a_french_message(quality_lead, settings):
    job = _request(quality_lead)
    services.export_claim(job_id=job.pk)

    with time_machine.travel(timezone.now() + timedelta(hours=settings.EXPORT_GIVE_UP_HOURS, minutes=1)):
        tasks.requeue_exports()

    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED and job.error == export_services.GAVE_UP


def test_a_job_asked_for_while_the_broker_was_down_is_made_by_the_beat_re_queue(
        login, quality_lead, monkeypatch, django_capture_on_commit_callbacks):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(export_services, "_broker_down_until", 0.0)
    monkeypatch.setattr(tasks.build_export, "delay", broker_down)
    signed_in = login(quality_lead)

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(reverse("evidence:pack_pdf"), _form())

    assert response.status_code == 302  # the page answers; the job waits
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.QUEUED
    monkeypatch.undo()
    monkeypatch.setattr(pdf, "build_pack", lambda **kwargs: _fake_document())

    tasks.requeue_exports()  # too early: the message may still be on its way
    job.refresh_from_db()
    assert job.status == ExportJob.Status.QUEUED
    with time_machine.travel(timezone.now() + timedelta(seconds=121)):
        tasks.requeue_exports()

    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE


def test_beat_runs_the_export_re_queue():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["exports"]
    assert entry["task"] == "reclamations.tasks.requeue_exports"
    assert entry["options"]["expires"] == entry["schedule"]


# --- Access ----------------------------------------------------------------------------------------
def test_only_quality_leads_may_follow_or_download_an_export(client, login, handler, quality_lead, monkeypatch):
    monkeypatch.setattr(pdf, "build_pack", lambda **kwargs: _fake_document())
    job = _request(quality_lead)
    tasks.build_export(job.pk)
    page, download = reverse("evidence:job", args=[job.pk]), reverse("evidence:job_download", args=[job.pk])

    for url in (page, download):
        anonymous = client.get(url)
        assert anonymous.status_code == 302 and anonymous["Location"] == f"/backoffice/connexion/?next={url}"
        refused = login(handler).get(url)
        assert refused.status_code == 403 and "réservés au responsable qualité" in refused.content.decode()
    assert login(quality_lead).get(page).status_code == 200
    assert Event.objects.filter(kind=EventKind.EXPORT, data__sha256__isnull=False).count() == 0
    assert login(handler).post(reverse("evidence:pack_pdf"), _form()).status_code == 403
    assert ExportJob.objects.count() == 1


def test_another_quality_lead_may_follow_and_download_a_colleague_s_export_under_their_own_name(
        login, quality_lead, other_quality_lead, monkeypatch):
    monkeypatch.setattr(pdf, "build_pack", lambda **kwargs: _fake_document())
    job = _request(quality_lead)
    tasks.build_export(job.pk)

    colleague = login(other_quality_lead)
    page = colleague.get(reverse("evidence:job", args=[job.pk]))
    download = colleague.get(reverse("evidence:job_download", args=[job.pk]))

    assert page.status_code == 200 and "Dominique Bernard" in page.content.decode()
    assert download.status_code == 200
    assert Event.objects.filter(kind=EventKind.EXPORT).order_by("sequence").last().actor == other_quality_lead


def test_the_audit_page_lists_the_user_s_own_recent_exports(login, quality_lead, other_quality_lead):
    mine = _request(quality_lead)
    theirs = _request(other_quality_lead)

    page = login(quality_lead).get(reverse("evidence:index")).content.decode()

    assert "Vos derniers dossiers demandés" in page
    assert reverse("evidence:job", args=[mine.pk]) in page
    assert reverse("evidence:job", args=[theirs.pk]) not in page


# --- Keeping the files ---------------------------------------------------------------------------
def test_a_pack_file_is_deleted_after_the_keeping_time_and_its_page_says_why(login, quality_lead, settings,
                                                                            monkeypatch):
    settings.EXPORT_KEEP_DAYS = 30
    monkeypatch.setattr(pdf, "build_pack", lambda **kwargs: _fake_document())
    old, recent = _request(quality_lead), None
    tasks.build_export(old.pk)
    old.refresh_from_db()
    stored = old.file.name
    with time_machine.travel(timezone.now() + timedelta(days=20)):
        recent = _request(quality_lead)
        tasks.build_export(recent.pk)
    recent.refresh_from_db()
    storage = old.file.storage

    with time_machine.travel(timezone.now() + timedelta(days=31)):
        tasks.purge_exports()
        again = services.export_purge_expired()

    old.refresh_from_db()
    recent.refresh_from_db()
    assert again == 0  # a second run finds nothing more
    assert not storage.exists(stored) and old.file.name == "" and old.status == ExportJob.Status.FAILED
    assert "30 jours après sa préparation" in old.error and old.sha256  # the trace of what was handed out stays
    assert recent.status == ExportJob.Status.DONE and storage.exists(recent.file.name)
    signed_in = login(quality_lead)
    assert signed_in.get(reverse("evidence:job_download", args=[old.pk])).status_code == 404
    page = signed_in.get(reverse("evidence:job", args=[old.pk])).content.decode()
    assert "Préparez-en un nouveau pour la même période" in page


def test_beat_deletes_old_export_files_every_night():
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["purge-exports"]["task"] == "reclamations.tasks.purge_exports"


def test_quality_leads_find_the_audit_page_in_the_menu_and_handlers_do_not(login, quality_lead, handler):
    menu_link = f'href="{reverse("evidence:index")}"'

    lead_page = login(quality_lead).get(reverse("backoffice:dashboard")).content.decode()
    audit_page = login(quality_lead).get(reverse("evidence:index")).content.decode()
    handler_page = login(handler).get(reverse("backoffice:dashboard")).content.decode()

    assert menu_link in lead_page and ">Audit</a>" in lead_page
    assert re.search(r'class="nav-link active" href="/backoffice/dossier-de-preuves/" aria-current="page"', audit_page)
    assert menu_link not in handler_page


def test_while_it_runs_the_page_asks_for_its_status_alone_and_is_told_to_stop_once_done(login, quality_lead,
                                                                                         monkeypatch):
    monkeypatch.setattr(pdf, "build_pack", lambda **kwargs: _fake_document())
    job = _request(quality_lead)
    signed_in = login(quality_lead)
    url = reverse("evidence:job", args=[job.pk])

    page = signed_in.get(url).content.decode()
    waiting = signed_in.get(url, headers={"HX-Request": "true"})
    tasks.build_export(job.pk)
    done = signed_in.get(url, headers={"HX-Request": "true"})

    assert f'hx-get="{url}" hx-trigger="every 3s"' in page and "/static/django_htmx/htmx-2" in page
    assert waiting.status_code == 200 and "En attente" in waiting.content.decode()
    assert "<html" not in waiting.content.decode()  # the status part only
    assert done.status_code == 286  # htmx stops asking
    assert reverse("evidence:job_download", args=[job.pk]) in done.content.decode()
    assert "HX-Request" in done["Vary"]
    finished_page = signed_in.get(url).content.decode()
    assert "hx-get" not in finished_page and "htmx-2" not in finished_page
