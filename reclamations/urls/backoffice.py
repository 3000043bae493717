"""Staff back-office URLs, under /backoffice/."""
from __future__ import annotations

from django.urls import path

from ..views.backoffice import (
    account_security,
    attachments,
    auth,
    conversation,
    dashboard,
    inbound,
    list_tools,
    records,
    steps,
)

app_name = "backoffice"

_record = "reclamations/<int:pk>/"

urlpatterns: list = [
    path("connexion/", auth.login, name="login"),
    path("connexion/code/", auth.login_code, name="login_code"),
    path("deconnexion/", auth.logout, name="logout"),
    path("mot-de-passe/", auth.password_change, name="password_change"),
    path("mot-de-passe/modifie/", auth.password_change_done, name="password_change_done"),
    path("compte/securite/", account_security.overview, name="account_security"),
    path("compte/securite/activer/", account_security.enrol, name="two_factor_enrol"),
    path("compte/securite/codes-de-secours/", account_security.backup_codes, name="two_factor_backup_codes"),
    path("compte/securite/desactiver/", account_security.disable, name="two_factor_disable"),
    path("", dashboard.dashboard, name="dashboard"),
    path("reclamations/", records.reclamation_list, name="list"),
    path("reclamations/nouvelle/", records.reclamation_create, name="create"),
    path("reclamations/selection/", list_tools.bulk_action, name="bulk_action"),
    path("reclamations/selection/export/", list_tools.selection_export, name="selection_export"),
    path("reclamations/vues/", list_tools.saved_view_save, name="saved_view_save"),
    path("reclamations/vues/<int:pk>/supprimer/", list_tools.saved_view_delete, name="saved_view_delete"),
    path(_record, records.reclamation_detail, name="detail"),
    path(_record + "suivante/", records.reclamation_neighbour, {"direction": "suivante"}, name="next"),
    path(_record + "precedente/", records.reclamation_neighbour, {"direction": "precedente"}, name="previous"),
    path(_record + "conversation/ordre/", conversation.conversation_order, name="conversation_order"),
    path("pieces/<int:pk>/", attachments.download, name="attachment"),
    # Received e-mails no record took (services/inbound.py).
    path("courriels-recus/", inbound.inbound_list, name="inbound_list"),
    path("courriels-recus/<int:pk>/", inbound.inbound_detail, name="inbound_detail"),
    path("courriels-recus/<int:pk>/dossier/", inbound.inbound_convert, name="inbound_convert"),
    path("courriels-recus/<int:pk>/ecarter/", inbound.inbound_discard, name="inbound_discard"),
    path("courriels-recus/<int:pk>/original/", inbound.inbound_raw, name="inbound_raw"),
    # What a handler records on a record (POST only, see views/backoffice/steps.py).
    path(_record + "terminer-etape/", steps.complete_step, name="complete_step"),
    path(_record + "accuse-reception/", steps.acknowledgement, name="acknowledgement"),
    path(_record + "sans-objet/", steps.not_applicable, name="not_applicable"),
    path(_record + "attribuer/", steps.assign, name="assign"),
    path(_record + "prendre-en-charge/", steps.self_assign, name="self_assign"),
    path(_record + "identification/", steps.identification, name="identification"),
    path(_record + "reformulation/", steps.reformulation, name="reformulation"),
    path(_record + "echanges/", steps.communication, name="communication"),
    path(_record + "evaluation/", steps.evaluation, name="evaluation"),
    path(_record + "actions/", steps.action_add, name="action_add"),
    path(_record + "actions/<int:action_pk>/", steps.action_update, name="action_update"),
    path(_record + "reponse/", steps.answer, name="answer"),
    path(_record + "conclusion/", steps.conclusion, name="conclusion"),
    path(_record + "avis/", steps.feedback, name="feedback"),
    path(_record + "messages/", steps.send_message, name="message"),
    path(_record + "classer/", steps.discard, name="discard"),
    path(_record + "rouvrir/", steps.reopen, name="reopen"),
    path(_record + "date-reception/", steps.received_at, name="received_at"),
    path(_record + "pieces/", steps.attachments, name="attachment_add"),
]
