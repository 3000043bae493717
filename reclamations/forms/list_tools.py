"""The list's own forms: an action on the selected rows, and saving the current filters as a view."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import QueryDict

from .. import selectors
from ..filters import ReclamationFilter
from .backoffice import BaseForm, StaffChoiceField

ASSIGN, READ, UNREAD = "assign", "read", "unread"
# More than a list page ever shows (25 rows); a whole period is the register's job.
MAX_EXPORTED = 500

# The list's own parameters: a saved view keeps these and nothing else (no page number, nothing
# made up in the address bar).
VIEW_PARAMETERS = (*ReclamationFilter.base_filters, "ordre")


def view_query(params: QueryDict | dict[str, Any]) -> str:
    """The list's query string reduced to its filters, search and sort, in a stable order."""
    pairs = [(name, str(params.get(name, "")).strip()) for name in VIEW_PARAMETERS]
    return urlencode([(name, value) for name, value in pairs if value])


class BulkActionForm(BaseForm):
    """What to do with the rows ticked on the list (``ids``, one checkbox a row)."""

    action = forms.ChoiceField(
        label="Action",
        choices=[(ASSIGN, "Attribuer"), (READ, "Marquer comme lu"), (UNREAD, "Marquer comme non lu")],
        error_messages={"required": "Choisissez une action.", "invalid_choice": "Choisissez une action de la liste."},
    )
    ids = forms.TypedMultipleChoiceField(
        label="Réclamations",
        coerce=int,
        choices=[],
        error_messages={"required": "Cochez au moins une réclamation dans la liste."},
    )
    handler = StaffChoiceField(label="Attribuer à", queryset=None, required=False, empty_label="Choisir…")
    note = forms.CharField(label="Note de passation", required=False, max_length=2000)
    back = forms.CharField(required=False, max_length=2000)  # the list's query string, to go back to

    def __init__(self, *args: Any, staff: list[tuple[Any, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        handler = self.fields["handler"]
        if self.is_bound:
            handler.queryset = selectors.staff_handlers()
            # Any id is accepted here; the view reads the records and says which ones do not exist.
            self.fields["ids"].choices = [(value, value) for value in self._posted_ids()]
        else:
            # The colleagues the list's handler filter has just read: no second query for the same list.
            handler.queryset = selectors.staff_handlers().none()
            handler.choices = [("", "Choisir…"), *(staff or [])]

    def _posted_ids(self) -> list[str]:
        return self.data.getlist(self.add_prefix("ids")) if hasattr(self.data, "getlist") else []

    def ticked(self) -> list[int]:
        """The rows ticked when the form was sent, to tick them again on a refused form."""
        return [int(value) for value in self._posted_ids() if value.isdigit()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("action") == ASSIGN and not data.get("handler"):
            self.add_error("handler", "Choisissez la personne à qui attribuer les réclamations.")
        return data

    def clean_ids(self) -> list[int]:
        ids = self.cleaned_data["ids"]
        if any(pk <= 0 for pk in ids):
            raise forms.ValidationError("Sélection invalide : rechargez la liste.")
        return ids


class SelectionExportForm(BulkActionForm):
    """The same rows ticked, sent to the export's address (the list's bulk form, another button).

    A subclass so that a refused export comes back on the list like a refused bulk action: the
    rows still ticked, the reason under the buttons.
    """

    action = forms.CharField(required=False)  # the button's own value; the address says what to do

    def clean_ids(self) -> list[int]:
        ids = super().clean_ids()
        if len(ids) > MAX_EXPORTED:
            raise forms.ValidationError(
                f"Cochez au plus {MAX_EXPORTED} réclamations à la fois, ou exportez le registre d'une période "
                "depuis le dossier de preuves."
            )
        return ids


class SavedViewForm(BaseForm):
    name = forms.CharField(
        label="Nom de la vue",
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": "ex. Mes dossiers en retard"}),
        error_messages={"required": "Donnez un nom à la vue."},
    )
    query = forms.CharField(required=False, max_length=1000)

    def clean_query(self) -> str:
        return view_query(QueryDict(self.cleaned_data["query"]))
