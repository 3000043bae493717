"""What a handler records on a record, step by step: one small POST view per form.

Each view is wrapped by :func:`record_action`: staff only, the record's object-level permission,
and the step the handler saw (hidden ``expected_state``) still being the record's step. The form
checks input, a service makes the change and its event; a refusal is shown next to the form on the
re-rendered page (200), a stale page gets 409 and the page as it is now. Success redirects back to
the record (post/redirect/get).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from ... import permissions, selectors, services, workflow
from ...forms import backoffice as bo_forms
from ...models import Action, Reclamation
from ...services.messages import NO_EMAIL_WARNING
from ...workflow import Step
from .detail import action_initial, detail_response

STALE = "Cette réclamation a changé entre-temps. Voici la situation à jour : vérifiez-la avant de recommencer."

RecordView = Callable[..., HttpResponse]


def record_action(view: RecordView) -> RecordView:
    """POST only, staff only, allowed to change this record, and the page was not stale."""

    @require_POST
    @permissions.staff_required
    @wraps(view)
    def wrapped(request: HttpRequest, pk: int, **kwargs: Any) -> HttpResponse:
        try:
            reclamation = selectors.reclamation_for_detail(pk)
        except Reclamation.DoesNotExist as exc:
            raise Http404("Réclamation introuvable.") from exc
        if denial := permissions.change_denial(request.user, reclamation):
            return permissions.forbidden(request, denial)
        if request.POST.get("expected_state") != reclamation.state:
            return detail_response(request, reclamation, error=STALE, status=409)
        return view(request, reclamation, **kwargs)

    return wrapped


# The step whose card shows each step form (templates/backoffice/steps/).
_CARD_STEPS = {"reformulation": Step.REFORMULATION, "evaluation": Step.ACTION_PROPOSAL,
               "action_add": Step.ACTION_PROPOSAL, "answer": Step.ACTION, "conclusion": Step.CONCLUSION,
               "feedback": Step.FEEDBACK}


def _card_step(name: str) -> int:
    return workflow.step_number(_CARD_STEPS[name]) if name in _CARD_STEPS else 0


def _back(reclamation: Reclamation, anchor: str = "etape") -> HttpResponse:
    return redirect(reverse("backoffice:detail", args=[reclamation.pk]) + f"#{anchor}")


def _add_errors(form: django_forms.Form, exc: Exception) -> None:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    elif isinstance(exc, ValidationError):
        form.add_error(None, exc.messages)
    else:
        form.add_error(None, str(exc))


def _run(
    request: HttpRequest,
    reclamation: Reclamation,
    name: str,
    form: django_forms.Form,
    change: Callable[[dict[str, Any]], str],
    *,
    anchor: str = "etape",
    complete: bool = False,
) -> HttpResponse:
    """Validate ``form``, call ``change`` (a service call returning the success message), answer.

    ``complete``: the handler pressed "Enregistrer et terminer l'étape": the step completes too when
    its guard allows; otherwise the data is saved and the page says what is still missing.
    """
    if not form.is_valid():
        return detail_response(request, reclamation, bound={name: form})
    state = reclamation.state
    said: list[str] = []
    try:
        # One form, one outcome: when a change makes several service calls (save the answer, then
        # send it), a refusal of the last one must not leave the first one saved, nor its files.
        with services.atomic_with_uploads():
            if complete:
                outcome = services.reclamation_save_and_complete_step(
                    reclamation=reclamation, actor=request.user, expected_state=state,
                    save=lambda _r: said.append(change(form.cleaned_data)))
            else:
                said.append(change(form.cleaned_data))
    except services.StaleState as exc:
        fresh = selectors.reclamation_for_detail(reclamation.pk)
        return detail_response(request, fresh, error=str(exc), status=409)
    except (services.WorkflowError, ValidationError) as exc:
        _add_errors(form, exc)
        fresh = selectors.reclamation_for_detail(reclamation.pk)
        # A closed or discarded record shows no step form: say it at the top of the page instead.
        error = "" if fresh.is_open else "; ".join(form.non_field_errors())
        kept = None
        if fresh.is_open and _card_step(name) > fresh.step_number:
            # A later step's form (posted from a stale or forged page) is not on this step's card:
            # the message goes on top, with the form as it was typed, so nothing is lost.
            error = "; ".join(form.non_field_errors())
            kept = {"form": form, "action": reverse(f"backoffice:{name}", args=[reclamation.pk])}
        return detail_response(request, fresh, bound={name: form}, error=error, kept=kept)
    message = " ".join(m for m in said if m and m != "Aucune modification.")
    if complete and not outcome.completed:
        # Saved, but the step asks for more: the guard's message next to the step, the data kept.
        if message:
            messages.success(request, message)
        return detail_response(request, selectors.reclamation_for_detail(reclamation.pk), refusal=outcome.refusal)
    if complete:
        message = f"{message} {_completed_message(state, outcome.reclamation)}".strip()
    elif not message and said:
        message = said[0]
    if message:
        messages.success(request, message)
    return _back(reclamation, anchor)


def _completed_message(state: str, reclamation: Reclamation) -> str:
    """« Étape 6 (Action concrète) terminée. », and the steps that completed by themselves after it."""
    text = f"Étape {workflow.step_number(state)} ({workflow.step_label(state)}) terminée."
    skipped = workflow.step_number(reclamation.state) - workflow.step_number(state) - 1
    if reclamation.state == Step.CLOSED:
        text += " La réclamation est clôturée."
    if skipped > 0:
        text += (f" {'Les étapes suivantes étaient' if skipped > 1 else 'L’étape suivante était'} déjà "
                 f"remplie{'s' if skipped > 1 else ''} : terminée{'s' if skipped > 1 else ''} automatiquement.")
    return text


def _wants_completion(request: HttpRequest) -> bool:
    """The "Enregistrer et terminer l'étape" button (``terminer``) rather than "Enregistrer"."""
    return bool(request.POST.get("terminer"))


# --- Completing the step in progress ---------------------------------------------------------------
@record_action
def complete_step(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    state = reclamation.state
    try:
        services.reclamation_complete_step(reclamation=reclamation, actor=request.user, expected_state=state)
    except services.StepIncomplete as exc:
        return detail_response(request, reclamation, refusal=str(exc))
    except services.StaleState as exc:
        return detail_response(request, selectors.reclamation_for_detail(reclamation.pk), error=str(exc),
                               status=409)
    except services.WorkflowError as exc:
        return detail_response(request, reclamation, refusal=str(exc))
    messages.success(request, _completed_message(state, selectors.reclamation_for_detail(reclamation.pk)))
    return _back(reclamation)


# --- Step 1 ----------------------------------------------------------------------------------------
@record_action
def acknowledgement(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    form = bo_forms.AcknowledgementForm(request.POST, prefix="acknowledgement")

    def change(data: dict[str, Any]) -> str:
        recorded = services.reclamation_record_acknowledgement(
            reclamation=reclamation, actor=request.user, sent_at=data["sent_at"], means=data["means"])
        if not recorded:
            return "L'accusé de réception était déjà enregistré."
        # Step 1 asks for nothing else: recording it completed the step (workflow.STEPS, automatic).
        return "Accusé de réception enregistré ; étape 1 terminée automatiquement."

    return _run(request, reclamation, "acknowledgement", form, change)


@record_action
def not_applicable(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    form = bo_forms.NotApplicableForm(request.POST, prefix="not_applicable")

    def change(data: dict[str, Any]) -> str:
        services.reclamation_mark_not_applicable(
            reclamation=reclamation, actor=request.user, step=reclamation.state, reason=data["reason"])
        part = workflow.NOT_APPLICABLE_PARTS.get(reclamation.state, "cette partie de l'étape")
        return f"Sans objet enregistré pour {part}."

    return _run(request, reclamation, "not_applicable", form, change)


# --- Step 2 ----------------------------------------------------------------------------------------
def _assign(request: HttpRequest, reclamation: Reclamation, handler: Any, note: str = "") -> str:
    services.reclamation_assign(reclamation=reclamation, actor=request.user, handler=handler,
                                expected_state=reclamation.state, note=note)
    if handler.pk == request.user.pk:
        return "Vous êtes le responsable du traitement de cette réclamation."
    return f"Réclamation confiée à {handler.get_full_name() or handler.get_username()}."


@record_action
def assign(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    form = bo_forms.AssignForm(request.POST, prefix="assign")
    denial = form.is_valid() and permissions.assign_denial(request.user, reclamation, form.cleaned_data["handler"])
    if denial:
        return permissions.forbidden(request, denial)
    if form.is_valid() and form.cleaned_data["handler"].pk == reclamation.handler_id and form.cleaned_data["note"]:
        # A hand-over note to the person who already holds the record would go nowhere, silently:
        # refuse it, so that the note comes back with the form and a colleague can be chosen.
        name = reclamation.handler.get_full_name() or reclamation.handler.get_username()
        form.add_error("handler", f"{name} est déjà responsable du traitement : choisissez le collègue à qui "
                                  "confier la réclamation.")
    return _run(request, reclamation, "assign", form,
                lambda data: _assign(request, reclamation, data["handler"], data["note"]))


@record_action
def self_assign(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    if denial := permissions.assign_denial(request.user, reclamation, request.user):
        return permissions.forbidden(request, denial)
    try:
        message = _assign(request, reclamation, request.user)
    except services.StaleState as exc:
        return detail_response(request, selectors.reclamation_for_detail(reclamation.pk), error=str(exc),
                               status=409)
    except services.WorkflowError as exc:
        return detail_response(request, reclamation, error=str(exc))
    messages.success(request, message)
    return _back(reclamation)


def _update(request: HttpRequest, reclamation: Reclamation, changes: dict[str, Any], what: str) -> str:
    if not changes:
        return "Aucune modification."
    services.reclamation_update(reclamation=reclamation, actor=request.user, changes=changes,
                                expected_state=reclamation.state)
    return f"{what} enregistrée."


@record_action
def identification(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    form = bo_forms.IdentificationForm(request.POST, prefix="identification", instance=_copy(reclamation))
    # "Prendre en charge, enregistrer et terminer l'étape 2": one click for a record nobody holds yet.
    take_charge = request.POST.get("terminer") == "prendre" and not reclamation.handler_id
    if take_charge and (denial := permissions.assign_denial(request.user, reclamation, request.user)):
        return permissions.forbidden(request, denial)

    def change(data: dict[str, Any]) -> str:
        said = [_assign(request, reclamation, request.user)] if take_charge else []
        saved = _update(request, reclamation, form.changes(), "Identification")
        return " ".join(said + ([saved] if saved != "Aucune modification." or not said else []))

    return _run(request, reclamation, "identification", form, change, complete=_wants_completion(request))


def _copy(reclamation: Reclamation) -> Reclamation:
    # Model forms write into their instance while validating: never into the one the page shows.
    return selectors.reclamation_for_detail(reclamation.pk)


# --- Step 3 ----------------------------------------------------------------------------------------
@record_action
def reformulation(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    form = bo_forms.ReformulationForm(request.POST, prefix="reformulation", instance=_copy(reclamation))
    return _run(request, reclamation, "reformulation", form,
                lambda data: _update(request, reclamation, form.changes(), "Reformulation"),
                complete=_wants_completion(request))


@record_action
def communication(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    form = bo_forms.CommunicationForm(request.POST, prefix="communication")

    def change(data: dict[str, Any]) -> str:
        logged = services.reclamation_log_communication(
            reclamation=reclamation, actor=request.user, kind=data["kind"], direction=data["direction"],
            purpose=data["purpose"], public=data["public"], occurred_at=data["occurred_at"],
            duration_minutes=data["duration_minutes"], body=data["body"],
        )
        return f"{logged.get_kind_display()} consigné(e) dans l'historique."

    return _run(request, reclamation, "communication", form, change, anchor="historique")


# --- Step 4 to 6: evaluation and action plan ---------------------------------------------------------
@record_action
def evaluation(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    form = bo_forms.EvaluationForm(request.POST, prefix="evaluation", instance=_copy(reclamation))

    def change(data: dict[str, Any]) -> str:
        if not form.changes():
            return "Aucune modification."
        updated = services.reclamation_update(reclamation=reclamation, actor=request.user, changes=form.changes(),
                                              expected_state=reclamation.state)
        return f"Évaluation enregistrée : priorité {updated.get_priority_display().lower()}."

    return _run(request, reclamation, "evaluation", form, change, complete=_wants_completion(request))


@record_action
def action_add(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    form = bo_forms.ActionAddForm(request.POST, prefix="action_add")

    def change(data: dict[str, Any]) -> str:
        services.reclamation_add_action(reclamation=reclamation, actor=request.user, description=data["description"],
                                        kind=data["kind"], owner=data["owner"], due_date=data["due_date"],
                                        past_due_confirmed=data["confirm_past_due"])
        return "Action ajoutée au plan d'action."

    return _run(request, reclamation, "action_add", form, change, anchor="plan")


@record_action
def action_update(request: HttpRequest, reclamation: Reclamation, action_pk: int) -> HttpResponse:
    action = get_object_or_404(Action, pk=action_pk, reclamation=reclamation)
    prefix = f"action-{action.pk}"
    # Fields not sent keep their value, so that a one-field form ("Marquer réalisée") is enough.
    data = QueryDict(mutable=True)
    for name, value in action_initial(action).items():
        data[f"{prefix}-{name}"] = "" if value is None else str(value)
    for key in request.POST:
        data.setlist(key, request.POST.getlist(key))
    form = bo_forms.ActionForm(data, prefix=prefix)

    def change(data: dict[str, Any]) -> str:
        changes = {name: data[name] for name in services.ACTION_FIELDS if name in data}
        services.reclamation_update_action(action=action, actor=request.user, changes=changes,
                                           past_due_confirmed=data["confirm_past_due"])
        return "Action mise à jour."

    return _run(request, reclamation, prefix, form, change, anchor="plan")


@record_action
def answer(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    """Save the argued answer, and send it when the handler pressed "Enregistrer et envoyer"."""
    form = bo_forms.AnswerForm(request.POST, request.FILES, prefix="answer", instance=_copy(reclamation),
                               record_files=selectors.record_files(reclamation))
    # "Enregistrer et envoyer" (1), or the same and "terminer l'étape 6" when its guard allows.
    send = request.POST.get("send") in ("1", "terminer")

    def change(data: dict[str, Any]) -> str:
        updated = reclamation
        if changes := form.answer_changes():
            updated = services.reclamation_update(reclamation=reclamation, actor=request.user, changes=changes,
                                                  expected_state=reclamation.state)
        if not send:
            if data["new_files"]:
                # Kept with the record (not shown to the client yet): they can be chosen when sending.
                services.reclamation_add_attachments(reclamation=reclamation, actor=request.user,
                                                     uploads=data["new_files"], public=False)
                return "Réponse et fichiers enregistrés (pas encore envoyés)."
            return "Réponse enregistrée (pas encore envoyée)." if changes else "Aucune modification."
        means = data.get("means") or bo_forms.SEND_BY_EMAIL
        if means == bo_forms.SEND_BY_EMAIL:
            services.reclamation_send_answer(reclamation=updated, actor=request.user, expected_state=Step.ACTION,
                                             attachment_ids=data["files"], new_files=data["new_files"])
            if not updated.complainant_email:
                messages.warning(request, NO_EMAIL_WARNING)
                return "Réponse argumentée enregistrée comme envoyée."
            return "Réponse argumentée envoyée au réclamant par courriel."
        services.reclamation_send_answer(reclamation=updated, actor=request.user, expected_state=Step.ACTION,
                                         sent_at=data["sent_at"], means=means, attachment_ids=data["files"],
                                         new_files=data["new_files"])
        return "Réponse argumentée enregistrée comme remise au réclamant."

    return _run(request, reclamation, "answer", form, change, complete=request.POST.get("send") == "terminer")


# --- Step 8 and 9 --------------------------------------------------------------------------------------
@record_action
def conclusion(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    form = bo_forms.ConclusionForm(request.POST, prefix="conclusion", instance=_copy(reclamation))
    return _run(request, reclamation, "conclusion", form,
                lambda data: _update(request, reclamation, form.changes(), "Conclusion"),
                complete=_wants_completion(request))


@record_action
def feedback(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    form = bo_forms.FeedbackForm(request.POST, prefix="feedback")

    def change(data: dict[str, Any]) -> str:
        services.reclamation_record_feedback(reclamation=reclamation, actor=request.user,
                                             satisfaction=data["satisfaction"], comment=data["comment"])
        # Recording the feedback completes step 9 by itself (workflow.STEPS): the record closes.
        return "Avis du client enregistré ; étape 9 terminée automatiquement, la réclamation est clôturée."

    return _run(request, reclamation, "feedback", form, change)


# --- Anywhere ------------------------------------------------------------------------------------------
@record_action
def send_message(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    form = bo_forms.MessageForm(request.POST, request.FILES, prefix="message",
                                record_files=selectors.record_files(reclamation))

    def change(data: dict[str, Any]) -> str:
        sent = services.reclamation_send_message(
            reclamation=reclamation, actor=request.user, purpose=data["purpose"], subject=data["subject"],
            body=data["body"], expected_state=reclamation.state, attachment_ids=data["files"],
            new_files=data["new_files"],
        )
        if not sent.emailed:
            messages.warning(request, NO_EMAIL_WARNING)
            return "Message enregistré sur la page de suivi du réclamant."
        return f"Message envoyé par courriel à {reclamation.complainant_email}."

    return _run(request, reclamation, "message", form, change, anchor="historique")


@record_action
def discard(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    form = bo_forms.DiscardForm(request.POST, prefix="discard")

    def change(data: dict[str, Any]) -> str:
        services.reclamation_discard(reclamation=reclamation, actor=request.user, reason=data["reason"],
                                     expected_state=reclamation.state)
        return "Réclamation classée sans suite."

    return _run(request, reclamation, "discard", form, change, anchor="contenu")


@record_action
def reopen(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    form = bo_forms.ReopenForm(request.POST, prefix="reopen")

    def change(data: dict[str, Any]) -> str:
        reopened = services.reclamation_reopen(reclamation=reclamation, actor=request.user, reason=data["reason"],
                                               step=data["step"])
        return f"Réclamation rouverte à l'étape {reopened.step_number} ({workflow.step_label(reopened.state)})."

    return _run(request, reclamation, "reopen", form, change)


@record_action
def received_at(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    form = bo_forms.ReceivedAtForm(request.POST, prefix="received_at")

    def change(data: dict[str, Any]) -> str:
        services.reclamation_correct_received_at(reclamation=reclamation, actor=request.user,
                                                 received_at=data["received_at"], reason=data["reason"])
        return "Date de réception corrigée ; les échéances ont été recalculées."

    return _run(request, reclamation, "received_at", form, change, anchor="contenu")


@record_action
def attachments(request: HttpRequest, reclamation: Reclamation) -> HttpResponse:
    form = bo_forms.AttachmentForm(request.POST, request.FILES, prefix="attachment")

    def change(data: dict[str, Any]) -> str:
        stored = services.reclamation_add_attachments(reclamation=reclamation, actor=request.user,
                                                      uploads=data["files"], public=data["public"])
        return f"{len(stored)} pièce{pluralize(stored)} jointe{pluralize(stored)} ajoutée{pluralize(stored)}."

    return _run(request, reclamation, "attachment", form, change, anchor="historique")
