"""Settings of the benchmark's server: the project's own, with one more URL, the floor.

``bench/run.py`` starts gunicorn with ``DJANGO_SETTINGS_MODULE=bench.settings``. Nothing else
changes (middleware, templates, databases, caches are the project's), so the floor goes through
exactly the middleware every page goes through — and production, which runs ``config.settings``,
has no such URL.
"""
from __future__ import annotations

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
