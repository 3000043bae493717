"""Form fields shared by the public forms and the back-office filters."""
from __future__ import annotations

from typing import Any

import django_filters.fields
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model


class OfferedChoiceMixin:
    """A choice among objects the form has just read to list them (``offered``): what a posted form
    accepts is looked up there, without a second query to fetch the one chosen. An object gone since
    the page was shown is refused with the field's message (the list was read for this request)."""

    offered: dict[str, Model] | None = None

    def to_python(self, value: Any) -> Any:
        if self.offered is None or value in self.empty_values:  # type: ignore[attr-defined]
            return super().to_python(value)  # type: ignore[misc]
        try:
            return self.offered[str(value)]
        except KeyError:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"  # type: ignore[attr-defined]
            ) from None

    def offer(self, objects: list[Model]) -> None:
        """List ``objects`` (with the empty choice first) and accept only them."""
        self.offered = {str(obj.pk): obj for obj in objects}
        listed = [("", self.empty_label)] + [  # type: ignore[attr-defined]
            (obj.pk, self.label_from_instance(obj)) for obj in objects  # type: ignore[attr-defined]
        ]
        # Set as ChoiceField's setter does; django-filter's would wrap the list in a queryset iterator.
        self._choices = self.widget.choices = listed  # type: ignore[attr-defined]


class OfferedChoiceField(OfferedChoiceMixin, forms.ModelChoiceField):
    pass


class OfferedFilterField(OfferedChoiceMixin, django_filters.fields.ModelChoiceField):
    """The same for a django-filter choice (``filters.ReclamationFilter``)."""
