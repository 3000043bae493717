"""Shared fixtures. Users are made with the real roles; records with the real services."""
from __future__ import annotations

import os

import pytest
from django.db import connection

from config.celery import app as celery_app
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
    # Tasks run in-process unless a test starts a real worker (tests/test_broker.py).
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def handler(db):
    return UserFactory(role="handler", username="gestionnaire", first_name="Camille", last_name="Martin")


@pytest.fixture
def other_handler(db):
    return UserFactory(role="handler", username="gestionnaire2", first_name="Alex", last_name="Petit")


@pytest.fixture
def quality_lead(db):
    return UserFactory(role="quality_lead", username="qualite", first_name="Dominique", last_name="Bernard")
