"""The procedure's steps as one table: what each is called, what completes it, what it shows.

The state of a record is the step *in progress*. Each step of :data:`STEPS` says, in one place:
its code, its labels (staff and PDF, client), its guard (the list of what is missing, in French for
the handler; empty when the step may complete) and that guard in words for the auditor, what may be
declared "sans objet", the template of its card on the record's page and what that card holds, and
what entering it does. Everything else reads the table: the one django-fsm transition on
``Reclamation`` (whose condition is :func:`can_complete`, so neither a view, nor the admin, nor a
script can move a record past a step whose data is not there), the services, the record's page, the
client's follow-up page, the procedure section of the evidence pack, the factories and the demo.

Adding a step: a row here, its card template ``templates/backoffice/steps/<code>.html``, a test.

This module does not import the models: guards read the record's fields and related managers.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from .models import Reclamation


class Step(StrEnum):
    """The state codes, for code that names one step (labels live in the table)."""

    RECEIVED = "received"
    IDENTIFICATION = "identification"
    REFORMULATION = "reformulation"
    ACTION_PROPOSAL = "action_proposal"
    SCHEDULING = "scheduling"
    ACTION = "action"
    FOLLOW_UP = "follow_up"
    CONCLUSION = "conclusion"
    FEEDBACK = "feedback"
    CLOSED = "closed"
    DISCARDED = "discarded"


# Channels through which the complaint arrived in writing: step 3 then asks for a phone call back
# (procedure: "En cas de communication écrite, reprise de contact téléphonique").
WRITTEN_CHANNELS = frozenset({"web_form", "email", "letter", "survey"})

# --- Guards ------------------------------------------------------------------------------------
def _not_applicable(reclamation: Reclamation, step: str) -> bool:
    return bool((reclamation.not_applicable or {}).get(step))


def _missing_received(r: Reclamation) -> list[str]:
    if r.acknowledged_at or _not_applicable(r, Step.RECEIVED):
        return []
    return ["l'accusé de réception envoyé au réclamant"]


def _missing_identification(r: Reclamation) -> list[str]:
    missing = []
    if r.kind != "incident" or r.complainant_name or r.complainant_email:
        # A complainant exists: procedure 2.a asks how to reach them.
        if not r.complainant_name:
            missing.append("le nom du réclamant")
        if not (r.complainant_email or r.complainant_phone or r.complainant_address):
            missing.append("un moyen de contacter le réclamant (courriel, téléphone ou adresse)")
    if not r.service_id:
        missing.append("le service concerné")
    if not r.subject.strip():
        missing.append("l'objet de la réclamation")
    if not r.handler_id:
        missing.append("le responsable du traitement")
    return missing


def _missing_reformulation(r: Reclamation) -> list[str]:
    missing = []
    if not r.reformulation.strip():
        missing.append("la reformulation des points clés")
    needs_call = r.channel in WRITTEN_CHANNELS and not _not_applicable(r, Step.REFORMULATION)
    if needs_call and not r.communications.filter(kind="call").exists():
        missing.append("l'appel au réclamant (ou la raison pour laquelle il n'a pas eu lieu)")
    return missing


def _plan(r: Reclamation) -> list[Any]:
    """The actions not cancelled: from the list the record's page already read
    (``selectors.actions_of``), else from the database (one query)."""
    return [a for a in r.actions.all() if a.status != "cancelled"]


def _missing_action_proposal(r: Reclamation) -> list[str]:
    missing = []
    if not (r.severity and r.complexity and r.repercussions):
        missing.append("l'évaluation (gravité, complexité, répercussions)")
    kinds = {a.kind for a in _plan(r)}
    if "immediate" not in kinds:
        missing.append("une action immédiate pour rechercher la cause")
    if not kinds & {"corrective", "preventive"}:
        missing.append("au moins une action corrective ou préventive au plan d'action")
    return missing


def unscheduled(action: Any) -> bool:
    """An action of the plan still lacking an owner or a due date (step 5 asks for both)."""
    return action.owner_id is None or action.due_date is None


def _missing_scheduling(r: Reclamation) -> list[str]:
    if any(unscheduled(a) for a in _plan(r)):
        return ["un responsable et une échéance pour chaque action du plan"]
    return []


def since_reopening(r: Reclamation, moment: datetime | None) -> bool:
    """True when ``moment`` exists and belongs to the current round of handling.

    A reopened record must be answered, followed up and surveyed again: what was done before the
    reopening stays in the history but no longer completes a step.
    """
    return moment is not None and (r.reopened_at is None or moment >= r.reopened_at)


def _missing_action(r: Reclamation) -> list[str]:
    missing = []
    if any(a.status != "done" for a in _plan(r)):
        missing.append("la réalisation de toutes les actions du plan")
    if _not_applicable(r, Step.ACTION):
        # An incident with nobody to answer: the outcome is still written down.
        if not r.answer.strip():
            missing.append("le compte rendu de la résolution")
    elif not r.decision or not r.answer.strip():
        missing.append("la décision et la réponse argumentée")
    elif not since_reopening(r, r.answered_at):
        missing.append("l'envoi de la réponse argumentée au réclamant")
    return missing


# What informs the client (procedure, step 7: "tenir le client informé … mises à jour régulières"):
# any message sent to them, the argued answer included.
INFORMING_PURPOSES = ("progress", "answer", "information_request", "general")


def _missing_follow_up(r: Reclamation) -> list[str]:
    if _not_applicable(r, Step.FOLLOW_UP):
        return []
    messages = r.communications.filter(direction="outbound", purpose__in=INFORMING_PURPOSES)
    # Only what was said after the reformulation (step 3) of the current round counts.
    reformulated = (r.events.filter(kind="step_completed", data__step=step_number(Step.REFORMULATION))
                    .order_by("-sequence").values_list("created_at", flat=True).first())
    since = max(filter(None, (reformulated, r.reopened_at)), default=None)
    if since is not None:
        messages = messages.filter(occurred_at__gte=since)
    if not messages.exists():
        return ["au moins un message au réclamant après la reformulation (la réponse argumentée compte)"]
    return []


def _missing_conclusion(r: Reclamation) -> list[str]:
    missing = []
    if not r.conclusion.strip():
        missing.append("la conclusion")
    if not r.root_cause_category_id or not r.root_cause_analysis.strip():
        missing.append("la cause racine (catégorie et analyse)")
    if not any(a.kind in ("corrective", "preventive") for a in _plan(r)):
        missing.append("l'action corrective ou préventive retenue")
    return missing


def _missing_feedback(r: Reclamation) -> list[str]:
    if _not_applicable(r, Step.FEEDBACK) or since_reopening(r, r.feedback_received_at) or r.feedback_no_answer:
        return []
    return ["la réponse à l'enquête de satisfaction (ou le constat de non-réponse à l'échéance)"]


# --- The table ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepSpec:
    code: str
    label: str  # staff pages, e-mails to staff, the PDF
    client_label: str  # the follow-up page: plain words, no jargon
    guard: Callable[[Reclamation], list[str]]
    completion: str  # the guard in words, for the procedure section of the evidence pack
    not_applicable: str = ""  # what a recorded "sans objet" reason may replace ("": nothing)
    on_enter: str = ""  # what entering the step does, in the same transaction (services.steps.EFFECTS)
    # What the step's card on the record page holds besides its own form: "plan" (the action plan),
    # "communication" (log a call or letter), "message" (write to the client) or "message_until_done"
    # (write to the client while the step still misses something).
    card: frozenset[str] = frozenset()
    message_purpose: str = ""  # the message the card's form starts from (Communication.Purpose)
    # What, once it has happened, completes the step by itself (its guard met without the handler's
    # click), as the history says it: « Étape 1 terminée automatiquement : accusé de réception envoyé ».
    # "": the handler completes the step (or "Enregistrer et terminer l'étape").
    automatic: str = ""

    @property
    def template(self) -> str:
        return f"backoffice/steps/{self.code}.html"


STEPS: tuple[StepSpec, ...] = (
    StepSpec(
        Step.RECEIVED, "Prise en compte", "Votre demande est reçue", _missing_received,
        "L'accusé de réception a été envoyé au réclamant (automatique pour le formulaire Contact).",
        not_applicable="l'accusé de réception",
        card=frozenset({"message_until_done"}), message_purpose="acknowledgement",
        automatic="accusé de réception envoyé",
    ),
    StepSpec(
        Step.IDENTIFICATION, "Identification", "Nous identifions votre demande", _missing_identification,
        "Le réclamant est identifié (nom et un moyen de le joindre, sauf aléa sans réclamant), ainsi que le "
        "service concerné, l'objet et le responsable du traitement.",
    ),
    StepSpec(
        Step.REFORMULATION, "Reformulation et contact", "Nous reprenons contact avec vous", _missing_reformulation,
        "Les points clés sont reformulés ; pour une demande écrite, le rappel téléphonique du réclamant est "
        "enregistré.",
        not_applicable="l'appel au réclamant", card=frozenset({"communication"}),
    ),
    StepSpec(
        Step.ACTION_PROPOSAL, "Proposition d'action", "Nous recherchons la cause et les actions",
        _missing_action_proposal,
        "L'évaluation (gravité, complexité, répercussions) donne la priorité ; une action immédiate de "
        "recherche de la cause et au moins une action corrective ou préventive sont au plan d'action.",
        card=frozenset({"plan"}),
    ),
    StepSpec(
        Step.SCHEDULING, "Fixation d'échéances", "Nous fixons les échéances", _missing_scheduling,
        "Chaque action du plan a un responsable et une échéance.",
        card=frozenset({"plan"}), automatic="chaque action du plan a déjà un responsable et une échéance",
    ),
    StepSpec(
        Step.ACTION, "Action concrète", "Nous mettons en œuvre les actions", _missing_action,
        "Toutes les actions sont réalisées ou annulées ; la décision et la réponse argumentée (favorable, "
        "partielle ou défavorable) sont envoyées au réclamant, avec le dédommagement éventuel.",
        not_applicable="l'envoi de la réponse au réclamant", card=frozenset({"plan"}),
    ),
    StepSpec(
        Step.FOLLOW_UP, "Information du suivi", "Nous vous tenons informé(e)", _missing_follow_up,
        "Le réclamant a été tenu informé après la reformulation : la réponse argumentée envoyée à l'étape 6 "
        "compte, comme tout point d'avancement ou autre message.",
        not_applicable="l'information du réclamant",
        card=frozenset({"message_until_done", "communication"}), message_purpose="progress",
        automatic="réclamant déjà informé après la reformulation (la réponse argumentée compte)",
    ),
    StepSpec(
        Step.CONCLUSION, "Conclusion et propositions", "Nous concluons le traitement", _missing_conclusion,
        "La conclusion, la cause racine (catégorie et analyse) et l'action corrective ou préventive retenue "
        "sont enregistrées ; une offre complémentaire peut être notée.",
    ),
    StepSpec(
        Step.FEEDBACK, "Collecte de feedback", "Nous recueillons votre avis", _missing_feedback,
        "Le réclamant a répondu à l'enquête de satisfaction, ou l'absence de réponse est constatée à "
        "l'échéance.",
        not_applicable="l'enquête de satisfaction", on_enter="survey",
        card=frozenset({"message_until_done"}), message_purpose="closure",
        automatic="avis du client recueilli",
    ),
)

# The states after the last step; completing the last step closes the record, which does ON_CLOSE.
TERMINAL_LABELS: dict[str, tuple[str, str]] = {  # code: (label, client label)
    Step.CLOSED: ("Clôturée", "Traitement terminé"),
    Step.DISCARDED: ("Classée sans suite", "Classée sans suite"),
}
ON_CLOSE = "closure_notice"


class Workflow:
    """The rules a table of steps implies: order, numbers, labels, guards."""

    def __init__(self, steps: Iterable[StepSpec]) -> None:
        self.steps: tuple[StepSpec, ...] = tuple(steps)
        self.by_code: dict[str, StepSpec] = {spec.code: spec for spec in self.steps}
        self.open_steps: tuple[str, ...] = tuple(spec.code for spec in self.steps)

    def spec(self, state: str) -> StepSpec | None:
        return self.by_code.get(state)

    def number(self, state: str) -> int:
        """1 to N for the steps, N + 1 once closed, 0 when discarded."""
        if state == Step.CLOSED:
            return len(self.steps) + 1
        if state == Step.DISCARDED:
            return 0
        return self.open_steps.index(state) + 1

    def next_step(self, state: str) -> str:
        index = self.open_steps.index(state)
        return self.open_steps[index + 1] if index + 1 < len(self.open_steps) else Step.CLOSED.value

    def label(self, state: str) -> str:
        spec = self.by_code.get(state)
        return spec.label if spec else TERMINAL_LABELS[state][0]

    def client_label(self, state: str) -> str:
        spec = self.by_code.get(state)
        return spec.client_label if spec else TERMINAL_LABELS[state][1]

    def missing_for(self, reclamation: Reclamation) -> list[str]:
        spec = self.by_code.get(reclamation.state)
        return spec.guard(reclamation) if spec else []


# The application's workflow. Functions below read it when called, so a test may put another table
# in its place (tests/test_workflow_table.py adds a tenth step).
WORKFLOW = Workflow(STEPS)

# Shorthands of the table for the common reads (the application's nine steps).
OPEN_STEPS: tuple[str, ...] = WORKFLOW.open_steps
TERMINAL_STEPS: tuple[str, ...] = (Step.CLOSED.value, Step.DISCARDED.value)
NOT_APPLICABLE_PARTS: dict[str, str] = {spec.code: spec.not_applicable for spec in STEPS if spec.not_applicable}


def steps() -> tuple[StepSpec, ...]:
    return WORKFLOW.steps


def step_spec(state: str) -> StepSpec | None:
    return WORKFLOW.spec(state)


def step_count() -> int:
    return len(WORKFLOW.steps)


def step_number(state: str) -> int:
    """1 to 9 for the open steps, 10 once closed, 0 when discarded."""
    return WORKFLOW.number(state)


def next_step(state: str) -> str:
    return WORKFLOW.next_step(state)


def is_step(state: str) -> bool:
    return state in WORKFLOW.by_code


def step_label(state: str) -> str:
    return WORKFLOW.label(state)


def client_label(state: str) -> str:
    return WORKFLOW.client_label(state)


def state_choices() -> list[tuple[str, str]]:
    """(code, label) of every state: the steps, then closed and discarded."""
    return [(spec.code, spec.label) for spec in WORKFLOW.steps] + [
        (code, labels[0]) for code, labels in TERMINAL_LABELS.items()]


def step_phrase(state: str) -> str:
    """« l'étape 6 (Action concrète) », for messages that name where something happens."""
    return f"l'étape {step_number(state)} ({step_label(state)})"


