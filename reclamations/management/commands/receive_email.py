"""``manage.py receive_email``: import one e-mail read on standard input, for the mail server.

Postfix (master.cf) or Exim (a pipe transport) runs it once per message. Exit codes are the ones
an MTA understands (sysexits.h):

* 0  — done: imported, already imported, or kept aside for staff (unreadable, oversize,
  automatic). A message is never bounced: its sender may be forged, and a bounce to them would be
  backscatter.
* 75 (EX_TEMPFAIL) — the database could not be reached: the MTA keeps the message and retries.
"""
from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...models import InboundSource
from ...services import inbound

logger = logging.getLogger(__name__)

EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Importe un courriel lu sur l'entrée standard (pour le transport « pipe » du serveur de messagerie)."

    def handle(self, *args: Any, **options: Any) -> None:
        raw = sys.stdin.buffer.read()
        try:
            received = inbound.inbound_message_receive(raw=raw, source=InboundSource.PIPE)
        except Exception as exc:
            # Nothing was kept: say "try again later", the MTA still holds the message.
            logger.exception("receive_email: message not stored, the mail server will retry")
            raise CommandError(
                f"Courriel non enregistré, nouvel essai du serveur de messagerie ({type(exc).__name__}).",
                returncode=EX_TEMPFAIL,
            ) from exc
        logger.info("receive_email: %s", inbound.describe(received))
