"""Building a record's page: header, nine-step progress bar, the current step's forms, timeline.

Shared by the GET view and by every POST view that re-renders the page (invalid form, refused step
completion, stale page), so the page always shows the same things in the same places.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django import forms as django_forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from ... import permissions, roles, selectors, workflow
from ...forms import backoffice as bo_forms
from ...models import Action, ActionStatus, Attachment, Communication, CommunicationKind, Reclamation
from ...services.messages import MESSAGE_PURPOSES, prefilled_message
from ...workflow import Step

EVERY_EXCHANGE = "tout"  # ?conversation=tout: the whole thread


@dataclass
class ActionRow:
    action: Action
    form: django_forms.Form | None  # None while folded: fetched when opened (``unfolded``)
    open: bool
    quick_done: bool = False
    editable: bool = False

    @property
    def name(self) -> str:
        return f"action-{self.action.pk}"


def action_initial(action: Action) -> dict[str, Any]:
    return {"description": action.description, "kind": action.kind, "owner": action.owner_id,
            "due_date": action.due_date, "status": action.status, "done_at": action.done_at,
            "result": action.result}


def _action_rows(
    reclamation: Reclamation, actions: list[Action], bound: dict[str, Any], editable: bool,
    staff: Sequence[Any] | None = None, unfolded: frozenset[str] = frozenset(),
) -> list[ActionRow]:
    rows = []
    for action in actions:
        prefix = f"action-{action.pk}"
        if not editable:
            rows.append(ActionRow(action, None, False))
            continue
        unfinished = action.status not in (ActionStatus.DONE, ActionStatus.CANCELLED)
        # Step 5 opens the actions still lacking an owner or a due date; step 6 offers a one-click
        # "done" instead (the full form stays folded).
        needs_work = (
            (reclamation.state == Step.SCHEDULING and unfinished and workflow.unscheduled(action))
            or prefix in bound
        )
        form = None
        if needs_work or prefix in unfolded:
            form = bound.get(prefix) or bo_forms.ActionForm(prefix=prefix, initial=action_initial(action),
                                                            staff=staff)
        rows.append(ActionRow(action, form, needs_work or prefix in unfolded,
                              quick_done=reclamation.state == Step.ACTION and unfinished, editable=True))
    return rows


def _message_form(
    request: HttpRequest, reclamation: Reclamation, bound: dict[str, Any], files: Sequence[Attachment] = ()
) -> django_forms.Form:
    if "message" in bound:
        return bound["message"]
    purpose = request.GET.get("modele")
    if purpose not in MESSAGE_PURPOSES:
        spec = workflow.step_spec(reclamation.state)
        # The message the step usually asks for; the handler can pick another starting text.
        purpose = (spec.message_purpose if spec else "") or Communication.Purpose.INFORMATION_REQUEST
    subject, body = prefilled_message(reclamation, purpose)
    return bo_forms.MessageForm(prefix="message", initial={"purpose": purpose, "subject": subject, "body": body},
                                record_files=files)


class LazyForms(dict):
    """The page's forms, each built the first time the template asks for it (``forms.answer``).

    A step shows a few of the sixteen; building them all (model forms, prefilled messages, lists
    of colleagues) cost as much as rendering the ones shown.
    """

    def __init__(self, factories: dict[str, Any]) -> None:
        super().__init__()
        self.factories = factories

    def __missing__(self, name: str) -> Any:
        form = self[name] = self.factories[name]()
        return form


def _forms(
    request: HttpRequest, r: Reclamation, bound: dict[str, Any], staff: Sequence[Any] | None = None,
    files: Sequence[Attachment] = (),
) -> LazyForms:
    """Every form the page may show, unbound and prefilled unless a bound one is being re-shown."""

    def get(name: str, factory: Any) -> Any:
        return lambda: bound.get(name) or factory()

    def answer() -> bo_forms.AnswerForm:
        answer_initial = {}
        if not r.answer:
            answer_initial["answer"] = prefilled_message(r, Communication.Purpose.ANSWER)[1]
        return bo_forms.AnswerForm(prefix="answer", instance=copy.copy(r), initial=answer_initial,
                                   record_files=files)

    communication_initial: dict[str, Any] = {}
    if r.state == Step.FOLLOW_UP:
        communication_initial["purpose"] = Communication.Purpose.PROGRESS
    elif r.state == Step.REFORMULATION:
        communication_initial["kind"] = CommunicationKind.CALL
    return LazyForms({
        "acknowledgement": get("acknowledgement", lambda: bo_forms.AcknowledgementForm(prefix="acknowledgement")),
        "not_applicable": get("not_applicable", lambda: bo_forms.NotApplicableForm(prefix="not_applicable")),
        "assign": get("assign", lambda: bo_forms.AssignForm(
            prefix="assign", initial={"handler": r.handler_id or request.user.pk}, staff=staff)),
        "identification": get("identification", lambda: bo_forms.IdentificationForm(
            prefix="identification", instance=copy.copy(r))),
        "reformulation": get("reformulation", lambda: bo_forms.ReformulationForm(
            prefix="reformulation", instance=copy.copy(r))),
        "communication": get("communication", lambda: bo_forms.CommunicationForm(
            prefix="communication", initial=communication_initial)),
        "evaluation": get("evaluation", lambda: bo_forms.EvaluationForm(prefix="evaluation", instance=copy.copy(r))),
        "action_add": get("action_add", lambda: bo_forms.ActionAddForm(prefix="action_add", staff=staff)),
        "answer": get("answer", answer),
        "conclusion": get("conclusion", lambda: bo_forms.ConclusionForm(prefix="conclusion", instance=copy.copy(r))),
        "feedback": get("feedback", lambda: bo_forms.FeedbackForm(prefix="feedback")),
        "message": lambda: _message_form(request, r, bound, files),
        "discard": get("discard", lambda: bo_forms.DiscardForm(prefix="discard")),
        "reopen": get("reopen", lambda: bo_forms.ReopenForm(prefix="reopen")),
        "received_at": get("received_at", lambda: bo_forms.ReceivedAtForm(prefix="received_at")),
        "attachment": get("attachment", lambda: bo_forms.AttachmentForm(prefix="attachment")),
    })


def detail_context(
    request: HttpRequest,
    reclamation: Reclamation,
    *,
    bound: dict[str, Any] | None = None,
    refusal: str = "",
    error: str = "",
    kept: dict[str, Any] | None = None,
) -> dict[str, Any]:
    r = reclamation
    bound = bound or {}
    user = request.user
    can_change = permissions.can_change(user, r)
    actions = selectors.actions_of(r)
    # The colleagues listed by every action's form and by the "add" and "assign" forms: read once,
    # when the first of them is built.
    staff = SimpleLazyObject(lambda: list(selectors.staff_handlers())) if can_change else None
    # Folded forms ("Autres actions", each action's edit form) are not rendered with the page: the
    # browser fetches one when its <details> is opened (htmx, ``?formulaire=<name>``), or, without
    # JavaScript, a link reloads the page with it open. A form shown again with its errors is open.
    unfolded = frozenset(request.GET.getlist("formulaire")) | frozenset(bound)
    spec = workflow.step_spec(r.state)
    card = spec.card if spec else frozenset()
    missing = r.missing_for_current_step() if spec else []
    not_applicable_part = spec.not_applicable if spec else ""
    if r.state == Step.REFORMULATION and r.channel not in workflow.WRITTEN_CHANNELS:
        not_applicable_part = ""  # no call back is asked for a complaint received orally
    # The newest exchanges; every one with ?conversation=tout ("Afficher les … plus anciens").
    everything = request.GET.get("conversation") == EVERY_EXCHANGE
    thread = selectors.conversation(r, newest_first=selectors.conversation_newest_first(user),
                                    limit=None if everything else selectors.CONVERSATION_SHOWN)
    return {
        "reclamation": r,
        "nav": "list",
        "steps": workflow.progress(r.state, r.not_applicable),
        "missing": missing,
        "refusal": refusal,
        "error": error,
        "kept": kept,  # a refused form that no card of this step shows: shown under the error
        "can_change": can_change,
        "change_denial": permissions.change_denial(user, r) or "",
        "can_reassign": permissions.can_reassign(user, r),
        "is_quality_lead": roles.is_quality_lead(user),
        "forms": _forms(request, r, bound, staff, thread.files) if can_change else {},
        "bound": set(bound),
        "unfolded": unfolded,
        "actions": actions,
        "action_rows": _action_rows(r, actions, bound, editable=can_change and r.is_open, staff=staff,
                                    unfolded=unfolded),
        "not_applicable_part": not_applicable_part,
        # What the step's card holds (workflow.STEPS) is not repeated under "Autres actions".
        "message_in_step": "message" in card or ("message_until_done" in card and bool(missing)),
        "communication_in_step": "communication" in card,
        "plan_in_step": can_change and "plan" in card,
        "answer_sent": workflow.since_reopening(r, r.answered_at),
        "message_purposes": [(p, Communication.Purpose(p).label) for p in MESSAGE_PURPOSES],
        "conversation": thread,
        "history": selectors.history(r),
        "anomalies": selectors.anomalies(r),
        # Which tab shows first: plain links work without JavaScript (backoffice.js switches in place).
        "history_tab": request.GET.get("onglet") == "historique",
        "today": timezone.localdate(),
        "step_template": spec.template if spec else "",
    }


def detail_response(
    request: HttpRequest,
    reclamation: Reclamation,
    *,
    bound: dict[str, Any] | None = None,
    refusal: str = "",
    error: str = "",
    status: int = 200,
    kept: dict[str, Any] | None = None,
) -> HttpResponse:
    context = detail_context(request, reclamation, bound=bound, refusal=refusal, error=error, kept=kept)
    return render(request, "backoffice/detail.html", context, status=status)
