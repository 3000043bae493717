"""Signing in and out, and changing one's password (Django's views with French templates).

Repeated failures lock the account for this address (django-axes, ``AXES_*`` settings); the
lock-out page is ``registration/lockout.html``.
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from ...forms.backoffice import StaffAuthenticationForm
from ...permissions import staff_required

login = auth_views.LoginView.as_view(
    template_name="registration/login.html",
    authentication_form=StaffAuthenticationForm,
    next_page=reverse_lazy("backoffice:dashboard"),
)


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
