"""Throw-away databases for the benchmarks, and realistic records built fast.

The records come from ``seed_demo``: about thirty records written through the real services (every
step, events, messages, actions, files), used as *templates*. A clone copies a template's columns,
actions, exchanges, files and events, every date moved back by the same amount, with its own
reference and secret; the events are re-chained with real links, keyed with the installation's
``JOURNAL_KEY`` as ``record_event`` keys them, so that the journal verifies (links, facts,
checkpoints): the ids they name (exchange, file, action) point to the clone's own rows, the dates
they log as facts are moved like the clone's, and each database has its own checkpoint file. Clones
are inserted by batches with ``bulk_create``: 10,000 records with their ~200,000 events take
about a minute.

Only databases meant to be thrown away are touched: PostgreSQL databases whose name starts with
``reclamations_bench``, SQLite files under ``var/bench/``. Everything the application writes
besides the database (static files, broker folders, generated secret key) goes to
``var/bench/var/``.

Used by ``bench/run.py`` and ``bench/pack.py``, always in a child process (Django is set up once
per process, on one database).
"""
from __future__ import annotations

import hashlib
import os
import random
import secrets
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "var" / "bench"
VAR_DIR = DATA_DIR / "var"
PG_PREFIX = "reclamations_bench"
REDIS_URL = "redis://127.0.0.1:6379/11"  # the benchmark's own Redis database (cache and broker)
# The Contact form's rate limit (5 per 10 minutes per address) would stop the benchmark's clients,
# which all come from 127.0.0.1: lifted through its own variable, everything else stays as shipped.
CONTACT_RATE_LIMIT = "1000000/m"
# The floor: a bare view answering "ok" (bench/urls.py), served only under bench/settings.py.
FLOOR_PATH = "/bench/plancher/"


# --- Database URLs --------------------------------------------------------------------------------
def default_url() -> str:
    return f"sqlite:///{DATA_DIR / 'run.sqlite3'}"


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "pgsql://"))


def derived_url(url: str, suffix: str) -> str:
    """Another throw-away database next to ``url``: ``<name>_<suffix>`` or ``<file>-<suffix>.sqlite3``."""
    if is_postgres(url):
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path=f"{parts.path}_{suffix}"))
    path = sqlite_path(url)
    return f"sqlite:///{path.with_name(f'{path.stem}-{suffix}{path.suffix}')}"


def sqlite_path(url: str) -> Path:
    return Path(url.split(":///", 1)[1])  # django-environ: sqlite:////abs/path or sqlite:///rel/path


def describe(url: str) -> str:
    """The database without credentials, for reports."""
    if is_postgres(url):
        return f"PostgreSQL {urlsplit(url).path.lstrip('/')}"
    return f"SQLite {sqlite_path(url).relative_to(ROOT) if sqlite_path(url).is_relative_to(ROOT) else sqlite_path(url)}"


def checkpoint_file(url: str) -> Path:
    """The journal's checkpoint file of this database alone (``JOURNAL_CHECKPOINT_FILE``).

    One file shared by every throw-away database would hold the heads of all of them (each pack
    appends its own): verifying one database against another's heads finds its chain "truncated" or
    "rewritten", and the pack measured would report a broken journal.
    """
    if is_postgres(url):
        return VAR_DIR / f"{urlsplit(url).path.lstrip('/')}.checkpoints.jsonl"
    path = sqlite_path(url)
    return path.with_name(f"{path.stem}.checkpoints.jsonl")


def check_throwaway(url: str) -> None:
    """Refuse any database the benchmark may not drop."""
    if is_postgres(url):
        name = urlsplit(url).path.lstrip("/")
        if not name.startswith(PG_PREFIX):
            raise SystemExit(f"PostgreSQL database {name!r}: the benchmark only uses names starting with {PG_PREFIX}")
    elif url.startswith("sqlite:"):
        if not sqlite_path(url).resolve().is_relative_to(DATA_DIR.resolve()):
            raise SystemExit(f"SQLite file {sqlite_path(url)}: the benchmark only uses files under {DATA_DIR}")
    else:
        raise SystemExit(f"unsupported database URL: {url}")


