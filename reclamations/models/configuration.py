"""What the quality lead configures in the admin without a redeploy, with the procedure's defaults."""
from __future__ import annotations

import logging
import time as time_module
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ..validators import SendableEmailField

logger = logging.getLogger(__name__)


class ClockMode(models.TextChoices):
    CALENDAR = "calendar", "Heures calendaires (24 h/24, 7 j/7)"
    BUSINESS = "business", "Heures ouvrées (horaires d'ouverture, hors week-ends et jours fériés)"


# A web request reads the configuration once (``read_configuration_once``, opened by a middleware):
# a record's page asked for it three times (header, badges' clock, message texts); and between
# requests it is kept in the cache (``Organisation.current``). Outside a request (workers, commands)
# every read goes to the database, so a change is seen at once.
_per_request: ContextVar[dict[str, Any] | None] = ContextVar("configuration_per_request", default=None)


@contextmanager
def read_configuration_once() -> Iterator[None]:
    token = _per_request.set({})
    try:
        yield
    finally:
        _per_request.reset(token)


class Organisation(models.Model):
    """The training organisation and its procedure settings. One row (pk=1), made on first read."""

    name = models.CharField("raison sociale", max_length=200, default="Mon organisme de formation")
    address = models.TextField("adresse", blank=True)
    siret = models.CharField("SIRET", max_length=20, blank=True)
    activity_number = models.CharField("numéro de déclaration d'activité", max_length=40, blank=True)
    contact_email = SendableEmailField("courriel de contact", blank=True)
    phone = models.CharField("téléphone", max_length=40, blank=True)
    website = models.URLField("site internet", blank=True)
    logo = models.ImageField("logo", upload_to="organisation/", blank=True)
    responsible_name = models.CharField(
        "responsable du traitement des réclamations", max_length=200, blank=True
    )
    responsible_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="compte du responsable",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    ack_delay_hours = models.PositiveSmallIntegerField(
        "délai d'accusé de réception (heures)", default=48, validators=[MinValueValidator(1)]
    )
    answer_delay_hours = models.PositiveSmallIntegerField(
        "délai de traitement (heures)", default=48, validators=[MinValueValidator(1)]
    )
    clock_mode = models.CharField(
        "décompte des délais", max_length=10, choices=ClockMode.choices, default=ClockMode.CALENDAR
    )
    alsace_moselle = models.BooleanField(
        "jours fériés d'Alsace-Moselle", default=False,
        help_text="Ajoute le Vendredi saint et le 26 décembre aux jours fériés.",
    )
    recourse_text = models.TextField(
        "voies de recours",
        default=(
            "Si notre réponse ne vous satisfait pas, vous pouvez demander un réexamen par la direction "
            "en répondant à ce courriel. Vous pouvez aussi saisir le médiateur de la consommation "
            "dont nous relevons, ou votre financeur (OPCO, France Travail, Caisse des Dépôts pour le CPF)."
        ),
        help_text="Rappelées dans la réponse argumentée et le courriel de clôture.",
    )
    # The consumer mediator the organisation belongs to: the consumer code (art. L616-1, R616-1) asks
    # that its name, address and website be given wherever the client is told of their recourse.
    mediator_name = models.CharField("médiateur de la consommation", max_length=200, blank=True)
    mediator_address = models.TextField("adresse du médiateur", blank=True)
    mediator_website = models.URLField("site internet du médiateur", blank=True)
    survey_days = models.PositiveSmallIntegerField(
        "durée de l'enquête de satisfaction (jours)", default=30, validators=[MinValueValidator(1)]
    )
    survey_reminder_days = models.PositiveSmallIntegerField(
        "relance de l'enquête après (jours)", default=7, validators=[MinValueValidator(1)]
    )
    recurrence_window_days = models.PositiveSmallIntegerField(
        "fenêtre de récurrence (jours)", default=180, validators=[MinValueValidator(1)],
        help_text="Une même cause racine ou un même service revenant dans ce délai est signalé.",
    )
    email_intake_creates_records = models.BooleanField(
        "créer un dossier pour chaque courriel reçu", default=True,
        help_text="Un courriel qui ne répond à aucun dossier ouvre une réclamation (étape 1) et reçoit "
                  "l'accusé de réception. Décoché : il attend dans « Courriels à trier » qu'un gestionnaire "
                  "le transforme en dossier ou l'écarte.",
    )
    at_risk_percent = models.PositiveSmallIntegerField(
        "seuil d'alerte (% du délai écoulé)", default=75,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
    )

    class Meta:
        verbose_name = "organisme et procédure"
        verbose_name_plural = "organisme et procédure"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.pk = 1  # a single row: the configuration of this installation
        super().save(*args, **kwargs)
        _changed("organisation", ORGANISATION_CACHE_KEY, using=kwargs.get("using"))

    def delete(self, *args, **kwargs) -> Any:
        deleted = super().delete(*args, **kwargs)
        _changed("organisation", ORGANISATION_CACHE_KEY, using=kwargs.get("using"))
        return deleted

    @property
    def mediator_line(self) -> str:
        """« Médiateur de la consommation : name, address, website », on one line; "" when none is set."""
        if not self.mediator_name.strip():
            return ""
        parts = [self.mediator_name.strip(), " ".join(self.mediator_address.split()), self.mediator_website.strip()]
        return "Médiateur de la consommation : " + ", ".join(part for part in parts if part) + "."

    @classmethod
    def current(cls) -> Organisation:
        """The configuration: once per web request, from the cache between requests (every page
        shows the organisation's name); straight from the database outside a request, so that a
        worker always sees the latest change."""
        scope = _per_request.get()
        if scope is None:
            return cls.objects.get_or_create(pk=1)[0]
        if "organisation" in scope:
            return scope["organisation"]
        organisation = _cached(ORGANISATION_CACHE_KEY)
        if organisation is None:
            organisation = cls.objects.get_or_create(pk=1)[0]
            _keep(ORGANISATION_CACHE_KEY, organisation)
        scope["organisation"] = organisation
        return organisation


# Shared by the web processes through the cache (Redis in production); emptied when a row is
# saved. The time limit bounds how long a change made outside the ORM (a restored backup, a
# per-process cache with several web processes) can go unseen.
ORGANISATION_CACHE_KEY = "reclamations:organisation:v1"
SERVICES_CACHE_KEY = "reclamations:services:v1"
CONFIGURATION_CACHE_SECONDS = 60


# After a failure, this process leaves the cache alone for a while (as emails.py does with the
# broker): a Redis that does not answer costs one timeout (CACHE_TIMEOUT_SECONDS), not one per page.
CACHE_RETRY_SECONDS = 30
_cache_down_until = 0.0


def _cache_failed(what: str, key: str) -> None:
    global _cache_down_until
    _cache_down_until = time_module.monotonic() + CACHE_RETRY_SECONDS
    logger.warning("cache unavailable: %s %s; the database answers for %s s", key, what, CACHE_RETRY_SECONDS,
                   exc_info=True)


# The cache is a shortcut, never a dependency of the pages: when it does not answer (Redis down),
# the rows are read from the database as before, and the failure is logged.
def _cached(key: str) -> Any:
    if time_module.monotonic() < _cache_down_until:
        return None
    try:
        return cache.get(key)
    except Exception:
        _cache_failed("not read", key)
        return None


def _keep(key: str, value: Any) -> None:
    # Not from inside a transaction: what it read may be its own uncommitted change, which other
    # processes must not see (nor keep seeing if it is rolled back).
    if time_module.monotonic() < _cache_down_until or _in_transaction():
        return
    try:
        cache.set(key, value, CONFIGURATION_CACHE_SECONDS)
    except Exception:
        _cache_failed("not kept", key)


def _in_transaction() -> bool:
    # A test case's own wrapping transactions do not count (Django marks them, for ``durable``).
    return any(not getattr(block, "_from_testcase", False) for block in transaction.get_connection().atomic_blocks)


def forget(key: str) -> None:
    # Tried even during a pause: a change must not stay unseen because of an earlier failure.
    try:
        cache.delete(key)
    except Exception:
        # Not kept either while the cache is down; what it held expires by itself.
        _cache_failed("not forgotten", key)


def forget_organisation() -> None:
    forget(ORGANISATION_CACHE_KEY)


