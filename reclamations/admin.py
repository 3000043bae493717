"""The admin: configuration for the quality lead, and a read-mostly view of the records.

The rules of the back-office hold here too: the step cannot be edited by hand, record edits go
through ``services.reclamation_update`` (so they are logged), and the journal is read-only.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest

from . import services, workflow
from .models import (
    Action,
    Attachment,
    Communication,
    Digest,
    DigestReceipt,
    Event,
    ExportJob,
    FollowUpLink,
    ImprovementAction,
    InboundMessage,
    JournalChainHead,
    LinkRequest,
    MailboxPoll,
    MessageTemplate,
    OpeningHours,
    Organisation,
    OrphanFileReport,
    Reclamation,
    RecordEmail,
    RecordRead,
    ReferenceCounter,
    RootCauseCategory,
    SearchDocument,
    Service,
    StaffProfile,
)

admin.site.site_header = "Réclamations — administration"
admin.site.site_title = "Réclamations"


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "siret", "activity_number", "ack_delay_hours", "answer_delay_hours", "clock_mode"]
    fieldsets = [
        ("Identité", {"fields": ["name", "address", "siret", "activity_number", "contact_email", "phone",
                                 "website", "logo"]}),
        ("Procédure", {"fields": ["responsible_name", "responsible_user", "ack_delay_hours",
                                  "answer_delay_hours", "clock_mode", "alsace_moselle", "at_risk_percent"]}),
        ("Courriels reçus", {"fields": ["email_intake_creates_records"]}),
        ("Enquête de satisfaction, amélioration continue et recours",
         {"fields": ["survey_days", "survey_reminder_days", "recurrence_window_days", "recourse_text"]}),
        ("Médiation de la consommation", {
            "fields": ["mediator_name", "mediator_address", "mediator_website"],
            "description": "Nommé partout où le client est informé de ses recours : accusé de réception, réponse "
                           "argumentée, courriel de clôture, page de suivi, dossier de preuves."}),
    ]
    # "www.example.fr" typed without a scheme becomes https://, as Django 6 will do by default.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not Organisation.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    list_display = ["weekday", "opens_at", "closes_at"]
    list_filter = ["weekday"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "position"]
    list_editable = ["active", "position"]
    list_filter = ["active"]
    search_fields = ["name"]


@admin.register(RootCauseCategory)
class RootCauseCategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "active"]
    list_filter = ["active"]
    search_fields = ["name"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    """The starting texts of the messages handlers send to clients (see services/messages.py)."""

    list_display = ["purpose_label", "subject"]
    fields = ["purpose", "subject", "body"]

    @admin.display(description="objet", ordering="purpose")
    def purpose_label(self, obj: MessageTemplate) -> str:
        return dict(Communication.Purpose.choices).get(obj.purpose, obj.purpose)

    def get_form(self, request: HttpRequest, obj: object = None, change: bool = False, **kwargs: object):
        from django import forms

        from .services.messages import DEFAULT_MESSAGES

        form = super().get_form(request, obj, change=change, **kwargs)
        # A closed list of purposes, the ones the back-office knows how to use.
        form.base_fields["purpose"] = forms.ChoiceField(
            label="Objet", choices=[(p, Communication.Purpose(p).label) for p in DEFAULT_MESSAGES],
            help_text="Un seul modèle par objet ; sans modèle, le texte par défaut de l'application s'applique.",
        )
        return form


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "on_duty"]
    list_editable = ["on_duty"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return list(self.fields)  # recorded through the back-office services, shown here only

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ActionInline(ReadOnlyInline):
    model = Action
    fields = ["kind", "description", "owner", "due_date", "status", "done_at"]


class CommunicationInline(ReadOnlyInline):
    model = Communication
    fields = ["occurred_at", "kind", "direction", "purpose", "public", "subject"]


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ["original_name", "content_type", "size", "created_at"]


class StateFilter(admin.SimpleListFilter):
    """The record's step, labelled from workflow.STEPS (the field itself has no choices)."""

    title = "étape"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return workflow.state_choices()

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        return queryset.filter(state=self.value()) if self.value() else queryset


