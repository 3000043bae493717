"""Back-office forms: one small form per thing a handler records, with exactly the fields it needs.

Forms only check input (types, required fields, dates not in the future); every rule of the
procedure is checked by the services they feed (``reclamations.services``), whose French message
is shown next to the form when they refuse. Model forms are used for their labels and choices only:
views pass ``changed_data`` to ``services.reclamation_update`` and never call ``form.save()``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core import validators
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from .. import roles, selectors, uploads, workflow
from ..models import (
    ActionKind,
    ActionStatus,
    Channel,
    Communication,
    CommunicationKind,
    Kind,
    Level,
    Reclamation,
)
from .fields import AttachmentsField, files_help
from .public import SingleLineCharField, too_long
from .survey import SATISFACTION_CHOICES

REQUIRED = "Ce champ est obligatoire."


def _helper() -> FormHelper:
    # Templates write the <form> tag themselves (CSRF, expected_state, buttons).
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class PastDateTimeField(forms.DateTimeField):
    """A moment that already happened (reception, call, letter...), typed in local time."""

    widget = DateTimeLocalInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"])
        super().__init__(**kwargs)

    # Nothing the procedure records happened before this; and a date in year 1 typed in Paris time
    # would fall before year 1 once converted to UTC for the database.
    EARLIEST_YEAR = 1900

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and value > timezone.now():
            raise forms.ValidationError("Cette date est dans le futur : indiquez une date passée.", code="future")
        if value and value.year < self.EARLIEST_YEAR:
            raise forms.ValidationError("Cette date est trop ancienne : vérifiez l'année.", code="too_old")


def _now_local() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


class ErrorSummaryMixin:
    """The field errors as (field id, label, message), for an error summary (each links to its field).

    ``backoffice/_form_errors.html`` builds the same list for any form; this is for code that
    wants it in Python. Errors about the whole form (a service's refusal) are not repeated here.
    """

    def error_summary(self) -> list[tuple[str, str, str]]:
        return [(field.id_for_label or f"{field.auto_id}_0", str(field.label), str(error))
                for field in self for error in field.errors]


def _limit_length(field: forms.CharField, limit: int) -> None:
    """A model's text field has no length of its own: a megabyte pasted into the answer would be
    stored and e-mailed. Give it the limit of the client's longest text, with the same message."""
    field.max_length = limit
    field.validators.append(validators.MaxLengthValidator(limit, message=too_long(limit)))
    field.widget.attrs.setdefault("maxlength", str(limit))


class StaffChoiceField(forms.ModelChoiceField):
    """A colleague, shown by name (the account name only when no name is set)."""

    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()

    def offer(self, staff: Sequence[Any] | None) -> None:
        """The colleagues to list: ``selectors.staff_handlers()``, or ``staff`` already read from it.

        A record's page lists them in every action's form and in two more: the view reads them
        once and hands them to each form it shows, instead of one query (and one query built) per
        list. Only for unbound forms: what a posted form accepts is checked against the database.
        """
        if staff is None:
            self.queryset = selectors.staff_handlers()
            return
        self.queryset = selectors.staff_handlers().none()  # an unbound form is shown, never validated
        empty = [] if self.empty_label is None else [("", self.empty_label)]
        self.choices = empty + [(user.pk, self.label_from_instance(user)) for user in staff]


class BaseForm(ErrorSummaryMixin, forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class BaseModelForm(ErrorSummaryMixin, forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and field.max_length is None:
                _limit_length(field, settings.CONTACT_TEXT_MAX_CHARS)

    def changes(self) -> dict[str, Any]:
        """The edited fields and their new values, for ``services.reclamation_update``."""
        return {name: self.cleaned_data[name] for name in self.changed_data}


FOREIGN_FILE = "Ce fichier n'est pas une pièce de cette réclamation : il ne peut pas être joint au message."


class OutgoingFilesMixin:
    """Two fields for the files sent with a message or the argued answer: the record's own files
    (``record_files``, given by the view) and new ones, checked like every upload. The services
    check again that each chosen file belongs to the record (``services.outgoing_files``)."""

    def add_file_fields(self, record_files: Sequence[Any] | None) -> None:
        fields = self.fields  # type: ignore[attr-defined]
        fields["files"] = forms.TypedMultipleChoiceField(
            label="Joindre des pièces du dossier", required=False, coerce=int,
            # No file on the record yet: nothing to tick (the field stays, so a forged id is refused).
            widget=forms.CheckboxSelectMultiple if record_files else forms.MultipleHiddenInput,
            choices=[(a.pk, f"{a.original_name} ({filesizeformat(a.size)})") for a in record_files or ()],
            error_messages={"invalid_choice": FOREIGN_FILE},
        )
        fields["new_files"] = AttachmentsField(
            label="Joindre de nouveaux fichiers",
            help_text=f"Enregistrés aussi dans le dossier, visibles par le réclamant. {files_help()} Envoyés en "
                      f"pièces jointes jusqu'à {uploads.human_size(settings.OUTGOING_ATTACHMENTS_MAX_BYTES)} au "
                      "total ; au-delà, le courriel donne un lien vers sa page de suivi.",
        )


# --- Signing in ----------------------------------------------------------------------------------
class StaffAuthenticationForm(ErrorSummaryMixin, AuthenticationForm):
    """Django's login form, limited to the back-office team."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Identifiant ou mot de passe incorrect. Vérifiez-les et réessayez "
                         "(attention aux majuscules).",
        "not_staff": "Ce compte n'a pas accès au back-office des réclamations.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Identifiant"
        self.fields["password"].label = "Mot de passe"
        self.helper = _helper()

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not roles.is_handler(user):
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")


# --- Step 1: acknowledgement -----------------------------------------------------------------------
class AcknowledgementForm(BaseForm):
    """An acknowledgement already given outside the application (letter, phone, in person)."""

    MEANS = [
        ("courrier", "Courrier"),
        ("téléphone", "Téléphone"),
        ("en personne", "En personne"),
        ("courriel", "Courriel envoyé hors de l'application"),
    ]
    means = forms.ChoiceField(label="Moyen", choices=MEANS)
    sent_at = PastDateTimeField(label="Date de l'accusé de réception")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sent_at"].initial = _now_local()


class NotApplicableForm(BaseForm):
    reason = forms.CharField(
        label="Pourquoi ?", widget=forms.Textarea(attrs={"rows": 2}), max_length=500,
        help_text="Par exemple : aucun moyen de joindre le réclamant, aléa sans réclamant.",
    )


# --- Step 2: identification ------------------------------------------------------------------------
class AssignForm(BaseForm):
    handler = StaffChoiceField(label="Responsable du traitement", queryset=None, empty_label=None)
    note = forms.CharField(
        label="Note de passation", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Où en est le dossier, ce qui reste à faire : elle est envoyée à votre collègue et "
        "gardée dans l'historique.",
    )

    def __init__(self, *args: Any, staff: Sequence[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["handler"].offer(None if self.is_bound else staff)


class IdentificationForm(BaseModelForm):
    class Meta:
        model = Reclamation
        fields = ["kind", "stakeholder_type", "complainant_name", "complainant_role", "complainant_organisation",
                  "complainant_phone", "complainant_email", "complainant_address", "service", "training_action",
                  "subject"]
        widgets = {"complainant_address": forms.Textarea(attrs={"rows": 2})}
        labels = {"complainant_name": "Nom du réclamant", "complainant_email": "Courriel",
                  "kind": "Nature", "subject": "Objet de la réclamation"}
        field_classes = {"subject": SingleLineCharField}  # it becomes part of e-mail subjects

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A service deactivated since stays selectable for the record that has it.
        self.fields["service"].queryset = selectors.active_services(keep=self.instance.service_id)
        self.helper.layout = Layout(
            Fieldset("Réclamant", "stakeholder_type", "complainant_name", "complainant_role",
                     "complainant_organisation", "complainant_phone", "complainant_email", "complainant_address"),
            Fieldset("La demande", "kind", "service", "training_action", "subject"),
        )


# --- Step 3: reformulation and contact ----------------------------------------------------------------
class ReformulationForm(BaseModelForm):
    class Meta:
        model = Reclamation
        fields = ["reformulation"]
        widgets = {"reformulation": forms.Textarea(attrs={"rows": 4})}
        help_texts = {"reformulation": "Les points clés de la demande, tels que vous les avez compris et validés "
                                       "avec le réclamant."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reformulation"].required = True


class CommunicationForm(BaseForm):
    """A call, letter, meeting or internal note, logged with its date."""

    KINDS = [(k.value, k.label) for k in (CommunicationKind.CALL, CommunicationKind.LETTER, CommunicationKind.EMAIL,
                                           CommunicationKind.MEETING, CommunicationKind.NOTE)]
    DIRECTIONS = [
        (Communication.Direction.OUTBOUND.value, "Vers le réclamant (appel passé, courrier envoyé…)"),
        (Communication.Direction.INBOUND.value, "Du réclamant (appel reçu, courrier reçu…)"),
    ]
    PURPOSES = [(p.value, p.label) for p in (Communication.Purpose.GENERAL, Communication.Purpose.INFORMATION_REQUEST,
                                              Communication.Purpose.PROGRESS)]
    kind = forms.ChoiceField(label="Type d'échange", choices=KINDS, initial=CommunicationKind.CALL)
    direction = forms.ChoiceField(label="Sens", choices=DIRECTIONS, initial=Communication.Direction.OUTBOUND,
                                  help_text="Ignoré pour une note interne.")
    purpose = forms.ChoiceField(
        label="Objet", choices=PURPOSES, initial=Communication.Purpose.GENERAL,
        help_text=f"« Point d'avancement » compte pour {workflow.step_phrase(workflow.Step.FOLLOW_UP)}.")
    occurred_at = PastDateTimeField(label="Date et heure")
    duration_minutes = forms.IntegerField(label="Durée (minutes)", required=False, min_value=1, max_value=600)
    body = forms.CharField(label="Résumé", widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)
    public = forms.BooleanField(label="Visible par le réclamant sur sa page de suivi", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["occurred_at"].initial = _now_local()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") == CommunicationKind.NOTE:
            data["direction"] = Communication.Direction.INTERNAL
            data["public"] = False
        return data


# --- Step 4: evaluation and action plan -----------------------------------------------------------------
class EvaluationForm(BaseModelForm):
    class Meta:
        model = Reclamation
        fields = ["severity", "complexity", "repercussions"]
        widgets = {name: forms.RadioSelect for name in ("severity", "complexity", "repercussions")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.Meta.fields:
            field = self.fields[name]
            field.required = True
            field.choices = Level.choices  # no blank "---------" radio


class ActionAddForm(BaseForm):
    description = forms.CharField(label="Action", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    kind = forms.ChoiceField(label="Type", choices=ActionKind.choices)
    owner = StaffChoiceField(label="Responsable", queryset=None, required=False, empty_label="À désigner")
    due_date = forms.DateField(label="Échéance", required=False, widget=DateInput)
    confirm_past_due = forms.BooleanField(label="Échéance passée : je confirme (plan enregistré après coup)",
                                          required=False)

    def __init__(self, *args: Any, staff: Sequence[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].offer(None if self.is_bound else staff)


class ActionForm(ActionAddForm):
    status = forms.ChoiceField(label="Statut", choices=ActionStatus.choices)
    done_at = forms.DateField(label="Réalisée le", required=False, widget=DateInput,
                              help_text="Laissé vide pour une action réalisée : la date du jour.")
    result = forms.CharField(label="Résultat", required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper.layout = Layout(
            "description",
            Row(Column("kind", css_class="col-md-4"), Column("owner", css_class="col-md-4"),
                Column("due_date", css_class="col-md-4")),
            "confirm_past_due",
            Row(Column("status", css_class="col-md-4"), Column("done_at", css_class="col-md-8")),
            "result",
        )


# --- Step 6: the argued answer ---------------------------------------------------------------------------
SEND_BY_EMAIL = "email"


class AnswerForm(OutgoingFilesMixin, BaseModelForm):
    MEANS = [
        (SEND_BY_EMAIL, "Par courriel, maintenant (ou sur sa page de suivi s'il n'a pas d'adresse)"),
        (CommunicationKind.LETTER.value, "Déjà remise par courrier"),
        (CommunicationKind.CALL.value, "Déjà remise par téléphone"),
        (CommunicationKind.MEETING.value, "Déjà remise en entretien"),
    ]
    means = forms.ChoiceField(label="Envoi au réclamant", choices=MEANS, initial=SEND_BY_EMAIL, required=False)
    sent_at = PastDateTimeField(label="Remise le", required=False,
                                help_text="Seulement pour une réponse déjà remise par un autre moyen.")

    class Meta:
        model = Reclamation
        fields = ["decision", "answer", "compensation_type", "compensation_description", "compensation_amount"]
        widgets = {"answer": forms.Textarea(attrs={"rows": 8}),
                   "compensation_description": forms.Textarea(attrs={"rows": 2}),
                   "decision": forms.RadioSelect}
        help_texts = {"answer": "Positive ou négative, la réponse explique ses raisons pour que le réclamant les "
                                "comprenne."}

    def __init__(self, *args: Any, record_files: Sequence[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_file_fields(record_files)
        self.fields["answer"].required = True
        self.fields["decision"].choices = [c for c in self.fields["decision"].choices if c[0]]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("means") not in (None, "", SEND_BY_EMAIL) and not data.get("sent_at"):
            self.add_error("sent_at", "Indiquez quand la réponse a été remise.")
        return data

    def answer_changes(self) -> dict[str, Any]:
        return {name: value for name, value in self.changes().items() if name in self.Meta.fields}


# --- Step 8: conclusion --------------------------------------------------------------------------------
class ConclusionForm(BaseModelForm):
    class Meta:
        model = Reclamation
        fields = ["conclusion", "root_cause_category", "root_cause_analysis", "complementary_offer"]
        widgets = {name: forms.Textarea(attrs={"rows": 3})
                   for name in ("conclusion", "root_cause_analysis", "complementary_offer")}
        help_texts = {"complementary_offer": "Facultatif : un produit ou service complémentaire proposé au client."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("conclusion", "root_cause_category", "root_cause_analysis"):
            self.fields[name].required = True
        self.fields["root_cause_category"].queryset = selectors.active_root_causes(
            keep=self.instance.root_cause_category_id)


# --- Step 9: feedback ----------------------------------------------------------------------------------
class FeedbackForm(BaseForm):
    satisfaction = forms.TypedChoiceField(
        label="Satisfaction du client", coerce=int, widget=forms.RadioSelect,
        choices=SATISFACTION_CHOICES,  # the client's scale, in the same order (1 to 5)
    )
    comment = forms.CharField(label="Commentaire du client", required=False,
                              widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


# --- Messages to the client ------------------------------------------------------------------------
class MessageForm(OutgoingFilesMixin, BaseForm):
    purpose = forms.ChoiceField(
        label="Objet du message",
        choices=[(p, Communication.Purpose(p).label) for p in Communication.MESSAGE_PURPOSES],
    )
    # A header: a line break is refused with a message, never silently joined.
    subject = SingleLineCharField(label="Sujet du courriel", max_length=200)
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 10}), max_length=20_000)

    def __init__(self, *args: Any, record_files: Sequence[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_file_fields(record_files)


# --- Anywhere ------------------------------------------------------------------------------------------
class DiscardForm(BaseForm):
    reason = forms.CharField(label="Motif du classement sans suite", widget=forms.Textarea(attrs={"rows": 2}),
                             max_length=1000, help_text="Par exemple : spam, doublon de R-2026-0012, demande retirée.")


class ReopenForm(BaseForm):
    step = forms.ChoiceField(
        label="Reprendre à l'étape",
        choices=[(s, f"{n}. {workflow.step_label(s)}") for n, s in enumerate(workflow.OPEN_STEPS, 1)],
        initial=workflow.Step.ACTION_PROPOSAL,
    )
    reason = forms.CharField(label="Motif de la réouverture", widget=forms.Textarea(attrs={"rows": 2}),
                             max_length=1000)


class ReceivedAtForm(BaseForm):
    received_at = PastDateTimeField(label="Date de réception réelle")
    reason = forms.CharField(label="Motif de la correction", max_length=500)


class AttachmentForm(BaseForm):
    files = AttachmentsField(label="Fichiers", required=True, help_text=files_help())
    public = forms.BooleanField(label="Visible par le réclamant sur sa page de suivi", required=False)



# --- Registering a record received by another channel ------------------------------------------------
class ReclamationCreateForm(BaseModelForm):
    received_at = PastDateTimeField(label="Reçue le", help_text="La date réelle de réception (cachet, appel…) : "
                                                                "les délais se comptent à partir d'elle.")
    files = AttachmentsField(label="Document(s) d'origine",
                             help_text="Le courrier scanné, le courriel, le questionnaire… " + files_help())
    files_public = forms.BooleanField(label="Documents visibles par le réclamant sur sa page de suivi",
                                      required=False, initial=True)

    class Meta:
        model = Reclamation
        fields = ["kind", "channel", "received_at", "stakeholder_type", "complainant_name", "complainant_role",
                  "complainant_organisation", "complainant_phone", "complainant_email", "complainant_address",
                  "service", "training_action", "subject", "description", "wished_solution"]
        widgets = {"complainant_address": forms.Textarea(attrs={"rows": 2}),
                   "description": forms.Textarea(attrs={"rows": 5}),
                   "wished_solution": forms.Textarea(attrs={"rows": 2}),
                   "kind": forms.RadioSelect}
        labels = {"complainant_name": "Nom du réclamant", "complainant_email": "Courriel", "kind": "Nature"}
        field_classes = {"subject": SingleLineCharField}  # it becomes part of e-mail subjects
        help_texts = {"complainant_name": "Facultatif pour un aléa sans réclamant."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", "---------")] + [
            c for c in Channel.choices if c[0] != Channel.WEB_FORM]
        self.fields["service"].queryset = selectors.active_services()
        self.fields["received_at"].initial = _now_local()
        self.helper.layout = Layout(
            Fieldset("Réception", "kind", "channel", "received_at"),
            Fieldset("Réclamant", "stakeholder_type", "complainant_name", "complainant_role",
                     "complainant_organisation", "complainant_phone", "complainant_email", "complainant_address"),
            Fieldset("La demande", "service", "training_action", "subject", "description", "wished_solution"),
            Fieldset("Documents d'origine", "files", "files_public"),
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("kind") in (Kind.COMPLAINT, Kind.DIFFICULTY) and not data.get("complainant_name", "").strip():
            self.add_error("complainant_name", "Indiquez le nom du réclamant (seul un aléa peut ne pas en avoir).")
        return data

    def record_fields(self) -> dict[str, Any]:
        """What ``services.reclamation_create`` takes besides kind, channel, subject and description."""
        skip = {"kind", "channel", "subject", "description", "received_at"}
        return {name: self.cleaned_data[name] for name in self.Meta.fields
                if name not in skip and self.cleaned_data.get(name) not in (None, "")}
