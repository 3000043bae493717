"""Forms of the quality pages: the improvement plan, its effectiveness check, the digest, the period.

They check input only (types, required fields, dates, references that exist); the plan's rules are
the services' (``services.improvement``), whose French message is shown above the form on refusal.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout
from django import forms
from django.utils import timezone

from .. import selectors
from ..models import Effectiveness, ImprovementAction, ImprovementOrigin, ImprovementStatus, Reclamation
from ..statistics import Period
from .backoffice import DateInput, ErrorSummaryMixin

REQUIRED = "Ce champ est obligatoire."
MAX_PERIOD_DAYS = 3 * 366
_REFERENCE = re.compile(r"R-\d{4}-\d{4,}", re.IGNORECASE)


def _helper(*layout: Any) -> FormHelper:
    # Templates write the <form> tag, its CSRF token and its buttons.
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    if layout:
        helper.layout = Layout(*layout)
    return helper


class _Form(ErrorSummaryMixin, forms.Form):
    pass


def _person(user: Any) -> str:
    return user.get_full_name() or user.get_username()


# --- The improvement plan ------------------------------------------------------------------------
class ImprovementForm(_Form):
    origin = forms.ChoiceField(label="Origine", choices=ImprovementOrigin.choices)
    references = forms.CharField(
        label="Réclamations concernées", required=False, max_length=2000,
        help_text="Leurs références, séparées par des virgules (par exemple R-2026-0042, R-2026-0057). "
                  "Obligatoire quand l'action est issue de réclamations.",
    )
    title = forms.CharField(label="Intitulé", max_length=200)
    description = forms.CharField(label="Description", widget=forms.Textarea(attrs={"rows": 5}), max_length=10_000,
                                  help_text="Ce qui sera fait, et pourquoi (la cause visée).")
    owner = forms.ModelChoiceField(label="Responsable", queryset=selectors.staff_handlers().none(), required=False,
                                   empty_label="À désigner")
    due_date = forms.DateField(label="Échéance", required=False, widget=DateInput())
    status = forms.ChoiceField(label="Statut", choices=ImprovementStatus.choices, initial=ImprovementStatus.PLANNED)
    done_at = forms.DateField(label="Réalisée le", required=False, widget=DateInput(),
                              help_text="Aujourd'hui si vous la passez en « Réalisée » sans date.")
    check_planned_on = forms.DateField(
        label="Vérification de l'efficacité prévue le", required=False, widget=DateInput(),
        help_text="Quand vérifier que l'action a produit son effet (proposée automatiquement une fois réalisée).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        owner.queryset = selectors.staff_handlers()
        owner.label_from_instance = _person
        for name, field in self.fields.items():
            if field.required:
                field.error_messages["required"] = REQUIRED
            if name in ("due_date", "done_at", "check_planned_on"):
                field.error_messages["invalid"] = "Saisissez une date valide, par exemple 31/03/2026."
        self.helper = _helper(
            Fieldset("L'action", "title", "description", "origin", "references"),
            Fieldset("Qui et quand", "owner", "due_date", "status", "done_at"),
            Fieldset("Efficacité", "check_planned_on"),
        )

    @classmethod
    def initial_for(cls, improvement: ImprovementAction) -> dict[str, Any]:
        return {
            "origin": improvement.origin,
            "references": ", ".join(sorted(r.reference for r in improvement.reclamations.all())),
            "title": improvement.title,
            "description": improvement.description,
            "owner": improvement.owner_id,
            "due_date": improvement.due_date,
            "status": improvement.status,
            "done_at": improvement.done_at,
            "check_planned_on": improvement.check_planned_on,
        }

    def clean_references(self) -> list[Reclamation]:
        text = self.cleaned_data.get("references") or ""
        wanted = [ref.upper() for ref in re.split(r"[\s,;]+", text.strip()) if ref]
        malformed = [ref for ref in wanted if not _REFERENCE.fullmatch(ref)]
        if malformed:
            raise forms.ValidationError(
                f"Référence mal écrite : {', '.join(malformed)}. Une référence ressemble à R-2026-0042."
            )
        found = selectors.reclamations_by_reference(wanted)
        unknown = [ref for ref in wanted if ref not in found]
        if unknown:
            raise forms.ValidationError(f"Réclamation introuvable : {', '.join(unknown)}.")
        return list(dict.fromkeys(found[ref] for ref in wanted))

    def clean_done_at(self) -> date | None:
        value = self.cleaned_data.get("done_at")
        if value and value > timezone.localdate():
            raise forms.ValidationError("Cette date est dans le futur : indiquez une date passée.")
        return value

    def changes(self) -> dict[str, Any]:
        """The plan fields, for ``services.improvement_update`` (the records go apart)."""
        return {name: self.cleaned_data[name] for name in
                ("origin", "title", "description", "owner", "due_date", "status", "done_at", "check_planned_on")}


class CheckForm(_Form):
    check_result = forms.ChoiceField(label="Résultat", choices=Effectiveness.choices, widget=forms.RadioSelect,
                                     error_messages={"required": "Choisissez le résultat de la vérification."})
    check_comment = forms.CharField(
        label="Constat", required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
        help_text="Ce que vous avez observé (indicateurs, nouvelles réclamations…). Obligatoire si l'action "
                  "n'est pas entièrement efficace.",
    )
    checked_at = forms.DateField(label="Vérifiée le", widget=DateInput(), initial=timezone.localdate,
                                 error_messages={"required": REQUIRED,
                                                 "invalid": "Saisissez une date valide, par exemple 31/03/2026."})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()

    def clean_checked_at(self) -> date:
        value = self.cleaned_data["checked_at"]
        if value > timezone.localdate():
            raise forms.ValidationError("Cette date est dans le futur : indiquez une date passée.")
        return value


# --- Periods -------------------------------------------------------------------------------------
class _PeriodMixin:
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "La fin de la période précède son début.")  # type: ignore[attr-defined]
            elif (end - start).days > MAX_PERIOD_DAYS:
                self.add_error("end", "Choisissez une période de trois ans au plus.")  # type: ignore[attr-defined]
        return cleaned

    def period(self) -> Period:
        return Period(start=self.cleaned_data["start"], end=self.cleaned_data["end"])


_DATE_ERRORS = {"required": REQUIRED, "invalid": "Saisissez une date valide, par exemple 31/03/2026."}


class StatisticsPeriodForm(_PeriodMixin, _Form):
    """The statistics page's period (GET); empty means the last twelve months."""

    start = forms.DateField(label="Du", widget=DateInput(), error_messages=_DATE_ERRORS)
    end = forms.DateField(label="Au", widget=DateInput(), error_messages=_DATE_ERRORS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()


class DigestSendForm(_PeriodMixin, _Form):
    start = forms.DateField(label="Du", widget=DateInput(), error_messages=_DATE_ERRORS)
    end = forms.DateField(label="Au", widget=DateInput(), error_messages=_DATE_ERRORS,
                          help_text="Une période terminée (au plus tard hier).")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        end = cleaned.get("end")
        if end and end >= timezone.localdate():
            self.add_error("end", "Le bilan porte sur une période terminée : choisissez une date passée.")
        return cleaned
