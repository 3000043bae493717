"""The evidence exports, under /backoffice/dossier-de-preuves/ (namespace ``audit``)."""
from __future__ import annotations

from django.urls import path

from ..views import evidence

app_name = "evidence"

urlpatterns = [
    path("", evidence.index, name="index"),
    path("dossier-de-preuves.pdf", evidence.pack_pdf, name="pack_pdf"),
    path("registre.xlsx", evidence.register_xlsx, name="register_xlsx"),
    path("registre.csv", evidence.register_csv, name="register_csv"),
    path("exports/<int:pk>/", evidence.job, name="job"),
    path("exports/<int:pk>/telecharger/", evidence.job_download, name="job_download"),
    path("reclamations/<int:pk>/pdf/", evidence.record_pdf, name="record_pdf"),
]
