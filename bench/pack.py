"""Benchmark of the evidence pack: 50 and 1,000 records, time and peak memory, next to WeasyPrint
laying out a plain document with the same number of pages in the same run.

    .venv/bin/python bench/pack.py                  # sizes 50 and 1000, 2 rounds
    .venv/bin/python bench/pack.py --sizes 50 --rounds 1
    .venv/bin/python bench/pack.py --rebuild        # rebuild the cached datasets
    BENCH_PACK_PDF=/tmp .venv/bin/python bench/pack.py --sizes 1000 --rounds 1   # keep the PDF too

Targets (issue 6): the pack within 1.5x the plain document's time, and under 500 MiB for 1,000 records.

How it works, so that the figures mean something:

- Datasets are SQLite files under ``var/bench/`` (built once, reused; ``--rebuild`` starts again), or
  PostgreSQL databases ``<--database>_pack<N>`` (built each time): ``seed_demo`` writes ~30 realistic
  records through the real services (each with its full journal), then each is cloned
  (``bench/dataset.py``: fields, actions, exchanges, events re-chained with real keyed links) until
  the period holds N records. Clones are received in the twelve months *before* the demo ones, so the
  measured period holds exactly N records. ``bench/run.py --pack 50,1000`` runs the same measurement.
- Every measurement runs in a fresh process (``ru_maxrss`` is a process's high-water mark), and pack
  and plain runs alternate so that a busy machine slows both alike. Time is wall-clock; CPU time is
  reported too.
- "pack" is what the quality lead waits for: figures and register queries, full journal-chain
  verification, templates, layout and PDF writing (``reclamations.pdf.build_pack``).
  "plain" is the same renderer (same child process, same fetcher, same page size and footer) on a
  document of headings and paragraphs with exactly as many pages, each page filled with text.
- Peak memory is the largest of the parent's and the rendering children's ``ru_maxrss`` (a pack of
  more than ``PDF_PACK_BATCH_RECORDS`` records, default 100, is laid out in parts, one child each,
  then joined with pypdf in the parent: ``reclamations/pdf/pack.py``); a child's includes what it
  inherits from the parent (it is forked), so neither figure alone, nor their sum, is the footprint.
  The **footprint** is therefore sampled too: every 20 ms, the PSS (proportional set size: a page
  shared by n processes counts 1/n in each) of the measuring process plus that of its living
  children, from ``/proc/<pid>/smaps_rollup``; its maximum is what the machine had to give the
  whole job at once.
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
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import dataset  # noqa: E402

DATA_DIR = dataset.DATA_DIR
RESULTS_DIR = ROOT / "bench" / "results"
TIME_TARGET = 1.5
MEMORY_TARGET_MIB = 500


# --- Memory footprint of a process and its children (Linux) ---------------------------------------
def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):  # the child just ended
        return 0
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found.extend(int(child) for child in children.read().split())
        except (OSError, ValueError):
            continue
    return found


class FootprintSampler:
    """The largest PSS of this process plus its children seen while it runs (``with`` block)."""

    def __init__(self, interval: float = 0.02) -> None:
        import threading

        self.interval, self.peak_kib = interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            total = _pss_kib(me) + sum(_pss_kib(child) for child in _children(me))
            self.peak_kib = max(self.peak_kib, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> FootprintSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- In a child process: Django on the dataset's database ----------------------------------------
def _django(url: str) -> None:
    dataset.setup_django(url)
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


def build(size: int, url: str) -> None:
    """A fresh database: migrations, the demo installation, then ``size`` clones in the period."""
    import random
    import secrets
    from datetime import date, timedelta

    dataset.create_database(url)
    _django(url)
    from reclamations.journal import verify_chain
    from reclamations.models import Reclamation

    dataset.install("bench-" + secrets.token_hex(8))
    templates = list(Reclamation.objects.order_by("pk"))
    start, end = (date.fromisoformat(d) for d in _period())
    span = (end - start).days
    rng = random.Random(size)
    dataset.clone_records(
        size, plan=lambda i: (templates[i % len(templates)], start + timedelta(days=rng.randrange(span + 1)))
    )
    report = verify_chain()
    assert report.intact, report.message
    print(json.dumps({"built": size, "events": report.checked}))


def measure_pack(size: int, url: str) -> dict:
    _django(url)
    import resource
    from datetime import date

    from django.conf import settings

    from reclamations.pdf import build_pack
    from reclamations.pdf.pack import DEFAULT_BATCH_RECORDS
    from reclamations.statistics import Period

    start, end = (date.fromisoformat(d) for d in _period())
    batch = int(getattr(settings, "PDF_PACK_BATCH_RECORDS", DEFAULT_BATCH_RECORDS))
    wall, cpu = time.perf_counter(), time.process_time()
    with FootprintSampler() as footprint:
        document = build_pack(period=Period(start, end), generated_by="Banc d'essai")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if os.environ.get("BENCH_PACK_PDF"):  # a directory: keep the pack, to read its pages afterwards
        Path(os.environ["BENCH_PACK_PDF"], f"pack-{document.records}.pdf").write_bytes(document.pdf)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    parent_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"kind": "pack", "records": document.records, "pages": document.pages, "bytes": len(document.pdf),
            "seconds": wall, "cpu_seconds": cpu + children.ru_utime + children.ru_stime,
            "peak_mib": max(parent_kib, document.rendered.peak_rss_kib) / 1024,
            "parent_peak_mib": parent_kib / 1024, "renderer_peak_mib": document.rendered.peak_rss_kib / 1024,
            "footprint_peak_mib": footprint.peak_kib / 1024, "batch_records": batch,
            "parts": document.rendered.parts}


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


def measure_plain(pages: int, url: str) -> dict:
    _django(url)
    import resource

    from reclamations.pdf.render import render_pdf

    html = plain_html(pages)
    wall, cpu = time.perf_counter(), time.process_time()
    with FootprintSampler() as footprint:
        rendered = render_pdf(html)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    parent_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert rendered.pages == pages, f"plain document: {rendered.pages} pages instead of {pages}"
    return {"kind": "plain", "pages": rendered.pages, "bytes": len(rendered.pdf), "seconds": wall,
            "cpu_seconds": cpu + children.ru_utime + children.ru_stime,
            "peak_mib": max(parent_kib, rendered.peak_rss_kib) / 1024,
            "parent_peak_mib": parent_kib / 1024, "renderer_peak_mib": rendered.peak_rss_kib / 1024,
            "footprint_peak_mib": footprint.peak_kib / 1024}


# --- The orchestrator ----------------------------------------------------------------------------
def _run(args: list[str], url: str, timeout: float) -> dict:
    completed = subprocess.run([sys.executable, __file__, *args, url], capture_output=True, text=True,
                               timeout=timeout, check=False, cwd=ROOT, env=os.environ | dataset.environment(url))
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _exists(url: str) -> bool:
    if dataset.is_postgres(url):
        return False  # PostgreSQL datasets are always built again
    return dataset.sqlite_path(url).exists()


def measure_size(size: int, url: str, *, rounds: int, timeout: float, rebuild: bool) -> dict:
    """Build the dataset if needed, then ``rounds`` alternated pack and plain runs; one entry of the report."""
    dataset.check_throwaway(url)
    deadline = time.monotonic() + timeout

    def left() -> float:
        return max(1.0, deadline - time.monotonic())

    if rebuild or not _exists(url):
        print(f"building the {size}-record dataset…", flush=True)
        _run(["_build", str(size)], url, left())
    packs, plains = [], []
    for round_number in range(rounds):
        pack = _run(["_pack", str(size)], url, left())
        plain = _run(["_plain", str(pack["pages"])], url, left())
        packs.append(pack)
        plains.append(plain)
        print(f"  {size} records, round {round_number + 1}: pack {pack['seconds']:.1f} s "
              f"({pack['pages']} pages, footprint {pack['footprint_peak_mib']:.0f} MiB, largest process "
              f"{pack['peak_mib']:.0f} MiB) — plain {plain['seconds']:.1f} s "
              f"(footprint {plain['footprint_peak_mib']:.0f} MiB)", flush=True)
    pack_s = statistics.median(p["seconds"] for p in packs)
    plain_s = statistics.median(p["seconds"] for p in plains)
    pack_cpu = statistics.median(p["cpu_seconds"] for p in packs)
    plain_cpu = statistics.median(p["cpu_seconds"] for p in plains)
    peak = max(p["peak_mib"] for p in packs)
    footprint = max(p["footprint_peak_mib"] for p in packs)
    return {
        "records": size, "pages": packs[0]["pages"], "pdf_bytes": packs[0]["bytes"],
        "pack_seconds": round(pack_s, 2), "plain_seconds": round(plain_s, 2), "ratio": round(pack_s / plain_s, 2),
        "pack_cpu_seconds": round(pack_cpu, 2), "plain_cpu_seconds": round(plain_cpu, 2),
        "cpu_ratio": round(pack_cpu / plain_cpu, 2),
        "pack_peak_mib": round(peak, 1), "plain_peak_mib": round(max(p["peak_mib"] for p in plains), 1),
        "pack_footprint_mib": round(footprint, 1),
        "plain_footprint_mib": round(max(p["footprint_peak_mib"] for p in plains), 1),
        "time_target_met": pack_s / plain_s <= TIME_TARGET,
        # The target is on what the machine must give the job: the footprint of all its processes.
        "memory_target_met": None if size != 1000 else footprint < MEMORY_TARGET_MIB,
        "runs": {"pack": packs, "plain": plains},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50,1000", help="record counts, comma-separated (default 50,1000)")
    parser.add_argument("--rounds", type=int, default=2, help="alternated pack/plain runs per size (default 2)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed to each size")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached datasets")
    parser.add_argument("--database", default="",
                        help="base URL of the datasets (default: SQLite files var/bench/pack-<size>.sqlite3; "
                             "PostgreSQL: postgres://…/reclamations_bench…, suffixed with _pack<size>)")
    options = parser.parse_args()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    report = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "python": platform.python_version(),
              "machine": platform.machine(), "cpus": os.cpu_count(),
              "load_average_at_start": os.getloadavg(), "targets": {"time_ratio": TIME_TARGET,
                                                                      "memory_mib_1000": MEMORY_TARGET_MIB},
              "sizes": []}
    for size in (int(s) for s in options.sizes.split(",")):
        if options.database:
            url = dataset.derived_url(options.database, f"pack{size}")
        else:
            url = f"sqlite:///{DATA_DIR / f'pack-{size}.sqlite3'}"
        report["sizes"].append(measure_size(size, url, rounds=options.rounds, timeout=options.timeout,
                                            rebuild=options.rebuild))
    path = RESULTS_DIR / f"pack-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print()
    print(f"{'records':>8} {'pages':>6} {'pack s':>8} {'plain s':>8} {'ratio':>6} {'cpu ratio':>9} "
          f"{'pack MiB':>9} {'plain MiB':>9}  (footprint: PSS of all processes)")
    for e in report["sizes"]:
        print(f"{e['records']:>8} {e['pages']:>6} {e['pack_seconds']:>8.1f} {e['plain_seconds']:>8.1f} "
              f"{e['ratio']:>6.2f} {e['cpu_ratio']:>9.2f} {e['pack_footprint_mib']:>9.0f} "
              f"{e['plain_footprint_mib']:>9.0f}")
    print(f"\ntargets: ratio <= {TIME_TARGET}, < {MEMORY_TARGET_MIB} MiB for 1,000 records — written to "
          f"{path.relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        command, number, url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        if command == "_build":
            build(number, url)
        else:
            result = measure_pack(number, url) if command == "_pack" else measure_plain(number, url)
            print(json.dumps(result))
    else:
        main()
