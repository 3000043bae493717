"""Benchmark of the inbound e-mail gateway: a Dovecot mailbox filled with 1,000 messages, imported
by one IMAP poll; wall time, CPU time and peak memory of that poll.

    .venv/bin/python bench/inbound.py                    # 1,000 messages, SQLite in a fresh folder
    .venv/bin/python bench/inbound.py --messages 200
    .venv/bin/python bench/inbound.py --database postgres://postgres@127.0.0.1:5432/reclamations_bench_inbound

Not part of CI. Needs Debian's Dovecot (``apt-get install dovecot-imapd``).

What is measured, so that the figures mean something:

- A throw-away Dovecot (``tests/dovecot.py``) on loopback, and a fresh database (SQLite under a
  temporary ``VAR_DIR``, or the PostgreSQL database given, emptied and migrated), so that every
  run starts from the same state. Filling the mailbox (IMAP APPEND) is not measured.
- The corpus is what a training organisation receives: 80 % new complaints from distinct
  senders (one in eight with a PDF attached), 10 % HTML-only messages, 5 % answers naming a
  reference from the right address, 5 % out-of-office replies.
- "poll" is ``reclamations.imap.poll()``: listing, fetching in bounded groups, parsing, one
  transaction per message (record, files, acknowledgement in the outbox, journal events), moving the
  handled messages. The outbox is not sent (no worker runs).
- Peak memory: the process's resident set sampled every 20 ms during the poll (``/proc/self/statm``),
  next to its value just before; ``ru_maxrss`` is the whole run's high-water mark.

Results are printed and written to ``bench/results/inbound-<date>.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class RssSampler(threading.Thread):
    """The highest resident set size seen while it runs (every 20 ms)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak = self.now()
        self.running = True

    def now(self) -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * self.page

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.now())
            time.sleep(0.02)

    def stop(self) -> int:
        self.running = False
        self.join()
        return max(self.peak, self.now())


def corpus(count: int, references: list[str]) -> list[bytes]:
    from tests.factories import HOSTILE_HTML, inbound_email, pdf_bytes

    messages = []
    for n in range(count):
        sender = f"Stagiaire {n} <stagiaire{n}@example.org>"
        kind = n % 20
        if kind == 0:
            messages.append(inbound_email(sender=sender, subject="Absence", headers={"Auto-Submitted": "auto-replied"}))
        elif kind == 1 and references:
            reference = references[n % len(references)]
            messages.append(inbound_email(sender="Claire Dupont <claire.dupont@example.org>",
                                          subject=f"Complément {reference}", text=f"Complément numéro {n}."))
        elif kind in (2, 3):
            messages.append(inbound_email(sender=sender, text=None, html=HOSTILE_HTML))
        elif n % 8 == 4:
            attached = (("convocation.pdf", pdf_bytes(f"Convocation {n}"), "application/pdf"),)
            messages.append(inbound_email(sender=sender, subject=f"Demande {n}", files=attached))
        else:
            messages.append(inbound_email(sender=sender, subject=f"Demande {n}",
                                          text=f"Bonjour,\n\nMa formation n° {n} ne s'est pas bien passée.\n" * 5))
    return messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--database", default="", help="a PostgreSQL URL (emptied); default: SQLite in a temp folder")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-inbound-"))
    os.environ["VAR_DIR"] = str(work / "var")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    if options.database:
        os.environ["DATABASE_URL"] = options.database
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from reclamations import imap, services
    from reclamations.models import InboundMessage, Reclamation
    from tests.dovecot import Dovecot

    if connection.vendor == "postgresql":
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    server = Dovecot(Path(tempfile.mkdtemp(prefix="dovecot-")))  # its own folder: Dovecot's accounts reach it
    server.start()
    try:
        user = server.new_user()
        # Five records whose complainant writes again, naming the reference.
        references = [services.reclamation_create(
            actor=None, kind="complaint", channel="phone", subject="Appel", description="Par téléphone.",
            complainant_email="claire.dupont@example.org").reclamation.reference for _ in range(5)]
        started = time.monotonic()
        server.append(user, *corpus(options.messages, references))
        fill_seconds = time.monotonic() - started

        from django.conf import settings

        settings.INBOUND_IMAP_URL = server.url(user)
        sampler = RssSampler()
        before = sampler.now()
        sampler.start()
        cpu, wall = time.process_time(), time.monotonic()
        report = imap.poll()
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        peak = sampler.stop()

        result = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": connection.vendor,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "messages": options.messages,
            "fill_seconds": round(fill_seconds, 2),
            "poll_seconds": round(wall, 2),
            "poll_cpu_seconds": round(cpu, 2),
            "messages_per_second": round(options.messages / wall, 1),
            "rss_before_mib": round(before / 2**20, 1),
            "rss_peak_during_poll_mib": round(peak / 2**20, 1),
            "ru_maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "report": {"seen": report.seen, "imported": report.imported, "duplicates": report.duplicates,
                       "kept_aside": report.kept_aside, "moved": report.moved,
                       "statuses": {str(k): v for k, v in report.statuses.items()}},
            "records": Reclamation.objects.count(),
            "inbound_rows": InboundMessage.objects.count(),
            "left_in_inbox": server.count(user, "INBOX"),
        }
    finally:
        server.stop()
    print(json.dumps(result, indent=2, ensure_ascii=False))
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (results / f"inbound-{stamp}-{result['database']}.json").write_text(json.dumps(result, indent=2,
                                                                                 ensure_ascii=False) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(server.root, ignore_errors=True)


if __name__ == "__main__":
    main()
