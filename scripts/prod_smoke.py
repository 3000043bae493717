"""Production-topology smoke test (``make prod-smoke``, also run by ``.ci/run``).

On PostgreSQL and Redis, it starts what production runs — gunicorn with several workers, two
Celery workers and exactly one Celery beat, with ``DEBUG`` off — then submits the public Contact
form over HTTP from concurrent clients, and checks that every submission is stored once with a
unique reference and that every acknowledgement (and every notice to staff) is delivered exactly
once, as counted by the local SMTP server the workers send to. Then it stops everything it started,
also on failure, Ctrl-C, SIGTERM or when the overall time bound is reached.

What it uses, all recreated at start: the PostgreSQL database ``reclamations_smoke``, Redis DBs 12
(broker) and 13 (cache), and ``var/prod-smoke/`` (static files, uploads, the processes' logs). The
database and the logs are left for inspection; the next run starts from scratch.

The form is filled in as a browser does (CSRF token, signed "form shown at" time, minimal fill
time). The abuse limits stay on: each client has its own address, passed as the reverse proxy
would (``X-Real-IP``, ``CLIENT_IP_HEADER``), and ``CONTACT_RATE_LIMIT`` is set to exactly each
client's share, so that one more submission from a client must get the 429 page — which also shows
that the limit is shared by the web processes (through Redis).

Exit status 0 when every check passes, 1 otherwise (the findings are listed), 130 on Ctrl-C.
"""
from __future__ import annotations

import argparse
import math
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv make chose (VENV=…), not always .venv
sys.path.insert(0, str(ROOT))  # config.settings, for the checks that read the database

from smoke import database, logs, verify  # noqa: E402 - after the path set-up
from smoke.clients import FormClient, Submission, answers_for, submit_one  # noqa: E402
from smoke.processes import Processes  # noqa: E402
from smoke.smtp_sink import SmtpSink  # noqa: E402
from smoke.stores import StoreError, flush_redis, recreate_database  # noqa: E402

DATABASE_NAME = "reclamations_smoke"
BROKER_DB, CACHE_DB = 12, 13
VAR_DIR = ROOT / "var" / "prod-smoke"
STAFF_EMAIL = "qualite-smoke@prod-smoke.example"
# Beat's outbox re-queue runs this often during the smoke (120 s in production), so that the
# periodic path also runs while the workers send, and beat is seen to publish.
OUTBOX_REQUEUE_SECONDS = 10
START_TIMEOUT = 90.0


class SmokeFailure(Exception):
    """A step could not be done; the run stops (the checks' findings are reported, not raised)."""


class OverallTimeout(Exception):
    pass


def say(message: str) -> None:
    print(f"[prod-smoke] {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("PROD_SMOKE_POSTGRES", "postgresql://postgres@127.0.0.1:5432"),
                        help="PostgreSQL server URL, without a database name (env PROD_SMOKE_POSTGRES)")
    parser.add_argument("--redis", default=os.environ.get("PROD_SMOKE_REDIS", "redis://127.0.0.1:6379"),
                        help="Redis server URL, without a database number (env PROD_SMOKE_REDIS)")
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients, each at its own address")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--celery-concurrency", type=int, default=2, help="pool size of each of the two workers")
    parser.add_argument("--fill-seconds", type=int, default=1,
                        help="CONTACT_MIN_FILL_SECONDS of the run; each client waits it before posting")
    parser.add_argument("--drain-timeout", type=float, default=120.0, help="bound on the wait for every e-mail")
    parser.add_argument("--timeout", type=int, default=480, help="bound on the whole run, seconds")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 250 or args.submissions < args.clients:
        parser.error("--clients must be between 1 and 250, and at most --submissions")
    if args.fill_seconds < 0:
        parser.error("--fill-seconds must be 0 or more")
    return args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], *, timeout: float, interval: float = 0.25,
               also: Callable[[], None] | None = None) -> bool:
    """Poll ``condition`` until true or ``timeout``; ``also`` runs at each turn (it may raise)."""
    deadline = time.monotonic() + timeout
    while True:
        if also is not None:
            also()
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)] if ordered else 0.0


@dataclass
class Run:
    args: argparse.Namespace
    per_client: int = 0
    web_port: int = 0
    env: dict[str, str] = field(default_factory=dict)
    processes: Processes | None = None
    sink: SmtpSink | None = None
    findings: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def manage(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - fixed argv, our own venv
            [str(BIN / "python"), "manage.py", *argv], cwd=ROOT, env=self.env,
            capture_output=True, text=True, timeout=300, check=False,
        )


