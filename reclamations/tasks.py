"""Thin Celery tasks: they take ids (or nothing), call services, and are safe to run twice.

Tasks are acknowledged late (settings: ``acks_late``) and may be delivered again after a lost
worker; every one of them claims its work in the database, so a second run finds nothing to do.
"""
from __future__ import annotations

import logging

from celery import shared_task

from . import emails, imap, journal_chain, outbox, selectors, services, sweep
from .services import digest

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def send_outbox() -> None:
    """Send what the e-mail outbox holds and is due.

    Published after each commit that queues an e-mail, and by ``requeue_outbox``. First write the
    staff notices of new Contact submissions (each claimed by a conditional UPDATE) and the links
    asked for on the "lien perdu" page (each request claimed by deleting it), so they leave in this
    run. Each e-mail is claimed by a conditional UPDATE (``outbox.claim``), so two runs at
    once, on one host or several, never send the same e-mail twice. Then record what was sent
    (acknowledgement times).
    """
    try:
        # Sent just below, not by another task. Should this run stop before reaching them (SMTP
        # down, a batch full of older e-mails), beat's requeue_outbox finds them still queued.
        with emails.sent_by_this_run():
            services.reclamation_announce_submissions()
            services.reclamation_send_requested_links()
    except Exception:  # never let the notices hold up the e-mails already waiting (acknowledgements)
        logger.exception("staff notices or requested links not written in this run; the next run tries again")
    outbox.send_due()
    services.reclamation_sync_sent_emails()


@shared_task(ignore_result=True)
def requeue_outbox() -> None:
    """Beat: put back to work what the outbox holds but nobody sent.

    Catches e-mails queued while the broker was down, claims left by a dead worker (their lease
    has expired), retries whose time has come, submissions whose staff notice is not written and lost-link
    requests not handled.
    """
    if (outbox.requeue_stuck() or selectors.submissions_to_announce().exists()
            or selectors.lost_link_requests_waiting()):
        send_outbox.delay()


@shared_task(ignore_result=True)
def sla_sweep() -> None:
    """Beat, every ``SLA_SWEEP_SECONDS``: SLA alerts, action reminders, survey reminders.

    Reads the deadlines stored on the records: no countdown lives in the broker.
    """
    report = sweep.run()
    if report.total:
        logger.info("sla sweep: %s", report.short())


@shared_task(ignore_result=True)
def send_monthly_digest() -> None:
    """Beat, on the 1st of each month (settings): the previous month's internal digest, once.

    The digest's period is unique and each copy is a receipt row, so a second run sends nothing.
    """
    result = digest.digest_send(period=digest.previous_month())
    logger.info("digest %s: %d copies sent", result.digest.pk, len(result.recipients))


@shared_task(ignore_result=True)
def build_export(job_id: int) -> None:
    """Make an export job's file (the evidence pack of a long period takes minutes).

    Published after the commit that stores the job, and again by ``requeue_exports``. The job is
    claimed by a conditional UPDATE (``services.export_claim``): a second delivery does nothing.
    """
    services.export_run(job_id=job_id)


@shared_task(ignore_result=True)
def requeue_exports() -> None:
    """Beat: hand out again the export jobs no worker took (broker down at request time, lost
    message) and put back those whose worker died (lease expired)."""
    for job_id in services.export_requeue_stale():
        build_export.delay(job_id)


@shared_task(ignore_result=True)
def purge_exports() -> None:
    """Beat, daily: delete the export files kept longer than ``EXPORT_KEEP_DAYS``; the jobs stay
    listed with a French reason."""
    services.export_purge_expired()


@shared_task(ignore_result=True)
def anonymise_expired() -> None:
    """Beat, daily: anonymise the records closed more than ``PERSONAL_DATA_RETENTION_YEARS`` ago.

    Each record is claimed by a conditional UPDATE of its ``anonymised_at`` under a row lock, so a
    second run (or a second worker) anonymises nothing twice; a record that failed is retried the
    next day.
    """
    count = services.reclamation_anonymise_expired()
    logger.info("retention: %d reclamation(s) anonymised by the daily run", count)


@shared_task(ignore_result=True)
def check_orphan_files() -> None:
    """Beat, daily: count the files under attachments/ that belong to no row, for the quality
    lead's dashboard (a warning in the log when there are some). Deletes nothing: that is the
    quality lead's decision. Running it twice only writes the same count twice."""
    services.orphan_files_check()


@shared_task(ignore_result=True)
def poll_inbound_mailbox() -> None:
    """Beat, every ``INBOUND_IMAP_POLL_SECONDS`` when ``INBOUND_IMAP_URL`` is set: import the
    organisation's mailbox. The poll is claimed by a conditional UPDATE (``imap.poll_claimed``) and
    each message by its unique Message-ID, so overlapping runs import nothing twice."""
    report = imap.poll_claimed()
    if report is not None and report.seen:
        logger.info("inbound mailbox: %s", report.short())


@shared_task(ignore_result=True)
def checkpoint_journal() -> None:
    """Beat, every ``JOURNAL_CHECKPOINT_SECONDS``: copy the journal chain's head to the checkpoint file.

    A second run only adds another line: verification checks each line against the chain.
    """
    checkpoint = journal_chain.checkpoint_head(reason="périodique")
    if checkpoint is not None:
        logger.info("audit checkpoint: event %d", checkpoint.sequence)
