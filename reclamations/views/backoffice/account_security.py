"""« Sécurité du compte »: a staff member's own two-factor authentication.

- ``overview``: the status (on or off, backup codes left, mandatory or not), the session limits;
- ``enrol``: the QR code and the secret to type, then the first code, which turns it on and shows
  the backup codes once;
- ``backup_codes``: new backup codes, for a current code;
- ``disable``: off, for the password and a current code — refused while it is mandatory.

The secret being set up lives in the session until the first code proves the app has it: nothing
is stored in the database for an enrolment that is never finished.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login

from ... import staff_sessions
from ... import two_factor as tf
from ...forms.accounts import DisableForm, EnrolForm, OneTimeCodeForm
from ...permissions import staff_required
from ...services import two_factor as tf_services

ENROL_KEY = "two_factor_enrol_key"


def _overview_response(request: HttpRequest, *, status: int = 200, **forms: Any) -> HttpResponse:
    user = request.user
    device = tf.totp_device(user)
    context = {
        "nav": "account",
        "device": device,
        "backup_codes_left": tf.backup_codes_left(user) if device else 0,
        "backup_codes_low": tf.BACKUP_CODES_LOW,
        "backup_code_count": tf.BACKUP_CODE_COUNT,
        "required": tf.is_required_for(user),
        "regenerate_form": forms.get("regenerate_form") or OneTimeCodeForm(prefix="codes", autofocus=False),
        "disable_form": forms.get("disable_form") or DisableForm(prefix="desactiver", autofocus=False),
        "session_age": staff_sessions.duration_text(settings.SESSION_COOKIE_AGE),
        "session_idle": staff_sessions.duration_text(settings.SESSION_IDLE_TIMEOUT)
        if settings.SESSION_IDLE_TIMEOUT else None,
    }
    return render(request, "backoffice/account/security.html", context, status=status)


@require_GET
@never_cache
@staff_required
def overview(request: HttpRequest) -> HttpResponse:
    return _overview_response(request)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse("backoffice:account_security")


@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
@never_cache
@staff_required
def enrol(request: HttpRequest) -> HttpResponse:
    """Set up the app: scan (or type), then prove it with a first code."""
    user = request.user
    if tf.has_two_factor(user):
        messages.info(request, tf_services.ALREADY_ENABLED)
        return redirect("backoffice:account_security")
    key = request.session.get(ENROL_KEY)
    if not key:
        key = request.session[ENROL_KEY] = tf.new_secret()

    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            enrolment = tf_services.two_factor_enable(user=user, key=key, code=form.cleaned_data["code"])
        except tf_services.TwoFactorError as error:
            form.add_error(error.field, str(error))
        else:
            del request.session[ENROL_KEY]
            # This session has just proven the code: it counts as signed in with two factors.
            otp_login(request, enrolment.device)
            return _codes_response(request, enrolment.backup_codes, first_time=True)

    uri = tf.provisioning_uri(user, key)
    return render(request, "backoffice/account/enrol.html", {
        "nav": "account",
        "form": form,
        "qr_svg": tf.qr_svg(uri, label="QR code à scanner avec votre application d'authentification"),
        "otpauth_uri": uri,
        "secret": tf.secret_for_typing(key),
        "issuer": tf.issuer(),
        "account": user.get_username(),
        "required": tf.is_required_for(user),
        "next": _safe_next(request),
    })


def _codes_response(request: HttpRequest, codes: list[str], *, first_time: bool) -> HttpResponse:
    """The backup codes, shown in this one response and never again (not cached)."""
    response = render(request, "backoffice/account/backup_codes.html", {
        "nav": "account",
        "codes": [tf.format_backup_code(code) for code in codes],
        "first_time": first_time,
        "next": _safe_next(request),
    })
    response["Cache-Control"] = "no-store"
    return response


@sensitive_post_parameters("codes-code")
@require_POST
@staff_required
def backup_codes(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not tf.has_two_factor(user):
        messages.warning(request, tf_services.NOT_ENABLED)
        return redirect("backoffice:account_security")
    form = OneTimeCodeForm(request.POST, prefix="codes", autofocus=False)
    if form.is_valid():
        try:
            codes = tf_services.two_factor_regenerate_backup_codes(user=user, code=form.cleaned_data["code"])
        except tf_services.TwoFactorError as error:
            form.add_error(error.field, str(error))
        else:
            return _codes_response(request, codes, first_time=False)
    return _overview_response(request, regenerate_form=form)


@sensitive_post_parameters("desactiver-password", "desactiver-code")
@require_POST
@staff_required
def disable(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not tf.has_two_factor(user):
        messages.warning(request, tf_services.NOT_ENABLED)
        return redirect("backoffice:account_security")
    form = DisableForm(request.POST, prefix="desactiver", autofocus=False)
    if form.is_valid():
        try:
            tf_services.two_factor_disable(user=user, password=form.cleaned_data["password"],
                                           code=form.cleaned_data["code"])
        except tf_services.TwoFactorError as error:
            form.add_error(error.field, str(error))
        else:
            messages.success(request, "La double authentification est désactivée. Vos codes de secours sont annulés.")
            return redirect("backoffice:account_security")
    return _overview_response(request, disable_form=form)
