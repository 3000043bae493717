"""Form fields shared by the public forms, the back-office forms and the back-office filters."""
from __future__ import annotations

from typing import Any

import django_filters.fields
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model

from .. import uploads


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


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files in one input, up to ATTACHMENT_MAX_FILES, each checked by its content
    (``uploads.check_uploads``): every door for files (Contact form, follow-up page, back-office).

    Cleans to a list of :class:`uploads.CheckedUpload`, ready for the services.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": uploads.ACCEPT_ATTRIBUTE}))
        kwargs.setdefault("allow_empty_file", True)  # check_upload names the empty file itself
        kwargs.setdefault("help_text", "Facultatif. " + files_help())
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[uploads.CheckedUpload]:
        files = [f for f in (data if isinstance(data, (list, tuple)) else [data]) if f]
        if not files:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        if len(files) > uploads.max_files():
            raise ValidationError(f"Vous pouvez joindre au plus {uploads.max_files()} fichiers.", code="too_many")
        checked = [super(AttachmentsField, self).clean(f, initial) for f in files]
        return uploads.check_uploads(checked)


def files_help() -> str:
    return (f"Jusqu'à {uploads.max_files()} fichiers de {uploads.human_size(uploads.max_bytes())} au maximum "
            f"chacun : {uploads.ALLOWED_LABEL}.")
