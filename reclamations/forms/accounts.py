"""Forms of a staff member's own account: the second sign-in step and two-factor authentication.

The code field is made for phones and assistive technologies: a visible label, the numeric keypad
(``inputmode``), the code offered by the phone's keyboard or password manager
(``autocomplete="one-time-code"``). Spaces and dashes typed with a code are ignored.
"""
from __future__ import annotations

from typing import Any

from django import forms

from .. import two_factor as tf
from .backoffice import BaseForm

CODE_FORMAT = "Saisissez les 6 chiffres affichés par votre application d'authentification."
CODE_OR_BACKUP_FORMAT = (
    "Saisissez les 6 chiffres affichés par votre application d'authentification, ou l'un de vos codes de "
    "secours (10 chiffres)."
)


class CodeInput(forms.TextInput):
    def __init__(self) -> None:
        super().__init__(attrs={
            "autocomplete": "one-time-code",
            "inputmode": "numeric",
            "autocapitalize": "off",
            "spellcheck": "false",
            "class": "otp-code",
        })


class OneTimeCodeForm(BaseForm):
    """A code from the authenticator app or, when ``allow_backup``, a backup code."""

    allow_backup = True

    code = forms.CharField(label="Code de vérification", max_length=24, widget=CodeInput,
                           error_messages={"required": "Saisissez le code de vérification."})

    def __init__(self, *args: Any, autofocus: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["code"]
        field.help_text = (
            "Les 6 chiffres affichés par votre application, ou l'un de vos codes de secours."
            if self.allow_backup else "Les 6 chiffres affichés par votre application."
        )
        if autofocus:
            field.widget.attrs["autofocus"] = True

    def clean_code(self) -> str:
        code = tf.normalise_code(self.cleaned_data["code"])
        lengths = (tf.TOTP_DIGITS, tf.BACKUP_CODE_DIGITS) if self.allow_backup else (tf.TOTP_DIGITS,)
        if not code.isdigit() or len(code) not in lengths:
            raise forms.ValidationError(CODE_OR_BACKUP_FORMAT if self.allow_backup else CODE_FORMAT,
                                        code="format")
        return code


class EnrolForm(OneTimeCodeForm):
    """The first code of the app just set up: it proves the QR code was read correctly."""

    allow_backup = False


class DisableForm(OneTimeCodeForm):
    """Turning two-factor authentication off: the password and a current code."""

    password = forms.CharField(
        label="Mot de passe", strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Saisissez votre mot de passe."},
    )

    field_order = ["password", "code"]
