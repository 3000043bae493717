"""Who may do what, read in one query (``reclamations.auth_backend``): the same answers as Django's
``ModelBackend``, a permission granted or revoked counting from the next request."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from reclamations import roles
from reclamations.auth_backend import PermissionBackend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)  # as a request loads it: nothing cached


def test_it_gives_the_same_permissions_as_django_for_every_kind_of_account():
    handler = UserFactory(role="handler")
    lead = UserFactory(role="quality_lead")
    direct = UserFactory()
    direct.user_permissions.add(Permission.objects.get(codename="handle_reclamation"))
    both = UserFactory(role="handler")
    both.user_permissions.add(Permission.objects.get(codename="handle_reclamation"))  # also through the group
    boss = UserFactory(is_superuser=True)
    gone = UserFactory(role="handler", is_active=False)
    nobody = UserFactory()

    for user in (handler, lead, direct, both, boss, gone, nobody):
        ours, django = PermissionBackend().get_all_permissions(fresh(user)), ModelBackend().get_all_permissions(
            fresh(user))
        assert ours == django, user.username
    assert roles.HANDLE_PERMISSION in PermissionBackend().get_all_permissions(fresh(direct))
    assert PermissionBackend().get_all_permissions(fresh(gone)) == set()
    assert PermissionBackend().get_all_permissions(fresh(nobody)) == set()


def test_a_back_office_page_reads_the_permissions_in_one_query(django_assert_num_queries):
    user = fresh(UserFactory(role="quality_lead"))

    with django_assert_num_queries(1):
        assert roles.is_handler(user) and roles.is_quality_lead(user) and user.has_perm(roles.HANDLE_PERMISSION)


def test_a_handler_removed_from_the_group_loses_the_back_office_at_the_next_request(login):
    handler = UserFactory(role="handler")
    client = login(handler)
    assert client.get(reverse("backoffice:list")).status_code == 200

    handler.groups.remove(Group.objects.get(name=roles.HANDLERS))

    assert client.get(reverse("backoffice:list")).status_code == 403
