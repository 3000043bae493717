"""The record: a réclamation, a difficulté or an aléa, and the nine-step state machine."""
from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django_fsm import GET_STATE, ConcurrentTransitionMixin, FSMField, FSMFieldMixin, transition

from .. import workflow
from ..delay_status import sla_status
from ..validators import SendableEmailField
from ..workflow import Step


class Kind(models.TextChoices):
    COMPLAINT = "complaint", "Réclamation"
    DIFFICULTY = "difficulty", "Difficulté"
    INCIDENT = "incident", "Aléa"


class StakeholderType(models.TextChoices):
    LEARNER = "learner", "Bénéficiaire / stagiaire"
    COMPANY = "company", "Entreprise / employeur"
    FUNDER = "funder", "Financeur (OPCO, France Travail, CPF…)"
    TRAINER = "trainer", "Intervenant / formateur"
    OTHER = "other", "Autre"


class Channel(models.TextChoices):
    WEB_FORM = "web_form", "Formulaire web (Contact)"
    EMAIL = "email", "Courriel"
    PHONE = "phone", "Téléphone"
    LETTER = "letter", "Courrier"
    SURVEY = "survey", "Questionnaire d'évaluation"
    IN_PERSON = "in_person", "En personne"
    OTHER = "other", "Autre"


class Level(models.IntegerChoices):
    LOW = 1, "Faible"
    MEDIUM = 2, "Moyenne"
    HIGH = 3, "Élevée"


class Priority(models.TextChoices):
    LOW = "low", "Basse"
    NORMAL = "normal", "Normale"
    HIGH = "high", "Haute"
    CRITICAL = "critical", "Critique"


class Decision(models.TextChoices):
    FAVOURABLE = "favourable", "Favorable"
    PARTIAL = "partial", "Partiellement favorable"
    UNFAVOURABLE = "unfavourable", "Défavorable"


class Compensation(models.TextChoices):
    NONE = "", "Aucun"
    CREDIT_NOTE = "credit_note", "Avoir"
    EXTRA_SERVICE = "extra_service", "Prestation complémentaire"
    APOLOGY = "apology", "Excuses"
    OTHER = "other", "Autre"


class Solved(models.TextChoices):
    YES = "yes", "Oui"
    PARTLY = "partly", "En partie"
    NO = "no", "Non"


def priority_for(severity: int | None, complexity: int | None, repercussions: int | None) -> str:
    """Severity × complexity × repercussions (each 1–3) gives a score of 1 to 27, then a priority.

    Severity weighs most: a severe case is at least "haute" whatever its complexity.
    """
    if not (severity and complexity and repercussions):
        return ""
    score = severity * complexity * repercussions
    if score >= 18:
        return Priority.CRITICAL
    if score >= 8 or severity == Level.HIGH:
        return Priority.HIGH
    if score >= 3:
        return Priority.NORMAL
    return Priority.LOW


class ReclamationQuerySet(models.QuerySet):
    """SLA filters in plain SQL on the stored deadlines (see sla.compute_deadline_set).

    A delay is pending while its fulfilment time is empty and the record is open; discarded and
    closed records are never "late".
    """

    def open(self) -> ReclamationQuerySet:
        return self.filter(state__in=workflow.OPEN_STEPS)

    def ack_at_risk(self, now: datetime) -> ReclamationQuerySet:
        return self.open().filter(acknowledged_at__isnull=True, ack_risk_at__lte=now, ack_due_at__gt=now)

    def ack_late(self, now: datetime) -> ReclamationQuerySet:
        return self.open().filter(acknowledged_at__isnull=True, ack_due_at__lte=now)

    def answer_at_risk(self, now: datetime) -> ReclamationQuerySet:
        return self.open().filter(answered_at__isnull=True, answer_risk_at__lte=now, answer_due_at__gt=now)

    def answer_late(self, now: datetime) -> ReclamationQuerySet:
        return self.open().filter(answered_at__isnull=True, answer_due_at__lte=now)

    def at_risk(self, now: datetime) -> ReclamationQuerySet:
        """Either delay at risk (and neither late)."""
        return (self.ack_at_risk(now) | self.answer_at_risk(now)).exclude(pk__in=self.late(now).values("pk"))

    def late(self, now: datetime) -> ReclamationQuerySet:
        return self.ack_late(now) | self.answer_late(now)


