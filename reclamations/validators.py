"""The rule an e-mail address must meet to be stored where we will later write to it.

One function, used by every form that takes an address, by the model fields that keep one and by
the e-mail layer itself (``emails._row``): what a form accepts, the outbox can send. Before, the
forms used Django's rule alone and the outbox post_office's: ``"<a>"@example.org`` passed the first
and was refused by the second, after the client's files were already on disk.
"""
from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils.encoding import force_str

# Characters only a quoted local part ("…"@example.org) may hold, which the outbox misreads (below).
# No real mailbox needs one: the whole quoted form is refused, with a message that says so.
_REFUSED = '"<>,'
NOT_SENDABLE = (
    "Cette adresse électronique ne peut pas recevoir nos courriels : saisissez une adresse simple, "
    "par exemple nom@exemple.fr, sans guillemets, chevrons (< >) ni virgule."
)


def validate_sendable_address(value: Any) -> None:
    """Django's rule for an address (code ``invalid``), then what the outbox needs (``not_sendable``).

    post_office reads ``Name <address>`` out of anything holding ``<`` and ``>`` (so
    ``"<a>"@example.org`` is refused there, and ``"<c@example.org>"@example.org`` would go to
    ``c@example.org``), and keeps the recipients as one comma-separated text split again on every
    comma. A quoted local part is valid for Django, never for us.
    """
    address = force_str(value)
    validate_email(address)  # Django's own message, or the form's ``invalid`` one
    if any(ch in address for ch in _REFUSED):
        raise ValidationError(NOT_SENDABLE, code="not_sendable")


class SendableEmailFormField(forms.EmailField):
    """A form's address field under ``validate_sendable_address`` instead of Django's rule alone
    (it includes it, so a bad address gets one message, not two)."""

    default_validators = [validate_sendable_address]


class SendableEmailField(models.EmailField):
    """A stored address we write to; its forms (back-office, admin) get ``SendableEmailFormField``."""

    default_validators = [validate_sendable_address]

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": SendableEmailFormField, **kwargs})
