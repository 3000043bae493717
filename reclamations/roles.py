"""Staff roles, as Django groups: handlers (gestionnaires) and quality leads (responsables qualité).

The groups carry the permissions; views and the admin ask for permissions, never for group names,
so a superuser or a custom group with the same permissions works too.
"""
from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db.models import Q, QuerySet

HANDLERS = "Gestionnaires"
QUALITY_LEADS = "Responsables qualité"

APP_LABEL = "reclamations"
HANDLE_PERMISSION = f"{APP_LABEL}.handle_reclamation"
MANAGE_QUALITY_PERMISSION = f"{APP_LABEL}.manage_quality"

# Permissions are named as (model, codename) pairs; the model name is Django's lower-case name.
_RECORD_MODELS = ("reclamation", "action", "communication", "attachment")
_CONFIGURATION_MODELS = ("organisation", "openinghours", "service", "rootcausecategory", "messagetemplate")

HANDLER_PERMISSIONS: tuple[tuple[str, str], ...] = (
    ("reclamation", "handle_reclamation"),
    *((model, f"view_{model}") for model in _RECORD_MODELS),
)
QUALITY_LEAD_PERMISSIONS: tuple[tuple[str, str], ...] = (
    *HANDLER_PERMISSIONS,
    ("reclamation", "manage_quality"),
    *(
        (model, f"{action}_{model}")
        for model in _CONFIGURATION_MODELS
        for action in ("add", "change", "view")
    ),
    ("event", "view_event"),
    *((model, f"view_{model}") for model in ("improvementaction", "digest", "digestreceipt")),
    *(("staffprofile", f"{action}_staffprofile") for action in ("add", "change", "view")),
)


def _permissions(wanted: tuple[tuple[str, str], ...]) -> list[Permission]:
    """The Permission rows for ``(model, codename)`` pairs; fails loudly if one is unknown."""
    query = Q()
    for model, codename in wanted:
        query |= Q(content_type__model=model, codename=codename)
    found = list(Permission.objects.filter(query, content_type__app_label=APP_LABEL))
    if len(found) != len(set(wanted)):
        missing = set(wanted) - {(p.content_type.model, p.codename) for p in found}
        raise LookupError(f"Permissions introuvables (migrations appliquées ?) : {sorted(missing)}")
    return found


def ensure_groups() -> tuple[Group, Group]:
    """Create the two groups if needed and give them their permissions (idempotent).

    Permissions are added, never removed, so a permission granted later in the admin is kept.
    """
    # Permissions are normally created after ``migrate``; make sure they exist when called early.
    create_permissions(apps.get_app_config(APP_LABEL), verbosity=0)
    handlers, _ = Group.objects.get_or_create(name=HANDLERS)
    quality_leads, _ = Group.objects.get_or_create(name=QUALITY_LEADS)
    handlers.permissions.add(*_permissions(HANDLER_PERMISSIONS))
    quality_leads.permissions.add(*_permissions(QUALITY_LEAD_PERMISSIONS))
    return handlers, quality_leads


def is_handler(user: Any) -> bool:
    """An active staff member who may handle records (handlers, quality leads, superusers)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and user.is_staff
        and user.has_perm(HANDLE_PERMISSION)
    )


def is_quality_lead(user: Any) -> bool:
    """A user who may pilot quality: exports, statistics, configuration."""
    return bool(
        getattr(user, "is_authenticated", False) and user.is_active and user.has_perm(MANAGE_QUALITY_PERMISSION)
    )


# --- Who is told ---------------------------------------------------------------------------------
def users_with_permission(*codenames: str) -> QuerySet:
    """Active users holding one of ``reclamations.<codename>`` directly, through a group, or as
    superuser — the same rule as ``user.has_perm``, in one query."""
    permissions = Permission.objects.filter(content_type__app_label=APP_LABEL, codename__in=codenames)
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(user_permissions__in=permissions) | Q(groups__permissions__in=permissions))
        .distinct()
    )


def quality_leads() -> list[Any]:
    """Quality leads who can receive e-mail."""
    return list(users_with_permission("manage_quality").exclude(email="").order_by("pk"))


def handlers_on_duty() -> list[Any]:
    """Staff who handle records, can receive e-mail and are on duty (no profile means on duty)."""
    return list(
        users_with_permission("handle_reclamation")
        .filter(is_staff=True)
        .exclude(email="")
        .filter(Q(staff_profile__isnull=True) | Q(staff_profile__on_duty=True))
        .order_by("pk")
    )


def staff_members() -> QuerySet:
    """Everyone who can open the back-office and handles records or pilots quality."""
    return users_with_permission("handle_reclamation", "manage_quality").filter(is_staff=True)