def _pg_admin(url: str) -> Any:
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1", port=parts.port or 5432, user=parts.username or "postgres",
        password=parts.password or None, dbname="postgres", autocommit=True,
    )


def drop_database(url: str) -> None:
    check_throwaway(url)
    checkpoint_file(url).unlink(missing_ok=True)  # the heads of the database dropped
    if is_postgres(url):
        name = urlsplit(url).path.lstrip("/")
        with _pg_admin(url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = sqlite_path(url)
        for extra in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{extra}").unlink(missing_ok=True)


def create_database(url: str) -> None:
    """An empty database (dropped first if it exists)."""
    drop_database(url)
    if is_postgres(url):
        name = urlsplit(url).path.lstrip("/")
        with _pg_admin(url) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    else:
        sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)


def environment(url: str) -> dict[str, str]:
    """The variables of every process of a run: the application as shipped, on this database."""
    env = {
        "DATABASE_URL": url,
        "VAR_DIR": str(VAR_DIR),
        "JOURNAL_CHECKPOINT_FILE": str(checkpoint_file(url)),
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "LOG_LEVEL": "WARNING",
        "CONTACT_RATE_LIMIT": CONTACT_RATE_LIMIT,
        "DEBUG": "false",
    }
    if is_postgres(url):
        # The production set-up: PostgreSQL with Redis for the cache (rate limits) and the broker.
        env.update({"CACHE_URL": REDIS_URL, "CELERY_BROKER_URL": REDIS_URL})
    else:
        # The embedded set-up: per-process cache, Celery's filesystem broker.
        env.update({"CACHE_URL": "locmemcache://", "CELERY_BROKER_URL": "filesystem://"})
    return env


def setup_django(url: str) -> None:
    os.environ.update(environment(url))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- Building ---------------------------------------------------------------------------------------
def install(password: str) -> None:
    """Migrations, then the demo installation: configuration, two staff accounts, the templates."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as devnull:
        call_command("seed_demo", password=password, stdout=devnull)


def _copy(obj: Any, delta: timedelta, skip: set[str]) -> dict[str, Any]:
    """A row's column values with every date moved by ``delta`` (dates by whole days)."""
    values = {}
    for f in type(obj)._meta.concrete_fields:
        if f.name in skip or f.attname in skip:
            continue
        value = getattr(obj, f.attname)
        if value is not None:
            kind = f.get_internal_type()
            if kind == "DateTimeField":
                value = value + delta
            elif kind == "DateField":
                value = value + timedelta(days=delta.days)
        values[f.attname] = value
    return values


def _remap(data: Any, ids: dict[str, dict[int, int]], delta: timedelta = timedelta(0)) -> Any:
    """An event's data with the ids of the template's rows replaced by the clone's, and the dates it
    logged as facts (reclamations.facts) moved like the clone's own, so that the clone verifies."""
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for key, mapping in ids.items():
        value = out.get(key)
        if isinstance(value, int) and value in mapping:
            out[key] = mapping[value]
    if isinstance(out.get("facts"), dict):
        from django.utils.dateparse import parse_datetime

        from reclamations.facts import fact_value

        facts = {}
        for name, value in out["facts"].items():
            moment = parse_datetime(value) if isinstance(value, str) and name.endswith("_at") else None
            facts[name] = fact_value(moment + delta) if moment is not None else value
        out["facts"] = facts
    return out


