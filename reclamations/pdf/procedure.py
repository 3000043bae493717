"""The procedure as the software enforces it, read from the configuration and the workflow's rules.

Nothing here is typed for the auditor's eyes only: the steps, their labels, what completes each
(the guard in words, next to the guard) and what may be declared *sans objet* come from the table
``reclamations.workflow.STEPS``; the delays, clock, responsible person, opening hours, services and
root-cause categories from the admin.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import workflow
from ..models import Channel, Kind, OpeningHours, Organisation, RootCauseCategory, Service, StakeholderType
from ..models.configuration import ClockMode


@dataclass(frozen=True)
class StepRule:
    number: int
    label: str
    completion: str
    may_be_not_applicable: str  # what a recorded reason may replace, "" when nothing may


@dataclass(frozen=True)
class Procedure:
    organisation: Organisation
    responsible: str
    ack_delay_hours: int
    answer_delay_hours: int
    clock_mode: str
    clock_label: str
    business_hours: bool
    opening_hours: tuple[str, ...]
    alsace_moselle: bool
    at_risk_percent: int
    steps: tuple[StepRule, ...]
    channels: tuple[tuple[str, bool], ...]  # (label, written: a call back is required at step 3)
    kinds: tuple[str, ...]
    stakeholders: tuple[str, ...]
    services: tuple[str, ...]
    root_causes: tuple[str, ...]


def _opening_hours() -> tuple[str, ...]:
    days: dict[int, list[str]] = {}
    labels = dict(OpeningHours.WEEKDAYS)
    for hours in OpeningHours.objects.order_by("weekday", "opens_at"):
        days.setdefault(hours.weekday, []).append(f"{hours.opens_at:%H:%M}–{hours.closes_at:%H:%M}")
    return tuple(f"{labels[day]} : {', '.join(periods)}" for day, periods in days.items())


def current_procedure(organisation: Organisation | None = None) -> Procedure:
    organisation = organisation or Organisation.current()
    responsible = organisation.responsible_name
    if not responsible and organisation.responsible_user_id:
        user = organisation.responsible_user
        responsible = user.get_full_name() or user.get_username()
    return Procedure(
        organisation=organisation,
        responsible=responsible,
        ack_delay_hours=organisation.ack_delay_hours,
        answer_delay_hours=organisation.answer_delay_hours,
        clock_mode=organisation.clock_mode,
        clock_label=organisation.get_clock_mode_display(),
        business_hours=organisation.clock_mode == ClockMode.BUSINESS,
        opening_hours=_opening_hours(),
        alsace_moselle=organisation.alsace_moselle,
        at_risk_percent=organisation.at_risk_percent,
        steps=tuple(
            StepRule(
                number=number,
                label=step.label,
                completion=step.completion,
                may_be_not_applicable=step.not_applicable,
            )
            for number, step in enumerate(workflow.steps(), start=1)
        ),
        channels=tuple((label, value in workflow.WRITTEN_CHANNELS) for value, label in Channel.choices),
        kinds=tuple(label for _, label in Kind.choices),
        stakeholders=tuple(label for _, label in StakeholderType.choices),
        services=tuple(Service.objects.filter(active=True).values_list("name", flat=True)),
        root_causes=tuple(RootCauseCategory.objects.filter(active=True).values_list("name", flat=True)),
    )