@admin.register(Reclamation)
class ReclamationAdmin(admin.ModelAdmin):
    list_display = ["reference", "kind", "channel", "subject", "step", "priority", "handler", "received_at",
                    "ack_due_at", "answer_due_at"]
    list_filter = [StateFilter, "kind", "channel", "stakeholder_type", "priority", "service", "handler"]
    search_fields = ["reference", "complainant_name", "complainant_email", "subject"]
    date_hierarchy = "received_at"
    list_select_related = ["handler"]
    inlines = [ActionInline, CommunicationInline, AttachmentInline]
    # The step, the deadlines and the fulfilment times change only through the workflow services.
    readonly_fields = ["reference", "step", "received_at", "ack_due_at", "answer_due_at", "acknowledged_at",
                       "answered_at", "closed_at", "priority", "handler", "not_applicable", "created_at",
                       "created_by", "feedback_requested_at", "feedback_received_at", "feedback_no_answer",
                       "feedback_satisfaction", "feedback_comment", "discard_reason"]
    fieldsets = [
        ("Suivi", {"fields": ["reference", "step", "handler", "priority", "received_at", "ack_due_at",
                              "acknowledged_at", "answer_due_at", "answered_at", "closed_at", "not_applicable",
                              "created_at", "created_by", "discard_reason"]}),
        ("Réclamation", {"fields": ["kind", "channel", "stakeholder_type", "service", "training_action", "subject",
                                    "description", "wished_solution"]}),
        ("Réclamant", {"fields": ["complainant_name", "complainant_role", "complainant_organisation",
                                  "complainant_phone", "complainant_email", "complainant_address"]}),
        ("Traitement", {"fields": ["reformulation", "severity", "complexity", "repercussions", "decision", "answer",
                                   "compensation_type", "compensation_description", "compensation_amount"]}),
        ("Conclusion", {"fields": ["conclusion", "root_cause_category", "root_cause_analysis",
                                   "complementary_offer"]}),
        ("Avis du client", {"fields": ["feedback_requested_at", "feedback_received_at", "feedback_no_answer",
                                       "feedback_satisfaction", "feedback_comment"]}),
    ]

    @admin.display(description="étape", ordering="state")
    def step(self, obj: Reclamation) -> str:
        return obj.get_state_display()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # records are registered in the back-office, which computes deadlines and logs

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the register is evidence: discard a record instead

    def save_model(self, request: HttpRequest, obj: Reclamation, form, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in services.EDITABLE_FIELDS}
        try:
            services.reclamation_update(reclamation=obj, actor=request.user, changes=changes)
        except services.WorkflowError as exc:
            messages.error(request, str(exc))


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown for the record only: the journal, the improvement plan and the digests change only
    through the services, which log every change."""

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in self.model._meta.fields] + [m.name for m in self.model._meta.many_to_many]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["sequence", "created_at", "reclamation", "actor_label", "kind", "summary"]
    list_filter = ["kind"]
    search_fields = ["reclamation__reference", "summary", "actor_label"]
    list_select_related = ["reclamation"]


# --- Continual improvement and internal communication (indicator 32) -----------------------------
@admin.register(ImprovementAction)
class ImprovementActionAdmin(ReadOnlyAdmin):
    list_display = ["title", "origin", "owner", "due_date", "status", "check_planned_on", "check_result"]
    list_filter = ["status", "origin", "check_result"]
    search_fields = ["title", "description", "reclamations__reference"]
    list_select_related = ["owner"]


class DigestReceiptInline(ReadOnlyInline):
    model = DigestReceipt
    fields = ["user", "sent_at", "acknowledged_at"]


@admin.register(Digest)
class DigestAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "period_start", "period_end", "created_at"]
    inlines = [DigestReceiptInline]


@admin.register(DigestReceipt)
class DigestReceiptAdmin(ReadOnlyAdmin):
    list_display = ["digest", "user", "sent_at", "acknowledged_at"]
    list_filter = ["digest"]
    list_select_related = ["digest", "user"]
    exclude = ["token_hash"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return ["digest", "user", "sent_at", "acknowledged_at"]


# --- The record's parts, searchable across records (changed only in the back-office) ------------
@admin.register(Action)
class ActionAdmin(ReadOnlyAdmin):
    list_display = ["reclamation", "kind", "description", "owner", "due_date", "status", "done_at"]
    list_filter = ["kind", "status"]
    search_fields = ["reclamation__reference", "description"]
    list_select_related = ["reclamation", "owner"]


@admin.register(Communication)
class CommunicationAdmin(ReadOnlyAdmin):
    list_display = ["reclamation", "occurred_at", "kind", "direction", "purpose", "public", "subject"]
    list_filter = ["kind", "direction", "purpose", "public"]
    search_fields = ["reclamation__reference", "subject"]
    list_select_related = ["reclamation"]


@admin.register(SearchDocument)
class SearchDocumentAdmin(ReadOnlyAdmin):
    """Derived data (``services.search``), shown to check what the list's search reads of a record."""

    list_display = ["reclamation"]
    search_fields = ["reclamation__reference"]
    list_select_related = ["reclamation"]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    # No link to the file: uploads are private and are downloaded through the back-office view,
    # which checks the permission and sends them as attachments.
    list_display = ["reclamation", "original_name", "content_type", "size", "public", "created_at"]
    list_filter = ["content_type", "public"]
    search_fields = ["reclamation__reference", "original_name", "sha256"]
    list_select_related = ["reclamation"]
    exclude = ["file"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in self.model._meta.fields if f.name != "file"]


