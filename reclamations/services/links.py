"""Lost follow-up links: the public request, and the worker that sends the links.

The page only stores the request (``reclamation_request_lost_link``) and answers: the same work and
the same answer whether or not anything matches, so neither its content nor its timing tells which
addresses or references exist. The outbox run (``reclamation_send_requested_links``) looks the
request up and sends each matching record a further link; the link the client already holds keeps
working. A record gets at most ``LOST_LINK_PER_RECORD_PER_DAY`` links a day, whoever asks.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .. import emails, selectors, tokens
from ..journal import record_event
from ..models import Communication, EventKind, FollowUpLink, LinkRequest, Organisation, Reclamation
from .base import lock
from .intake import email_client_with_link

logger = logging.getLogger(__name__)

LOST_LINK_LABEL = "Client (demande d'un nouveau lien)"


def reclamation_request_lost_link(*, email: str, reference: str = "") -> None:
    """Store a "lien perdu" request for the worker; the answer never depends on what it holds."""
    LinkRequest.objects.create(email=email.strip().lower(), reference=reference.strip().upper())
    emails.request_send()  # the outbox run handles the request (a down broker: beat's re-queue)


def reclamation_send_requested_links(*, limit: int = 200) -> int:
    """Worker side: handle the waiting requests, oldest first. Returns the number of links sent.

    One request's failure (logged) leaves it for the next run and does not stop the others.
    """
    sent = 0
    for request_id in LinkRequest.objects.order_by("pk").values_list("pk", flat=True)[:limit]:
        try:
            sent += _handle_request(request_id)
        except Exception:
            logger.exception("link request %s not handled; left for the next run", request_id)
    return sent


def _handle_request(request_id: int) -> int:
    with transaction.atomic():
        request = LinkRequest.objects.filter(pk=request_id).first()
        # Claimed by deleting it in the transaction that sends the links: a second worker deletes
        # nothing and stops; a failure rolls the deletion back for the next run.
        if request is None or LinkRequest.objects.filter(pk=request_id).delete()[0] == 0:
            return 0
        sent = 0
        for reclamation in selectors.records_for_lost_link(email=request.email, reference=request.reference):
            sent += reclamation_send_follow_up_link(reclamation=reclamation)
        return sent


def reclamation_send_follow_up_link(*, reclamation: Reclamation) -> int:
    """E-mail the record's complainant a further follow-up link (1), unless the record had its
    day's share of links already (0). The links sent before keep working until they expire."""
    now = timezone.now()
    with transaction.atomic():
        r = lock(reclamation)
        today = FollowUpLink.objects.filter(reclamation=r, created_at__gt=now - timedelta(days=1)).count()
        if today >= settings.LOST_LINK_PER_RECORD_PER_DAY:
            logger.info("reclamation %s: no further link today (%s sent)", r.pk, today)
            return 0
        token, token_hash = tokens.new_token()
        FollowUpLink.objects.create(
            reclamation=r, token_hash=token_hash, created_at=now,
            expires_at=now + timedelta(days=settings.FOLLOW_UP_TOKEN_DAYS),
        )
        record_event(
            kind=EventKind.UPDATED, reclamation=r, actor=None, label=LOST_LINK_LABEL,
            summary="Nouveau lien de suivi envoyé au réclamant (le précédent reste valable).",
        )
        email_client_with_link(
            reclamation=r,
            name="follow_up_link",
            context={"reclamation": r, "organisation": Organisation.current()},
            purpose=Communication.Purpose.GENERAL,
            token=token,
        )
    return 1
