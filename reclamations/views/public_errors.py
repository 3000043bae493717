"""Friendly French pages for refusals of the public side: too many submissions (429), and a form
sent without its CSRF token or with an expired one (403)."""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import _split_rate

from .public_common import RATE_SETTINGS


def _wait_seconds(request: HttpRequest) -> int:
    match = getattr(request, "resolver_match", None)
    setting = RATE_SETTINGS.get(match.url_name if match else "", "CONTACT_RATE_LIMIT")
    _count, seconds = _split_rate(getattr(settings, setting))
    return seconds


def ratelimited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``RATELIMIT_VIEW``: nothing was stored or sent; the client is told how long to wait."""
    seconds = _wait_seconds(request)
    minutes = max(1, round(seconds / 60))
    response = render(request, "429.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: usually a form left open too long, or cookies refused."""
    return render(request, "public/csrf_failure.html", status=403)
