"""Middleware of staff accounts (sessions that end, two-factor authentication made mandatory), and the
configuration read once per request.

Middleware rather than view decorators so that every back-office URL — those added later and
Django's admin included — is covered without anyone having to remember it. The "staff area" is
every path under the back-office and the admin.
"""
from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from . import permissions, staff_sessions, two_factor
from .models.configuration import read_configuration_once

Handler = Callable[[HttpRequest], HttpResponse]

SIGN_IN_AGAIN = (
    "Votre compte est protégé par la double authentification : reconnectez-vous avec votre mot de passe "
    "puis le code de votre application."
)


def staff_area(path: str) -> bool:
    return path.startswith((reverse("backoffice:dashboard"), reverse("admin:index")))


def _to_login(request: HttpRequest) -> HttpResponse:
    # Back to the same page after signing in again, when that page can be asked for again.
    if request.method == "GET":
        return permissions.to_sign_in(request)
    return redirect("backoffice:login")


class ConfigurationReadOnceMiddleware:
    """Each request reads the organisation's configuration at most once (``Organisation.current``),
    from the cache when another request of the last minute kept it there."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with read_configuration_once():
            return self.get_response(request)


class StaffSessionMiddleware:
    """Signs out a session past its maximum age or idle time, and says so on the sign-in page."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (message := staff_sessions.expiry_message(request)) is not None:
            logout(request)
            if staff_area(request.path):
                messages.warning(request, message)
                return _to_login(request)
        else:
            staff_sessions.touch(request)
        return self.get_response(request)


class TwoFactorRequiredMiddleware:
    """With ``OTP_REQUIRED_FOR_QUALITY_LEADS``, a quality lead without two-factor authentication
    reaches nothing in the staff area but its enrolment page (and signing out) until it is set up.

    A quality lead who has it but whose session did not pass the second step (a session opened
    before they set it up, in another browser) is signed out and asked to sign in again.
    """

    # Reachable before enrolment: signing in and out, and enrolment itself.
    OPEN = ("backoffice:login", "backoffice:login_code", "backoffice:logout", "backoffice:two_factor_enrol",
            "admin:logout")

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._must_enrol(request):
            if two_factor.has_two_factor(request.user):
                logout(request)
                messages.warning(request, SIGN_IN_AGAIN)
                return _to_login(request)
            enrol = reverse("backoffice:two_factor_enrol")
            if request.method == "GET":
                enrol += "?" + urlencode({"next": permissions.return_path(request)})
            return redirect(enrol)
        return self.get_response(request)

    def _must_enrol(self, request: HttpRequest) -> bool:
        if not settings.OTP_REQUIRED_FOR_QUALITY_LEADS or not staff_area(request.path):
            return False
        user = request.user
        if not user.is_authenticated or user.is_verified() or not two_factor.is_required_for(user):
            return False
        return request.path not in {reverse(name) for name in self.OPEN}
