"""A real Redis broker, started by the test on its own port, stopped in the middle of the day.

While it is down, clients keep submitting the Contact form: every record is stored and every page
answers quickly. When it is back, the periodic re-queue (what beat runs) catches the e-mails that
could not be announced to the workers, and every acknowledgement leaves exactly once.

`redis-server` is required: this test is never skipped (Debian: `apt-get install redis-server`).
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from celery.worker import state as worker_state
from django.conf import settings
from django.core import mail
from django.test import Client
from post_office.models import STATUS, Email

from config.celery import app as celery_app
from reclamations import tasks
from reclamations.models import Communication, Reclamation
from tests.factories import UserFactory, contact_form_data

REDIS_SERVER = shutil.which("redis-server")
# The promise: with the broker down, the Contact page still answers within two seconds.
ANSWER_WITHIN_SECONDS = 2.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throw-away redis-server on its own port: no persistence, so a restart starts empty (the
    tasks published before the outage are lost, as after a real crash without persistence)."""

    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 (a fixed argument list, no shell)
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        _wait_for(lambda: _answers(client), "redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def _wait_for(condition: Callable[[], bool], message: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(message)
        time.sleep(0.1)


def _reset_connection_pools() -> None:
    # Pooled connections keep the broker they were opened with: start new pools.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def redis_broker(tmp_path, monkeypatch) -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.fail("redis-server is missing: install it (Debian: apt-get install redis-server). "
                    "This test starts its own Redis and is never skipped.")
    server = RedisServer(tmp_path)
    server.start()
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.broker_transport_options)
    # The production broker settings (config/settings.py), on this test's own Redis.
    conf.task_always_eager = False
    conf.broker_url = server.url
    # Celery reads these variables before its settings: CI's own Redis must not stand in for ours.
    monkeypatch.setenv("CELERY_BROKER_URL", server.url)
    monkeypatch.delenv("CELERY_BROKER_READ_URL", raising=False)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    conf.broker_transport_options = dict(settings.REDIS_BROKER_TRANSPORT_OPTIONS)
    _reset_connection_pools()
    yield server
    conf.task_always_eager, conf.broker_url, conf.broker_transport_options = saved
    _reset_connection_pools()
    server.stop()


def _submit(client: Client, number: int) -> tuple[float, int]:
    """One Contact-form submission from its own address; (seconds taken, status code)."""
    started = time.monotonic()
    response = client.post("/contact/", contact_form_data(complainant_email=f"client{number}@example.org"),
                           REMOTE_ADDR=f"192.0.2.{number}")
    return time.monotonic() - started, response.status_code


def _acknowledgements_sent() -> dict[str, int]:
    """How many times each acknowledgement e-mail reached the (test) mail server."""
    message_ids = dict(
        Communication.objects.filter(purpose=Communication.Purpose.ACKNOWLEDGEMENT).values_list(
            "email__message_id", "reclamation__complainant_email")
    )
    counts = dict.fromkeys(message_ids.values(), 0)
    for message in mail.outbox:
        address = message_ids.get(message.extra_headers.get("Message-ID"))
        if address is not None:
            counts[address] += 1
    return counts


def _publish_until_accepted(task) -> None:
    """What beat does: publish the periodic task, and again at the next tick if the broker refused."""
    def published() -> bool:
        try:
            task.delay()
        except Exception:
            return False
        return True

    _wait_for(published, "the broker never accepted the periodic task again")


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_loses_nothing_and_sends_each_acknowledgement_once(redis_broker):
    quality_lead = UserFactory(role="quality_lead")
    client = Client()
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=15):
        # The broker is up: acknowledgements leave right after each submission.
        for number in (1, 2):
            assert _submit(client, number)[1] == 302
        _wait_for(lambda: sum(_acknowledgements_sent().values()) == 2, "acknowledgements not sent before the outage")
        assert client.get("/healthz").status_code == 200
        # Let the run that sent them finish (staff notices, sent times) and acknowledge its task:
        # this test's in-process worker (celery.contrib.testing) stops for good when the broker
        # goes away while it acknowledges one, which is not what this test is about.
        _wait_for(lambda: not worker_state.active_requests, "the worker did not finish its run")
        time.sleep(0.5)

        # The broker goes down in the middle of the day.
        redis_broker.stop()
        _reset_connection_pools()  # the worst case: a web process that must open a new connection
        assert client.get("/healthz").status_code == 503
        for number in (3, 4, 5, 6):
            seconds, status = _submit(client, number)
            assert status == 302  # the client sees the confirmation page
            assert seconds < ANSWER_WITHIN_SECONDS, f"submission {number} took {seconds:.1f} s with the broker down"
        assert Reclamation.objects.count() == 6
        assert sum(_acknowledgements_sent().values()) == 2  # nothing could be announced to the workers
        pending = Communication.objects.filter(purpose=Communication.Purpose.ACKNOWLEDGEMENT,
                                               email__status=STATUS.queued)
        assert pending.count() == 4

        # The broker is back (empty). Beat's next periodic re-queue catches what is waiting.
        redis_broker.start()
        _reset_connection_pools()  # a restarted web process would have fresh connections too
        _publish_until_accepted(tasks.requeue_outbox)
        _wait_for(lambda: all(count == 1 for count in _acknowledgements_sent().values()),
                  "acknowledgements not sent after the broker came back")
        # Later ticks find nothing left to send.
        _publish_until_accepted(tasks.requeue_outbox)
        _wait_for(lambda: not Email.objects.exclude(status=STATUS.sent).exists(), "e-mails left unsent")
        time.sleep(1)

    assert _acknowledgements_sent() == {f"client{number}@example.org": 1 for number in range(1, 7)}
    # The staff notices, written by the workers, are not lost either: one per submission.
    notices = sorted(m.subject.split()[2] for m in mail.outbox if m.to == [quality_lead.email])
    assert notices == sorted(Reclamation.objects.values_list("reference", flat=True))
    assert not Reclamation.objects.filter(staff_notice_pending=True).exists()
    assert client.get("/healthz").status_code == 200
    for reclamation in Reclamation.objects.all():
        ack = Communication.objects.get(reclamation=reclamation, purpose=Communication.Purpose.ACKNOWLEDGEMENT)
        assert reclamation.acknowledged_at == ack.email.last_updated  # the real sending time
