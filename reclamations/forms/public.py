"""Forms of the public pages: the Contact form, a message on the follow-up page, the lost link.

They check what a client typed (French messages next to each field) and what a robot would get
wrong (a hidden field it fills in, a form sent back too fast); the services do the rest.
"""
from __future__ import annotations

import hashlib
import secrets
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Field, Fieldset, Layout
from django import forms
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .. import selectors
from ..models import Kind, Service, StakeholderType
from ..validators import SendableEmailFormField
from .fields import AttachmentsField, OfferedChoiceField

# --- Fields --------------------------------------------------------------------------------------
_LINE_BREAKS = frozenset("\r\n\x0b\x0c\x85\u2028\u2029")


def _check_single_line(value: Any) -> None:
    # Checked on the raw value, before Django strips the ends: "a@b.fr\r\nBcc: ..." is refused,
    # whatever a header would have made of it. (NUL has Django's own message.)
    if not isinstance(value, str):
        return
    if any(ch in _LINE_BREAKS for ch in value):
        raise ValidationError("Ce champ doit tenir sur une seule ligne, sans retour à la ligne.", code="line_break")
    if any(ord(ch) < 32 and ch not in "\t\x00" for ch in value):
        raise ValidationError("Ce champ contient un caractère invisible non autorisé.", code="control")


class SingleLineCharField(forms.CharField):
    def to_python(self, value: Any) -> str:
        _check_single_line(value)
        return super().to_python(value)


class SingleLineEmailField(SendableEmailFormField):
    # The outbox's rule (``validate_sendable_address``): an address taken here is one we can write to.
    def to_python(self, value: Any) -> str:
        _check_single_line(value)
        return super().to_python(value)


def too_long(limit: int) -> str:
    """The French message of a text over its length limit (20 000 shown with a thin space)."""
    return f"Ce texte est trop long : {limit:,} caractères au maximum.".replace(",", "\u202f")


class LongTextField(forms.CharField):
    """A multi-line text with a clear limit (a megabyte of text gets a message, not a 500)."""

    def __init__(self, *, max_length: int | None = None, rows: int = 6, **kwargs: Any) -> None:
        limit = max_length or settings.CONTACT_TEXT_MAX_CHARS
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": rows}))
        super().__init__(max_length=limit, **kwargs)
        for validator in self.validators:
            if getattr(validator, "code", "") == "max_length":
                validator.message = too_long(limit)


# --- Robots: a field people do not see, and a minimal time to fill the form ------------------
HONEYPOT_FIELD = "website"
STARTED_FIELD = "started"
_STARTED_SALT = "reclamations.forms.public.started"


def started_token(at: float | None = None) -> str:
    """A signed "form shown at" time, put in a hidden field (tests pass an earlier ``at``).

    A random nonce rides along: the token also keys the once-only claim of a submission, and two
    clients shown the form in the same microsecond must not share it.
    """
    moment = at if at is not None else timezone.now().timestamp()
    return signing.dumps([moment, secrets.token_urlsafe(8)], salt=_STARTED_SALT)


def _started_at(value: str) -> float | None:
    try:
        started = signing.loads(value, salt=_STARTED_SALT)
    except signing.BadSignature:
        return None
    if isinstance(started, list) and started:
        started = started[0]
    return float(started) if isinstance(started, (int, float)) and not isinstance(started, bool) else None


