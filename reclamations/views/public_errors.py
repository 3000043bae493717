"""Friendly French pages for refusals of the public side: too many submissions (429), and a form
sent without its CSRF token or with an expired one (403)."""
from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .public_common import RATE_SETTINGS

# django_ratelimit's rate syntax: "5/10m" is 5 requests per 10 minutes; no unit means seconds.
_RATE = re.compile(r"\d+/(\d*)([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 60 * 60, "d": 24 * 60 * 60}


def rate_window_seconds(rate: str) -> int:
    """The length of a rate's window, which is how long a refused client waits at most."""
    match = _RATE.match(rate)
    if match is None:
        raise ValueError(f"invalid rate limit: {rate!r}")
    multiplier, unit = match.groups()
    return _UNIT_SECONDS[unit.lower()] * int(multiplier or 1)


def _wait_seconds(request: HttpRequest) -> int:
    match = getattr(request, "resolver_match", None)
    setting = RATE_SETTINGS.get(match.url_name if match else "", "CONTACT_RATE_LIMIT")
    return rate_window_seconds(getattr(settings, setting))


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
