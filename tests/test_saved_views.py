"""Saved views of the list ("mes vues"): a person saves the current filters under a name, finds
them at the top of the list, opens and deletes them; the built-in views are there for everyone."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from reclamations import services
from reclamations.models import SavedView
from reclamations.services.saved_views import MAX_SAVED_VIEWS
from tests.factories import ReclamationFactory

pytestmark = pytest.mark.django_db

LIST = "/backoffice/reclamations/"
SAVE = reverse("backoffice:saved_view_save")


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def views_listed(response) -> dict[str, str]:
    """Name → address of the views at the top of the list."""
    page = response.content.decode()
    page = page[page.index('<aside class="col-lg-2 bo-views"') : page.index("</aside>")]
    return {
        html.unescape(name): html.unescape(url)
        for url, name in re.findall(r'<a class="nav-link[^"]*" href="([^"]+)"[^>]*>([^<]+)</a>', page)
    }


def test_a_handler_saves_the_current_filters_as_a_view_and_opens_it(login, handler):
    client = login(handler)

    response = client.post(
        SAVE,
        {"view-name": "Mes dossiers en retard", "view-query": "handler=moi&sla=late&page=3&ordre=-reponse&pirate=1"},
        follow=True,
    )

    assert "Vue « Mes dossiers en retard » enregistrée." in text(response)
    # Opened at once; the page number and unknown parameters are not part of it.
    assert response.redirect_chain[-1][0] == f"{LIST}?handler=moi&sla=late&ordre=-reponse"
    assert views_listed(response)["Mes dossiers en retard"] == f"{LIST}?handler=moi&sla=late&ordre=-reponse"
    assert 'aria-current="page">Mes dossiers en retard' in response.content.decode()


def test_views_are_personal(login, handler, other_handler):
    services.saved_view_save(user=handler, name="Les miennes", query="handler=moi")

    assert "Les miennes" in views_listed(login(handler).get(LIST))
    assert "Les miennes" not in views_listed(login(other_handler).get(LIST))


def test_saving_a_name_again_replaces_its_filters(login, handler):
    client = login(handler)
    client.post(SAVE, {"view-name": "Urgentes", "view-query": "priority=high"})

    response = client.post(SAVE, {"view-name": "Urgentes", "view-query": "priority=critical"}, follow=True)

    assert "Vue « Urgentes » mise à jour." in text(response)
    assert list(SavedView.objects.filter(user=handler).values_list("query", flat=True)) == ["priority=critical"]


def test_a_view_without_a_name_is_refused_and_the_list_stays_as_it_was(login, handler):
    ReclamationFactory(subject="Convocation tardive")

    response = login(handler).post(SAVE, {"view-name": "  ", "view-query": "q=convocation"})

    assert response.status_code == 200
    assert "Donnez un nom à la vue." in text(response)
    assert "1 réclamation correspondant à votre recherche" in text(response)
    assert not SavedView.objects.exists()


def test_a_person_has_at_most_twenty_views(handler):
    for n in range(MAX_SAVED_VIEWS):
        services.saved_view_save(user=handler, name=f"Vue {n}", query="")

    with pytest.raises(services.WorkflowError, match="déjà 20 vues"):
        services.saved_view_save(user=handler, name="Une de trop", query="")


def test_a_handler_deletes_their_view_but_not_a_colleagues(login, handler, other_handler):
    mine, _ = services.saved_view_save(user=handler, name="À moi", query="handler=moi")
    theirs, _ = services.saved_view_save(user=other_handler, name="À Alex", query="handler=moi")
    client = login(handler)

    deleted = client.post(
        reverse("backoffice:saved_view_delete", args=[mine.pk]), {"back": "state=ouvertes"}, follow=True
    )
    refused = client.post(reverse("backoffice:saved_view_delete", args=[theirs.pk]), follow=True)

    assert "Vue « À moi » supprimée." in text(deleted)
    assert deleted.redirect_chain[-1][0] == f"{LIST}?state=ouvertes"
    assert "Cette vue n'existe plus." in text(refused)
    assert list(SavedView.objects.values_list("name", flat=True)) == ["À Alex"]


def test_the_built_in_views_filter_the_list(login, handler, other_handler):
    mine = ReclamationFactory(subject="La mienne")
    services.reclamation_assign(reclamation=mine, actor=handler, handler=handler)
    unassigned = ReclamationFactory(subject="Personne")
    client = login(handler)

    views = views_listed(client.get(LIST))
    assert list(views)[:4] == ["Mes dossiers", "Non lus", "En retard", "Non attribués"]

    mes_dossiers = text(client.get(views["Mes dossiers"]))
    non_attribues = text(client.get(views["Non attribués"]))
    assert mine.reference in mes_dossiers and unassigned.reference not in mes_dossiers
    assert unassigned.reference in non_attribues and mine.reference not in non_attribues


def test_saving_and_deleting_need_the_csrf_token(handler):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(handler)

    assert client.post(SAVE, {"view-name": "X", "view-query": ""}).status_code == 403
    assert not SavedView.objects.exists()
