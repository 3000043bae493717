"""Production settings pass Django's deployment checklist with no warning at all.

Run in a subprocess with the variables a production server sets (README): HTTPS, a long random
SECRET_KEY, the real host name, Redis for the cache. The database is SQLite in a temporary VAR_DIR
(the check needs no PostgreSQL); the Redis URL is only read, never connected to.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _check_deploy(tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess:
    environment = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "CACHE_", "CELERY_", "SECRET_", "DEBUG", "HTTPS"))
    }
    environment.update({
        "DEBUG": "false",
        "HTTPS": "true",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "reclamations.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://reclamations.example.org",
        "SITE_URL": "https://reclamations.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CACHE_URL": "redis://127.0.0.1:6379/1",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **overrides,
    })
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_passes_with_production_variables(tmp_path):
    result = _check_deploy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_without_https(tmp_path):
    # The same check must be able to fail: without HTTPS, cookies and HSTS are not secure.
    result = _check_deploy(tmp_path, HTTPS="false")
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout  # SECURE_HSTS_SECONDS
