"""Benchmark of the evidence pack: 50 and 1,000 records, time and peak memory, next to WeasyPrint
laying out a plain document with the same number of pages in the same run.

    .venv/bin/python bench/pack.py                  # sizes 50 and 1000, 2 rounds
    .venv/bin/python bench/pack.py --sizes 50 --rounds 1
    .venv/bin/python bench/pack.py --rebuild        # rebuild the cached datasets

Targets (issue 6): the pack within 1.5x the plain document's time, and under 500 MiB for 1,000 records.

How it works, so that the figures mean something:

- Datasets are SQLite files under ``var/bench/`` (built once, reused; ``--rebuild`` starts again):
  ``seed_demo`` writes ~30 realistic records through the real services (each with its full audit
  trail), then each is cloned — fields, actions, exchanges, events re-chained with real SHA-256 links —
  until the period holds N records. Clones are received in the twelve months *before* the demo ones,
  so the measured period holds exactly N records.
- Every measurement runs in a fresh process (``ru_maxrss`` is a process's high-water mark), and pack
  and plain runs alternate so that a busy machine slows both alike. Time is wall-clock; CPU time is
  reported too.
- "pack" is what the quality lead waits for: figures and register queries, full audit-chain
  verification, templates, layout and PDF writing (``reclamations.pdf.build_pack``).
  "plain" is the same renderer (same child process, same fetcher, same page size and footer) on a
  document of headings and paragraphs with exactly as many pages, each page filled with text.
- Peak memory is the largest of the parent's and the rendering children's ``ru_maxrss`` (a pack of
  more than ``PDF_PACK_BATCH_RECORDS`` records, default 100, is laid out in parts, one child each,
  then joined with pypdf in the parent: ``reclamations/pdf/pack.py``); a child's includes what it
  inherits from the parent, so it is an upper bound of the real footprint.
- Every subprocess has a time limit (``--timeout``), so a run always ends.

Results are printed and written to ``bench/results/pack-<date>.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "var" / "bench"
RESULTS_DIR = ROOT / "bench" / "results"
TIME_TARGET = 1.5
MEMORY_TARGET_MIB = 500


# --- In a child process: Django on the dataset's database ----------------------------------------
def _django(database: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ["VAR_DIR"] = str(DATA_DIR / "var")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    settings.PDF_RENDER_SECONDS = 3600  # the benchmark bounds itself (--timeout)
    settings.PDF_RENDER_MEMORY_MB = 8192


def _period() -> tuple[str, str]:
    """The twelve months before the demo records' twelve months: only clones are received in it."""
    from datetime import timedelta

    from reclamations.statistics import Period

    end = Period.last_twelve_months().start - timedelta(days=1)
    period = Period.last_twelve_months(end)
    return period.start.isoformat(), period.end.isoformat()


