"""gunicorn settings for every way the site is served: ``gunicorn config.wsgi -c config/gunicorn.py``.

Used by ``make run`` (scripts/run_dev.py), deploy/systemd/reclamations-web.service and
deploy/Procfile; command-line options (bind, workers, another ``--access-logfile``) still apply.

The access log stays on, but the links that open a client's file without an account — the
follow-up page ``/suivi/<token>/``, the survey ``/enquete/<token>/``, the digest acknowledgement
``/backoffice/qualite/bilans/lu/<token>/`` — are written with ``[jeton]`` in place of the token:
whoever can read the log must not be able to open those pages. The same rule as the application's
logs (reclamations/log_filters.py), applied to every text atom: request line, path, query string
(``?next=`` of the sign-in page), Referer (a page's own links send it) and Location (redirects).

The ``Server: gunicorn`` response header: gunicorn 27 has no setting to drop or change it (it is
written by ``Response.default_headers``). Behind deploy/nginx/reclamations.conf it never reaches a
client: nginx sends its own ``Server`` header, not the upstream's.
"""
from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from reclamations.log_filters import redact


class TokenMaskingLogger(Logger):
    """gunicorn's logger, with the client tokens of every access-log atom masked."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        return {key: redact(value) if isinstance(value, str) else value
                for key, value in super().atoms(resp, req, environ, request_time).items()}


accesslog = "-"  # stdout: the terminal for make run, the journal under systemd
# The class itself, not a dotted path: this file is loaded by path, not imported as config.gunicorn.
logger_class = TokenMaskingLogger
