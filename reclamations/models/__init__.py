"""Data and small invariants. Writes go through ``reclamations.services``."""
from __future__ import annotations

from .configuration import (
    ClockMode,
    MessageTemplate,
    OpeningHours,
    Organisation,
    RootCauseCategory,
    Service,
    StaffProfile,
)
from .exports import ExportJob
from .improvement import (
    Digest,
    DigestReceipt,
    Effectiveness,
    ImprovementAction,
    ImprovementOrigin,
    ImprovementStatus,
)
from .inbound import InboundMessage, InboundSource, InboundStatus, MailboxPoll
from .journal import Event, EventKind, JournalChainHead
from .links import FollowUpLink, LinkRequest
from .reclamation import (
    Channel,
    Compensation,
    Decision,
    Kind,
    Level,
    Priority,
    Reclamation,
    ReferenceCounter,
    Solved,
    StakeholderType,
)
from .related import (
    Action,
    ActionKind,
    ActionStatus,
    Attachment,
    Communication,
    CommunicationKind,
    OrphanFileReport,
    RecordEmail,
    RecordRead,
)
from .search import SearchDocument

__all__ = [
    "Action",
    "ActionKind",
    "ActionStatus",
    "Attachment",
    "Channel",
    "ClockMode",
    "Communication",
    "CommunicationKind",
    "Compensation",
    "Decision",
    "Digest",
    "DigestReceipt",
    "Effectiveness",
    "Event",
    "EventKind",
    "ExportJob",
    "FollowUpLink",
    "ImprovementAction",
    "ImprovementOrigin",
    "ImprovementStatus",
    "InboundMessage",
    "InboundSource",
    "InboundStatus",
    "JournalChainHead",
    "Kind",
    "Level",
    "LinkRequest",
    "MailboxPoll",
    "MessageTemplate",
    "OpeningHours",
    "Organisation",
    "OrphanFileReport",
    "Priority",
    "Reclamation",
    "RecordEmail",
    "RecordRead",
    "ReferenceCounter",
    "RootCauseCategory",
    "SearchDocument",
    "Service",
    "Solved",
    "StaffProfile",
    "StakeholderType",
]
