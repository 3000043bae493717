"""Every write to a record goes through these functions: one transaction, the change, its event.

Functions are keyword-only and named ``reclamation_<verb>``. They lock the record (SELECT ... FOR
UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions serialise writers), re-check the state the
caller saw, apply the change, and write the journal event in the same transaction, so a change is
never recorded without its event, nor an event without its change.

One module per capability; import from ``reclamations.services``.
"""

from __future__ import annotations

from .actions import reclamation_add_action, reclamation_update_action
from .alerts import reclamation_remind_action, reclamation_send_sla_alert
from .attachments import atomic_with_uploads, reclamation_add_attachments
from .base import (
    ACTION_FIELDS,
    EDITABLE_FIELDS,
    CreatedReclamation,
    StaleState,
    StepIncomplete,
    WorkflowError,
)
from .communications import (
    reclamation_log_communication,
    reclamation_record_acknowledgement,
    reclamation_sync_sent_emails,
)
from .digest import digest_acknowledge, digest_send
from .exports import (
    export_claim,
    export_fail,
    export_finish,
    export_log,
    export_progress,
    export_purge_expired,
    export_request,
    export_requeue_stale,
    export_run,
)
from .feedback import reclamation_record_feedback, reclamation_record_no_feedback
from .improvement import (
    improvement_create,
    improvement_record_check,
    improvement_send_reminders,
    improvement_update,
    reclamation_promote_action,
)
from .inbound import inbound_message_convert, inbound_message_discard, inbound_message_receive
from .intake import (
    reclamation_add_client_message,
    reclamation_announce_submission,
    reclamation_announce_submissions,
    reclamation_submit_contact,
    reclamation_submit_email,
)
from .links import reclamation_request_lost_link, reclamation_send_follow_up_link, reclamation_send_requested_links
from .messages import SentMessage, reclamation_send_answer, reclamation_send_message
from .orphan_files import orphan_files_check, orphan_files_delete, orphan_files_find
from .personal_data import (
    personal_data_erase,
    personal_data_export,
    reclamation_anonymise,
    reclamation_anonymise_expired,
)
from .reading import reclamation_mark_read, reclamation_mark_unread
from .records import (
    reclamation_assign,
    reclamation_correct_received_at,
    reclamation_create,
    reclamation_mark_not_applicable,
    reclamation_rotate_token,
    reclamation_update,
)
from .steps import reclamation_advance, reclamation_complete_step, reclamation_discard, reclamation_reopen
from .survey import (
    SurveyAnswer,
    SurveyUnavailable,
    reclamation_answer_survey,
    reclamation_send_survey,
    survey_expire,
    survey_send_reminders,
)
from .two_factor import (
    two_factor_disable,
    two_factor_enable,
    two_factor_regenerate_backup_codes,
    two_factor_verify,
)

__all__ = [
    "ACTION_FIELDS",
    "EDITABLE_FIELDS",
    "CreatedReclamation",
    "SentMessage",
    "StaleState",
    "StepIncomplete",
    "SurveyAnswer",
    "SurveyUnavailable",
    "WorkflowError",
    "atomic_with_uploads",
    "digest_acknowledge",
    "digest_send",
    "export_claim",
    "export_fail",
    "export_finish",
    "export_log",
    "export_progress",
    "export_purge_expired",
    "export_request",
    "export_requeue_stale",
    "export_run",
    "improvement_create",
    "improvement_record_check",
    "improvement_send_reminders",
    "improvement_update",
    "inbound_message_convert",
    "inbound_message_discard",
    "inbound_message_receive",
    "orphan_files_check",
    "orphan_files_delete",
    "orphan_files_find",
    "personal_data_erase",
    "personal_data_export",
    "reclamation_add_action",
    "reclamation_add_attachments",
    "reclamation_add_client_message",
    "reclamation_advance",
    "reclamation_announce_submission",
    "reclamation_announce_submissions",
    "reclamation_anonymise",
    "reclamation_anonymise_expired",
    "reclamation_answer_survey",
    "reclamation_assign",
    "reclamation_complete_step",
    "reclamation_correct_received_at",
    "reclamation_create",
    "reclamation_discard",
    "reclamation_log_communication",
    "reclamation_mark_not_applicable",
    "reclamation_mark_read",
    "reclamation_mark_unread",
    "reclamation_promote_action",
    "reclamation_record_acknowledgement",
    "reclamation_record_feedback",
    "reclamation_record_no_feedback",
    "reclamation_remind_action",
    "reclamation_reopen",
    "reclamation_request_lost_link",
    "reclamation_rotate_token",
    "reclamation_send_answer",
    "reclamation_send_follow_up_link",
    "reclamation_send_message",
    "reclamation_send_requested_links",
    "reclamation_send_sla_alert",
    "reclamation_send_survey",
    "reclamation_submit_contact",
    "reclamation_submit_email",
    "reclamation_sync_sent_emails",
    "reclamation_update",
    "reclamation_update_action",
    "survey_expire",
    "survey_send_reminders",
    "two_factor_disable",
    "two_factor_enable",
    "two_factor_regenerate_backup_codes",
    "two_factor_verify",
]
