"""The nine steps of the procedure: states, their order, and what each needs before it completes.

The state of a record is the step *in progress*. Each guard returns the list of what is missing
(French, for the handler); an empty list means the step may complete. The transitions themselves
are django-fsm methods on ``Reclamation`` whose condition is :func:`can_complete`, so neither a view,
nor the admin, nor a script can move a record past a step whose data is not there.

This module does not import the models: guards read the record's fields and related managers.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from datetime import datetime

    from .models import Reclamation


class Step(models.TextChoices):
    RECEIVED = "received", "Prise en compte"
    IDENTIFICATION = "identification", "Identification"
    REFORMULATION = "reformulation", "Reformulation et contact"
    ACTION_PROPOSAL = "action_proposal", "Proposition d'action"
    SCHEDULING = "scheduling", "Fixation d'échéances"
    ACTION = "action", "Action concrète"
    FOLLOW_UP = "follow_up", "Information du suivi"
    CONCLUSION = "conclusion", "Conclusion et propositions"
    FEEDBACK = "feedback", "Collecte de feedback"
    CLOSED = "closed", "Clôturée"
    DISCARDED = "discarded", "Classée sans suite"


# The nine steps in the order of the procedure; CLOSED follows the last one.
NINE_STEPS: tuple[Step, ...] = (
    Step.RECEIVED,
    Step.IDENTIFICATION,
    Step.REFORMULATION,
    Step.ACTION_PROPOSAL,
    Step.SCHEDULING,
    Step.ACTION,
    Step.FOLLOW_UP,
    Step.CONCLUSION,
    Step.FEEDBACK,
)
OPEN_STEPS: tuple[str, ...] = tuple(s.value for s in NINE_STEPS)
TERMINAL_STEPS: tuple[str, ...] = (Step.CLOSED.value, Step.DISCARDED.value)

# What the client reads on the follow-up page for each state (plain words, no jargon).
CLIENT_LABELS: dict[str, str] = {
    Step.RECEIVED: "Votre demande est reçue",
    Step.IDENTIFICATION: "Nous identifions votre demande",
    Step.REFORMULATION: "Nous reprenons contact avec vous",
    Step.ACTION_PROPOSAL: "Nous recherchons la cause et les actions",
    Step.SCHEDULING: "Nous fixons les échéances",
    Step.ACTION: "Nous mettons en œuvre les actions",
    Step.FOLLOW_UP: "Nous vous tenons informé(e)",
    Step.CONCLUSION: "Nous concluons le traitement",
    Step.FEEDBACK: "Nous recueillons votre avis",
    Step.CLOSED: "Traitement terminé",
    Step.DISCARDED: "Classée sans suite",
}

# Channels through which the complaint arrived in writing: step 3 then asks for a phone call back
# (procedure: "En cas de communication écrite, reprise de contact téléphonique").
WRITTEN_CHANNELS = frozenset({"web_form", "email", "letter", "survey"})

# Steps that may be declared "sans objet" with a reason, and what the reason replaces. Only the
# parts that need the client can be: an incident (aléa) may have nobody to call or inform.
NOT_APPLICABLE_PARTS: dict[str, str] = {
    Step.RECEIVED: "l'accusé de réception",
    Step.REFORMULATION: "l'appel au réclamant",
    Step.ACTION: "l'envoi de la réponse au réclamant",
    Step.FOLLOW_UP: "l'information du réclamant",
    Step.FEEDBACK: "l'enquête de satisfaction",
}


def step_number(state: str) -> int:
    """1 to 9 for the open steps, 10 once closed, 0 when discarded."""
    if state == Step.CLOSED:
        return 10
    if state == Step.DISCARDED:
        return 0
    return OPEN_STEPS.index(state) + 1


def next_step(state: str) -> str:
    index = OPEN_STEPS.index(state)
    return OPEN_STEPS[index + 1] if index + 1 < len(OPEN_STEPS) else Step.CLOSED.value


def step_label(state: str) -> str:
    return Step(state).label


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


def _missing_scheduling(r: Reclamation) -> list[str]:
    if any(a.owner_id is None or a.due_date is None for a in _plan(r)):
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


def _missing_follow_up(r: Reclamation) -> list[str]:
    if _not_applicable(r, Step.FOLLOW_UP):
        return []
    updates = r.communications.filter(purpose="progress", direction="outbound")
    if r.reopened_at:
        updates = updates.filter(occurred_at__gte=r.reopened_at)
    if not updates.exists():
        return ["au moins un point d'avancement envoyé au réclamant"]
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


GUARDS: dict[str, Callable[[Reclamation], list[str]]] = {
    Step.RECEIVED: _missing_received,
    Step.IDENTIFICATION: _missing_identification,
    Step.REFORMULATION: _missing_reformulation,
    Step.ACTION_PROPOSAL: _missing_action_proposal,
    Step.SCHEDULING: _missing_scheduling,
    Step.ACTION: _missing_action,
    Step.FOLLOW_UP: _missing_follow_up,
    Step.CONCLUSION: _missing_conclusion,
    Step.FEEDBACK: _missing_feedback,
}


def has_discard_reason(reclamation: Reclamation) -> bool:
    return bool(reclamation.discard_reason.strip())


def missing_for(reclamation: Reclamation) -> list[str]:
    """What the current step still needs; empty when it may complete (or the record is not open)."""
    guard = GUARDS.get(reclamation.state)
    return guard(reclamation) if guard else []


def can_complete(reclamation: Reclamation) -> bool:
    """The django-fsm condition shared by the nine step transitions."""
    return not missing_for(reclamation)


def refusal_message(state: str, missing: list[str]) -> str:
    """``Pour terminer l'étape 3, enregistrez la reformulation des points clés et l'appel...``"""
    items = ", ".join(missing[:-1]) + " et " + missing[-1] if len(missing) > 1 else missing[0]
    return f"Pour terminer l'étape {step_number(state)} ({step_label(state)}), enregistrez {items}."
