"""gunicorn settings for every way the site is served: ``gunicorn config.wsgi -c config/gunicorn.py``.

Used by ``make run`` (scripts/run_dev.py), deploy/systemd/reclamations-web.service and
deploy/Procfile; command-line options (bind, workers, another ``--access-logfile``) still apply.

The access log stays on, but the links that open a client's file without an account — the
follow-up page ``/suivi/<token>/``, the survey ``/enquete/<token>/``, the digest acknowledgement
``/backoffice/qualite/bilans/lu/<token>/`` — are written with ``[jeton]`` in place of the token:
whoever can read the log must not be able to open those pages. The same rule as the application's
logs (reclamations/log_filters.py), applied to every text atom: request line, path, query string
(``?next=`` of the sign-in page), Referer (a page's own links send it) and Location (redirects).

No ``Server: gunicorn`` response header: it tells an attacker which server and version to try, and
gunicorn 27 has no setting for it, so the header line is left out of ``Response.default_headers``
(behind deploy/nginx/reclamations.conf, nginx sends its own, without version: ``server_tokens off``).
"""
from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger
from gunicorn.http import wsgi

from reclamations.log_filters import redact

_default_headers = wsgi.Response.default_headers


def _default_headers_without_server(self: wsgi.Response) -> list[str]:
    return [line for line in _default_headers(self) if not line.lower().startswith("server:")]


wsgi.Response.default_headers = _default_headers_without_server


class TokenMaskingLogger(Logger):
    """gunicorn's logger, with the client tokens of every access-log atom masked."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        return {key: redact(value) if isinstance(value, str) else value
                for key, value in super().atoms(resp, req, environ, request_time).items()}


accesslog = "-"  # stdout: the terminal for make run, the journal under systemd
# The class itself, not a dotted path: this file is loaded by path, not imported as config.gunicorn.
logger_class = TokenMaskingLogger
