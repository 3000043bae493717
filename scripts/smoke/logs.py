"""What the processes' logs tell: which web process served each request, how many tasks each
Celery worker ran, how often beat published, and any traceback.

The web processes log with ``ACCESS_LOG_FORMAT``; Celery's lines are its default INFO format.
"""
from __future__ import annotations

import re
from collections import Counter

# gunicorn --access-logformat: worker pid, method, path, status, duration in ms.
ACCESS_LOG_FORMAT = "access %(p)s %(m)s %(U)s %(s)s %(M)s"
_ACCESS = re.compile(r"^access <(\d+)> (\w+) (\S+) (\d{3}) (\d+)$")
_TASK_DONE = re.compile(r"Task (reclamations\.tasks\.\w+)\[[^\]]+\] succeeded")
_BEAT_SENT = re.compile(r"Scheduler: Sending due task \S+ \((reclamations\.tasks\.\w+)\)")


def requests_by_web_process(access_log: str, *, method: str, path: str) -> Counter[str]:
    """pid -> number of ``method path`` requests it answered."""
    served: Counter[str] = Counter()
    for line in access_log.splitlines():
        if (m := _ACCESS.match(line.strip())) and m.group(2) == method and m.group(3) == path:
            served[m.group(1)] += 1
    return served


def durations_ms(access_log: str, *, method: str, path: str) -> list[int]:
    """How long the web processes took for each ``method path`` request (no time queued before)."""
    return [int(m.group(5)) for line in access_log.splitlines()
            if (m := _ACCESS.match(line.strip())) and m.group(2) == method and m.group(3) == path]


def server_errors(access_log: str) -> list[str]:
    return [line for line in access_log.splitlines() if (m := _ACCESS.match(line.strip())) and m.group(4) >= "500"]


def tasks_done(worker_log: str) -> Counter[str]:
    """task name -> number of successful runs in one worker's log."""
    return Counter(m.group(1) for m in _TASK_DONE.finditer(worker_log))


def beat_publications(beat_log: str) -> Counter[str]:
    return Counter(m.group(1) for m in _BEAT_SENT.finditer(beat_log))


def tracebacks(log: str, context: int = 12) -> list[str]:
    """Each traceback's first lines (a healthy run has none)."""
    lines = log.splitlines()
    return ["\n".join(lines[i : i + context]) for i, line in enumerate(lines) if line.startswith("Traceback")]
