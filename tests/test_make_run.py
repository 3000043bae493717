"""`make run` on the embedded set-up: the site answers, a worker and beat are up, Ctrl-C stops all.

Runs the real command in a throw-away ``VAR_DIR`` (its own SQLite database, broker folders, e-mail
files), with none of the production variables, as a newcomer would after cloning.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STARTUP_LIMIT = 120.0  # the promise: the admin within two minutes


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own localhost URL
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def test_make_run_serves_the_admin_with_a_worker_and_beat_and_ctrl_c_stops_everything(tmp_path):
    port = _free_port()
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "REQUIRE_POSTGRES",
                          "DJANGO_SETTINGS_MODULE"}}
    env.update(VAR_DIR=str(tmp_path / "var"), PORT=str(port), DEMO_PASSWORD="demo-test-run-2026")
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        # The venv running these tests, so a suite under VENV=.venv-3.12 starts 3.12's processes.
        [shutil.which("make") or "make", "--no-print-directory", "run", f"VENV={sys.prefix}"], cwd=ROOT, env=env,
        start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(raw.decode("utf-8", "replace").rstrip() for raw in iter(proc.stdout.readline, b"")),
        daemon=True,
    )
    reader.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_LIMIT
        admin = health = None
        worker_ready = beat_started = False
        while time.monotonic() < deadline and proc.poll() is None:
            admin = _status(f"{base}/admin/login/")
            health = _status(f"{base}/healthz")
            worker_ready = any(line.startswith("[worker]") and "ready" in line for line in lines)
            beat_started = any(line.startswith("[beat]") and "beat: Starting" in line for line in lines)
            if admin == 200 and health == 200 and worker_ready and beat_started:
                break
            time.sleep(1)
        output = "\n".join(lines[-40:])
        assert admin == 200, f"the admin did not answer within {STARTUP_LIMIT:.0f} s:\n{output}"
        assert health == 200, output
        assert worker_ready, f"no '[worker] … ready' line:\n{output}"
        assert beat_started, f"no '[beat] … Starting' line:\n{output}"
        assert any("gestionnaire / qualite" in line and "demo-test-run-2026" in line for line in lines)
        assert any(f"{base}/contact/" in line for line in lines)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    reader.join(timeout=5)

    assert _status(f"{base}/healthz") is None, "the web server still answers after Ctrl-C"
    # The children lead their own process groups, so look for anything still carrying this VAR_DIR.
    assert _processes_with(f"VAR_DIR={tmp_path / 'var'}") == [], "processes left behind after Ctrl-C"


def _processes_with(variable: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue  # gone meanwhile, or not ours to read
            if variable.encode() in environ:
                found.append(int(entry.name))
    return found