class ReferenceCounter(models.Model):
    """Last reference number given in a year. Numbers only grow, so a reference is never reused."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "compteur de références"

    def __str__(self) -> str:
        return f"{self.year} : {self.last_number}"


class Reclamation(ConcurrentTransitionMixin, models.Model):
    # --- Identity of the record
    reference = models.CharField("référence", max_length=20, unique=True, editable=False)
    kind = models.CharField("nature", max_length=12, choices=Kind.choices, default=Kind.COMPLAINT)
    channel = models.CharField("canal de réception", max_length=12, choices=Channel.choices)
    stakeholder_type = models.CharField(
        "partie prenante", max_length=10, choices=StakeholderType.choices, blank=True
    )
    # No ``choices``: the states are the rows of workflow.STEPS (adding a step needs no migration);
    # get_state_display() reads their labels there.
    state = FSMField("étape", default=Step.RECEIVED.value, protected=True, db_index=True)
    # Hash (SHA-256, hex) of the client's secret follow-up token; the token itself is never stored.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # After this moment the follow-up link answers 404 like any unknown URL (null: no expiry yet).
    token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the complainant agreed to the processing of their personal data (Contact form).
    consent_at = models.DateTimeField("consentement RGPD le", null=True, blank=True, editable=False)
    created_at = models.DateTimeField("enregistrée le", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", verbose_name="enregistrée par",
    )
    updated_at = models.DateTimeField(auto_now=True)

    # --- Complainant (procedure 2.a) — all optional: an aléa may have no complainant
    complainant_name = models.CharField("nom", max_length=200, blank=True)
    complainant_role = models.CharField("fonction", max_length=200, blank=True)
    complainant_organisation = models.CharField("organisation", max_length=200, blank=True)
    complainant_phone = models.CharField("téléphone", max_length=40, blank=True)
    complainant_email = SendableEmailField("courriel", blank=True)
    complainant_address = models.TextField("adresse", blank=True)

    # --- What it is about (2.b, 2.c)
    service = models.ForeignKey(
        "reclamations.Service", on_delete=models.PROTECT, null=True, blank=True,
        verbose_name="service concerné",
        db_index=False,  # led by "rec_service_state" (service, state), which serves both
    )
    training_action = models.CharField("action de formation concernée", max_length=300, blank=True)
    subject = models.CharField("objet", max_length=300)
    description = models.TextField("description")
    wished_solution = models.TextField("solution souhaitée", blank=True)

    # --- Service levels: stored when received, recomputed only by a logged change
    received_at = models.DateTimeField("reçue le", db_index=True)
    ack_due_at = models.DateTimeField("accusé de réception dû le")
    answer_due_at = models.DateTimeField("réponse due le")
    # When the "at risk" share of each delay is used up (sla.compute_deadline_set).
    ack_risk_at = models.DateTimeField("accusé de réception à risque à partir du", editable=False)
    answer_risk_at = models.DateTimeField("réponse à risque à partir du", editable=False)
    acknowledged_at = models.DateTimeField("accusé de réception envoyé le", null=True, blank=True)
    answered_at = models.DateTimeField("réponse envoyée le", null=True, blank=True)
    closed_at = models.DateTimeField("clôturée le", null=True, blank=True)
    reopened_at = models.DateTimeField("rouverte le", null=True, blank=True)
    # SLA alerts, each claimed once by a conditional UPDATE (filter ...__isnull=True) in the sweep.
    ack_risk_alert_at = models.DateTimeField("alerte AR à risque", null=True, blank=True, editable=False)
    ack_late_alert_at = models.DateTimeField("alerte AR en retard", null=True, blank=True, editable=False)
    answer_risk_alert_at = models.DateTimeField("alerte réponse à risque", null=True, blank=True, editable=False)
    answer_late_alert_at = models.DateTimeField("alerte réponse en retard", null=True, blank=True, editable=False)
    # A Contact submission's notice to staff is written by a worker after the client's request
    # (services.intake.reclamation_announce_submissions): set at submission, cleared by the one
    # worker whose conditional UPDATE claims it.
    staff_notice_pending = models.BooleanField(default=False, editable=False)

    # --- Handling
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="handled_reclamations", verbose_name="responsable du traitement",
    )
    # Steps declared "sans objet": {step code: reason}. See workflow.NOT_APPLICABLE_PARTS.
    not_applicable = models.JSONField("sans objet", default=dict, blank=True)
    reformulation = models.TextField("reformulation des points clés", blank=True)
    severity = models.PositiveSmallIntegerField("gravité", choices=Level.choices, null=True, blank=True)
    complexity = models.PositiveSmallIntegerField("complexité", choices=Level.choices, null=True, blank=True)
    repercussions = models.PositiveSmallIntegerField(
        "répercussions", choices=Level.choices, null=True, blank=True
    )
    priority = models.CharField("priorité", max_length=10, choices=Priority.choices, blank=True, db_index=True)

    # --- Answer (step 6)
    decision = models.CharField("décision", max_length=14, choices=Decision.choices, blank=True)
    answer = models.TextField("réponse argumentée", blank=True)
    compensation_type = models.CharField(
        "dédommagement", max_length=14, choices=Compensation.choices, blank=True
    )
    compensation_description = models.TextField("description du dédommagement", blank=True)
    compensation_amount = models.DecimalField(
        "montant du dédommagement (€)", max_digits=10, decimal_places=2, null=True, blank=True
    )

    # --- Conclusion (step 8)
    conclusion = models.TextField("conclusion", blank=True)
    root_cause_category = models.ForeignKey(
        "reclamations.RootCauseCategory", on_delete=models.PROTECT, null=True, blank=True,
        verbose_name="catégorie de cause racine",
    )
    root_cause_analysis = models.TextField("analyse de la cause racine", blank=True)
    complementary_offer = models.TextField("offre complémentaire proposée", blank=True)

    # --- Feedback (step 9)
    feedback_requested_at = models.DateTimeField("enquête envoyée le", null=True, blank=True)
    feedback_received_at = models.DateTimeField("avis reçu le", null=True, blank=True)
    feedback_no_answer = models.BooleanField("pas de réponse à l'enquête", default=False)
    feedback_reminder_at = models.DateTimeField("relance de l'enquête", null=True, blank=True, editable=False)
    feedback_satisfaction = models.PositiveSmallIntegerField(
        "satisfaction (1 à 5)", null=True, blank=True
    )
    feedback_comment = models.TextField("commentaire du client", blank=True)
    feedback_solved = models.CharField("problème résolu", max_length=8, choices=Solved.choices, blank=True)
    feedback_answer_clear = models.BooleanField("réponse claire", null=True, blank=True)
    feedback_delay_acceptable = models.BooleanField("délai acceptable", null=True, blank=True)
    # The survey link has its own secret (hash only) and expiry, separate from the follow-up link.
    survey_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    survey_expires_at = models.DateTimeField("fin de l'enquête", null=True, blank=True, editable=False)

    # --- Discard
    discard_reason = models.TextField("motif du classement sans suite", blank=True)

    # --- RGPD: set when names, contact details, free text and attachments were erased (retention
    # period over, or the person's request). What the statistics need stays.
    anonymised_at = models.DateTimeField("anonymisée le", null=True, blank=True, editable=False)

    objects = ReclamationQuerySet.as_manager()

    class Meta:
        verbose_name = "réclamation"
        ordering = ["-received_at", "-id"]
        indexes = [
            # The SLA filters and the sweep: "unfulfilled and past this moment".
            models.Index(fields=["acknowledged_at", "ack_risk_at"], name="rec_ack_risk"),
            models.Index(fields=["answered_at", "answer_risk_at"], name="rec_answer_risk"),
            models.Index(fields=["state", "ack_due_at"], name="rec_state_ack_due"),
            models.Index(fields=["state", "answer_due_at"], name="rec_state_answer_due"),
            models.Index(fields=["handler", "state"], name="rec_handler_state"),
            # The list filtered by service and step: the search's LIKE then reads a service's open
            # records, not all of its history.
            models.Index(fields=["service", "state"], name="rec_service_state"),
            # The retention sweep: "closed before the cut-off and not yet anonymised".
            models.Index(fields=["anonymised_at", "closed_at"], name="rec_retention"),
            # The few submissions whose staff notice a worker has yet to write.
            models.Index(fields=["id"], condition=models.Q(staff_notice_pending=True), name="rec_staff_notice_pending"),
        ]
        permissions = [
            ("handle_reclamation", "Traiter les réclamations (back-office)"),
            ("manage_quality", "Piloter la qualité (exports, statistiques, configuration)"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.subject}"

    @property
    def state_fields(self) -> tuple[models.Field, ...]:
        # django-fsm finds the state fields by testing all seventy fields, on every instance built
        # (its concurrency check keeps each one's initial state): 25 times per list page. Same
        # test, once per class.
        cls = type(self)
        fields = cls.__dict__.get("_fsm_state_fields")
        if fields is None:
            fields = tuple(f for f in cls._meta.fields if isinstance(f, FSMFieldMixin))
            cls._fsm_state_fields = fields  # type: ignore[attr-defined]
        return fields

    # --- Derived values --------------------------------------------------------------------
    @property
    def step_number(self) -> int:
        return workflow.step_number(self.state)

    @property
    def is_open(self) -> bool:
        return workflow.is_step(self.state)

    def missing_for_current_step(self) -> list[str]:
        return workflow.missing_for(self)

    def ack_status(self, now: datetime) -> str:
        return sla_status(due_at=self.ack_due_at, risk_at=self.ack_risk_at, done_at=self.acknowledged_at,
                          now=now)

    def answer_status(self, now: datetime) -> str:
        return sla_status(due_at=self.answer_due_at, risk_at=self.answer_risk_at, done_at=self.answered_at,
                          now=now)

    # --- The state machine ------------------------------------------------------------------------
    # Call them through the services (services.steps), which check, save and log.
    def get_state_display(self) -> str:
        return workflow.step_label(self.state)

    @property
    def step_count(self) -> int:
        return workflow.step_count()

    @transition(field=state, source="*", target=GET_STATE(lambda r: workflow.next_step(r.state)),
                conditions=[workflow.can_complete])
    def complete_step(self) -> None:
        """Complete the step in progress, whichever it is: workflow.STEPS says what each needs."""

    @transition(field=state, source="*", target=Step.DISCARDED,
                conditions=[lambda r: workflow.is_step(r.state), workflow.has_discard_reason])
    def discard(self) -> None: ...

    @transition(field=state, source=Step.CLOSED, target=GET_STATE(lambda r, step: step))
    def reopen(self, step: str) -> None:
        """Back to a step (the service checks it is one; by default 4: a new evaluation and plan)."""