# --- Set-up ----------------------------------------------------------------------------------------
def prepare(run: Run) -> None:
    args = run.args
    started = time.monotonic()
    database_url = recreate_database(server_url=args.postgres.rstrip("/"), name=DATABASE_NAME)
    broker_url = flush_redis(server_url=args.redis.rstrip("/"), db=BROKER_DB)
    cache_url = flush_redis(server_url=args.redis.rstrip("/"), db=CACHE_DB)
    shutil.rmtree(VAR_DIR, ignore_errors=True)
    (VAR_DIR / "logs").mkdir(parents=True)

    run.per_client = math.ceil(args.submissions / args.clients)
    run.web_port, smtp_port = free_port(), free_port()
    run.env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": "",
        "SITE_URL": run.base_url,
        "HTTPS": "false",  # TLS is the reverse proxy's; the smoke talks to gunicorn directly
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CACHE_URL": cache_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "DEFAULT_FROM_EMAIL": "Réclamations <reclamations@prod-smoke.example>",
        "VAR_DIR": str(VAR_DIR),
        "PRIVATE_MEDIA_ROOT": str(VAR_DIR / "private"),
        "CLIENT_IP_HEADER": "HTTP_X_REAL_IP",
        "CONTACT_RATE_LIMIT": f"{run.per_client}/d",
        "CONTACT_MIN_FILL_SECONDS": str(args.fill_seconds),
        "OUTBOX_REQUEUE_SECONDS": str(OUTBOX_REQUEUE_SECONDS),
        "LOG_LEVEL": "INFO",
    }
    # The checks read the database from this process, with the same settings.
    os.environ.update({k: v for k, v in run.env.items() if k not in ("PATH",)})

    for argv in (("migrate", "--noinput"), ("collectstatic", "--noinput")):
        result = run.manage(*argv)
        if result.returncode != 0:
            raise SmokeFailure(f"manage.py {' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}")
    import django

    django.setup()
    database.seed_minimum(staff_email=STAFF_EMAIL)
    from django.db import connection

    connection.close()  # no connection of ours stays open while the processes run
    run.figures.append(f"set-up (database, migrate, collectstatic, configuration): {time.monotonic() - started:.1f} s")
    run.sink = SmtpSink(host="127.0.0.1", port=smtp_port)


def start_processes(run: Run) -> None:
    args = run.args
    processes = run.processes = Processes(cwd=ROOT, env=run.env, log_dir=VAR_DIR / "logs")
    gunicorn, celery = str(BIN / "gunicorn"), str(BIN / "celery")
    started = time.monotonic()
    processes.start("web", [
        gunicorn, "config.wsgi", "-c", "config/gunicorn.py", "--bind", f"127.0.0.1:{run.web_port}",
        "--workers", str(args.web_workers),
        "--access-logfile", "-", "--access-logformat", logs.ACCESS_LOG_FORMAT, "--graceful-timeout", "10",
    ])
    for name in ("worker1", "worker2"):
        processes.start(name, [
            celery, "-A", "config", "worker", "-n", f"smoke-{name}@%h", "--loglevel", "INFO",
            "--concurrency", str(args.celery_concurrency),
        ])
    processes.start("beat", [
        celery, "-A", "config", "beat", "--loglevel", "INFO", "--schedule", str(VAR_DIR / "celerybeat-schedule"),
    ])
    # Threads only now: the children above were forked from a single-threaded process.
    assert run.sink is not None
    run.sink.start()

    probe = FormClient(base_url=run.base_url, address="203.0.113.1", timeout=5)
    workers = [c for c in processes.children if c.name.startswith("worker")]

    def healthy() -> bool:
        try:
            status, _url, _body = probe.get("/healthz")
        except OSError:
            return False
        return status == 200 and all(" ready." in w.log_text() for w in workers)

    if not wait_until(healthy, timeout=START_TIMEOUT, interval=0.5, also=lambda: ensure_alive(run)):
        raise SmokeFailure(f"the processes were not ready within {START_TIMEOUT:.0f} s "
                           "(/healthz answering 200 and both workers ready)")
    run.figures.append(f"start-up until /healthz answers 200 and both workers are ready: "
                       f"{time.monotonic() - started:.1f} s")
    # Static files are served with DEBUG off (WhiteNoise, from collectstatic's manifest).
    page = probe.load_form()
    for href in page.stylesheets:
        status, _url, _body = probe.get(href)
        if status != 200:
            run.findings.append(f"static file {href}: HTTP {status}")


def ensure_alive(run: Run) -> None:
    if run.processes and (dead := run.processes.dead()):
        child = dead[0]
        raise SmokeFailure(f"{child.name} exited (status {child.process.returncode}); its log ends with:\n"
                           f"{child.log_tail()}")


