"""Publishing a Celery task by its name, for the modules below ``reclamations.tasks``.

``tasks`` calls the services; a service or the outbox that wants a worker to start must not import
``tasks`` back. Tasks are registered at start-up (``ReclamationsConfig.ready`` imports ``tasks``),
so the lookup by name finds the same task object, ``task_always_eager`` included.
"""
from __future__ import annotations

from celery import current_app

SEND_OUTBOX = "reclamations.tasks.send_outbox"
BUILD_EXPORT = "reclamations.tasks.build_export"


class UnknownTask(LookupError):
    """A name no task is registered under: a programming error, never a broker outage."""


def publish(name: str, *args: object) -> None:
    """Send one task message now. Raises what the broker client raises when it is unreachable."""
    try:
        task = current_app.tasks[name]
    except KeyError:
        raise UnknownTask(f"no Celery task registered as {name!r}; is reclamations.tasks imported?") from None
    task.delay(*args)