def clone_records(count: int, *, plan: Callable[[int], tuple[Any, date]], batch_size: int = 500) -> int:
    """Insert ``count`` clones; ``plan(i)`` gives the template of clone ``i`` and its reception day
    (local date, on or before the template's own). Returns the number of events written."""
    from django.db import transaction
    from django.utils import timezone

    from reclamations import journal_chain
    from reclamations.models import (
        Action,
        Attachment,
        Communication,
        Event,
        JournalChainHead,
        Reclamation,
        ReferenceCounter,
    )
    from reclamations.services.search import search_documents_rebuild

    templates = {
        t.pk: t for t in Reclamation.objects.prefetch_related("actions", "communications", "attachments")
    }
    events_of: dict[int, list[Event]] = {pk: [] for pk in templates}
    for event in Event.objects.filter(reclamation__in=list(templates)).order_by("sequence"):
        events_of[event.reclamation_id].append(event)
    # The links are keyed (HMAC, reclamations.journal_chain) with the key the templates' events were
    # linked with: plain SHA-256 links, or another key, and verification takes every clone's event
    # for a rewrite made without the key. (record_event would log a change of key; a clone must not.)
    chain_key, key_fingerprint = journal_chain.current_key()
    if JournalChainHead.objects.filter(pk=1).values_list("key_fingerprint", flat=True).first() != key_fingerprint:
        raise RuntimeError("the journal is chained with another key than this process's JOURNAL_KEY")
    record_skip = {"id", "reference", "created_at", "updated_at", "token_hash", "survey_token_hash"}
    counters: dict[int, int] = {c.year: c.last_number for c in ReferenceCounter.objects.all()}
    written = 0
    for start in range(0, count, batch_size):
        rows: list[tuple[Any, timedelta, Any]] = []
        for index in range(start, min(count, start + batch_size)):
            template, day = plan(index)
            local = timezone.localtime(template.received_at)
            delta = local.replace(year=day.year, month=day.month, day=day.day) - local
            values = _copy(template, delta, record_skip)
            year = timezone.localtime(values["received_at"]).year
            counters[year] = counters.get(year, 0) + 1
            clone = Reclamation(**values, reference=f"R-{year}-{counters[year]:04d}",
                                token_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest())
            rows.append((template, delta, clone))
        with transaction.atomic():
            Reclamation.objects.bulk_create([clone for _t, _d, clone in rows])
            assert all(clone.pk for _t, _d, clone in rows), "bulk_create must return the new ids"
            ids: list[dict[str, dict[int, int]]] = [{"action": {}, "communication": {}, "attachment": {}} for _ in rows]
            children = ((Action, "actions", "action"), (Communication, "communications", "communication"))
            for model, related, key in children:
                pairs = []
                for n, (template, delta, clone) in enumerate(rows):
                    for old in getattr(template, related).all():
                        new = model(**_copy(old, delta, {"id", "created_at", "reclamation"}), reclamation=clone)
                        pairs.append((n, old.pk, new))
                model.objects.bulk_create([new for _n, _old, new in pairs])
                for n, old, new in pairs:
                    ids[n][key][old] = new.pk
            files = []
            for n, (template, delta, clone) in enumerate(rows):
                for old in template.attachments.all():
                    values = _copy(old, delta, {"id", "created_at", "reclamation", "communication"})
                    new = Attachment(**values, reclamation=clone,
                                     communication_id=ids[n]["communication"].get(old.communication_id))
                    files.append((n, old.pk, new))
            Attachment.objects.bulk_create([new for _n, _old, new in files])
            for n, old, new in files:
                ids[n]["attachment"][old] = new.pk
            head = JournalChainHead.objects.select_for_update().get(pk=1)
            sequence, prev_hash = head.last_sequence, head.last_hash
            events = []
            for n, (template, delta, clone) in enumerate(rows):
                for e in events_of[template.pk]:
                    sequence += 1
                    event = Event(sequence=sequence, created_at=e.created_at + delta, reclamation_id=clone.pk,
                                  actor_id=e.actor_id, actor_label=e.actor_label, kind=e.kind, summary=e.summary,
                                  data=_remap(e.data, ids[n], delta), public=e.public, prev_hash=prev_hash)
                    event.content_hash = event.compute_content_hash()
                    event.hash = event.compute_hash(chain_key)
                    prev_hash = event.hash
                    events.append(event)
            Event.objects.bulk_create(events, batch_size=2000)
            # What the services write with each record: the list's search reads nothing else.
            search_documents_rebuild(clone.pk for _t, _d, clone in rows)
            written += len(events)
            JournalChainHead.objects.filter(pk=1).update(last_sequence=sequence, last_hash=prev_hash)
    for year, number in counters.items():
        ReferenceCounter.objects.update_or_create(year=year, defaults={"last_number": number})
    return written


