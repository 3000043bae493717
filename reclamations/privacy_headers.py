"""Headers on every page the application builds (static files, served before this, keep theirs).

- ``Cache-Control: no-store``: back-office pages, follow-up and survey pages hold personal data; no
  browser, shared computer's cache or proxy keeps a copy. Every page gets it, so that a page added
  later cannot forget it; the Contact form carries a CSRF token and is not worth caching either.
- ``Permissions-Policy``: no page of ours uses the camera, the microphone, the location, payments
  or the like; a script injected despite the CSP could not ask for them either.
"""
from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "fullscreen",
        "geolocation", "gyroscope", "magnetometer", "microphone", "midi", "payment",
        "publickey-credentials-get", "screen-wake-lock", "usb", "xr-spatial-tracking",
    )
)


class PrivacyHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "no-store" not in response.get("Cache-Control", ""):  # a view's own choice is kept
            add_never_cache_headers(response)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
