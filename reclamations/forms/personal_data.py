"""Forms of the quality lead's personal-data page: find a person, export, erase (with confirmation).

The person is named by one value, an e-mail address or a full name. It travels in POST bodies only,
never in an address, so that it stays out of access logs, browser history and ``Referer`` headers.
"""
from __future__ import annotations

from typing import Any

from django import forms

from .backoffice import REQUIRED, BaseForm

PERSON_LABEL = "Adresse électronique ou nom et prénom"


def _normalised(value: str) -> str:
    return " ".join(value.split()).lower()


class PersonForm(BaseForm):
    """Who: an e-mail address (it holds "@") or a full name, as recorded on the complaints."""

    person = forms.CharField(
        label=PERSON_LABEL, max_length=254,
        help_text="L'adresse électronique ou le nom complet tels qu'ils figurent sur les réclamations "
                  "(majuscules et minuscules indifférentes).",
        error_messages={"required": "Indiquez l'adresse électronique ou le nom de la personne."},
    )

    def clean_person(self) -> str:
        value = " ".join(self.cleaned_data["person"].split())
        if len(value) < 3:
            raise forms.ValidationError("Indiquez au moins trois caractères.")
        if "@" in value and " " in value:
            raise forms.ValidationError("Indiquez soit une adresse électronique, soit un nom, pas les deux.")
        return value

    def criteria(self) -> dict[str, str]:
        """Keyword arguments for ``selectors.personal_data_find`` and the services."""
        person = self.cleaned_data["person"]
        return {"email": person} if "@" in person else {"name": person}


class HiddenPersonForm(PersonForm):
    """The person already searched, carried by the export and erase buttons."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].widget = forms.HiddenInput()


class EraseForm(HiddenPersonForm):
    confirmation = forms.CharField(
        label="Pour confirmer, tapez de nouveau l'adresse électronique ou le nom recherché", max_length=254,
        error_messages={"required": REQUIRED},
    )
    reason = forms.CharField(
        label="Motif", max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Comment et quand la demande est arrivée (par exemple : courrier reçu le 03/02/2027). "
                  "Ce motif reste au journal : n'y écrivez ni le nom ni l'adresse de la personne.",
        error_messages={"required": "Indiquez le motif de l'effacement."},
    )
    understood = forms.BooleanField(
        label="Je comprends que l'effacement est définitif : noms, coordonnées, textes et pièces ne pourront "
              "pas être retrouvés.",
        error_messages={"required": "Cochez la case pour confirmer que l'effacement est définitif."},
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        person, confirmation = data.get("person"), data.get("confirmation")
        if person and confirmation and _normalised(person) != _normalised(confirmation):
            self.add_error("confirmation", "Ce n'est pas la même valeur que la personne recherchée.")
        return data
