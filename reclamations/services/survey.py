"""The satisfaction survey on the handling of a complaint (step 9): send, answer, remind, expire.

When step 8 completes, ``reclamation_complete_step`` calls :func:`reclamation_send_survey` in its
own transaction: the client receives a personal link (``/enquete/<token>/``) valid for
``Organisation.survey_days``. Answering closes the record; so does the end of the waiting time,
with "pas de réponse" recorded (:func:`survey_expire`). One reminder goes out after
``Organisation.survey_reminder_days`` (:func:`survey_send_reminders`). The two periodic functions
are meant for the SLA sweep; each claims its work with a conditional UPDATE, so running them twice,
or on two workers at once, does everything once.

The survey token. Only its SHA-256 is stored (``survey_token_hash``), like the follow-up token. It
is not random but derived with an HMAC of the secret key from the record and the moment the survey
was sent: the reminder can then carry the *same* link again without the link being stored anywhere
in clear. Whoever could compute it already holds ``SECRET_KEY``, which opens far more than a survey.
If the key was changed in between (and is not in ``SECRET_KEY_FALLBACKS``), the reminder simply goes
without a link.
"""
from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .. import emails, tokens, workflow
from ..journal import record_event
from ..models import Communication, CommunicationKind, EventKind, Organisation, Reclamation
from ..workflow import Step
from .base import WorkflowError, lock
from .feedback import reclamation_record_feedback, reclamation_record_no_feedback
from .steps import reclamation_complete_step, step_effect

logger = logging.getLogger(__name__)

SURVEY_LABEL = "Client (enquête)"
_SALT = "reclamations.survey"
# A token is 43 URL-safe characters; anything much longer is not worth hashing.
MAX_TOKEN_LENGTH = 128


class SurveyUnavailable(WorkflowError):
    """The link is unknown, expired, or its survey is over: the page answers 404."""


# --- The token -----------------------------------------------------------------------------------
def _token_for(reclamation_id: int, requested_at: datetime, secret: str | None = None) -> str:
    moment = requested_at.astimezone(UTC).isoformat(timespec="microseconds")
    digest = salted_hmac(_SALT, f"{reclamation_id}:{moment}", secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def current_token(reclamation: Reclamation) -> str | None:
    """The clear token of the survey in progress, recomputed (for the reminder); None if it cannot be."""
    if not reclamation.survey_token_hash or reclamation.feedback_requested_at is None:
        return None
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())):
        token = _token_for(reclamation.pk, reclamation.feedback_requested_at, secret)
        if tokens.token_matches(token, reclamation.survey_token_hash):
            return token
    return None


def survey_url(token: str) -> str:
    """Absolute: the e-mail is read far from any request."""
    return settings.SITE_URL + reverse("survey:answer", args=[token])