def build(size: int, database: Path) -> None:
    """A fresh database: migrations, the demo installation, then ``size`` clones in the period."""
    import hashlib
    import random
    import secrets
    from datetime import date, timedelta

    if database.exists():
        database.unlink()
    _django(database)
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from reclamations.models import (
        Action,
        Attachment,
        AuditChainHead,
        Communication,
        Event,
        Reclamation,
        ReferenceCounter,
    )

    call_command("migrate", verbosity=0)
    call_command("seed_demo", password="bench-" + secrets.token_hex(8), stdout=open(os.devnull, "w"))  # noqa: SIM115
    templates = list(Reclamation.objects.order_by("pk"))
    start, end = (date.fromisoformat(d) for d in _period())
    span = (end - start).days
    rng = random.Random(size)
    datetime_fields = [f.name for f in Reclamation._meta.concrete_fields
                       if f.get_internal_type() == "DateTimeField" and f.name not in ("created_at", "updated_at")]
    # Secrets and identity are never copied: a clone gets its own reference and follow-up token.
    skipped = {"id", "reference", "created_at", "updated_at"}
    skipped |= {f.name for f in Reclamation._meta.concrete_fields if f.name.endswith("token_hash")}
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().get(pk=1)
        sequence, prev_hash = head.last_sequence, head.last_hash
        counters: dict[int, int] = {c.year: c.last_number for c in ReferenceCounter.objects.all()}
        for index in range(size):
            template = templates[index % len(templates)]
            local = timezone.localtime(template.received_at)
            day = start + timedelta(days=rng.randrange(span + 1))
            target = local.replace(year=day.year, month=day.month, day=day.day)
            delta = target - local
            values = {f.attname: getattr(template, f.attname) for f in Reclamation._meta.concrete_fields
                      if f.name not in skipped}
            for name in datetime_fields:
                if values.get(name) is not None:
                    values[name] = values[name] + delta
            year = timezone.localtime(values["received_at"]).year
            counters[year] = counters.get(year, 0) + 1
            clone = Reclamation.objects.create(
                **values, reference=f"R-{year}-{counters[year]:04d}",
                token_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
            )
            Action.objects.bulk_create([
                Action(reclamation=clone, description=a.description, kind=a.kind, owner_id=a.owner_id,
                       due_date=a.due_date + timedelta(days=delta.days) if a.due_date else None,
                       status=a.status, done_at=a.done_at + timedelta(days=delta.days) if a.done_at else None,
                       result=a.result)
                for a in template.actions.all()
            ])
            Communication.objects.bulk_create([
                Communication(reclamation=clone, kind=c.kind, direction=c.direction, purpose=c.purpose,
                              public=c.public, occurred_at=c.occurred_at + delta,
                              duration_minutes=c.duration_minutes, subject=c.subject, body=c.body,
                              author_id=c.author_id)
                for c in template.communications.all()
            ])
            Attachment.objects.bulk_create([
                Attachment(reclamation=clone, file=a.file.name, original_name=a.original_name,
                           content_type=a.content_type, size=a.size, sha256=a.sha256, public=a.public)
                for a in template.attachments.all()
            ])
            events = []
            for e in template.events.order_by("sequence"):
                sequence += 1
                event = Event(sequence=sequence, created_at=e.created_at + delta, reclamation=clone,
                              actor_id=e.actor_id, actor_label=e.actor_label, kind=e.kind, summary=e.summary,
                              data=e.data, public=e.public, prev_hash=prev_hash)
                event.content_hash = event.compute_content_hash()
                event.hash = event.compute_hash()
                prev_hash = event.hash
                events.append(event)
            Event.objects.bulk_create(events)
        for year, number in counters.items():
            ReferenceCounter.objects.update_or_create(year=year, defaults={"last_number": number})
        AuditChainHead.objects.filter(pk=1).update(last_sequence=sequence, last_hash=prev_hash)
    from reclamations.audit import verify_chain

    report = verify_chain()
    assert report.intact, report.message
    print(json.dumps({"built": size, "events": report.checked}))


