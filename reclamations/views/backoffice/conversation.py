"""The record page's conversation: the order its reader chose (a preference of theirs, kept
server-side so it follows them to every record and device)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from ... import services
from ...permissions import staff_required

NEWEST, OLDEST = "recent", "ancien"


@require_POST
@staff_required
def conversation_order(request: HttpRequest, pk: int) -> HttpResponse:
    """Newest or oldest exchange first, for this person on every record; back to the record."""
    order = request.POST.get("ordre")
    if order in (NEWEST, OLDEST):  # anything else: nothing changes, the page shows the order in force
        services.preference_set_conversation_order(user=request.user, newest_first=order == NEWEST)
    return redirect(reverse("backoffice:detail", args=[pk]) + "#conversation")