def reclamation_for_survey_token(token: str) -> Reclamation | None:
    """The record whose survey link this is (whatever its state), or None. Constant-time compared."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    reclamation = Reclamation.objects.filter(survey_token_hash=tokens.hash_token(token)).first()
    if reclamation is None or not tokens.token_matches(token, reclamation.survey_token_hash or ""):
        return None
    return reclamation


def _answered_this_round(r: Reclamation) -> bool:
    return workflow.since_reopening(r, r.feedback_received_at)


def survey_open(r: Reclamation, now: datetime) -> bool:
    """The client may still answer: step 9, not answered, not recorded as unanswered, not expired."""
    return (
        r.state == Step.FEEDBACK
        and not r.feedback_no_answer
        and not _answered_this_round(r)
        and r.survey_expires_at is not None
        and r.survey_expires_at > now
    )


def survey_answered(r: Reclamation, now: datetime) -> bool:
    """The client answered this link, which has not expired yet: the page may say "merci" again."""
    return (
        r.feedback_received_at is not None
        and r.feedback_requested_at is not None
        and r.feedback_received_at >= r.feedback_requested_at
        and r.survey_expires_at is not None
        and r.survey_expires_at > now
    )


# --- Sending (step 8 completed) ------------------------------------------------------------------
def _queue_survey_email(r: Reclamation, organisation: Organisation, token: str | None, *, reminder: bool,
                        now: datetime) -> tuple[Communication, object]:
    """The invitation (or its reminder) as an outbox e-mail and a public communication on the record."""
    context = {
        "reclamation": r,
        "organisation": organisation,
        "survey_url": survey_url(token) if token else "",
        "expires_at": r.survey_expires_at,
        "reminder": reminder,
    }
    email = emails.queue(name="survey_invitation", to=[r.complainant_email], context=context,
                         carried=True)  # by the communication below
    # The text without the secret link: the follow-up page and the back-office show this body.
    body = email.message.replace(context["survey_url"], "[lien personnel vers l'enquête]") if token else email.message
    communication = Communication.objects.create(
        reclamation=r,
        kind=CommunicationKind.EMAIL,
        direction=Communication.Direction.OUTBOUND,
        purpose=Communication.Purpose.GENERAL,
        public=True,
        occurred_at=now,
        subject=email.subject[:300],
        body=body.strip(),
        email=email,
    )
    return communication, email


@step_effect("survey")
def reclamation_send_survey(*, reclamation: Reclamation, now: datetime | None = None) -> str | None:
    """Send the satisfaction survey of a record that has just entered step 9.

    Returns the clear token (the only moment it exists outside the e-mail), or None when the
    complainant has no e-mail address: the event then tells the handler to collect the opinion by
    phone or declare the survey *sans objet*. Runs inside the caller's transaction when there is one.
    The caller's instance gets the new survey fields.
    """
    now = now or timezone.now()
    organisation = Organisation.current()
    with transaction.atomic():
        r = lock(reclamation)
        if r.state != Step.FEEDBACK:
            raise WorkflowError(f"L'enquête de satisfaction s'envoie à {workflow.step_phrase(Step.FEEDBACK)}.")
        if not r.complainant_email:
            fields = {"feedback_requested_at": None, "survey_token_hash": None, "survey_expires_at": None}
            Reclamation.objects.filter(pk=r.pk).update(**fields)
            record_event(
                kind=EventKind.SURVEY,
                reclamation=r,
                actor=None,
                summary="Enquête de satisfaction non envoyée : le réclamant n'a pas d'adresse électronique. "
                        "Recueillez son avis (par téléphone, par courrier) ou déclarez l'étape sans objet.",
                data={"sent": False},
            )
            token = None
        else:
            token = _token_for(r.pk, now)
            fields = {
                "feedback_requested_at": now,
                "survey_token_hash": tokens.hash_token(token),
                "survey_expires_at": now + timedelta(days=organisation.survey_days),
            }
            Reclamation.objects.filter(pk=r.pk).update(**fields, updated_at=now)
            for name, value in fields.items():
                setattr(r, name, value)
            communication, email = _queue_survey_email(r, organisation, token, reminder=False, now=now)
            expires = timezone.localtime(r.survey_expires_at)
            record_event(
                kind=EventKind.SURVEY,
                reclamation=r,
                actor=None,
                public=True,
                summary=f"Enquête de satisfaction envoyée au réclamant (réponse possible jusqu'au {expires:%d/%m/%Y}).",
                data={"sent": True, "expires_at": r.survey_expires_at, "communication": communication.pk,
                      "email": email.pk},
            )
    for name, value in fields.items():
        setattr(reclamation, name, value)
    return token


# --- The client's answer -------------------------------------------------------------------------
@dataclass(frozen=True)
class SurveyAnswer:
    satisfaction: int
    solved: str
    answer_clear: bool
    delay_acceptable: bool
    comment: str = ""


def reclamation_answer_survey(*, token: str, answer: SurveyAnswer, now: datetime | None = None) -> Reclamation:
    """Record the client's answers and close the record, in one transaction.

    Raises :class:`SurveyUnavailable` when the link no longer opens a survey (expired in the
    meantime, already answered, a new survey sent since the page was shown).
    """
    now = now or timezone.now()
    found = reclamation_for_survey_token(token)
    if found is None:
        raise SurveyUnavailable("Ce lien d'enquête n'est pas valable.")
    with transaction.atomic():
        r = lock(found)
        if r.survey_token_hash != found.survey_token_hash or not survey_open(r, now):
            raise SurveyUnavailable("Cette enquête est terminée.")
        reclamation_record_feedback(
            reclamation=r,
            satisfaction=answer.satisfaction,
            solved=answer.solved,
            answer_clear=answer.answer_clear,
            delay_acceptable=answer.delay_acceptable,
            comment=answer.comment,
            label=SURVEY_LABEL,
        )
        r = reclamation_complete_step(reclamation=r, actor=None, expected_state=Step.FEEDBACK)
    return r


# --- Periodic work (called by the SLA sweep) -----------------------------------------------------
def _unanswered() -> Q:
    """Not answered in this round of the survey (an answer older than the survey is a previous round's)."""
    return Q(feedback_received_at__isnull=True) | Q(feedback_received_at__lt=F("feedback_requested_at"))


def _reminder_q(now: datetime, organisation: Organisation) -> Q:
    return (
        Q(state=Step.FEEDBACK, feedback_no_answer=False, survey_token_hash__isnull=False,
          feedback_requested_at__lte=now - timedelta(days=organisation.survey_reminder_days),
          survey_expires_at__gt=now)
        & ~Q(complainant_email="")
        & _unanswered()
        # One reminder per survey: a reminder older than the survey belongs to a previous round.
        & (Q(feedback_reminder_at__isnull=True) | Q(feedback_reminder_at__lt=F("feedback_requested_at")))
    )


def survey_send_reminders(now: datetime | None = None) -> int:
    """Send the one reminder of each unanswered survey sent ``survey_reminder_days`` ago.

    Each reminder is claimed on ``feedback_reminder_at`` by a conditional UPDATE, in the
    transaction that queues its e-mail and writes its event. Returns how many were sent.
    """
    now = now or timezone.now()
    organisation = Organisation.current()
    sent = 0
    candidates = list(
        Reclamation.objects.filter(_reminder_q(now, organisation)).order_by("pk").values_list("pk", flat=True)
    )
    for pk in candidates:
        try:
            with transaction.atomic():
                claimed = Reclamation.objects.filter(_reminder_q(now, organisation), pk=pk).update(
                    feedback_reminder_at=now
                )
                if not claimed:
                    continue
                r = Reclamation.objects.get(pk=pk)
                token = current_token(r)
                communication, email = _queue_survey_email(r, organisation, token, reminder=True, now=now)
                record_event(
                    kind=EventKind.REMINDER,
                    reclamation=r,
                    actor=None,
                    public=True,
                    summary="Relance de l'enquête de satisfaction envoyée au réclamant"
                    + ("." if token else " (sans le lien, qui ne peut plus être recalculé)."),
                    data={"reminder": "survey", "communication": communication.pk, "email": email.pk,
                          "survey_sent_at": r.feedback_requested_at, "with_link": bool(token)},
                )
        except Exception:
            logger.exception("survey reminder failed for reclamation %s", pk)
            continue
        sent += 1
    return sent


def _expired_q(now: datetime) -> Q:
    return Q(state=Step.FEEDBACK, feedback_no_answer=False, survey_expires_at__lte=now,
             feedback_requested_at__isnull=False) & _unanswered()


def survey_expire(now: datetime | None = None) -> int:
    """Close the records whose survey ran out unanswered, with "pas de réponse" recorded.

    The claim is ``feedback_no_answer`` (a conditional UPDATE in ``reclamation_record_no_feedback``);
    the record is locked first, so a client answering at that very moment either wins (the record
    closes with the answer) or finds the survey over. Returns how many records were closed.
    """
    now = now or timezone.now()
    closed = 0
    for pk in list(Reclamation.objects.filter(_expired_q(now)).order_by("pk").values_list("pk", flat=True)):
        try:
            with transaction.atomic():
                r = lock(pk)
                if not Reclamation.objects.filter(_expired_q(now), pk=pk).exists():
                    continue  # answered or closed since the list was read
                expired_at = r.survey_expires_at
                r = reclamation_record_no_feedback(reclamation=r, expired_at=expired_at)
                if not r.feedback_no_answer:
                    continue
                reclamation_complete_step(reclamation=r, actor=None, expected_state=Step.FEEDBACK)
        except Exception:
            logger.exception("survey expiry failed for reclamation %s", pk)
            continue
        closed += 1
    return closed
