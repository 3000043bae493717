"""Staff views of the e-mail outbox (failed and stuck e-mails, re-send), under /backoffice/courriels/."""
from __future__ import annotations

from django.urls import path

from ..views import outbox

app_name = "outbox"

urlpatterns: list = [
    path("", outbox.failures, name="list"),
    path("<int:pk>/renvoyer/", outbox.resend, name="resend"),
]
