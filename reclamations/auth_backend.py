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


class PermissionBackend(ModelBackend):
    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            columns = ("content_type__app_label", "codename")
            if user_obj.is_superuser:
                rows = Permission.objects.values_list(*columns).order_by()
            else:
                # A UNION of the two lookups, each through its index: one OR over both joins
                # made PostgreSQL join every permission to both tables first (3 ms, not 0.5).
                own = Permission.objects.filter(user=user_obj).values_list(*columns).order_by()
                rows = own.union(Permission.objects.filter(group__user=user_obj).values_list(*columns).order_by())
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache
