"""Every write to a record goes through these functions: one transaction, the change, its event.

Functions are keyword-only and named ``reclamation_<verb>``. They lock the record (SELECT ... FOR
UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions serialise writers), re-check the state the
caller saw, apply the change, and write the audit event in the same transaction, so a change is
never recorded without its event, nor an event without its change.

One module per capability; import from ``reclamations.services``.
"""

from __future__ import annotations

from .actions import reclamation_add_action, reclamation_update_action
from .attachments import reclamation_add_attachments
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
    reclamation_send_answer,
    reclamation_sync_sent_emails,
)
from .feedback import reclamation_record_feedback, reclamation_record_no_feedback
from .records import (
    reclamation_assign,
    reclamation_correct_received_at,
    reclamation_create,
    reclamation_mark_not_applicable,
    reclamation_rotate_token,
    reclamation_update,
)
from .steps import reclamation_complete_step, reclamation_discard, reclamation_reopen

__all__ = [
    "ACTION_FIELDS",
    "EDITABLE_FIELDS",
    "CreatedReclamation",
    "StaleState",
    "StepIncomplete",
    "WorkflowError",
    "reclamation_add_action",
    "reclamation_add_attachments",
    "reclamation_assign",
    "reclamation_complete_step",
    "reclamation_correct_received_at",
    "reclamation_create",
    "reclamation_discard",
    "reclamation_log_communication",
    "reclamation_mark_not_applicable",
    "reclamation_record_acknowledgement",
    "reclamation_record_feedback",
    "reclamation_record_no_feedback",
    "reclamation_reopen",
    "reclamation_rotate_token",
    "reclamation_send_answer",
    "reclamation_sync_sent_emails",
    "reclamation_update",
    "reclamation_update_action",
]
