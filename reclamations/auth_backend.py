"""Django's ``ModelBackend``, reading a person's permissions in one query instead of two.

Every back-office page asks ``user.has_perm`` (``roles.is_handler``) for a user loaded afresh by
the request: ``ModelBackend`` then reads the user's own permissions and their groups' in two
queries. Here both come from one query, with the same rule (an inactive user has none, a
superuser has all) and the same per-request cache (``_perm_cache``). Granting or revoking a
permission applies from the next request, as before: nothing is kept between requests.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q


class PermissionBackend(ModelBackend):
    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            permissions = Permission.objects.all()
            if not user_obj.is_superuser:
                permissions = permissions.filter(Q(user=user_obj) | Q(group__user=user_obj))
            rows = permissions.values_list("content_type__app_label", "codename").order_by().distinct()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache
