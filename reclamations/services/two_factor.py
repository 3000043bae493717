"""Two-factor authentication of a staff member: set it up, check a code, renew backup codes, remove it.

Each change is one transaction with its journal event (kind ``configuration``: the person's own
account) and an e-mail to the person (``account_security``): someone who took over a session
open on another desk cannot change the second factor unnoticed.

Checking a code writes too — django-otp remembers the last time step used, so a code is never
accepted twice, and slows down guessing by exponential back-off — and that write must stay even
when the check fails: a failed check therefore runs in its own transaction, before anything that
could be rolled back.

Import this module directly (``from reclamations.services import two_factor``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .. import emails
from .. import two_factor as tf
from ..journal import record_event
from ..models import EventKind, Organisation
from .base import WorkflowError

WRONG_CODE = "Ce code n'est pas valide. Vérifiez l'heure de votre téléphone et saisissez le code affiché en ce moment."
WRONG_ENROL_CODE = (
    "Ce code ne correspond pas. Vérifiez que votre application affiche bien le compte que vous venez "
    "d'ajouter, que l'heure de votre téléphone est juste, et saisissez le code affiché en ce moment."
)
THROTTLED = "Trop d'essais rapprochés : attendez quelques secondes avant de saisir un nouveau code."
WRONG_PASSWORD = "Mot de passe incorrect."  # noqa: S105 - a message, not a password
ALREADY_ENABLED = "La double authentification est déjà activée sur votre compte."
NOT_ENABLED = "La double authentification n'est pas activée sur votre compte."
MANDATORY = (
    "La double authentification est obligatoire pour les responsables qualité : elle ne peut pas être "
    "désactivée. En cas de perte de votre téléphone, utilisez un code de secours puis activez-la à nouveau "
    "sur le nouveau téléphone."
)


class TwoFactorError(WorkflowError):
    """A refused two-factor change; ``str(error)`` is the French message, ``field`` the form field
    it is about (None: the whole request)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of checking a code: the device that accepted it, or why none did."""

    device: Device | None
    throttled: bool = False
    backup_codes_left: int | None = None  # set when a backup code was used

    @property
    def ok(self) -> bool:
        return self.device is not None

    @property
    def error(self) -> str:
        return THROTTLED if self.throttled else WRONG_CODE


def two_factor_verify(*, user: AbstractBaseUser, code: str, allow_backup: bool = True) -> CodeCheck:
    """Check a code typed by ``user``: 6 digits from their app, or (``allow_backup``) a backup code.

    A backup code is used up by the check. The devices are locked while checked, so the same
    backup code or time step cannot be accepted by two requests at once.
    """
    code = tf.normalise_code(code)
    model = StaticDevice if allow_backup and tf.is_backup_code(code) else TOTPDevice
    throttled = False
    with transaction.atomic():
        devices = model.objects.devices_for_user(user, confirmed=True).select_for_update()
        for device in devices:
            allowed, _ = device.verify_is_allowed()
            if not allowed:
                throttled = True
                continue
            if device.verify_token(code):
                left = device.token_set.count() if isinstance(device, StaticDevice) else None
                return CodeCheck(device=device, backup_codes_left=left)
    return CodeCheck(device=None, throttled=throttled)


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    backup_codes: list[str]  # the only time they exist in a page: shown once, then only checked


def two_factor_enable(*, user: AbstractBaseUser, key: str, code: str) -> Enrolment:
    """Turn two-factor authentication on with the app set up from ``key``, proven by ``code``.

    Creates the confirmed TOTP device (remembering the code's time step, so that it cannot be used
    again to sign in) and a fresh set of backup codes.
    """
    totp = TOTP(bytes.fromhex(key), step=tf.TOTP_STEP, digits=tf.TOTP_DIGITS)
    code = tf.normalise_code(code)
    if not (code.isdigit() and len(code) == tf.TOTP_DIGITS and totp.verify(int(code), tolerance=1)):
        raise TwoFactorError(WRONG_ENROL_CODE, field="code")
    with transaction.atomic():
        if TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).exists():
            raise TwoFactorError(ALREADY_ENABLED)
        # Anything half set up before (in the admin, say) is replaced by what was just proven.
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(
            user=user, name=tf.TOTP_DEVICE_NAME, key=key, step=tf.TOTP_STEP, digits=tf.TOTP_DIGITS,
            confirmed=True, last_t=totp.t(),
        )
        codes = _replace_backup_codes(user)
        record_event(
            kind=EventKind.CONFIGURATION,
            actor=user,
            summary=f"Double authentification activée pour le compte « {user.get_username()} ».",
            data={"user": user.pk, "backup_codes": len(codes)},
        )
        _notify(user, "enabled")
    return Enrolment(device=device, backup_codes=codes)


def two_factor_regenerate_backup_codes(*, user: AbstractBaseUser, code: str) -> list[str]:
    """New backup codes for ``user``, proven by a current code; the old ones stop working."""
    if not tf.has_two_factor(user):
        raise TwoFactorError(NOT_ENABLED)
    check = two_factor_verify(user=user, code=code)
    if not check.ok:
        raise TwoFactorError(check.error, field="code")
    with transaction.atomic():
        codes = _replace_backup_codes(user)
        record_event(
            kind=EventKind.CONFIGURATION,
            actor=user,
            summary=f"Nouveaux codes de secours pour le compte « {user.get_username()} » ; les anciens sont annulés.",
            data={"user": user.pk, "backup_codes": len(codes)},
        )
        _notify(user, "backup_codes")
    return codes


def two_factor_disable(*, user: AbstractBaseUser, password: str, code: str) -> None:
    """Turn two-factor authentication off: needs the password and a current code, and is refused
    while it is mandatory for ``user``.

    The code is checked first: it is slowed down after each failure, so the form cannot be used
    to guess the password quickly from a session left open.
    """
    if tf.is_required_for(user):
        raise TwoFactorError(MANDATORY)
    if not tf.has_two_factor(user):
        raise TwoFactorError(NOT_ENABLED)
    check = two_factor_verify(user=user, code=code)
    if not check.ok:
        raise TwoFactorError(check.error, field="code")
    if not user.check_password(password):
        raise TwoFactorError(WRONG_PASSWORD, field="password")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        record_event(
            kind=EventKind.CONFIGURATION,
            actor=user,
            summary=f"Double authentification désactivée pour le compte « {user.get_username()} ».",
            data={"user": user.pk},
        )
        _notify(user, "disabled")


def _notify(user: Any, change: str) -> None:
    """Tell the person, in the same transaction as the change, what changed on their account."""
    if not user.email:
        return
    emails.queue(name="account_security", to=[user.email], context={
        "user": user, "change": change, "when": timezone.now(), "organisation": Organisation.current(),
        "url": settings.SITE_URL + reverse("backoffice:account_security"),
    })


def _replace_backup_codes(user: Any) -> list[str]:
    """One static device per person, holding exactly the new codes (call inside a transaction)."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=tf.BACKUP_DEVICE_NAME, confirmed=True)
    codes = tf.new_backup_codes()
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes
