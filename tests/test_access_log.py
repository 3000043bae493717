"""gunicorn's access log never holds a client's secret link (config/gunicorn.py).

The real gunicorn, with the configuration make run, systemd and the Procfile use, serves a
throw-away SQLite database; each kind of token-bearing link is requested with a fake token, then
the access log file itself is read.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "FakeToken-for-the-access-log-test_0123456789"  # 43+ URL-safe characters, like a real one
LINKS = {
    f"/suivi/{TOKEN}/": "/suivi/[jeton]/",
    f"/suivi/{TOKEN}/pieces/1/": "/suivi/[jeton]/pieces/1/",
    f"/enquete/{TOKEN}/": "/enquete/[jeton]/",
    f"/backoffice/qualite/bilans/lu/{TOKEN}/": "/backoffice/qualite/bilans/lu/[jeton]/",
    # Where the digest link sends a signed-out reader: the token travels in ?next=.
    f"/backoffice/connexion/?next=%2Fbackoffice%2Fqualite%2Fbilans%2Flu%2F{TOKEN}%2F":
        "/backoffice/connexion/?next=%2Fbackoffice%2Fqualite%2Fbilans%2Flu%2F[jeton]%2F",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, referer: str | None = None) -> int | None:
    request = urllib.request.Request(url, headers={"Referer": referer} if referer else {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - our own localhost URL
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def test_the_access_log_masks_every_client_token(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "REQUIRE_POSTGRES"}}
    env.update(VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="config.settings")
    python, bin_dir = sys.executable, Path(sys.executable).parent
    subprocess.run([python, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,  # noqa: S603
                   capture_output=True, timeout=300)
    port, access_log = _free_port(), tmp_path / "access.log"
    web = subprocess.Popen(  # noqa: S603 - fixed argv
        [str(bin_dir / "gunicorn"), "config.wsgi", "-c", "config/gunicorn.py", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--access-logfile", str(access_log)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while _get(f"{base}/healthz") != 200:
            assert web.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.3)
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:  # noqa: S310 - our own localhost URL
            server_header = response.headers.get("Server")
        statuses = [_get(base + link) for link in LINKS]
        # A page's own links send it as Referer (the follow-up page's attachments, say).
        statuses.append(_get(f"{base}/healthz", referer=f"{base}/suivi/{TOKEN}/"))
        time.sleep(0.5)  # the access log is written after each response
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)

    assert server_header is None  # no "Server: gunicorn/<version>" for an attacker to read
    assert None not in statuses  # every request got an answer, so every one was logged
    log = access_log.read_text()
    assert TOKEN not in log
    for masked in LINKS.values():
        assert f" {masked} HTTP/1.1" in log, log
    assert f'"{base}/suivi/[jeton]/"' in log  # the Referer column
