"""The quality pages, under /backoffice/qualite/ (improvement plan, statistics, internal digests,
personal data)."""
from __future__ import annotations

from django.urls import path
from django.views.generic import RedirectView

from ..views.quality import digests, orphan_files, personal_data, plan, statistics

app_name = "quality"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="quality:plan", permanent=False), name="index"),
    path("plan/", plan.plan_list, name="plan"),
    path("plan/nouvelle/", plan.improvement_create, name="improvement_create"),
    path("plan/<int:pk>/", plan.improvement_detail, name="improvement_detail"),
    path("plan/<int:pk>/modifier/", plan.improvement_edit, name="improvement_edit"),
    path("plan/<int:pk>/efficacite/", plan.improvement_check, name="improvement_check"),
    # The button on a record's corrective/preventive action (POST, quality lead).
    path("actions/<int:pk>/porter-au-plan/", plan.promote_action, name="promote_action"),
    path("statistiques/", statistics.statistics, name="statistics"),
    path("bilans/", digests.digest_list, name="digests"),
    path("bilans/envoyer/", digests.digest_send, name="digest_send"),
    # The acknowledgement link of the e-mail (signed in; the copy must be the user's own).
    path("bilans/lu/<str:token>/", digests.digest_read, name="digest_read"),
    # The same link once its reader has signed in; the token waited in the session.
    path("bilans/lu/", digests.digest_read_pending, name="digest_read_pending"),
    path("bilans/<int:pk>/", digests.digest_detail, name="digest_detail"),
    path("bilans/<int:pk>/lu/", digests.digest_acknowledge, name="digest_acknowledge"),
    # RGPD (quality lead): the person travels in POST bodies only, never in the address.
    path("donnees-personnelles/", personal_data.personal_data, name="personal_data"),
    path("donnees-personnelles/recherche/", personal_data.personal_data_search, name="personal_data_search"),
    path("donnees-personnelles/export/", personal_data.personal_data_export, name="personal_data_export"),
    path("donnees-personnelles/effacement/", personal_data.personal_data_erase, name="personal_data_erase"),
    # Files under attachments/ that belong to no record (quality lead; deletion is a POST).
    path("fichiers-orphelins/", orphan_files.orphan_files, name="orphan_files"),
    path("fichiers-orphelins/supprimer/", orphan_files.orphan_files_delete, name="orphan_files_delete"),
]
