from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from reclamations.views.backoffice.auth import admin_login
from reclamations.views.health import healthz

urlpatterns = [
    path("", include("reclamations.urls.public")),
    path("enquete/", include("reclamations.urls.survey")),
    path("backoffice/courriels/", include("reclamations.urls.outbox")),
    path("backoffice/qualite/", include("reclamations.urls.quality")),
    path("backoffice/dossier-de-preuves/", include("reclamations.urls.evidence")),
    # The evidence pages' former address: bookmarks and links in old e-mails keep working.
    re_path(r"^backoffice/audit/(?P<rest>.*)$",
            RedirectView.as_view(url="/backoffice/dossier-de-preuves/%(rest)s", permanent=True, query_string=True)),
    path("backoffice/", include("reclamations.urls.backoffice")),
    # Staff sign in through the back-office (password, then the two-factor code if set up).
    path("admin/login/", admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
