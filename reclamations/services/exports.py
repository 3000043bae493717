"""Every export leaves a trace: the evidence pack, a record's PDF and the register are journal events.

The event names the document, its period or record, how many records it holds and the SHA-256 of
the file handed out, so a PDF shown to an auditor can be matched with the log entry of its making.

Long exports (the evidence pack) are **export jobs** (``ExportJob``), made by a Celery worker:

- ``export_request`` stores the job (queued) and its journal event, and asks a worker after commit;
  a down broker only delays it: the beat task ``requeue_exports`` publishes it again;
- a worker claims the job with a conditional UPDATE (queued → running, with a lease), so a second
  delivery of the same message finds nothing to do; it reports progress (which renews the lease),
  then stores the file in private storage and marks the job done, or failed with a French message;
- a job whose worker died (running, lease expired) is put back in the queue by ``requeue_exports``,
  unless it was requested more than ``EXPORT_GIVE_UP_HOURS`` ago: then it is marked failed;
- a made file is kept ``EXPORT_KEEP_DAYS`` days (``purge_exports``, every night): a pack is a copy of
  personal data, and the same period can be made again at any time with the same figures.

The job's file is handed out by an authorised view, which writes the EXPORT event with its SHA-256.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .. import dispatch, exports
from ..exports import Produced
from ..journal import record_event
from ..models import Event, EventKind, ExportJob, Reclamation
from ..pdf import RenderError
from ..statistics import Period
from ..text import plural
from .base import Actor

logger = logging.getLogger(__name__)

DOCUMENTS = {
    "pack": "Dossier de preuves (PDF)",
    "record_pdf": "Fiche de traitement (PDF)",
    "register_xlsx": "Registre des réclamations (XLSX)",
    "register_csv": "Registre des réclamations (CSV)",
    "selection_csv": "Sélection de la liste (CSV, colonnes du registre)",
}
# References named in the event's summary; the data keeps them all.
SUMMARY_REFERENCES = 10


def export_log(
    *,
    actor: Actor,
    document: str,
    sha256: str,
    records: int,
    start: date | None = None,
    end: date | None = None,
    reclamation: Reclamation | None = None,
    label: str | None = None,
    job: ExportJob | None = None,
    references: Sequence[str] = (),
) -> Event:
    """Write the EXPORT event of one produced file (call it once the file exists).

    ``label`` names a non-human actor (``actor=None``), e.g. "Ligne de commande (utilisateur système backup)".
    ``references``: the records of an export that covers no period (rows ticked on the list), kept
    in the event so the log says which records left the application.
    """
    if document not in DOCUMENTS:
        raise ValueError(f"unknown document: {document}")
    what = DOCUMENTS[document]
    extra: dict[str, object] = {}
    if reclamation is not None:
        summary = f"{what} exporté : {reclamation.reference}."
    elif references:
        shown = ", ".join(references[:SUMMARY_REFERENCES])
        more = len(references) - SUMMARY_REFERENCES
        summary = (f"{what} exportée : {records} réclamation{plural(records)} ({shown}"
                   f"{f' et {more} autre{plural(more)}' if more > 0 else ''}).")
        extra["references"] = list(references)
    else:
        summary = (f"{what} exporté : période du {start:%d/%m/%Y} au {end:%d/%m/%Y}, "
                   f"{records} réclamation{plural(records)}.")
    with transaction.atomic():
        return record_event(
            kind=EventKind.EXPORT,
            reclamation=reclamation,
            actor=actor,
            label=label,
            summary=summary,
            data={"document": document, "start": start, "end": end, "records": records, "sha256": sha256,
                  **({"job": job.pk} if job is not None else {}), **extra},
        )


# --- Export jobs ---------------------------------------------------------------------------------
FAILED_UNEXPECTEDLY = (
    "La génération a échoué de façon inattendue. Réessayez ; si le problème persiste, prévenez "
    "l'administrateur."
)
GAVE_UP = (
    "La génération a été interrompue à plusieurs reprises (arrêt du serveur de calcul) et a été "
    "abandonnée. Relancez-la ; si le problème persiste, choisissez une période plus courte ou prévenez "
    "l'administrateur."
)
# After a failed publish, this process stops asking the broker for a few seconds (the job waits in
# the database for the beat re-queue): a page must never hang on a dead broker.
_broker_down_until = 0.0


def lease_seconds() -> int:
    return int(getattr(settings, "EXPORT_LEASE_SECONDS", 600))


def _publish(job_id: int) -> None:
    """Ask a worker to make the job. Never raises: a down broker only delays it."""
    global _broker_down_until

    if time.monotonic() < _broker_down_until:
        return
    try:
        dispatch.publish(dispatch.BUILD_EXPORT, job_id)
    except dispatch.UnknownTask:
        raise  # a bug, not a broker outage: never silenced as one
    except Exception:  # the broker is down: requeue_exports (beat) will publish it again
        _broker_down_until = time.monotonic() + settings.OUTBOX_BROKER_RETRY_SECONDS
        logger.warning("broker unavailable, export job %s left queued for the periodic re-queue", job_id,
                       exc_info=True)


def export_request(*, actor: Actor, kind: str, start: date, end: date) -> ExportJob:
    """Store an export job (queued) and its journal event; a worker is asked once the transaction commits."""
    if kind not in ExportJob.Kind.values:
        raise ValueError(f"unknown export kind: {kind}")
    with transaction.atomic():
        job = ExportJob.objects.create(kind=kind, period_start=start, period_end=end, requested_by=actor)
        record_event(
            kind=EventKind.EXPORT,
            actor=actor,
            summary=f"{DOCUMENTS[kind]} demandé : période du {start:%d/%m/%Y} au {end:%d/%m/%Y} (export n° {job.pk}).",
            data={"document": kind, "start": start, "end": end, "job": job.pk, "requested": True},
        )
        transaction.on_commit(lambda: _publish(job.pk))
    return job


def export_claim(*, job_id: int, now: datetime | None = None) -> ExportJob | None:
    """Take a queued job for this worker (conditional UPDATE); None when someone else has it or it is
    done: a second delivery of the same task does nothing."""
    now = now or timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(
        status=ExportJob.Status.RUNNING, started_at=now, lease_until=now + timedelta(seconds=lease_seconds()),
        progress=0, progress_label="Démarrage", error="",
    )
    return ExportJob.objects.get(pk=job_id) if claimed else None


def _mine(job: ExportJob) -> QuerySet[ExportJob]:
    """This claim: running and started when we started it (a re-queued and re-claimed job is not ours)."""
    return ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.RUNNING, started_at=job.started_at)


def export_progress(*, job: ExportJob, percent: int, label: str) -> bool:
    """Record where the job stands and renew its lease. False when the job is no longer ours."""
    now = timezone.now()
    return bool(_mine(job).update(progress=max(0, min(100, int(percent))), progress_label=label[:200],
                                  lease_until=now + timedelta(seconds=lease_seconds())))


def export_finish(*, job: ExportJob, produced: Produced) -> bool:
    """Store the file (private storage) and mark the job done. False when the job is no longer ours."""
    stored = ExportJob(pk=job.pk)
    stored.file.save(f"export-{job.pk}-{produced.filename}", ContentFile(produced.content), save=False)
    done = _mine(job).update(
        status=ExportJob.Status.DONE, progress=100, progress_label="Prêt", file=stored.file.name,
        file_name=produced.filename, size=len(produced.content), sha256=produced.sha256,
        record_count=produced.records,
        finished_at=timezone.now(), lease_until=None,
    )
    if not done:
        stored.file.delete(save=False)
    return bool(done)


def export_fail(*, job: ExportJob, message: str) -> bool:
    """Mark the job failed with the French message the quality lead reads."""
    return bool(_mine(job).update(status=ExportJob.Status.FAILED, error=message, finished_at=timezone.now(),
                                  lease_until=None))


def export_requeue_stale(*, now: datetime | None = None) -> list[int]:
    """Beat: the ids of the jobs a worker should take now.

    - running jobs whose lease has expired (their worker died) go back to the queue, or are marked
      failed when they were requested more than ``EXPORT_GIVE_UP_HOURS`` ago;
    - queued jobs older than ``EXPORT_REQUEUE_SECONDS`` (the broker was down, or lost the message)
      are returned to be published again; a copy that arrives twice finds the job claimed.
    """
    now = now or timezone.now()
    give_up = now - timedelta(hours=int(getattr(settings, "EXPORT_GIVE_UP_HOURS", 6)))
    expired = ExportJob.objects.filter(status=ExportJob.Status.RUNNING, lease_until__lt=now)
    for job_id in expired.filter(created_at__lt=give_up).values_list("pk", flat=True):
        if ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.RUNNING, lease_until__lt=now).update(
                status=ExportJob.Status.FAILED, error=GAVE_UP, finished_at=now, lease_until=None):
            logger.warning("export job %s abandoned: its worker died too many times", job_id)
    revived = list(expired.filter(created_at__gte=give_up).values_list("pk", flat=True))
    for job_id in revived:
        ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.RUNNING, lease_until__lt=now).update(
            status=ExportJob.Status.QUEUED, lease_until=None, progress=0, progress_label="")
    if revived:
        logger.warning("export jobs whose worker died, queued again: %s", revived)
    waiting = now - timedelta(seconds=int(getattr(settings, "EXPORT_REQUEUE_SECONDS", 120)))
    stale = ExportJob.objects.filter(status=ExportJob.Status.QUEUED, created_at__lt=waiting)
    return sorted(set(revived) | set(stale.values_list("pk", flat=True)))


EXPIRED = (
    "Fichier supprimé le {date}, {days} jours après sa préparation (durée de conservation des exports). "
    "Préparez-en un nouveau pour la même période : ses chiffres seront les mêmes."
)


def export_purge_expired(*, now: datetime | None = None) -> int:
    """Beat, daily: delete the files of the jobs finished more than ``EXPORT_KEEP_DAYS`` days ago.

    The job stays in the list (who asked for what, when, and the SHA-256 of what was handed out) and
    says in French why its file is gone. Each job is claimed by a conditional UPDATE on its file
    name, so two runs never count one twice; the file is removed only after its row forgot it.
    Returns the number of files deleted.
    """
    now = now or timezone.now()
    days = int(getattr(settings, "EXPORT_KEEP_DAYS", 30))
    expired = ExportJob.objects.filter(status=ExportJob.Status.DONE, finished_at__lt=now - timedelta(days=days))
    message = EXPIRED.format(date=f"{timezone.localtime(now):%d/%m/%Y}", days=days)
    storage = ExportJob._meta.get_field("file").storage
    purged = 0
    for job_id, name in expired.exclude(file="").values_list("pk", "file"):
        if ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.DONE, file=name).update(
                file="", status=ExportJob.Status.FAILED, error=message):
            storage.delete(name)  # a file already missing is not an error
            purged += 1
    if purged:
        logger.info("export files older than %d days deleted: %d", days, purged)
    return purged


def export_run(*, job_id: int) -> ExportJob | None:
    """Make one job's file, start to finish (the Celery task's body). None when there was nothing to do.

    Progress from the pack builder goes to the job row; a layout refused for time or memory, or any
    other error, marks the job failed with a French message instead of raising: a task that raised
    would only be delivered again, and fail again.
    """
    job = export_claim(job_id=job_id)
    if job is None:
        return None
    user = job.requested_by

    def progress(percent: int, label: str) -> None:
        export_progress(job=job, percent=percent, label=label)

    try:
        produced = exports.produce(kind=job.kind, period=Period(job.period_start, job.period_end),
                                   generated_by=user.get_full_name() or user.get_username(), progress=progress)
    except RenderError as error:
        export_fail(job=job, message=str(error))
    except Exception:
        logger.exception("export job %s failed", job.pk)
        export_fail(job=job, message=FAILED_UNEXPECTEDLY)
    else:
        if not export_finish(job=job, produced=produced):
            logger.warning("export job %s was taken over by another worker, this result is dropped", job.pk)
    job.refresh_from_db()
    return job
