"""The back-office list's filters and search (django-filter), as query-string parameters.

The dashboard links here with the same parameters, so every figure it shows opens the matching list.
Invalid values are reported next to the field and otherwise ignored, never a 500.
"""
from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from . import search, selectors, workflow
from .forms.fields import OfferedFilterField
from .models import Channel, Kind, Priority, Reclamation, Service, StakeholderType

OPEN = "ouvertes"
STATE_CHOICES = [
    (OPEN, "Toutes les réclamations en cours"),
    *((state, f"{number}. {workflow.step_label(state)}") for number, state in enumerate(workflow.OPEN_STEPS, 1)),
    (workflow.Step.CLOSED.value, workflow.step_label(workflow.Step.CLOSED)),
    (workflow.Step.DISCARDED.value, workflow.step_label(workflow.Step.DISCARDED)),
]

ME = "moi"
UNASSIGNED = "aucun"

SLA_CHOICES = [
    ("on_time", "Dans les délais"),
    ("at_risk", "À risque"),
    ("late", "En retard"),
    ("ack_at_risk", "Accusé de réception à risque"),
    ("ack_late", "Accusé de réception en retard"),
    ("answer_at_risk", "Réponse à risque"),
    ("answer_late", "Réponse en retard"),
]

OVERDUE_ACTIONS = "en_retard"
UNREAD = "non_lus"


class FilterSelect(forms.Select):
    """A ``<select>`` written in Python: Django renders each ``<option>`` through two templates, and
    the filters' ten lists hold about sixty options, a fifth of the list page's time. Same markup."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> str:
        selected = set(self.format_value(value))
        options = format_html_join(
            "", '<option value="{}"{}>{}</option>',
            ((str(v), " selected" if str(v) in selected else "", label)
             for v, label in self.choices),
        )
        return format_html("<select name=\"{}\"{}>{}</select>", name, flatatt(self.build_attrs(self.attrs, attrs)),
                           options)


class OfferedChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = OfferedFilterField


class ReclamationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search", label="Rechercher",
        help_text="Tout ce qui est écrit : référence, réclamant, objet, description, échanges, actions…",
    )
    state = django_filters.ChoiceFilter(choices=STATE_CHOICES, method="filter_state", label="Étape",
                                        empty_label="Toutes")
    kind = django_filters.ChoiceFilter(choices=Kind.choices, label="Nature", empty_label="Toutes")
    service = OfferedChoiceFilter(queryset=Service.objects.all(), label="Service concerné", empty_label="Tous")
    channel = django_filters.ChoiceFilter(choices=Channel.choices, label="Canal", empty_label="Tous")
    stakeholder_type = django_filters.ChoiceFilter(choices=StakeholderType.choices, label="Partie prenante",
                                                   empty_label="Toutes")
    handler = django_filters.ChoiceFilter(method="filter_handler", label="Responsable", empty_label="Tous")
    priority = django_filters.ChoiceFilter(choices=Priority.choices, label="Priorité", empty_label="Toutes")
    sla = django_filters.ChoiceFilter(choices=SLA_CHOICES, method="filter_sla", label="Délais", empty_label="Tous")
    actions = django_filters.ChoiceFilter(
        choices=[(OVERDUE_ACTIONS, "Avec une action en retard")], method="filter_actions", label="Plan d'action",
        empty_label="Indifférent",
    )
    lecture = django_filters.ChoiceFilter(
        choices=[(UNREAD, "Non lus")], method="filter_unread", label="Lecture", empty_label="Indifférent",
    )
    recue_du = django_filters.DateFilter(field_name="received_at", lookup_expr="date__gte", label="Reçue du",
                                         widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    recue_au = django_filters.DateFilter(field_name="received_at", lookup_expr="date__lte", label="Reçue au",
                                         widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    class Meta:
        model = Reclamation
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Choices read when the form is built (one query), so a new colleague appears at once.
        handlers = [
            (str(pk), selectors.display_name(first, last, username))
            for pk, first, last, username in selectors.staff_handlers().values_list(
                "pk", "first_name", "last_name", "username")
        ]
        self.filters["handler"].extra["choices"] = [(ME, "Moi"), (UNASSIGNED, "Non attribuées"), *handlers]
        # The services, retired ones too (old records name them), as kept between requests
        # (``Service.listed``); the one chosen is taken from them, not fetched again.
        service = self.form.fields["service"]
        service.offer(Service.listed())
        for field in self.form.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)
            if type(field.widget) is forms.Select:
                widget = FilterSelect(attrs=field.widget.attrs)
                # A list, for the select and for the line that names the filters applied
                # (``views.backoffice.records._active_filters``).
                widget.choices = list(field.choices)
                field.widget = widget

    # --- methods ---------------------------------------------------------------------------------
    def search(self, queryset: QuerySet[Reclamation], name: str, value: str) -> QuerySet[Reclamation]:
        words = search.query_words(value)
        if not words:
            return queryset
        # Every word, anywhere in the record's folded texts (``reclamations.search``): one join, and
        # on PostgreSQL each LIKE answered by the document's trigram index (migration 0016).
        wanted = Q()
        for word in words:
            wanted &= Q(search_document__folded__contains=word)
        return queryset.filter(wanted)

    def filter_state(self, queryset: QuerySet[Reclamation], name: str, value: str) -> QuerySet[Reclamation]:
        if value == OPEN:
            return queryset.open()
        return queryset.filter(state=value)

    def filter_handler(self, queryset: QuerySet[Reclamation], name: str, value: str) -> QuerySet[Reclamation]:
        if value == ME:
            user = getattr(self.request, "user", None)
            return queryset.filter(handler=user.pk if user is not None else None)
        if value == UNASSIGNED:
            return queryset.filter(handler__isnull=True)
        return queryset.filter(handler_id=value)

    def filter_sla(self, queryset: QuerySet[Reclamation], name: str, value: str) -> QuerySet[Reclamation]:
        now = timezone.now()
        if value == "on_time":
            behind = Reclamation.objects.at_risk(now) | Reclamation.objects.late(now)
            return queryset.open().exclude(pk__in=behind.values("pk"))
        method = getattr(Reclamation.objects, value)  # the value is one of SLA_CHOICES (validated)
        # "&" puts the SLA conditions in the same WHERE as the other filters (the indexes on the
        # deadlines serve both), instead of a "pk IN (every late record)" list built first.
        return queryset & method(now)

    def filter_actions(self, queryset: QuerySet[Reclamation], name: str, value: str) -> QuerySet[Reclamation]:
        overdue = selectors.overdue_actions(timezone.localdate()).values("reclamation_id")
        return queryset.filter(pk__in=overdue)

    def filter_unread(self, queryset: QuerySet[Reclamation], name: str, value: str) -> QuerySet[Reclamation]:
        # ``unread`` is the list's own annotation (``selectors.reclamations_for_list(user=...)``).
        if "unread" not in queryset.query.annotations:
            return queryset.none()
        return queryset.filter(unread=True)


# The views every person has at the top of the list (their own saved views come after): name,
# query string. The same parameters as the filters above, so each is only a link.
BUILT_IN_VIEWS = (
    ("Mes dossiers", f"state={OPEN}&handler={ME}"),
    ("Non lus", f"lecture={UNREAD}"),
    ("En retard", "sla=late"),
    ("Non attribués", f"state={OPEN}&handler={UNASSIGNED}"),
)