# --- The load ----------------------------------------------------------------------------------------
def submit_all(run: Run) -> list[Submission]:
    args = run.args

    stopping = threading.Event()  # set on Ctrl-C or timeout: each client ends after its current submission

    def one_client(index: int) -> list[Submission]:
        client = FormClient(base_url=run.base_url, address=f"198.51.100.{index + 1}")
        done = []
        for number in range(index, args.submissions, args.clients):
            if stopping.is_set():
                break
            done.append(submit_one(client, client_index=index, number=number,
                                   email=f"client-{number:03d}@prod-smoke.example", fill_seconds=args.fill_seconds))
        return done

    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=args.clients, thread_name_prefix="client")
    try:
        results = [s for batch in pool.map(one_client, range(args.clients)) for s in batch]
    finally:
        stopping.set()
        pool.shutdown(wait=True, cancel_futures=True)
    elapsed = time.monotonic() - started
    posts = [s.post_seconds for s in results if not s.error]
    run.figures.append(
        f"submissions: {len(results)} by {args.clients} concurrent clients in {elapsed:.1f} s = "
        f"{len(results) / elapsed:.1f}/s (each client waits the {args.fill_seconds:g} s minimal fill time)"
    )
    if posts:
        run.figures.append(
            f"POST + confirmation page: median {statistics.median(posts) * 1000:.0f} ms, "
            f"p95 {percentile(posts, 0.95) * 1000:.0f} ms, max {max(posts) * 1000:.0f} ms"
        )
    run.findings += verify.check_submissions(results, args.submissions)
    return results


def check_rate_limit(run: Run) -> None:
    """Client 0 used its whole share: one more valid submission must be refused with a 429.

    The limit is "<share>/d": django-ratelimit counts in fixed windows, so the check could only be
    fooled if a window boundary fell within the seconds of the submissions (about 1 run in 3,000).
    """
    client = FormClient(base_url=run.base_url, address="198.51.100.1")
    page = client.load_form()
    time.sleep(max(0.0, run.args.fill_seconds - (time.monotonic() - page.shown_at)))
    status, _url, _body = client.post_form(page, answers_for(999, page, "client-extra@prod-smoke.example"))
    if status != 429:
        run.findings.append(
            f"submission {run.per_client + 1} from one client address answered HTTP {status}, not 429: the "
            "rate limit is not shared by the web processes (CACHE_URL) or not keyed on X-Real-IP"
        )


def drain(run: Run, submissions: list[Submission]) -> None:
    """Wait (bounded) until the outbox is empty, every e-mail arrived and every record is acknowledged."""
    assert run.sink is not None
    sink, expected = run.sink, 2 * run.args.submissions  # an acknowledgement and a staff notice each
    last_submission = max((s.finished_at for s in submissions), default=time.monotonic())

    def drained() -> bool:
        return (sink.count() >= expected and database.unsent_count() == 0
                and database.unacknowledged_count() == 0)

    done = wait_until(drained, timeout=run.args.drain_timeout, interval=0.25, also=lambda: ensure_alive(run))
    drained_at = time.monotonic()
    if not done:
        run.findings.append(f"outbox not drained within {run.args.drain_timeout:.0f} s: {sink.count()} of "
                            f"{expected} e-mails received, {database.unsent_count()} unsent, "
                            f"{database.unacknowledged_count()} record(s) not acknowledged")
    # Beat must have published the re-queue at least once; its run (and any late duplicate) must
    # find nothing more to send.
    assert run.processes is not None
    beat = next(c for c in run.processes.children if c.name == "beat")
    if not wait_until(lambda: bool(logs.beat_publications(beat.log_text())),
                      timeout=OUTBOX_REQUEUE_SECONDS + 5, also=lambda: ensure_alive(run)):
        run.findings.append(f"beat published nothing in {OUTBOX_REQUEUE_SECONDS + 5} s")
    time.sleep(2.0)  # a late duplicate would arrive now
    if done:
        last_email = max(m.received_at for m in sink.messages())
        run.figures.append(f"outbox drained: last e-mail delivered {last_email - last_submission:+.1f} s after the "
                           f"last confirmation page (drain seen {drained_at - last_submission:.1f} s after it)")
        by_reference = {s.reference: s for s in submissions if s.reference}
        delays = [m.received_at - by_reference[m.reference].posted_at
                  for m in sink.messages() if m.reference in by_reference
                  and m.recipients == (by_reference[m.reference].email,)]
        if delays:
            run.figures.append(
                f"acknowledgement delivered after the form was sent: median {statistics.median(delays):.1f} s, "
                f"p95 {percentile(delays, 0.95):.1f} s, max {max(delays):.1f} s"
            )


