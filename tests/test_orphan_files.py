"""Files under the private attachments folder that belong to no row: found by the periodic check
(never while an upload may still be running), shown to the quality lead, deleted by them only."""
from __future__ import annotations

import io
import logging
import os
import time
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse

from reclamations import services, tasks, uploads
from reclamations.models import Event, EventKind
from tests.factories import ReclamationFactory, upload

pytestmark = pytest.mark.django_db

PAGE = reverse("quality:orphan_files")
DELETE = reverse("quality:orphan_files_delete")


def plant(name: str, *, hours_old: float) -> str:
    """A file left under ``name`` (as a refused submission of an older version did), ``hours_old`` old."""
    stored = default_storage.save(name, io.BytesIO(b"%PDF-1.4 reste d'un envoi refuse"))
    moment = time.time() - hours_old * 3600
    os.utime(default_storage.path(stored), (moment, moment))
    return stored


@pytest.fixture
def files():
    """A record's real file (old), an orphan in its old-style folder, a fresh orphan (upload in flight)."""
    reclamation = ReclamationFactory()
    attachment, = services.reclamation_add_attachments(
        reclamation=reclamation, actor=None, uploads=uploads.check_uploads([upload("convocation.pdf")]))
    moment = time.time() - 5 * 3600
    os.utime(default_storage.path(attachment.file.name), (moment, moment))
    orphan = plant("attachments/35/0123456789abcdef0123456789abcdef", hours_old=3)
    fresh = plant("attachments/9f86d081884c7d659a2feaa0c55ad015/a3f1c2", hours_old=0.2)
    return attachment, orphan, fresh


def test_the_check_finds_an_old_orphan_and_ignores_a_fresh_one_and_the_files_of_rows(files, caplog):
    attachment, orphan, fresh = files

    with caplog.at_level(logging.WARNING, logger="reclamations.services.orphan_files"):
        tasks.check_orphan_files()

    found = [o.name for o in services.orphan_files_find()]
    assert found == [orphan]
    assert attachment.file.name not in found and fresh not in found
    assert "1 file(s) under attachments/ belong to no attachment" in caplog.text


def test_the_grace_period_is_a_setting(files, settings):
    _attachment, orphan, fresh = files
    settings.ORPHAN_FILES_GRACE_MINUTES = 5

    assert [o.name for o in services.orphan_files_find()] == sorted([orphan, fresh])


def test_the_quality_lead_sees_the_count_on_the_dashboard_and_the_files_on_their_page(files, login, quality_lead,
                                                                                      handler):
    _attachment, orphan, _fresh = files
    tasks.check_orphan_files()

    dashboard = login(quality_lead).get(reverse("backoffice:dashboard")).content.decode()
    assert "Fichiers sans dossier dans le stockage privé" in dashboard
    assert PAGE in dashboard
    # A handler has nothing to do with them: no notice.
    assert "Fichiers sans dossier" not in login(handler).get(reverse("backoffice:dashboard")).content.decode()

    page = login(quality_lead).get(PAGE).content.decode()
    assert orphan in page
    assert "Supprimer ce fichier" in page


def test_the_quality_lead_deletes_the_orphans_and_the_deletion_is_logged(files, login, quality_lead):
    attachment, orphan, fresh = files
    tasks.check_orphan_files()
    signed_in = login(quality_lead)

    response = signed_in.post(DELETE)

    assert response.status_code == 302 and response["Location"] == PAGE
    assert not default_storage.exists(orphan)
    assert default_storage.exists(fresh), "an upload in flight is never deleted"
    assert default_storage.exists(attachment.file.name), "a record's file is never deleted"
    event = Event.objects.get(kind=EventKind.FILES_DELETED)
    assert event.actor == quality_lead and event.reclamation is None
    assert event.data["count"] == 1 and event.data["files"] == [orphan]
    # The dashboard notice is gone with them.
    page = signed_in.get(PAGE, follow=True).content.decode()
    assert "1 fichier sans dossier supprimé" in page
    assert "Fichiers sans dossier" not in signed_in.get(reverse("backoffice:dashboard")).content.decode()


def test_a_handler_may_not_delete_them(files, login, handler):
    _attachment, orphan, _fresh = files

    assert login(handler).get(PAGE).status_code == 403
    assert login(handler).post(DELETE).status_code == 403
    assert default_storage.exists(orphan)
    assert not Event.objects.filter(kind=EventKind.FILES_DELETED).exists()


def test_nothing_to_delete_says_so_and_logs_nothing(login, quality_lead):
    response = login(quality_lead).post(DELETE, follow=True)

    assert "Aucun fichier à supprimer" in response.content.decode()
    assert not Event.objects.filter(kind=EventKind.FILES_DELETED).exists()


def test_the_command_lists_them_and_deletes_them_on_request(files):
    _attachment, orphan, fresh = files
    out = io.StringIO()

    call_command("orphan_files", stdout=out)
    assert orphan in out.getvalue() and fresh not in out.getvalue()
    assert default_storage.exists(orphan)

    call_command("orphan_files", "--delete", stdout=io.StringIO())
    assert not default_storage.exists(orphan)
    assert Event.objects.get(kind=EventKind.FILES_DELETED).actor_label == "Système"


def test_a_refused_contact_submission_leaves_nothing_for_the_check_to_find(client, settings,
                                                                           django_capture_on_commit_callbacks):
    # The finding of issue 21: refused by the e-mail rule, its files stayed behind with no row.
    from tests.factories import ServiceFactory, contact_form_data

    service = ServiceFactory()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/contact/", contact_form_data(service=service.pk, complainant_email='"<a>"@example.org',
                                                   attachments=[upload("a.pdf"), upload("b.pdf")]))
    settings.ORPHAN_FILES_GRACE_MINUTES = 0

    assert services.orphan_files_find() == []
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    assert not any(p.is_file() for p in root.rglob("*"))
