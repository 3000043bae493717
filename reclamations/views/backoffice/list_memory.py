"""The list a record was opened from: its filters and sort, so that the record page's ``j`` / ``k``
(and its "précédente / suivante" links) follow that list.

The neighbours are looked for when a link is followed (``neighbour``), not when the record page is
shown: in a searched list of 100,000 records each side costs as much as the list's own query, and
most record pages are left without going to the next one.

The list's query string (its own parameters only, ``forms.list_tools.view_query``) is kept in a
cookie, not in the session: reading a list must cost no write, and the list's query count is
tested. The cookie lives as long as the browser, is sent to the records' pages only (its path) and
is never trusted: it goes through the same filter form and sort whitelist as the list's address
bar, and the records it leads to are records every handler may view (``permissions.can_view``).
Without it (a record opened from the dashboard, a bookmark), the list's default order applies.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse

from ... import selectors
from ...filters import ReclamationFilter
from ...forms.list_tools import view_query

LIST_COOKIE = "bo_liste"
NEXT, PREVIOUS = "suivante", "precedente"  # the two ways out of a record page, as in its address


def remember_list(request: HttpRequest, response: HttpResponse, params: QueryDict) -> None:
    """Keep the list's filters and sort for the records opened from it (nothing when unchanged)."""
    query = view_query(params)
    if query == request.COOKIES.get(LIST_COOKIE, ""):
        return
    path = reverse("backoffice:list")  # the list and the records' pages, under it
    if query:
        response.set_cookie(LIST_COOKIE, query, path=path, secure=settings.SESSION_COOKIE_SECURE, httponly=True,
                            samesite="Lax")
    else:
        response.delete_cookie(LIST_COOKIE, path=path, samesite="Lax")


def remembered_list(request: HttpRequest) -> QueryDict:
    return QueryDict(view_query(QueryDict(request.COOKIES.get(LIST_COOKIE, ""))))


def neighbours(request: HttpRequest, pk: int) -> selectors.Neighbours | None:
    """The records before and after record ``pk`` in the list it was opened from (or the default
    list); None when there is no such record."""
    params = remembered_list(request)
    filtered = None  # every record, the list's default
    if any(key != "ordre" for key in params):
        filterset = ReclamationFilter(params, queryset=selectors.reclamations_for_list(user=request.user),
                                      request=request)
        filtered = filterset.qs  # invalid values are ignored, as on the list itself
    return selectors.list_neighbours(filtered, params.get("ordre"), pk)
