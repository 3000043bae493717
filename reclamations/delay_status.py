"""The badge of one delay (on time, at risk, late, done), read from the deadlines stored on a record.

Pure and below the models, which show it (``Reclamation.ack_status``): ``reclamations.sla`` reads
the organisation's configuration from the models, so the models cannot import it.
"""
from __future__ import annotations

from datetime import datetime


class SlaStatus:
    """The badge of one delay: on time, at risk, late; or done (on time or late)."""

    ON_TIME = "on_time"
    AT_RISK = "at_risk"
    LATE = "late"
    DONE = "done"
    DONE_LATE = "done_late"
    LABELS = {ON_TIME: "Dans les délais", AT_RISK: "À risque", LATE: "En retard", DONE: "Fait dans les délais",
              DONE_LATE: "Fait hors délai"}


def sla_status(*, due_at: datetime, risk_at: datetime, done_at: datetime | None, now: datetime) -> str:
    if done_at is not None:
        return SlaStatus.DONE if done_at <= due_at else SlaStatus.DONE_LATE
    if now >= due_at:
        return SlaStatus.LATE
    if now >= risk_at:
        return SlaStatus.AT_RISK
    return SlaStatus.ON_TIME
