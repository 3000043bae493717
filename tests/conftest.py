"""Shared fixtures. Users are made with the real roles; records with the real services."""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from config.celery import app as celery_app
from tests.dovecot import DOVECOT, MISSING, Dovecot
from tests.factories import UserFactory


@pytest.fixture(scope="session", autouse=True)
def _require_postgres(django_db_setup, django_db_blocker) -> None:
    """In CI's second pass a missing PostgreSQL is a failure, never a silent run on SQLite."""
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        with django_db_blocker.unblock():
            assert connection.vendor == "postgresql", "REQUIRE_POSTGRES=1 but the database is not PostgreSQL"


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    # No collectstatic in tests: plain static storage. E-mails land in django.core.mail.outbox.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": tmp_path / "private", "base_url": None}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.POST_OFFICE = {**settings.POST_OFFICE,
                            "BACKENDS": {"default": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # A known chain key and a checkpoint file of this test's own: the checkpoints of other tests
    # (other databases) must never be held against this one's chain.
    settings.JOURNAL_KEY = "cle-de-chainage-des-tests"
    settings.JOURNAL_KEY_FALLBACKS = []
    settings.JOURNAL_CHECKPOINT_FILE = tmp_path / "audit-checkpoints.jsonl"
    # Tasks run in-process unless a test starts a real worker (tests/test_broker.py).
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _empty_cache(monkeypatch):
    # The rate limits count in the cache, the configuration is kept there: each test starts with
    # none used, and with a cache not marked down by an earlier test's failure.
    from django.core.cache import cache

    from reclamations.models import configuration

    monkeypatch.setattr(configuration, "_cache_down_until", 0.0)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _broker_not_marked_down(monkeypatch):
    # After a failed publish, reclamations.emails skips publishing for a few seconds: a test that
    # saw the broker down must not silence the next test's e-mails.
    from reclamations import emails

    monkeypatch.setattr(emails, "_broker_down_until", 0.0)


@pytest.fixture
def handler(db):
    return UserFactory(role="handler", username="gestionnaire", first_name="Camille", last_name="Martin")


@pytest.fixture
def other_handler(db):
    return UserFactory(role="handler", username="gestionnaire2", first_name="Alex", last_name="Petit")


@pytest.fixture
def quality_lead(db):
    return UserFactory(role="quality_lead", username="qualite", first_name="Dominique", last_name="Bernard")


# --- Back-office ---------------------------------------------------------------------------------
@pytest.fixture
def client_account(db):
    """A signed-in account without any staff role (a client, a former employee...)."""
    user = UserFactory(username="client", is_staff=False)
    user.save()  # the factory saves the password only with a role
    return user


@pytest.fixture
def login(db):
    """``login(user)`` gives a Django test client signed in as ``user`` (axes needs no password here)."""
    from django.test import Client

    def make(user):
        signed_in = Client()
        signed_in.force_login(user)
        return signed_in

    return make


@pytest.fixture
def bo_post():
    """``bo_post(client, reclamation, "reformulation", {"reformulation": "..."})`` posts a record form.

    Field names get the form's prefix (the URL name, unless ``prefix`` says otherwise) and the
    hidden ``expected_state`` is the record's current step unless given.
    """
    from django.urls import reverse

    def post(client, reclamation, name, data=None, *, prefix=None, expected_state=None, url_args=(), **extra):
        prefix = name if prefix is None else prefix
        payload = {(f"{prefix}-{key}" if prefix else key): value for key, value in (data or {}).items()}
        reclamation.refresh_from_db()
        payload["expected_state"] = reclamation.state if expected_state is None else expected_state
        payload.update(extra)
        return client.post(reverse(f"backoffice:{name}", args=[reclamation.pk, *url_args]), payload)

    return post


@pytest.fixture
def one_rate_limit_window():
    """The clock stands still for the test. django-ratelimit counts in fixed windows whose edges fall
    at any second (a jitter per key): a test that counts requests up to a limit must not straddle one,
    or its count starts again halfway."""
    import time_machine
    from django.utils import timezone

    with time_machine.travel(timezone.now(), tick=False):
        yield


# --- Inbound e-mail: a real IMAP server (Debian's Dovecot) on loopback --------------------------
def start_dovecot() -> tuple[Dovecot, Path]:
    """A Dovecot of its own, in a fresh folder (the caller stops it and removes the folder)."""
    if not DOVECOT.exists():
        pytest.fail(MISSING)  # never a skip: CI installs it, a developer is told how
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    server = Dovecot(root)
    server.start()
    return server, root


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    server, root = start_dovecot()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@dataclass
class MailboxUnderTest:
    """One test's mailbox (a fresh Dovecot user): ``append(raw, ...)``, ``count(folder)``."""

    server: Dovecot
    user: str

    def append(self, *messages: bytes, **kwargs) -> None:
        self.server.append(self.user, *messages, **kwargs)

    def count(self, folder: str = "INBOX") -> int:
        return self.server.count(self.user, folder)


@pytest.fixture
def imap_mailbox(dovecot, settings) -> MailboxUnderTest:
    """An empty mailbox that ``INBOUND_IMAP_URL`` points to."""
    user = dovecot.new_user()
    settings.INBOUND_IMAP_URL = dovecot.url(user)
    return MailboxUnderTest(server=dovecot, user=user)