class RobotCheckMixin:
    """Refuses a form whose hidden field is filled in, or that comes back too fast or too late.

    The two fields are rendered by ``public/_robot_check.html`` (not by crispy) so that the
    timestamp can be renewed when the form is shown again.
    """

    data: Any
    is_bound: bool

    def robot_check(self) -> None:
        if (self.data.get(HONEYPOT_FIELD) or "").strip():
            raise ValidationError(
                "Votre demande n'a pas pu être envoyée. Vérifiez le formulaire puis envoyez-le à nouveau.",
                code="honeypot",
            )
        started = _started_at(self.data.get(STARTED_FIELD) or "")
        age = timezone.now().timestamp() - started if started is not None else None
        if age is None or age < 0 or age > settings.CONTACT_FORM_MAX_AGE_HOURS * 3600:
            raise ValidationError(
                "Le formulaire a expiré. Vérifiez vos informations puis envoyez-le à nouveau.", code="expired"
            )
        if age < settings.CONTACT_MIN_FILL_SECONDS:
            raise ValidationError(
                "Le formulaire a été envoyé trop rapidement. Vérifiez vos informations puis envoyez-le à nouveau.",
                code="too_fast",
            )

    @property
    def started_value(self) -> str:
        """The timestamp to render: the one the client had, while valid, else a new one."""
        if self.is_bound:
            value = self.data.get(STARTED_FIELD) or ""
            started = _started_at(value)
            if started is not None and 0 <= timezone.now().timestamp() - started <= (
                settings.CONTACT_FORM_MAX_AGE_HOURS * 3600
            ):
                return value
        return started_token()

    def claim_once(self) -> bool:
        """Mark this filled-in form as used; False if it was already sent (double click, replay)."""
        key = "contact-form-used:" + hashlib.sha256((self.data.get(STARTED_FIELD) or "").encode()).hexdigest()
        return cache.add(key, 1, settings.CONTACT_FORM_MAX_AGE_HOURS * 3600)

    def release_claim(self) -> None:
        key = "contact-form-used:" + hashlib.sha256((self.data.get(STARTED_FIELD) or "").encode()).hexdigest()
        cache.delete(key)


def _helper(*fieldsets: Any) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False  # the page writes the <form>, its CSRF token and its buttons
    helper.disable_csrf = True
    helper.template = "public/_crispy_fields.html"  # no second error list: the page has a summary
    helper.layout = Layout(*fieldsets)
    return helper