def realistic_plan(*, seed: int, open_share: float = 0.15, years: int = 3) -> Callable[[int], tuple[Any, date]]:
    """Most records finished (closed or discarded) over the last ``years``, ``open_share`` of them
    still open at every step, received in the two months before their template."""
    from django.utils import timezone

    from reclamations.models import Reclamation

    rng = random.Random(seed)
    templates = list(Reclamation.objects.order_by("pk"))
    finished = [t for t in templates if not t.is_open]
    still_open = [t for t in templates if t.is_open]

    def plan(index: int) -> tuple[Any, date]:
        if rng.random() < open_share:
            template, back = rng.choice(still_open), rng.randint(0, 60)
        else:
            template, back = rng.choice(finished), rng.randint(0, 365 * years)
        return template, timezone.localtime(template.received_at).date() - timedelta(days=back)

    return plan


def grow_history(reclamation: Any, *, events: int, actor: Any) -> int:
    """Bring a record's history to ``events`` events through the real services: calls, e-mails and
    internal notes logged, as a handler does over a long case. Returns the number of events."""
    from django.utils import timezone

    from reclamations import services
    from reclamations.models import Communication, CommunicationKind, Event

    kinds = [
        (CommunicationKind.CALL, Communication.Direction.OUTBOUND, "Appel au réclamant : point sur l'avancement, "
         "le planning de la prochaine session et les pièces encore attendues."),
        (CommunicationKind.EMAIL, Communication.Direction.INBOUND, "Courriel du réclamant : il transmet l'attestation "
         "de l'employeur et demande la date de la prochaine session."),
        (CommunicationKind.NOTE, Communication.Direction.INTERNAL, "Note interne : vu avec le formateur, la salle "
         "sera changée ; relancer le service facturation pour l'avoir."),
    ]
    have = Event.objects.filter(reclamation=reclamation).count()
    start = timezone.now() - timedelta(days=20)
    for n in range(max(0, events - have)):
        kind, direction, body = kinds[n % len(kinds)]
        services.reclamation_log_communication(
            reclamation=reclamation, actor=actor, kind=kind, direction=direction, body=f"{body} ({n + 1})",
            occurred_at=start + timedelta(hours=4 * n), duration_minutes=8 if kind == CommunicationKind.CALL else None,
        )
    return Event.objects.filter(reclamation=reclamation).count()


def settle_claims(now: datetime) -> dict[str, int]:
    """Mark every SLA alert and action reminder already due as sent, as the sweeps before ``now``
    would have (set-based UPDATEs, no e-mail): what a steady-state sweep finds afterwards."""
    from reclamations.models import Action, Reclamation
    from reclamations.services import alerts

    claimed = {}
    for spec in alerts.SLA_ALERTS.values():
        queryset = getattr(Reclamation.objects, spec.selector)(now).filter(**{f"{spec.claim_field}__isnull": True})
        claimed[spec.code] = queryset.update(**{spec.claim_field: now})
    for reminder in ("overdue", "due"):
        pks = alerts.actions_to_remind(reminder, now)
        claimed[f"action_{reminder}"] = Action.objects.filter(pk__in=pks).update(**{f"{reminder}_reminder_at": now})
    return claimed