# --- Checks --------------------------------------------------------------------------------------------
def check_everything(run: Run, submissions: list[Submission]) -> None:
    assert run.sink is not None and run.processes is not None
    expected = run.args.submissions
    snap = database.snapshot()
    messages = run.sink.messages()
    run.findings += verify.check_records(snap, submissions, expected)
    run.findings += verify.check_outbox(snap, 2 * expected)
    run.findings += verify.check_delivery(messages, submissions, STAFF_EMAIL)
    acks = sum(1 for m in messages if m.recipients != (STAFF_EMAIL,))
    distinct = len({r.reference for r in snap.records})
    run.figures.append(f"records: {len(snap.records)}, distinct references: {distinct}; "
                       f"SMTP server received {len(messages)} e-mails ({acks} acknowledgements, "
                       f"{len(messages) - acks} staff notices); outbox: {dict(snap.email_status)}")

    children = {c.name: c for c in run.processes.children}
    access_log = children["web"].log_text()
    served = logs.requests_by_web_process(access_log, method="POST", path="/contact/")
    inside = logs.durations_ms(access_log, method="POST", path="/contact/")
    run.figures.append(f"POST /contact/ per web process: {sorted(served.values(), reverse=True)}; time inside "
                       f"gunicorn: median {statistics.median(inside or [0]):.0f} ms, "
                       f"p95 {percentile([float(ms) for ms in inside], 0.95):.0f} ms")
    if len(served) < min(2, run.args.web_workers):
        run.findings.append(f"only {len(served)} web process(es) answered the submissions")
    if errors := logs.server_errors(access_log):
        run.findings.append(f"{len(errors)} server error(s), e.g. {errors[0]}")
    sends = {name: logs.tasks_done(children[name].log_text())["reclamations.tasks.send_outbox"]
             for name in ("worker1", "worker2")}
    run.figures.append("send_outbox runs per worker: " + ", ".join(f"{k} {v}" for k, v in sends.items()))
    if idle := [name for name, n in sends.items() if n == 0]:
        run.findings.append(f"{', '.join(idle)} sent nothing: the work was not shared")
    published = logs.beat_publications(children["beat"].log_text())
    run.figures.append("beat published: " + (", ".join(f"{k.rsplit('.', 1)[1]} ×{v}" for k, v in published.items())
                                             or "nothing"))
    for child in run.processes.children:
        if found := logs.tracebacks(child.log_text()):
            run.findings.append(f"{len(found)} traceback(s) in the {child.name} log, the first:\n{found[0]}")

    result = run.manage("verify_journal")
    if result.returncode != 0:
        run.findings.append(f"journal chain broken after the load: {result.stderr.strip() or result.stdout.strip()}")
    else:
        run.figures.append("journal chain intact (verify_journal)")


# --- Main ----------------------------------------------------------------------------------------------
def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _raise_timeout(signum: int, _frame: FrameType | None) -> None:
    raise OverallTimeout


def stop(run: Run) -> None:
    # A second Ctrl-C or SIGTERM must not cut the clean-up short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if run.processes is not None:
        killed = run.processes.stop_all()
        say(f"stopped {len(run.processes.children)} processes"
            + (f" (SIGKILL needed for {', '.join(killed)})" if killed else ""))
    if run.sink is not None:
        run.sink.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run = Run(args=args)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGALRM, _raise_timeout)
    signal.alarm(args.timeout)
    started = time.monotonic()
    status = 1
    try:
        say(f"PostgreSQL database {DATABASE_NAME}, Redis DBs {BROKER_DB} (broker) and {CACHE_DB} (cache), "
            f"{VAR_DIR.relative_to(ROOT)}/")
        prepare(run)
        say(f"starting gunicorn ({args.web_workers} workers) on {run.base_url}, two Celery workers, one beat")
        start_processes(run)
        say(f"submitting {args.submissions} complaints from {args.clients} clients")
        submissions = submit_all(run)
        say("waiting for the outbox to drain")
        drain(run, submissions)
        check_rate_limit(run)  # after the drain, so that its figure is the workers' alone
        ensure_alive(run)
        check_everything(run, submissions)
        status = 1 if run.findings else 0
    except (SmokeFailure, StoreError) as exc:
        run.findings.append(str(exc))
    except OverallTimeout:
        run.findings.append(f"the run exceeded its {args.timeout} s bound")
    except KeyboardInterrupt:
        say("interrupted")
        status = 130
    except Exception:  # a bug of the smoke itself, or an answer it cannot read: still clean up
        run.findings.append(f"unexpected error:\n{traceback.format_exc()}")
    finally:
        signal.alarm(0)
        stop(run)
    for figure in run.figures:
        say(f"  {figure}")
    if run.findings:
        say("FAILED:")
        for finding in run.findings:
            say(f"  - {finding}")
        if run.processes is not None:
            say(f"logs in {VAR_DIR.relative_to(ROOT)}/logs/")
    elif status == 0:
        say(f"OK in {time.monotonic() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