def forget_services() -> None:
    forget(SERVICES_CACHE_KEY)


def _changed(scope_key: str, cache_key: str, *, using: str | None) -> None:
    """A kept row was saved or deleted: the rest of this request reads it again, and so does every
    process, now and once committed (a request of another process may have read and kept the old
    row while this transaction was open)."""
    if (scope := _per_request.get()) is not None:
        scope.pop(scope_key, None)
    forget(cache_key)
    transaction.on_commit(lambda: forget(cache_key), using=using)


@receiver(post_delete, sender=settings.AUTH_USER_MODEL)
def _user_deleted(**kwargs: Any) -> None:
    # The organisation names a responsible account (SET_NULL when it is deleted, without save()):
    # a kept copy would point at an account that no longer exists.
    forget_organisation()


class OpeningHours(models.Model):
    """One opening period of a weekday, used when delays are counted in business hours."""

    WEEKDAYS = [
        (0, "lundi"), (1, "mardi"), (2, "mercredi"), (3, "jeudi"),
        (4, "vendredi"), (5, "samedi"), (6, "dimanche"),
    ]
    weekday = models.PositiveSmallIntegerField("jour", choices=WEEKDAYS)
    opens_at = models.TimeField("ouverture", default=time(9, 0))
    closes_at = models.TimeField("fermeture", default=time(17, 0))

    class Meta:
        verbose_name = "horaire d'ouverture"
        verbose_name_plural = "horaires d'ouverture"
        ordering = ["weekday", "opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")), name="opening_hours_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"


class Service(models.Model):
    """A service of the organisation that a complaint may concern (procedure step 2.b)."""

    name = models.CharField("nom", max_length=120, unique=True)
    active = models.BooleanField("proposé sur le formulaire", default=True)
    position = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "service"
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def listed(cls) -> list[Service]:
        """Every service, offered or not, in their order: the list filter's choices, and (those
        ``active``) the Contact form's. Kept like the organisation (``Organisation.current``), and
        forgotten whenever a service is saved or deleted, so a change shows on the next page."""
        scope = _per_request.get()
        if scope is None:
            return list(cls.objects.all())
        if "services" in scope:
            return scope["services"]
        services = _cached(SERVICES_CACHE_KEY)
        if services is None:
            services = list(cls.objects.all())
            _keep(SERVICES_CACHE_KEY, services)
        scope["services"] = services
        return services

    @classmethod
    def offered(cls) -> list[Service]:
        """The services the Contact form offers (``active``), in their order."""
        return [service for service in cls.listed() if service.active]


@receiver([post_save, post_delete], sender=Service)
def _service_changed(**kwargs: Any) -> None:
    # Signals rather than save(): the admin's "delete selected" deletes through a queryset.
    _changed("services", SERVICES_CACHE_KEY, using=kwargs.get("using"))


class RootCauseCategory(models.Model):
    """A category of root cause, for the conclusion (step 8) and the recurrence analysis."""

    name = models.CharField("nom", max_length=120, unique=True)
    active = models.BooleanField("proposée", default=True)

    class Meta:
        verbose_name = "catégorie de cause racine"
        verbose_name_plural = "catégories de cause racine"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MessageTemplate(models.Model):
    """An editable starting text for a message to the client, chosen by its purpose.

    The handler starts from it and adapts it; the e-mail wraps the final text in the standard
    layout (templates/emails/client_message.*).
    """

    purpose = models.CharField("objet", max_length=20, unique=True)
    subject = models.CharField("sujet du courriel", max_length=200)
    body = models.TextField(
        "texte", help_text="Variables : {reference}, {nom}, {objet}, {organisme}, {date_reponse}."
    )

    class Meta:
        verbose_name = "modèle de message"
        verbose_name_plural = "modèles de message"
        ordering = ["purpose"]

    def __str__(self) -> str:
        return self.subject


class StaffProfile(models.Model):
    """Per-person settings of a staff member."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    on_duty = models.BooleanField(
        "de permanence", default=True, help_text="Reçoit l'avis de chaque nouvelle réclamation."
    )

    class Meta:
        verbose_name = "profil"

    def __str__(self) -> str:
        return str(self.user)
