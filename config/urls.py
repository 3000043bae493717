from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from reclamations.views.backoffice.auth import admin_login
from reclamations.views.health import healthz

urlpatterns = [
    path("", include("reclamations.urls.public")),
    path("enquete/", include("reclamations.urls.survey")),
    path("backoffice/courriels/", include("reclamations.urls.outbox")),
    path("backoffice/qualite/", include("reclamations.urls.quality")),
    path("backoffice/dossier-de-preuves/", include("reclamations.urls.evidence")),
    path("backoffice/", include("reclamations.urls.backoffice")),
    # Staff sign in through the back-office (password, then the two-factor code if set up).
    path("admin/login/", admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
