"""The admin: configuration for the quality lead, and a read-mostly view of the records.

The rules of the back-office hold here too: the step cannot be edited by hand, record edits go
through ``services.reclamation_update`` (so they are logged), and the audit log is read-only.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from . import services
from .models import (
    Action,
    Attachment,
    Communication,
    Event,
    OpeningHours,
    Organisation,
    Reclamation,
    RootCauseCategory,
    Service,
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
    ]

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


@admin.register(Reclamation)
class ReclamationAdmin(admin.ModelAdmin):
    list_display = ["reference", "kind", "channel", "subject", "state", "priority", "handler", "received_at",
                    "ack_due_at", "answer_due_at"]
    list_filter = ["state", "kind", "channel", "stakeholder_type", "priority", "service", "handler"]
    search_fields = ["reference", "complainant_name", "complainant_email", "subject"]
    date_hierarchy = "received_at"
    list_select_related = ["handler"]
    inlines = [ActionInline, CommunicationInline, AttachmentInline]
    # The step, the deadlines and the fulfilment times change only through the workflow services.
    readonly_fields = ["reference", "state", "received_at", "ack_due_at", "answer_due_at", "acknowledged_at",
                       "answered_at", "closed_at", "priority", "handler", "not_applicable", "created_at",
                       "created_by", "feedback_requested_at", "feedback_received_at", "feedback_no_answer",
                       "feedback_satisfaction", "feedback_comment", "discard_reason"]
    fieldsets = [
        ("Suivi", {"fields": ["reference", "state", "handler", "priority", "received_at", "ack_due_at",
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


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["sequence", "created_at", "reclamation", "actor_label", "kind", "summary"]
    list_filter = ["kind"]
    search_fields = ["reclamation__reference", "summary", "actor_label"]
    list_select_related = ["reclamation"]
    readonly_fields = [f.name for f in Event._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
