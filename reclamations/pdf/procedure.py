"""The procedure as the software enforces it, read from the configuration and the workflow's rules.

Nothing here is typed for the auditor's eyes only: the steps, their labels and what may be declared
*sans objet* come from ``reclamations.workflow``; the delays, clock, responsible person, opening
hours, services and root-cause categories from the admin. The one piece of prose kept here,
:data:`STEP_COMPLETION`, says in words what each guard of ``workflow.GUARDS`` checks; a test keeps
the two in step (every step has its sentence).
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import workflow
from ..models import Channel, Kind, OpeningHours, Organisation, RootCauseCategory, Service, StakeholderType
from ..models.configuration import ClockMode
from ..workflow import Step

# What completes each step: the guard of workflow.GUARDS, in words. (Better kept next to the guards
# in workflow.py; proposed there.)
STEP_COMPLETION: dict[str, str] = {
    Step.RECEIVED: "L'accusé de réception a été envoyé au réclamant (automatique pour le formulaire Contact).",
    Step.IDENTIFICATION: "Le réclamant est identifié (nom et un moyen de le joindre, sauf aléa sans réclamant), "
                         "ainsi que le service concerné, l'objet et le responsable du traitement.",
    Step.REFORMULATION: "Les points clés sont reformulés ; pour une demande écrite, le rappel téléphonique du "
                        "réclamant est enregistré.",
    Step.ACTION_PROPOSAL: "L'évaluation (gravité, complexité, répercussions) donne la priorité ; une action "
                          "immédiate de recherche de la cause et au moins une action corrective ou préventive "
                          "sont au plan d'action.",
    Step.SCHEDULING: "Chaque action du plan a un responsable et une échéance.",
    Step.ACTION: "Toutes les actions sont réalisées ou annulées ; la décision et la réponse argumentée "
                 "(favorable, partielle ou défavorable) sont envoyées au réclamant, avec le dédommagement "
                 "éventuel.",
    Step.FOLLOW_UP: "Au moins un point d'avancement a été envoyé au réclamant.",
    Step.CONCLUSION: "La conclusion, la cause racine (catégorie et analyse) et l'action corrective ou préventive "
                     "retenue sont enregistrées ; une offre complémentaire peut être notée.",
    Step.FEEDBACK: "Le réclamant a répondu à l'enquête de satisfaction, ou l'absence de réponse est constatée "
                   "à l'échéance.",
}


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
                number=workflow.step_number(step),
                label=step.label,
                completion=STEP_COMPLETION[step],
                may_be_not_applicable=workflow.NOT_APPLICABLE_PARTS.get(step, ""),
            )
            for step in workflow.NINE_STEPS
        ),
        channels=tuple((label, value in workflow.WRITTEN_CHANNELS) for value, label in Channel.choices),
        kinds=tuple(label for _, label in Kind.choices),
        stakeholders=tuple(label for _, label in StakeholderType.choices),
        services=tuple(Service.objects.filter(active=True).values_list("name", flat=True)),
        root_causes=tuple(RootCauseCategory.objects.filter(active=True).values_list("name", flat=True)),
    )