def bulk_open_records(count: int, *, now: datetime, seed: int = 1) -> dict[str, int]:
    """``count`` open records at every step, inserted with ``bulk_create`` (no history): the load of
    the SLA sweep. A third are not yet at risk, the others were alerted by earlier sweeps; steps 5 and
    6 have two actions each, some overdue (reminded), some due later."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from reclamations import workflow
    from reclamations.models import (
        Action,
        ActionKind,
        ActionStatus,
        Organisation,
        Reclamation,
        ReferenceCounter,
        Service,
    )
    from reclamations.services.search import search_documents_rebuild
    from reclamations.sla import Clock

    rng = random.Random(seed)
    organisation = Organisation.current()
    clock = Clock.from_config(organisation)  # read once: 100,000 records, one configuration
    share = organisation.at_risk_percent / 100
    handlers = list(get_user_model().objects.filter(is_staff=True).order_by("pk"))
    services_ = list(Service.objects.order_by("pk"))
    year = now.year
    counter, _ = ReferenceCounter.objects.get_or_create(year=year)
    first = counter.last_number
    made = {"records": 0, "actions": 0}
    for start in range(0, count, 2000):
        records = []
        for n in range(start, min(count, start + 2000)):
            state = workflow.OPEN_STEPS[n % len(workflow.OPEN_STEPS)]
            fresh = n % 3 == 0
            received = now - (timedelta(minutes=rng.randint(5, 60)) if fresh else timedelta(days=rng.randint(3, 60)))
            ack_hours, answer_hours = organisation.ack_delay_hours, organisation.answer_delay_hours
            alerted = None if fresh else received + timedelta(days=2)
            acknowledged = None if state == workflow.Step.RECEIVED else min(received + timedelta(hours=4), now)
            answered = min(received + timedelta(days=2), now) if workflow.step_number(state) > 6 else None
            records.append(Reclamation(
                reference=f"R-{year}-{first + n + 1:06d}", token_hash=hashlib.sha256(f"sweep-{n}".encode()).hexdigest(),
                kind="complaint", channel="web_form", state=state, subject=f"Demande {n}", description="…",
                complainant_name=f"Client {n}", complainant_email=f"client{n}@example.org",
                service=rng.choice(services_) if services_ else None, handler=rng.choice(handlers),
                received_at=received, ack_due_at=clock.add_hours(received, ack_hours),
                answer_due_at=clock.add_hours(received, answer_hours),
                ack_risk_at=clock.add_hours(received, ack_hours * share),
                answer_risk_at=clock.add_hours(received, answer_hours * share),
                acknowledged_at=acknowledged, answered_at=answered,
                ack_risk_alert_at=alerted if acknowledged is None else None,
                ack_late_alert_at=alerted if acknowledged is None else None,
                answer_risk_alert_at=alerted if answered is None else None,
                answer_late_alert_at=alerted if answered is None else None,
            ))
        with transaction.atomic():
            Reclamation.objects.bulk_create(records)
            actions = []
            for r in records:
                if r.state in (workflow.Step.SCHEDULING, workflow.Step.ACTION):
                    for k in range(2):
                        overdue = k == 0 and rng.random() < 0.5
                        due = (now - timedelta(days=rng.randint(1, 20))).date() if overdue else (
                            now + timedelta(days=rng.randint(2, 40))).date()
                        actions.append(Action(
                            reclamation=r, description="Action corrective", kind=ActionKind.CORRECTIVE,
                            owner=r.handler, due_date=due, status=ActionStatus.PLANNED,
                            overdue_reminder_at=now - timedelta(hours=1) if overdue else None,
                        ))
            Action.objects.bulk_create(actions)
            search_documents_rebuild(r.pk for r in records)
        made["records"] += len(records)
        made["actions"] += len(actions)
    ReferenceCounter.objects.filter(year=year).update(last_number=first + count)
    return made


def make_crossing(count: int, *, now: datetime) -> list[int]:
    """Move ``count`` open records so that their answer delay has just become at risk (as time
    passing would): the next sweep has exactly that many new alerts to send."""
    from reclamations.models import Reclamation

    pks = list(Reclamation.objects.open().filter(answered_at__isnull=True).order_by("-pk")
               .values_list("pk", flat=True)[:count])
    Reclamation.objects.filter(pk__in=pks).update(
        answer_risk_at=now - timedelta(minutes=1), answer_due_at=now + timedelta(hours=6),
        answer_risk_alert_at=None, answer_late_alert_at=None,
    )
    return pks