@dataclass(frozen=True)
class StepProgress:
    """One step as a progress bar shows it (the record's page, the client's follow-up page)."""

    number: int
    code: str
    label: str
    client_label: str
    status: str  # "done", "current" or "todo"
    not_applicable: str = ""  # the reason recorded when part of the step was declared sans objet

    @property
    def status_label(self) -> str:
        return {"done": "terminée", "current": "en cours", "todo": "à venir"}[self.status]


def progress(state: str, not_applicable: dict[str, str] | None = None) -> list[StepProgress]:
    """Every step, done, current or to come, for a record in ``state`` (all to come once discarded)."""
    current = step_number(state)
    declared = not_applicable or {}
    return [
        StepProgress(
            number, spec.code, spec.label, spec.client_label,
            "done" if number < current else "current" if number == current else "todo",
            str(declared.get(spec.code, "")),
        )
        for number, spec in enumerate(steps(), start=1)
    ]


def has_discard_reason(reclamation: Reclamation) -> bool:
    return bool(reclamation.discard_reason.strip())


def missing_for(reclamation: Reclamation) -> list[str]:
    """What the current step still needs; empty when it may complete (or the record is not open)."""
    return WORKFLOW.missing_for(reclamation)


def can_complete(reclamation: Reclamation) -> bool:
    """The django-fsm condition of the step transition: a step in progress, nothing missing."""
    return is_step(reclamation.state) and not missing_for(reclamation)


def refusal_message(state: str, missing: list[str]) -> str:
    """``Pour terminer l'étape 3 (Reformulation et contact), enregistrez la reformulation…``"""
    items = ", ".join(missing[:-1]) + " et " + missing[-1] if len(missing) > 1 else missing[0]
    return f"Pour terminer l'étape {step_number(state)} ({step_label(state)}), enregistrez {items}."
