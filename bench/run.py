"""Benchmark of the pages people wait for and of the SLA sweep, each page next to a floor measured
in the same run: a bare view answering "ok" through the same server and middleware.

    .venv/bin/python bench/run.py                                   # 10,000 records, SQLite
    .venv/bin/python bench/run.py --database postgres://postgres@127.0.0.1:5432/reclamations_bench
    .venv/bin/python bench/run.py --records 1000 --pack 50,1000 --sweep-records 100000

What one run does, each part in a fresh process with a time limit, the whole run bounded by
``--timeout``:

1. **Builds** a throw-away database of ``--records`` realistic records (``bench/dataset.py``: the
   demo records cloned, with their events, messages, actions and files; 85 % finished over three
   years, 15 % open at every step), and a second one ten times smaller. One open record in step 6
   gets a history of 100 events (calls, e-mails, notes logged through the services); a clone of the
   same record keeps its ordinary history. SLA alerts and action reminders already due are marked
   sent, as the sweeps before would have left them.
2. **Counts SQL queries** per page (Django's test client, in-process, on both databases; the record
   page with 100 events and with its ordinary history): a count that grows with the records or the
   events is a defect whatever the timings say.
3. **Serves** the application with gunicorn on 127.0.0.1 (``--workers``, sync workers, the project's
   settings with one more URL, ``/bench/plancher/``: ``bench/settings.py``) and measures, with
   ``--clients`` concurrent clients (separate processes), in rounds where every page takes its turn:
   the floor, ``/contact/`` GET, ``/contact/`` POST (the real form: CSRF token, signed fill time,
   honeypot — forms are fetched ahead so the minimal fill time has passed — only the rate limit is
   lifted, through ``CONTACT_RATE_LIMIT``), the staff list (first page; filtered, searched and
   sorted) and a record's page, signed in through the login form. Median, p95, requests/s.
4. **Times the SLA sweep** (``reclamations.sweep.run``) over all open records: a steady-state sweep
   (nothing new crossed a threshold) and one where 100 records just became at risk (100 alerts,
   their e-mails and events). ``--sweep-records 100000`` does the same on a database of that many
   open records made with ``bulk_create``.
5. **The evidence pack** for ``--pack`` records (default 50; ``50,1000`` for both), next to WeasyPrint
   laying out a plain document with as many pages (``bench/pack.py``; that is the pack's floor).

SQLite runs use the embedded set-up (per-process cache, filesystem broker), PostgreSQL runs the
production one (Redis DB 11 for the cache and the broker, persistent connections). Databases: SQLite
files under ``var/bench/``, PostgreSQL databases named ``reclamations_bench*``, dropped at the end
unless ``--keep``. Results: printed, and written to ``bench/results/run-<date>.json``.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from contextlib import suppress
from datetime import UTC, datetime
from http.client import HTTPConnection
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import dataset  # noqa: E402
from bench.dataset import FLOOR_PATH  # noqa: E402

RESULTS_DIR = ROOT / "bench" / "results"
DETAIL_EVENTS = 100
CROSSING = 100
FILL_SECONDS = 4  # above CONTACT_MIN_FILL_SECONDS (3): forms are posted at least this long after they were shown

# Targets (issue 9): median time as a multiple of the floor's.
TARGETS = {"contact_get": 5, "contact_post": 10, "list": 15, "list_filtered": 15, "detail": 15}
SWEEP_TARGET_SECONDS = 1.0  # 100,000 open records, PostgreSQL

PAGES = {
    # name: (label, method, path or None when it comes from the dataset)
    "floor": ("floor: bare view \"ok\"", "GET", FLOOR_PATH),
    "contact_get": ("/contact/ GET", "GET", "/contact/"),
    "contact_post": ("/contact/ POST (real form)", "POST", "/contact/"),
    "list": ("staff list, first page", "GET", "/backoffice/reclamations/"),
    "list_filtered": ("staff list, filtered + searched", "GET", None),
    "detail": (f"record page, {DETAIL_EVENTS} events", "GET", None),
    "detail_small": ("record page, ordinary history", "GET", None),
}


# =================================================================================================
# Child processes: Django set up on one database
# =================================================================================================
def child_build(url: str, records: int, seed: int) -> dict[str, Any]:
    """A fresh database of ``records`` records (see the module's docstring)."""
    started = time.perf_counter()
    dataset.create_database(url)
    dataset.setup_django(url)
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.utils import timezone

    from reclamations import sweep, workflow
    from reclamations.models import Event, Reclamation
    from reclamations.workflow import Step

    cache.clear()  # PostgreSQL runs: Redis DB 11, the benchmark's own
    password = secrets.token_urlsafe(16)
    dataset.install(password)
    templates = list(Reclamation.objects.order_by("pk"))
    # The record page's subject: a demo record in step 6 (action plan, answer, many forms).
    model = next(t for t in templates if t.state == Step.ACTION)
    plan = dataset.realistic_plan(seed=seed)
    events = dataset.clone_records(max(0, records - len(templates) - 1), plan=plan)
    events += dataset.clone_records(1, plan=lambda _i: (model, timezone.localtime(model.received_at).date()))
    small = Reclamation.objects.filter(subject=model.subject).exclude(pk=model.pk).order_by("-pk").first()
    now = timezone.now()
    claimed = dataset.settle_claims(now)
    report = sweep.run(now)  # what is left: surveys run out, improvement reminders
    user = get_user_model().objects.get(username="gestionnaire")
    Reclamation.objects.filter(pk__in=[model.pk, small.pk]).update(handler=user)
    big_events = dataset.grow_history(model, events=DETAIL_EVENTS, actor=user)
    # No worker runs here: the e-mails queued so far are taken as sent, as they would be by then.
    from post_office.models import STATUS, Email

    Email.objects.exclude(status=STATUS.sent).update(status=STATUS.sent)
    if dataset.is_postgres(url):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # what autovacuum does after such a load
    word = max(re.findall(r"\w{5,}", model.subject), key=len).lower()[:6]
    filtered = urlencode({"q": word, "state": "ouvertes", "sla": "late", "service": model.service_id or "",
                          "ordre": "priorite"})
    return {
        "url": dataset.describe(url),
        "records": Reclamation.objects.count(),
        "open": Reclamation.objects.filter(state__in=workflow.OPEN_STEPS).count(),
        "events": Event.objects.count(),
        "cloned_events": events,
        "settled_claims": claimed,
        "settling_sweep": report.short(),
        "detail": {"pk": model.pk, "events": big_events},
        "detail_small": {"pk": small.pk, "events": Event.objects.filter(reclamation=small).count()},
        "paths": {
            "list_filtered": f"/backoffice/reclamations/?{filtered}",
            "detail": f"/backoffice/reclamations/{model.pk}/",
            "detail_small": f"/backoffice/reclamations/{small.pk}/",
        },
        "service": model.service_id,
        "username": user.username,
        "password": password,
        "build_seconds": round(time.perf_counter() - started, 1),
    }


def contact_fields(service: int | None, n: int) -> dict[str, str]:
    """What a person types in the Contact form (realistic lengths)."""
    return {
        "kind": "complaint", "stakeholder_type": "learner",
        "complainant_name": f"Claire Dumont {n}", "complainant_role": "", "complainant_organisation": "",
        "complainant_email": f"claire.dumont{n}@example.org", "complainant_phone": "06 12 34 56 78",
        "complainant_address": "", "service": str(service or ""),
        "training_action": "Sauveteur secouriste du travail, session du 12 mars",
        "subject": "Attestation de formation jamais reçue",
        "description": ("J'ai suivi la formation SST du 12 au 13 mars. Trois semaines plus tard je n'ai toujours "
                        "pas reçu mon attestation, alors que mon employeur me la réclame pour mon dossier. "
                        "J'ai appelé deux fois le secrétariat sans obtenir de réponse précise. ") * 2,
        "wished_solution": "Recevoir l'attestation par courriel cette semaine.",
        "consent": "on", "website": "",
    }


def child_queries(url: str, meta: dict[str, Any]) -> dict[str, int]:
    """SQL queries of each page, the second time it is asked for (caches warm, as in production)."""
    dataset.setup_django(url)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from reclamations.forms.public import started_token

    staff = Client(HTTP_HOST="127.0.0.1")
    staff.force_login(get_user_model().objects.get(username=meta["username"]))
    anonymous = Client(HTTP_HOST="127.0.0.1")
    counts: dict[str, int] = {}
    for name, (_label, method, path) in PAGES.items():
        path = path or meta["paths"][name]
        client = staff if name.startswith(("list", "detail")) else anonymous
        for attempt in range(2):
            if method == "POST":
                data = contact_fields(meta["service"], attempt) | {"started": started_token(time.time() - 60)}
                request = lambda c=client, p=path, d=data: c.post(p, d)  # noqa: E731
            else:
                request = lambda c=client, p=path: c.get(p)  # noqa: E731
            with CaptureQueriesContext(connection) as queries:
                response = request()
            expected = 302 if method == "POST" else 200
            if response.status_code != expected:
                raise SystemExit(f"{name}: {response.status_code} instead of {expected}")
        counts[name] = len(queries.captured_queries)
    return counts


def child_sweep(url: str) -> dict[str, Any]:
    """The SLA sweep over every open record: steady state, then with ``CROSSING`` new alerts."""
    dataset.setup_django(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from reclamations import sweep, workflow
    from reclamations.models import Action, Reclamation

    open_records = Reclamation.objects.open().count()
    sweep.run()  # warm-up: connection, configuration, query plans
    with CaptureQueriesContext(connection) as queries:
        quiet = sweep.run()
    steady = []
    for _ in range(3):
        started = time.perf_counter()
        report = sweep.run()
        steady.append(time.perf_counter() - started)
    now = timezone.now()
    dataset.make_crossing(CROSSING, now=now)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as crossing_queries:
        crossed = sweep.run()
    crossing = time.perf_counter() - started
    return {
        **time_search(),
        "open_records": open_records,
        "open_actions": Action.objects.filter(reclamation__state__in=workflow.OPEN_STEPS).count(),
        "steady_seconds": round(statistics.median(steady), 4),
        "steady_runs": [round(s, 4) for s in steady],
        "steady_queries": len(queries.captured_queries),
        "steady_sent": quiet.total + report.total,
        "crossing_seconds": round(crossing, 3),
        "crossing_alerts": len(crossed.alerts),
        "crossing_queries": len(crossing_queries.captured_queries),
        "crossing_errors": crossed.errors,
    }


SEARCHED = "4242"  # in a name, an address or a reference of a few records of every base


def time_search() -> dict[str, Any]:
    """The staff list's search alone, over every record (what its count, its first page and the
    page's excerpts ask the database): the query that an index must answer once a base holds tens
    of thousands."""
    from reclamations import selectors
    from reclamations.filters import ReclamationFilter

    def ask() -> int:
        searched, _sort = selectors.sort_reclamations(
            ReclamationFilter({"q": SEARCHED}, queryset=selectors.reclamations_for_list()).qs, None)
        page = list(searched[:25])
        selectors.search_excerpts(page, SEARCHED)  # where the words were found, shown in each row
        return searched.count()

    ask()  # warm-up
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        matches = ask()
        runs.append(time.perf_counter() - started)
    return {"search_term": SEARCHED, "search_matches": matches, "search_seconds": round(statistics.median(runs), 4)}


def child_build_sweep(url: str, count: int) -> dict[str, Any]:
    """A database of ``count`` open records without history, for the sweep alone."""
    started = time.perf_counter()
    dataset.create_database(url)
    dataset.setup_django(url)
    from django.core.cache import cache
    from django.utils import timezone

    from reclamations import sweep

    cache.clear()
    dataset.install(secrets.token_urlsafe(16))
    now = timezone.now()
    made = dataset.bulk_open_records(count, now=now)
    claimed = dataset.settle_claims(now)
    sweep.run(now)
    if dataset.is_postgres(url):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would after such a load
    return {"url": dataset.describe(url), **made, "settled_claims": claimed,
            "build_seconds": round(time.perf_counter() - started, 1)}


def child_profile(url: str, meta: dict[str, Any], page: str) -> None:
    """cProfile of one page, through the test client (``--profile PAGE``, for finding slow parts)."""
    import cProfile
    import pstats

    dataset.setup_django(url)
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username=meta["username"]))
    path = PAGES[page][2] or meta["paths"][page]
    if page == "contact_post":
        # Ten real forms, filled in for longer than the robot check's minimum, then posted.
        forms = [re.search(r'name="started" value="([^"]+)"', client.get(path).content.decode()).group(1)
                 for _ in range(11)]
        time.sleep(FILL_SECONDS)

        def request(n: int) -> None:
            response = client.post(path, {"started": forms[n], **contact_fields(meta["service"], 900_000 + n)})
            if response.status_code != 302:
                raise RuntimeError(f"contact_post: HTTP {response.status_code} {_why(response.content)}")
    else:
        def request(n: int) -> None:
            client.get(path)
    if os.environ.get("BENCH_PROFILE_QUERIES"):  # the SQL of one request, to read what it asks
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            request(10)
        for query in queries.captured_queries:
            print(f"{query['time']}s  {query['sql'][:400]}", file=sys.stderr)
    else:
        request(10)
    profiler = cProfile.Profile()
    profiler.enable()
    for n in range(10):
        request(n)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative"))
    stats.print_stats(int(os.environ.get("BENCH_PROFILE_LINES", "45")))