# --- Contact form --------------------------------------------------------------------------------
class ContactForm(RobotCheckMixin, forms.Form):
    kind = forms.ChoiceField(
        label="Votre demande est",
        choices=[
            (Kind.COMPLAINT.value, "Une réclamation : vous êtes mécontent(e) et attendez une réponse"),
            (Kind.DIFFICULTY.value, "Une difficulté : vous rencontrez un problème pendant une prestation"),
        ],
        widget=forms.RadioSelect,
        initial=Kind.COMPLAINT.value,
        error_messages={"required": "Choisissez la nature de votre demande.",
                        "invalid_choice": "Choisissez « réclamation » ou « difficulté »."},
    )
    stakeholder_type = forms.ChoiceField(
        label="Vous êtes",
        choices=StakeholderType.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Indiquez qui vous êtes.",
                        "invalid_choice": "Choisissez une des propositions."},
    )
    complainant_name = SingleLineCharField(
        label="Nom et prénom", max_length=200, error_messages={"required": "Indiquez votre nom et prénom."},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    complainant_role = SingleLineCharField(
        label="Fonction", max_length=200, required=False, help_text="Facultatif.",
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )
    complainant_organisation = SingleLineCharField(
        label="Organisation ou entreprise", max_length=200, required=False, help_text="Facultatif.",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    complainant_email = SingleLineEmailField(
        label="Adresse électronique", max_length=254,
        help_text="Nous y envoyons l'accusé de réception et le lien pour suivre votre demande.",
        error_messages={"required": "Indiquez votre adresse électronique.",
                        "invalid": "Saisissez une adresse électronique valide, par exemple nom@exemple.fr."},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    complainant_phone = SingleLineCharField(
        label="Téléphone", max_length=40, required=False,
        help_text="Facultatif, mais utile : nous vous rappelons pour bien comprendre votre demande.",
        validators=[RegexValidator(r"^\+?[0-9 .()/-]{6,40}$",
                                   "Saisissez un numéro de téléphone valide, par exemple 06 12 34 56 78.")],
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    complainant_address = LongTextField(
        label="Adresse postale", max_length=1000, rows=2, required=False, help_text="Facultatif.",
    )
    service = OfferedChoiceField(
        label="Service concerné", queryset=selectors.active_services(), empty_label="Choisissez un service",
        error_messages={"required": "Choisissez le service concerné.",
                        "invalid_choice": "Choisissez un service de la liste."},
    )
    training_action = SingleLineCharField(
        label="Formation ou session concernée", max_length=300, required=False,
        help_text="Facultatif. Par exemple : « Sauveteur secouriste du travail, session du 12 mars ».",
    )
    subject = SingleLineCharField(
        label="Objet", max_length=300, help_text="En quelques mots.",
        error_messages={"required": "Indiquez l'objet de votre demande."},
    )
    description = LongTextField(
        label="Description", rows=8,
        help_text="Décrivez ce qui s'est passé : les faits, les dates, les personnes concernées.",
        error_messages={"required": "Décrivez votre demande."},
    )
    wished_solution = LongTextField(
        label="Solution souhaitée", rows=3, required=False,
        help_text="Facultatif. Ce que vous attendez de nous pour régler la situation.",
    )
    attachments = AttachmentsField(label="Pièces justificatives")
    consent = forms.BooleanField(
        label="J'accepte que mes données personnelles soient utilisées pour traiter ma demande.",
        error_messages={"required": "Cochez cette case : sans votre accord, nous ne pouvons pas traiter "
                                    "votre demande."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offered = Service.offered()  # whether to ask, and the list shown (kept between requests)
        if offered:
            field = self.fields["service"]
            field.queryset = selectors.active_services()
            field.offer(offered)
        else:
            # Nothing configured yet: the question is not asked, the handler fills it in later.
            del self.fields["service"]
        self.fields["consent"].help_text = format_html(
            'Lisez <a href="{}">comment nous utilisons et conservons vos données</a>.', reverse("public:privacy")
        )
        self.helper = _helper(
            Fieldset("Votre demande", "kind", "stakeholder_type"),
            Fieldset(
                "Vos coordonnées",
                "complainant_name", "complainant_email", "complainant_phone", "complainant_role",
                "complainant_organisation", "complainant_address",
            ),
            Fieldset(
                "Ce qui vous amène",
                *(["service"] if "service" in self.fields else []),
                "training_action", "subject", "description", "wished_solution",
            ),
            Fieldset("Pièces justificatives", Field("attachments")),
            Fieldset("Vos données personnelles", "consent"),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.robot_check()
        return cleaned

    def submission(self) -> dict[str, Any]:
        """Keyword arguments for ``services.reclamation_submit_contact``."""
        data = dict(self.cleaned_data)
        data["uploads"] = data.pop("attachments") or []
        return data


# --- Follow-up page ------------------------------------------------------------------------------
class FollowUpMessageForm(forms.Form):
    body = LongTextField(
        label="Votre message", rows=5,
        help_text="Une précision, une question, un document à ajouter : le responsable du traitement est prévenu.",
        error_messages={"required": "Écrivez votre message."},
    )
    attachments = AttachmentsField(label="Pièces justificatives")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper("body", "attachments")


# --- Lost link -----------------------------------------------------------------------------------
class LostLinkForm(RobotCheckMixin, forms.Form):
    reference = SingleLineCharField(
        label="Référence de votre demande (facultatif)", max_length=20, required=False,
        help_text="Par exemple R-2026-0042. Sans référence, vous recevez un lien pour chacune de vos "
                  "demandes en cours.",
    )
    email = SingleLineEmailField(
        label="Adresse électronique", max_length=254,
        help_text="Celle que vous avez indiquée en envoyant votre demande.",
        error_messages={"required": "Indiquez votre adresse électronique.",
                        "invalid": "Saisissez une adresse électronique valide, par exemple nom@exemple.fr."},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper("email", "reference")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.robot_check()
        return cleaned
