"""The client's address, the same for every per-address rule (rate limits, sign-in lockout).

Behind a reverse proxy every request comes from the proxy: ``REMOTE_ADDR`` is 127.0.0.1 for
everybody, so a limit or a lockout keyed on it hits every client at once. ``CLIENT_IP_HEADER``
names the header the proxy sets with the real address (``HTTP_X_REAL_IP`` with the nginx example).
"""
from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The address of the person behind ``request``.

    With ``CLIENT_IP_HEADER`` set, its last comma-separated entry: the one our own proxy wrote
    (``X-Forwarded-For`` keeps whatever the client sent before it). A missing or malformed value
    falls back to ``REMOTE_ADDR``, so a request that bypasses the proxy is still counted.
    """
    header = settings.CLIENT_IP_HEADER
    if header:
        value = request.META.get(header, "").split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR") or "0.0.0.0"  # noqa: S104 - an address to count by, never bound
