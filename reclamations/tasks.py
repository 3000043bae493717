"""Thin Celery tasks: they take ids (or nothing), call services, and are safe to run twice."""
from __future__ import annotations

from celery import shared_task
from post_office.mail import send_queued_mail_until_done

from . import services


@shared_task(ignore_result=True)
def send_outbox() -> None:
    """Send what the e-mail outbox holds.

    Sent after each commit that queues an e-mail, and by beat every two minutes, which catches
    what a down broker or a crashed worker left behind. post_office takes a lock, so two runs at
    once do not send the same e-mail twice.
    """
    send_queued_mail_until_done()
    services.reclamation_sync_sent_emails()
