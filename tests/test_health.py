"""/healthz tells monitoring whether the database and the broker answer."""
from __future__ import annotations

import socket

import pytest
from django.db import OperationalError, connection

from config.celery import app as celery_app


@pytest.mark.django_db
def test_it_answers_200_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "broker": True}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_it_answers_503_when_the_broker_is_down(client, monkeypatch):
    real_connection = celery_app.connection_for_write
    down = f"redis://127.0.0.1:{_closed_port()}/0"
    monkeypatch.setattr(celery_app, "connection_for_write", lambda **kw: real_connection(url=down))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"] is False
    assert response.json()["database"] is True


@pytest.mark.django_db
def test_it_answers_503_when_the_database_does_not_answer(client):
    def database_gone(execute, sql, params, many, context):
        raise OperationalError("connection refused")

    with connection.execute_wrapper(database_gone):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": False, "broker": True}
