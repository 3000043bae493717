"""The evidence pack's job page keeps itself up to date in the browser (htmx asks for the status part
every few seconds) without reloading, stops asking once the job has ended, and breaks no rule of the
Content-Security-Policy."""
from __future__ import annotations

import hashlib

from django.urls import reverse

from reclamations import services, tasks
from reclamations.exports import Produced
from reclamations.statistics import Period
from tests.browser.conftest import sign_in
from tests.browser.test_security_csp import COLLECT
from tests.factories import UserFactory


def test_the_job_page_shows_the_pack_ready_without_reloading(desktop_page, live_server, monkeypatch):
    page = desktop_page
    # No worker here (tasks run in-process in tests): the test plays the worker, step by step.
    monkeypatch.setattr(tasks.build_export, "delay", lambda job_id: None)
    lead = UserFactory(role="quality_lead", username="qualite")
    period = Period.last_twelve_months()
    job = services.export_request(actor=lead, kind="pack", start=period.start, end=period.end)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url) if f"/{job.pk}/" in request.url else None)
    page.add_init_script(COLLECT)
    sign_in(page, live_server.url, "qualite")
    page.goto(live_server.url + reverse("evidence:job", args=[job.pk]))
    page.get_by_role("heading", name="En attente").wait_for()
    page.evaluate("window.__samePage = true")

    # A worker makes the pack meanwhile.
    claimed = services.export_claim(job_id=job.pk)
    services.export_progress(job=claimed, percent=40, label="Registre")
    page.get_by_text("Registre — 40 %").wait_for(timeout=10_000)
    content = b"%PDF-1.7 pack"
    services.export_finish(job=claimed, produced=Produced(content=content, filename="dossier.pdf",
                                                          content_type="application/pdf", records=0))
    page.get_by_role("heading", name="Le dossier est prêt").wait_for(timeout=10_000)
    asked = len(requests)
    page.wait_for_timeout(4_000)  # longer than one polling interval

    assert page.evaluate("window.__samePage") is True  # updated in place, never reloaded
    assert len(requests) == asked  # and no longer asking
    assert page.get_by_role("link", name="Télécharger le fichier — Dossier de preuves (PDF)").is_visible()
    assert hashlib.sha256(content).hexdigest() in page.content()
    assert page.evaluate("window.__cspViolations") == []