def measure_pack(size: int, database: Path) -> dict:
    _django(database)
    import resource
    from datetime import date

    from django.conf import settings

    from reclamations.pdf import build_pack
    from reclamations.pdf.pack import DEFAULT_BATCH_RECORDS
    from reclamations.statistics import Period

    start, end = (date.fromisoformat(d) for d in _period())
    batch = int(getattr(settings, "PDF_PACK_BATCH_RECORDS", DEFAULT_BATCH_RECORDS))
    wall, cpu = time.perf_counter(), time.process_time()
    document = build_pack(period=Period(start, end), generated_by="Banc d'essai")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    parent_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"kind": "pack", "records": document.records, "pages": document.pages, "bytes": len(document.pdf),
            "seconds": wall, "cpu_seconds": cpu + children.ru_utime + children.ru_stime,
            "peak_mib": max(parent_kib, document.rendered.peak_rss_kib) / 1024,
            "parent_peak_mib": parent_kib / 1024, "renderer_peak_mib": document.rendered.peak_rss_kib / 1024,
            "batch_records": batch, "parts": 1 if document.records <= batch else -(-document.records // batch) + 2}


PLAIN_PARAGRAPH = (
    "Le prestataire met en œuvre des modalités de traitement des difficultés rencontrées par les parties "
    "prenantes, des réclamations exprimées par ces dernières et des aléas survenus en cours de prestation. "
    "Chaque réclamation est enregistrée, accusée de réception, analysée puis traitée dans les délais annoncés, "
    "et le réclamant est tenu informé de l'avancement jusqu'à la conclusion. "
)


def plain_html(pages: int) -> str:
    """Exactly ``pages`` pages: one heading and six paragraphs of text per page, nothing else."""
    page = "".join(f"<p>{PLAIN_PARAGRAPH * 2}</p>" for _ in range(6))
    body = "".join(f'<section class="p"><h2>Page {n}</h2>{page}</section>' for n in range(1, pages + 1))
    style = (
        "@page { size: A4; margin: 20mm 15mm 18mm 15mm; "
        "@bottom-right { content: 'page ' counter(page) ' / ' counter(pages); font-size: 7.5pt; } }"
        "html { font-family: 'DejaVu Sans', sans-serif; font-size: 9pt; line-height: 1.35; }"
        ".p { break-before: page; } .p:first-child { break-before: auto; }"
    )
    head = f'<meta charset="utf-8"><style>{style}</style>'
    return f'<!doctype html><html lang="fr"><head>{head}</head><body>{body}</body></html>'


def measure_plain(pages: int, database: Path) -> dict:
    _django(database)
    import resource

    from reclamations.pdf.render import render_pdf

    html = plain_html(pages)
    wall, cpu = time.perf_counter(), time.process_time()
    rendered = render_pdf(html)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    parent_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert rendered.pages == pages, f"plain document: {rendered.pages} pages instead of {pages}"
    return {"kind": "plain", "pages": rendered.pages, "bytes": len(rendered.pdf), "seconds": wall,
            "cpu_seconds": cpu + children.ru_utime + children.ru_stime,
            "peak_mib": max(parent_kib, rendered.peak_rss_kib) / 1024,
            "parent_peak_mib": parent_kib / 1024, "renderer_peak_mib": rendered.peak_rss_kib / 1024}


# --- The orchestrator ----------------------------------------------------------------------------
def _run(args: list[str], timeout: float) -> dict:
    completed = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=timeout,
                               check=False, cwd=ROOT)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50,1000", help="record counts, comma-separated (default 50,1000)")
    parser.add_argument("--rounds", type=int, default=2, help="alternated pack/plain runs per size (default 2)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed to each subprocess")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached datasets")
    options = parser.parse_args()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    report = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "python": platform.python_version(),
              "machine": platform.machine(), "cpus": os.cpu_count(),
              "load_average_at_start": os.getloadavg(), "targets": {"time_ratio": TIME_TARGET,
                                                                      "memory_mib_1000": MEMORY_TARGET_MIB},
              "sizes": []}
    for size in (int(s) for s in options.sizes.split(",")):
        database = DATA_DIR / f"pack-{size}.sqlite3"
        if options.rebuild or not database.exists():
            print(f"building the {size}-record dataset…", flush=True)
            _run(["_build", str(size), str(database)], options.timeout)
        packs, plains = [], []
        for round_number in range(options.rounds):
            pack = _run(["_pack", str(size), str(database)], options.timeout)
            plain = _run(["_plain", str(pack["pages"]), str(database)], options.timeout)
            packs.append(pack)
            plains.append(plain)
            print(f"  {size} records, round {round_number + 1}: pack {pack['seconds']:.1f} s "
                  f"({pack['pages']} pages, {pack['peak_mib']:.0f} MiB) — plain {plain['seconds']:.1f} s "
                  f"({plain['peak_mib']:.0f} MiB)", flush=True)
        pack_s = statistics.median(p["seconds"] for p in packs)
        plain_s = statistics.median(p["seconds"] for p in plains)
        pack_cpu = statistics.median(p["cpu_seconds"] for p in packs)
        plain_cpu = statistics.median(p["cpu_seconds"] for p in plains)
        peak = max(p["peak_mib"] for p in packs)
        entry = {
            "records": size, "pages": packs[0]["pages"], "pdf_bytes": packs[0]["bytes"],
            "pack_seconds": round(pack_s, 2), "plain_seconds": round(plain_s, 2), "ratio": round(pack_s / plain_s, 2),
            "pack_cpu_seconds": round(pack_cpu, 2), "plain_cpu_seconds": round(plain_cpu, 2),
            "cpu_ratio": round(pack_cpu / plain_cpu, 2),
            "pack_peak_mib": round(peak, 1), "plain_peak_mib": round(max(p["peak_mib"] for p in plains), 1),
            "time_target_met": pack_s / plain_s <= TIME_TARGET,
            "memory_target_met": None if size != 1000 else peak < MEMORY_TARGET_MIB,
            "runs": {"pack": packs, "plain": plains},
        }
        report["sizes"].append(entry)
    path = RESULTS_DIR / f"pack-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print()
    print(f"{'records':>8} {'pages':>6} {'pack s':>8} {'plain s':>8} {'ratio':>6} {'cpu ratio':>9} "
          f"{'pack MiB':>9} {'plain MiB':>9}")
    for e in report["sizes"]:
        print(f"{e['records']:>8} {e['pages']:>6} {e['pack_seconds']:>8.1f} {e['plain_seconds']:>8.1f} "
              f"{e['ratio']:>6.2f} {e['cpu_ratio']:>9.2f} {e['pack_peak_mib']:>9.0f} {e['plain_peak_mib']:>9.0f}")
    print(f"\ntargets: ratio <= {TIME_TARGET}, < {MEMORY_TARGET_MIB} MiB for 1,000 records — written to "
          f"{path.relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        command, number, database = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
        if command == "_build":
            build(number, database)
        else:
            result = measure_pack(number, database) if command == "_pack" else measure_plain(number, database)
            print(json.dumps(result))
    else:
        main()