# =================================================================================================
# HTTP clients: one process each, driven through a pipe
# =================================================================================================
class Browser:
    """Just enough of a browser: cookies, a new connection per request (gunicorn's sync workers
    close each one), the Contact form's hidden fields kept for later posts."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}
        self.forms: list[tuple[str, str]] = []  # (csrf token, signed fill time) of forms fetched

    def request(self, method: str, path: str, body: bytes = b"", content_type: str = "") -> tuple[int, bytes]:
        connection = HTTPConnection(self.host, self.port, timeout=60)
        headers = {"Host": f"{self.host}:{self.port}", "User-Agent": "bench/run.py"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            headers |= {"Content-Type": content_type, "Origin": f"http://{self.host}:{self.port}",
                        "Referer": f"http://{self.host}:{self.port}{path}"}
        try:
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
            content = response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, content
        finally:
            connection.close()

    def keep_form(self, content: bytes) -> None:
        page = content.decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        started = re.search(r'name="started" value="([^"]+)"', page)
        if csrf and started:
            self.forms.append((csrf.group(1), started.group(1)))

    def login(self, username: str, password: str) -> None:
        status, content = self.request("GET", "/backoffice/connexion/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', content.decode())
        if status != 200 or not token:
            raise RuntimeError(f"login page: {status}")
        body = urlencode({"csrfmiddlewaretoken": token.group(1), "username": username, "password": password,
                          "next": ""}).encode()
        status, _ = self.request("POST", "/backoffice/connexion/", body, "application/x-www-form-urlencoded")
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login refused: {status}")


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "----bench" + secrets.token_hex(12)
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    # The empty file input a browser sends when no file is chosen.
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename=""\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n\r\n")
    return ("".join(parts) + f"--{boundary}--\r\n").encode(), f"multipart/form-data; boundary={boundary}"


def _why(content: bytes) -> str:
    """The error summary of a re-shown form, else the start of the page."""
    page = content.decode(errors="replace")
    summary = re.search(r'class="alert alert-danger error-summary".*?</ul>', page, re.S)
    text = summary.group(0) if summary else page[:300]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()


def client_main(index: int, connection: Any, barrier: Any, port: int, meta: dict[str, Any]) -> None:
    browser = Browser("127.0.0.1", port)
    posted = 0
    paths = {name: path or meta["paths"][name] for name, (_l, _m, path) in PAGES.items()}
    while True:
        command = connection.recv()
        try:
            if command[0] == "stop":
                return
            if command[0] == "prepare":
                browser.login(meta["username"], meta["password"])
                for _ in range(command[1]):
                    status, content = browser.request("GET", "/contact/")
                    browser.keep_form(content)
                # A person takes longer than CONTACT_MIN_FILL_SECONDS (3 s) to fill the form in.
                time.sleep(FILL_SECONDS)
                connection.send(("ok", len(browser.forms)))
                continue
            _, page, count = command
            timings, errors = [], []
            barrier.wait(timeout=120)
            batch_start = time.perf_counter()
            for _ in range(count):
                if page == "contact_post":
                    csrf, started = browser.forms.pop(0)
                    posted += 1
                    fields = {"csrfmiddlewaretoken": csrf, "started": started,
                              **contact_fields(meta["service"], index * 100_000 + posted)}
                    body, content_type = multipart(fields)
                    began = time.perf_counter()
                    status, content = browser.request("POST", paths[page], body, content_type)
                    expected = 302
                else:
                    began = time.perf_counter()
                    status, content = browser.request("GET", paths[page])
                    expected = 200
                timings.append(time.perf_counter() - began)
                if status != expected:
                    errors.append(f"{page}: HTTP {status} {_why(content)}")
            connection.send(("done", timings, batch_start, time.perf_counter(), errors))
        except Exception as exc:
            connection.send(("error", f"{type(exc).__name__}: {exc}"))


# =================================================================================================
# The orchestrator
# =================================================================================================
class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the run's time limit (--timeout) is reached")
        return left


def run_child(deadline: Deadline, url: str, command: str, *args: Any) -> Any:
    env = os.environ | dataset.environment(url)
    completed = subprocess.run(
        [sys.executable, __file__, command, url, *(json.dumps(a) for a in args)],
        capture_output=True, text=True, timeout=deadline.left(), check=False, cwd=ROOT, env=env,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{command} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, workers: int, deadline: Deadline) -> tuple[subprocess.Popen, int]:
    env = os.environ | dataset.environment(url)
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "config.wsgi", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "--timeout", "120"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    browser = Browser("127.0.0.1", port)
    for _ in range(120):
        with suppress(OSError):
            if browser.request("GET", FLOOR_PATH)[0] == 200:
                return server, port
        if server.poll() is not None:
            raise SystemExit("gunicorn stopped at start-up")
        time.sleep(0.5)
    stop_server(server)
    raise SystemExit("gunicorn did not answer within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def server_processes(master: int, url: str) -> list[int]:
    """The gunicorn workers, and on PostgreSQL the backends serving the run's database (their
    title names it): the processes whose CPU time a page costs."""
    database = f" {urlsplit(url).path.lstrip('/')} " if dataset.is_postgres(url) else None
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            worker = int(stat.rsplit(")", 1)[1].split()[1]) == master
            if worker or (database and database in (entry / "cmdline").read_text().replace("\0", " ") + " "):
                pids.append(int(entry.name))
    return pids


def cpu_ns(pids: list[int]) -> dict[int, int]:
    """Time each process (all its threads) spent on a CPU, in nanoseconds (``/proc/<pid>/task/*/schedstat``)."""
    out = {}
    for pid in pids:
        with suppress(OSError, ValueError):
            out[pid] = sum(int((task / "schedstat").read_text().split()[0])
                           for task in Path(f"/proc/{pid}/task").iterdir())
    return out


def summarise(timings: list[float], wall: float, cpu: float) -> dict[str, float]:
    ordered = sorted(timings)
    return {
        "requests": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000, 2),
        "rps": round(len(ordered) / wall, 1),
        "cpu_ms": round(cpu / len(ordered) * 1000, 3),
    }


def measure_http(url: str, meta: dict[str, Any], options: argparse.Namespace, deadline: Deadline) -> dict:
    """Every page in turn, ``--rounds`` times, by ``--clients`` clients at once."""
    context = multiprocessing.get_context("fork")
    server, port = start_server(url, options.workers, deadline)
    clients: list[tuple[Any, Any]] = []
    barrier = context.Barrier(options.clients)
    try:
        for index in range(options.clients):
            parent, child = context.Pipe()
            process = context.Process(target=client_main, args=(index, child, barrier, port, meta), daemon=True)
            process.start()
            clients.append((process, parent))

        def ask(command: tuple) -> list[tuple]:
            for _process, pipe in clients:
                pipe.send(command)
            answers = []
            for _process, pipe in clients:
                if not pipe.poll(min(deadline.left(), 600)):
                    raise TimeoutError(f"a client did not answer {command[:2]}")
                answer = pipe.recv()
                if answer[0] == "error":
                    raise SystemExit(f"client error on {command[:2]}: {answer[1]}")
                answers.append(answer)
            return answers

        warmup = 2
        ask(("prepare", options.requests * options.rounds + warmup))
        timings: dict[str, list[float]] = {page: [] for page in PAGES}
        walls: dict[str, float] = dict.fromkeys(PAGES, 0.0)
        cpu: dict[str, float] = dict.fromkeys(PAGES, 0.0)
        errors: list[str] = []
        for page in PAGES:  # warm-up: every worker process loads every template once
            ask(("batch", page, warmup))
        for _round in range(options.rounds):
            for page in PAGES:
                pids = server_processes(server.pid, url)
                before = cpu_ns(pids)
                answers = ask(("batch", page, options.requests))
                after = cpu_ns(pids + server_processes(server.pid, url))
                cpu[page] += sum(ns - before.get(pid, ns if pid in pids else 0) for pid, ns in after.items()) / 1e9
                for _tag, batch, _start, _end, batch_errors in answers:
                    timings[page] += batch
                    errors += batch_errors
                walls[page] += max(a[3] for a in answers) - min(a[2] for a in answers)
        if errors:
            raise SystemExit("unexpected answers:\n" + "\n".join(errors[:10]))
        for _process, pipe in clients:
            pipe.send(("stop",))
        return {page: summarise(timings[page], walls[page], cpu[page]) for page in PAGES}
    finally:
        for process, _pipe in clients:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
        stop_server(server)


def measure_pack(url: str, sizes: list[int], deadline: Deadline) -> list[dict[str, Any]]:
    from bench import pack

    entries = []
    for size in sizes:
        pack_url = dataset.derived_url(url, f"pack{size}")
        entry = pack.measure_size(size, pack_url, rounds=1, timeout=deadline.left(), rebuild=True)
        entries.append({k: v for k, v in entry.items() if k != "runs"})
    return entries


def machine() -> dict[str, Any]:
    cpu = ""
    with suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    memory = 0
    with suppress(OSError, StopIteration):
        memory = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal:")))
    return {"cpu": cpu or platform.processor(), "cores": os.cpu_count(), "memory_gib": round(memory / 1024**2, 1),
            "python": platform.python_version(), "system": platform.platform()}


def ratios(http: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    floor = http["floor"]
    return {
        page: {"median": round(f["median_ms"] / floor["median_ms"], 1), "p95": round(f["p95_ms"] / floor["p95_ms"], 1),
               "rps": round(floor["rps"] / f["rps"], 1), "cpu": round(f["cpu_ms"] / floor["cpu_ms"], 1)}
        for page, f in http.items()
    }


def verdicts(report: dict[str, Any]) -> dict[str, bool]:
    out = {}
    http, ratio = report.get("http"), report.get("ratios")
    if http:
        for page, target in TARGETS.items():
            out[f"{page}: median time <= {target}x floor's"] = ratio[page]["median"] <= target
            out[f"{page}: server CPU per request <= {target}x floor's"] = ratio[page]["cpu"] <= target
    queries = report.get("queries")
    if queries:
        big, small = queries["records"], queries["tenth"]
        for page in ("list", "list_filtered"):
            out[f"{page}: same queries at {report['dataset']['records']} and {report['tenth']['records']} records"] = (
                big[page] == small[page])
        out[f"detail: same queries with {report['dataset']['detail']['events']} and "
            f"{report['dataset']['detail_small']['events']} events"] = big["detail"] == big["detail_small"]
    for sweep in report.get("sweeps", []):
        if sweep["open_records"] >= 100_000 and report["database"] == "postgresql":
            out[f"sweep over {sweep['open_records']} open records < {SWEEP_TARGET_SECONDS:g} s"] = (
                sweep["steady_seconds"] < SWEEP_TARGET_SECONDS)
    return out


def print_table(report: dict[str, Any]) -> None:
    data = report["dataset"]
    print(f"\n{report['database']} — {data['records']:,} records ({data['open']:,} open, {data['events']:,} events); "
          f"{report['options']['clients']} clients, {report['options']['workers']} gunicorn workers; "
          f"{report['machine']['cpu']}, {report['machine']['cores']} cores, {report['machine']['memory_gib']} GiB")
    if "http" in report:
        header = (f"{'page':<34} {'median':>9} {'x floor':>8} {'p95':>9} {'x floor':>8} {'req/s':>7} "
                  f"{'x floor':>8} {'CPU/req':>8} {'x floor':>8} {'queries':>11}")
        print(header)
        print("-" * len(header))
        tenth = report["tenth"]["records"]
        for page, (label, _m, _p) in PAGES.items():
            f, r = report["http"][page], report["ratios"][page]
            q = f"{report['queries']['records'][page]} / {report['queries']['tenth'][page]}"
            print(f"{label:<34} {f['median_ms']:>7.1f}ms {r['median']:>7.1f}x {f['p95_ms']:>7.1f}ms {r['p95']:>7.1f}x "
                  f"{f['rps']:>7.1f} {r['rps']:>7.1f}x {f['cpu_ms']:>6.2f}ms {r['cpu']:>7.1f}x {q:>11}")
        print(f"(queries: at {data['records']:,} / at {tenth:,} records; record page: {data['detail']['events']} "
              f"events, ordinary history: {data['detail_small']['events']} events)")
    for sweep in report.get("sweeps", []):
        steady = sweep["steady_seconds"] * 1000
        print(f"SLA sweep, {sweep['open_records']:,} open records: steady state {steady:.0f} ms "
              f"({sweep['steady_queries']} queries), {sweep['crossing_alerts']} records crossing: "
              f"{sweep['crossing_seconds'] * 1000:.0f} ms ({sweep['crossing_queries']} queries); "
              f"search for \"{sweep['search_term']}\" over every record ({sweep['search_matches']} found): "
              f"{sweep['search_seconds'] * 1000:.1f} ms")
    for entry in report.get("pack", []):
        print(f"evidence pack, {entry['records']} records: {entry['pack_seconds']} s, plain layout of the same "
              f"{entry['pages']} pages {entry['plain_seconds']} s: {entry['ratio']}x")
    for name, ok in report.get("targets", {}).items():
        print(f"  [{'ok' if ok else 'MISSED'}] {name}")


def _hard_stop(signum: int, frame: Any) -> None:
    raise TimeoutError("the run's time limit (--timeout) is reached")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000, help="records in the database (default 10000)")
    parser.add_argument("--database", default=dataset.default_url(),
                        help="throw-away database URL: sqlite:///…/var/bench/x.sqlite3 (default) or "
                             "postgres://…/reclamations_bench…")
    parser.add_argument("--pack", default="50", help="evidence-pack sizes, comma-separated, '' for none (default 50)")
    parser.add_argument("--sweep-records", type=int, default=0,
                        help="also time the sweep over this many open records (e.g. 100000)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--requests", type=int, default=10, help="requests per client, page and round (default 10)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds over every page (default 5)")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--timeout", type=float, default=None,
                        help="hard limit of the whole run, seconds (default 900, plus 900 per pack of 1000 "
                             "records or more, plus 600 with --sweep-records)")
    parser.add_argument("--keep", action="store_true", help="keep the databases for --reuse")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the databases a --keep run left (and keep them); build them if missing")
    parser.add_argument("--profile", metavar="PAGE", choices=list(PAGES),
                        help="print a cProfile of one page (10 requests, in-process) and stop")
    options = parser.parse_args()
    url = options.database
    if options.timeout is None:
        big_packs = sum(1 for size in options.pack.split(",") if size.strip() and int(size) >= 1000)
        options.timeout = 900 + 900 * big_packs + (600 if options.sweep_records else 0)
    for u in (url, dataset.derived_url(url, "tenth")):
        dataset.check_throwaway(u)
    deadline = Deadline(options.timeout)
    # A hard stop, whatever happens below: the children have their own limits too.
    signal.signal(signal.SIGALRM, _hard_stop)
    signal.alarm(int(options.timeout) + 30)
    dataset.DATA_DIR.mkdir(parents=True, exist_ok=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    meta_file = dataset.DATA_DIR / "run-datasets.json"
    load = os.getloadavg()
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
        "database": "postgresql" if dataset.is_postgres(url) else "sqlite",
        "load_average_at_start": [round(x, 2) for x in load],
        "options": {k: v for k, v in vars(options).items() if k not in ("database", "keep", "reuse", "profile")},
    }
    tenth_url = dataset.derived_url(url, "tenth")
    built: list[str] = []
    try:
        saved = json.loads(meta_file.read_text()) if options.reuse and meta_file.exists() else {}
        if saved.get("database") == url and saved["dataset"]["records"] >= options.records:
            meta, tenth = saved["dataset"], saved["tenth"]
            print(f"reusing {meta['url']} ({meta['records']:,} records)", flush=True)
            for u in (url, tenth_url):  # the code may have new migrations since
                run_child(deadline, u, "_migrate")
        else:
            print(f"building {options.records:,} records in {dataset.describe(url)}…", flush=True)
            built.append(url)
            meta = run_child(deadline, url, "_build", options.records, options.seed)
            print(f"  {meta['records']:,} records, {meta['events']:,} events in {meta['build_seconds']} s; "
                  f"building {max(options.records // 10, 50):,}…", flush=True)
            built.append(tenth_url)
            tenth = run_child(deadline, tenth_url, "_build", max(options.records // 10, 50), options.seed)
            meta_file.write_text(json.dumps({"database": url, "dataset": meta, "tenth": tenth}, indent=2))
        # Pages name their static files through the manifest (as in production): collect them once.
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT,
                       env=os.environ | dataset.environment(url), check=True, timeout=deadline.left())
        if options.profile:
            subprocess.run([sys.executable, __file__, "_profile", url, json.dumps(meta), json.dumps(options.profile)],
                           cwd=ROOT, env=os.environ | dataset.environment(url), timeout=deadline.left(), check=True)
            return
        report["dataset"] = {k: v for k, v in meta.items() if k != "password"}
        report["tenth"] = {k: v for k, v in tenth.items() if k != "password"}
        print("counting SQL queries…", flush=True)
        report["queries"] = {"records": run_child(deadline, url, "_queries", meta),
                             "tenth": run_child(deadline, tenth_url, "_queries", tenth)}
        print(f"serving with gunicorn, {options.clients} clients × {options.rounds} rounds…", flush=True)
        report["http"] = measure_http(url, meta, options, deadline)
        report["ratios"] = ratios(report["http"])
        print("timing the SLA sweep…", flush=True)
        report["sweeps"] = [run_child(deadline, url, "_sweep")]
        if options.sweep_records:
            sweep_url = dataset.derived_url(url, "sweep")
            print(f"building {options.sweep_records:,} open records for the sweep…", flush=True)
            built.append(sweep_url)
            report["sweep_dataset"] = run_child(deadline, sweep_url, "_build_sweep", options.sweep_records)
            report["sweeps"].append(run_child(deadline, sweep_url, "_sweep"))
        sizes = [int(s) for s in options.pack.split(",") if s.strip()]
        if sizes:
            print(f"evidence pack for {', '.join(map(str, sizes))} records…", flush=True)
            built += [dataset.derived_url(url, f"pack{size}") for size in sizes]
            report["pack"] = measure_pack(url, sizes, deadline)
        report["targets"] = verdicts(report)
        report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        path = RESULTS_DIR / f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{report['database']}.json"
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print_table(report)
        print(f"\nwritten to {path.relative_to(ROOT)}; load average {report['load_average_at_start'][0]} at the start, "
              f"{report['load_average_at_end'][0]} at the end")
    finally:
        signal.alarm(0)
        if not (options.keep or options.reuse):
            for u in built:
                with suppress(Exception):
                    subprocess.run([sys.executable, __file__, "_drop", u], cwd=ROOT, timeout=60, check=False)
            meta_file.unlink(missing_ok=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        command, url, *args = sys.argv[1:]
        values = [json.loads(a) for a in args]
        if command == "_migrate":
            dataset.setup_django(url)
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            result: Any = {"migrated": url}
        elif command == "_drop":
            dataset.drop_database(url)
            result = {"dropped": url}
        elif command == "_profile":
            child_profile(url, *values)
            result = {}
        else:
            handler = {"_build": child_build, "_queries": child_queries, "_sweep": child_sweep,
                       "_build_sweep": child_build_sweep}[command]
            result = handler(url, *values)
        print(json.dumps(result, default=str))
    else:
        main()
