"""What the public views share: the headers of pages that carry a secret link, the rate limits."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

# URL name -> the setting holding its rate limit (the 429 page says how long to wait).
RATE_SETTINGS = {
    "contact": "CONTACT_RATE_LIMIT",
    "lost_link": "LOST_LINK_RATE_LIMIT",
    "follow_up": "FOLLOW_UP_RATE_LIMIT",
}


def rate(setting: str) -> Callable[[str, HttpRequest], str]:
    """A django-ratelimit ``rate`` read from settings at each request (so tests can change it)."""

    def _rate(group: str, request: HttpRequest) -> str:
        return getattr(settings, setting)

    return _rate


View = Callable[..., HttpResponse]


def private_page(*, referrer_policy: str = "no-referrer") -> Callable[[View], View]:
    """For pages whose URL or content holds the client's secret link: never cached, never indexed,
    and the link never sent to another site as a Referer. (An unknown token raises Http404 before
    this runs, so its page is exactly the 404 page of any unknown URL.)

    A page with a form uses ``same-origin``: under ``no-referrer`` the browser sends its POST with
    ``Origin: null``, which the CSRF check must refuse. ``same-origin`` still sends nothing, not
    even the origin, to any other site.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            response = view(request, *args, **kwargs)
            add_never_cache_headers(response)
            # A view may choose for itself (the follow-up page: no form once the record is closed).
            response.headers.setdefault("Referrer-Policy", referrer_policy)
            response["X-Robots-Tag"] = "noindex, nofollow"
            return response

        return wrapped

    return decorator
