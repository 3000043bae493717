"""The satisfaction survey on the handling of a complaint (step 9): five short questions, phone-first.

Every question is a radio group with its legend (crispy-forms renders a ``<fieldset>``), the answers
in plain words; only the comment is optional. The service (``services.survey``) does the rest.
"""
from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout
from django import forms

from ..models import Solved
from .public import LongTextField

SATISFACTION_CHOICES = [
    (1, "1 — Pas du tout satisfait(e)"),
    (2, "2 — Peu satisfait(e)"),
    (3, "3 — Moyennement satisfait(e)"),
    (4, "4 — Satisfait(e)"),
    (5, "5 — Très satisfait(e)"),
]
YES_NO = [("oui", "Oui"), ("non", "Non")]


def _yes(value: str) -> bool:
    return value == "oui"


class SurveyForm(forms.Form):
    satisfaction = forms.TypedChoiceField(
        label="Dans l'ensemble, êtes-vous satisfait(e) de la façon dont votre demande a été traitée ?",
        choices=SATISFACTION_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Choisissez une note de 1 à 5.",
                        "invalid_choice": "Choisissez une note de 1 à 5."},
    )
    solved = forms.ChoiceField(
        label="Votre problème est-il résolu ?",
        choices=Solved.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Indiquez si votre problème est résolu.",
                        "invalid_choice": "Choisissez « oui », « en partie » ou « non »."},
    )
    answer_clear = forms.TypedChoiceField(
        label="Notre réponse était-elle claire ?",
        choices=YES_NO,
        coerce=_yes,
        widget=forms.RadioSelect,
        error_messages={"required": "Indiquez si notre réponse était claire.",
                        "invalid_choice": "Choisissez « oui » ou « non »."},
    )
    delay_acceptable = forms.TypedChoiceField(
        label="Le délai de traitement vous a-t-il paru acceptable ?",
        choices=YES_NO,
        coerce=_yes,
        widget=forms.RadioSelect,
        error_messages={"required": "Indiquez si le délai vous a paru acceptable.",
                        "invalid_choice": "Choisissez « oui » ou « non »."},
    )
    comment = LongTextField(
        label="Un commentaire ?",
        max_length=4000,
        rows=4,
        required=False,
        help_text="Facultatif. Ce qui vous a aidé, ce que nous pourrions améliorer.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        helper = FormHelper()
        helper.form_tag = False  # the page writes the <form>, its CSRF token and its button
        helper.disable_csrf = True
        helper.template = "public/_crispy_fields.html"  # no second error list: the page has a summary
        helper.layout = Layout("satisfaction", "solved", "answer_clear", "delay_acceptable", "comment")
        self.helper = helper
