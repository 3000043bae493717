"""The audit exports, under /backoffice/audit/ (namespace ``audit``)."""
from __future__ import annotations

from django.urls import path

from ..views import audit

app_name = "audit"

urlpatterns = [
    path("", audit.index, name="index"),
    path("dossier-de-preuves.pdf", audit.pack_pdf, name="pack_pdf"),
    path("registre.xlsx", audit.register_xlsx, name="register_xlsx"),
    path("registre.csv", audit.register_csv, name="register_csv"),
    path("exports/<int:pk>/", audit.job, name="job"),
    path("exports/<int:pk>/telecharger/", audit.job_download, name="job_download"),
    path("reclamations/<int:pk>/pdf/", audit.record_pdf, name="record_pdf"),
]
