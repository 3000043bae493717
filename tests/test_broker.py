"""A task really goes through the configured broker (filesystem by default, Redis in CI) to a
worker, which sends the e-mail queued in the outbox by the change's transaction."""
from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import transaction

from config.celery import app as celery_app
from reclamations import emails
from reclamations.models import Organisation
from tests.factories import ReclamationFactory


@pytest.fixture
def real_broker(tmp_path):
    """Tasks go through the broker instead of running in-process; the filesystem broker gets a
    private folder so that a running `make run` worker never takes the test's messages."""
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_transport_options)
    conf.task_always_eager = False
    if conf.broker_url.startswith("filesystem://"):
        folder = tmp_path / "broker"
        (folder / "processed").mkdir(parents=True)
        (folder / "control").mkdir()
        conf.broker_transport_options = {"data_folder_in": str(folder), "data_folder_out": str(folder),
                                         "processed_folder": str(folder / "processed"),
                                         "control_folder": str(folder / "control")}
    _reset_connection_pools()
    yield
    conf.task_always_eager, conf.broker_transport_options = saved
    _reset_connection_pools()


def _reset_connection_pools() -> None:
    # Pooled connections keep the transport options they were opened with: start new pools.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True)
def test_an_email_queued_with_a_change_is_sent_by_a_worker_after_commit(real_broker):
    reclamation = ReclamationFactory()
    with start_worker(celery_app, pool="threads", concurrency=1, perform_ping_check=False, shutdown_timeout=10):
        with transaction.atomic():
            emails.queue(name="acknowledgement", to=["claire.dupont@example.org"], context={
                "reclamation": reclamation, "organisation": Organisation.current(),
                "follow_up_url": "https://example.org/suivi/x/"})
            assert mail.outbox == []  # nothing leaves before the change is committed
        deadline = time.monotonic() + 20
        while not mail.outbox and time.monotonic() < deadline:
            time.sleep(0.1)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["claire.dupont@example.org"]
    assert message.subject == f"Accusé de réception de votre réclamation {reclamation.reference}"
    assert reclamation.reference in message.body
