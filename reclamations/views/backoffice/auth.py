"""Signing in and out, and changing one's password (Django's views with French templates).

Signing in takes one or two steps: the password, then — for whoever set up two-factor
authentication — a code from their app or a backup code (``login_code``). Between the two the
session holds only who is half signed in, for ``PENDING_SECONDS``; nobody is signed in until the
code is right.

Repeated failures lock the account for this address (django-axes, ``AXES_*`` settings), wrong
codes counting with wrong passwords; the lock-out page is ``registration/lockout.html``. Failures
from many addresses slow the account down instead (``sign_in_slowdown``).
"""
from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import user_login_failed
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login

from ... import roles, selectors, sign_in_slowdown, staff_sessions
from ... import two_factor as tf
from ...forms.accounts import OneTimeCodeForm
from ...forms.backoffice import StaffAuthenticationForm
from ...permissions import staff_required
from ...services import two_factor as tf_services

PENDING = "backoffice_pending_login"
PENDING_SECONDS = 300
PENDING_EXPIRED = (
    "Le délai pour saisir le code est dépassé : saisissez à nouveau votre identifiant et votre mot de passe."
)
FEW_BACKUP_CODES = (
    "Code de secours accepté. Il vous en reste {left} : pensez à en générer de nouveaux dans « Sécurité du compte »."
)


class StaffLoginView(auth_views.LoginView):
    """The password step. With two-factor authentication, it hands over to ``login_code``."""

    template_name = "registration/login.html"
    authentication_form = StaffAuthenticationForm
    next_page = reverse_lazy("backoffice:dashboard")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Checked before the password is: a try refused here gives no guess away.
        username = request.POST.get("username", "").strip()
        wait = sign_in_slowdown.wait_seconds(username)
        if wait:
            # An unbound form (a bound one would check the password), the identifier kept.
            form = self.get_form_class()(request, initial={"username": username})
            form.cleaned_data = {}
            form.add_error(None, sign_in_slowdown.MESSAGE.format(seconds=wait))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: StaffAuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if tf.has_two_factor(user):
            # A new session key, as Django's login() would give: nothing chosen by someone else
            # before the password was typed carries over.
            self.request.session.cycle_key()
            self.request.session[PENDING] = {
                "user": user.pk, "backend": user.backend, "since": int(time.time()), "next": self.get_success_url(),
            }
            return redirect("backoffice:login_code")
        response = super().form_valid(form)
        staff_sessions.start(self.request)
        return response


login = StaffLoginView.as_view()


def _pending_user(request: HttpRequest) -> tuple[Any, dict[str, Any]] | None:
    """The person half signed in on this session, still allowed to finish, with the pending data."""
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("since", 0) > PENDING_SECONDS:
        return None
    user = selectors.user_by_pk(pending.get("user"))
    if user is None or not user.is_active or not roles.is_handler(user):
        return None
    return user, pending


@sensitive_post_parameters("code")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the app, or a backup code (used up)."""
    found = _pending_user(request)
    if found is None:
        if PENDING in request.session:
            del request.session[PENDING]
            messages.warning(request, PENDING_EXPIRED)
        return redirect("backoffice:login")
    user, pending = found
    credentials = {"username": user.get_username()}
    if AxesProxyHandler.is_locked(request, credentials):
        return get_lockout_response(request, None, credentials)

    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = tf_services.two_factor_verify(user=user, code=form.cleaned_data["code"])
        if check.ok:
            del request.session[PENDING]
            auth_login(request, user, backend=pending["backend"])
            otp_login(request, check.device)
            staff_sessions.start(request)
            if check.backup_codes_left is not None and check.backup_codes_left <= tf.BACKUP_CODES_LOW:
                messages.warning(request, FEW_BACKUP_CODES.format(left=check.backup_codes_left))
            return redirect(pending["next"])
        form.add_error("code", check.error)
        if not check.throttled:
            # Counted by django-axes with the wrong passwords; at the limit its middleware answers
            # with the lock-out page instead of this one.
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    return render(request, "registration/login_code.html", {"form": form, "user_name": user.get_username()})


@require_GET
def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's own sign-in page would skip the second step: staff sign in here instead."""
    return redirect(reverse("backoffice:login") + "?" + urlencode({"next": request.GET.get("next", "/admin/")}))


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """POST only (with its CSRF token), so that no link or image can sign anybody out."""
    auth_logout(request)
    messages.info(request, "Vous êtes déconnecté(e). À bientôt !")
    return redirect("backoffice:login")


password_change = staff_required(
    auth_views.PasswordChangeView.as_view(
        template_name="registration/password_change_form.html",
        success_url=reverse_lazy("backoffice:password_change_done"),
    )
)

password_change_done = staff_required(
    auth_views.PasswordChangeDoneView.as_view(template_name="registration/password_change_done.html")
)