# --- Technical state, shown for diagnosis -----------------------------------------------------------
@admin.register(RecordEmail)
class RecordEmailAdmin(ReadOnlyAdmin):
    list_display = ["email", "reclamation"]
    search_fields = ["reclamation__reference"]
    list_select_related = ["email", "reclamation"]


@admin.register(RecordRead)
class RecordReadAdmin(ReadOnlyAdmin):
    list_display = ["reclamation", "user", "unread_at", "read_at"]
    search_fields = ["reclamation__reference", "user__username"]
    list_select_related = ["reclamation", "user"]


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = ["pk", "kind", "period_start", "period_end", "requested_by", "status", "progress", "created_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["requested_by"]
    exclude = ["file"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in self.model._meta.fields if f.name != "file"]


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    """Received e-mails, for diagnosis; handlers sort them on "Courriels à trier" (logged)."""

    list_display = ["received_at", "source", "status", "subject", "reclamation"]
    list_filter = ["status", "source"]
    search_fields = ["reclamation__reference", "message_id"]
    list_select_related = ["reclamation"]
    exclude = ["raw"]  # downloaded from the back-office page, never opened in the browser

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in self.model._meta.fields if f.name != "raw"]


@admin.register(MailboxPoll)
class MailboxPollAdmin(ReadOnlyAdmin):
    list_display = ["last_poll_at", "last_success_at", "last_error", "claimed_until"]


@admin.register(JournalChainHead)
class JournalChainHeadAdmin(ReadOnlyAdmin):
    list_display = ["last_sequence", "last_hash", "verified_at", "verified_hash"]


@admin.register(ReferenceCounter)
class ReferenceCounterAdmin(ReadOnlyAdmin):
    list_display = ["year", "last_number"]


@admin.register(FollowUpLink)
class FollowUpLinkAdmin(ReadOnlyAdmin):
    list_display = ["reclamation", "created_at", "expires_at"]
    list_select_related = ["reclamation"]
    exclude = ["token_hash"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return ["reclamation", "created_at", "expires_at"]


@admin.register(LinkRequest)
class LinkRequestAdmin(ReadOnlyAdmin):
    list_display = ["pk", "created_at"]


@admin.register(OrphanFileReport)
class OrphanFileReportAdmin(ReadOnlyAdmin):
    # Written by the daily check; the files themselves are listed and deleted on the quality page.
    list_display = ["checked_at", "count", "size"]


# --- Filters from the address bar ----------------------------------------------------------------
def _listed_lookup(model_admin: admin.ModelAdmin, lookup: str, request: HttpRequest | None) -> bool:
    """Whether ``lookup`` belongs to a filter the page lists (or its date hierarchy)."""
    allowed = {model_admin.date_hierarchy} if model_admin.date_hierarchy else set()
    listed = model_admin.get_list_filter(request) if request is not None else model_admin.list_filter
    for item in listed:
        if isinstance(item, type) and issubclass(item, admin.SimpleListFilter):
            allowed.add(item.parameter_name)
        else:
            allowed.add((item[0] if isinstance(item, (list, tuple)) else item).split(LOOKUP_SEP)[0])
    return lookup.split(LOOKUP_SEP)[0] in allowed


def restrict_list_filters(site: admin.AdminSite) -> None:
    """Every admin page, ours and the libraries' (users, outbox, sign-in attempts), filters only by
    the filters it lists. Django's default also takes any field of the model from the address bar:
    ``?token_hash__startswith=`` or ``?password__startswith=`` would let whoever reads a list guess
    a stored secret one character at a time. Called once every admin module is loaded (apps.py)."""
    for model_admin in site._registry.values():
        if getattr(model_admin, "_lookups_restricted", False):
            continue
        default = model_admin.lookup_allowed

        def lookup_allowed(lookup: str, value: str, request: HttpRequest | None = None, *,
                           _admin: admin.ModelAdmin = model_admin, _default=default) -> bool:
            return _listed_lookup(_admin, lookup, request) and _default(lookup, value, request)

        model_admin.lookup_allowed = lookup_allowed
        model_admin._lookups_restricted = True
