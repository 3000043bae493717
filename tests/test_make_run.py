"""`make run` on the embedded set-up: the site answers, a worker and beat are up, Ctrl-C or SIGTERM stops all.

Runs the real command in a throw-away ``VAR_DIR`` (its own SQLite database, broker folders, e-mail
files), with none of the production variables, as a newcomer would after cloning.
"""
from __future__ import annotations

import contextlib
import fcntl
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
SIGTERM_LIMIT = 15.0  # all three children gone within this after a SIGTERM


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


class _MakeRun:
    """`make run` in its own session and VAR_DIR, with its output collected line by line."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.var_dir = tmp_path / "var"
        env = {key: value for key, value in os.environ.items()
               if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "REQUIRE_POSTGRES",
                              "DJANGO_SETTINGS_MODULE"}}
        env.update(VAR_DIR=str(self.var_dir), PORT=str(self.port), DEMO_PASSWORD="demo-test-run-2026")
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv
            # The venv running these tests, so a suite under VENV=.venv-3.12 starts 3.12's processes.
            [shutil.which("make") or "make", "--no-print-directory", "run", f"VENV={sys.prefix}"], cwd=ROOT, env=env,
            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        self.lines.extend(raw.decode("utf-8", "replace").rstrip() for raw in iter(self.proc.stdout.readline, b""))

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_LIMIT
        admin = health = None
        worker_ready = beat_started = False
        while time.monotonic() < deadline and self.proc.poll() is None:
            admin = _status(f"{self.base}/admin/login/")
            health = _status(f"{self.base}/healthz")
            worker_ready = any(line.startswith("[worker]") and "ready" in line for line in self.lines)
            beat_started = any(line.startswith("[beat]") and "beat: Starting" in line for line in self.lines)
            if admin == 200 and health == 200 and worker_ready and beat_started:
                break
            time.sleep(1)
        output = "\n".join(self.lines[-40:])
        assert admin == 200, f"the admin did not answer within {STARTUP_LIMIT:.0f} s:\n{output}"
        assert health == 200, output
        assert worker_ready, f"no '[worker] … ready' line:\n{output}"
        assert beat_started, f"no '[beat] … Starting' line:\n{output}"

    def processes_left(self) -> list[int]:
        # The children lead their own process groups, so look for anything still carrying this VAR_DIR.
        return _processes_with(f"VAR_DIR={self.var_dir}")

    def kill_what_is_left(self) -> None:
        for pid in [self.proc.pid, *self.processes_left()]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.proc.wait()
        self.reader.join(timeout=5)


def test_make_run_serves_the_admin_with_a_worker_and_beat_and_ctrl_c_stops_everything(tmp_path):
    run = _MakeRun(tmp_path)
    try:
        run.wait_until_up()
        assert any("gestionnaire / qualite" in line and "demo-test-run-2026" in line for line in run.lines)
        assert any(f"{run.base}/contact/" in line for line in run.lines)
    finally:
        if run.proc.poll() is None:
            os.killpg(run.proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
        try:
            run.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            run.kill_what_is_left()
    run.reader.join(timeout=5)

    assert _status(f"{run.base}/healthz") is None, "the web server still answers after Ctrl-C"
    assert run.processes_left() == [], "processes left behind after Ctrl-C"


def test_sigterm_to_make_run_stops_web_worker_and_beat_within_15_seconds(tmp_path):
    # `kill <pid>` of what the user started (a service manager, a script, another terminal): only
    # make gets the signal, not its process group as with Ctrl-C.
    run = _MakeRun(tmp_path)
    try:
        run.wait_until_up()
        os.kill(run.proc.pid, signal.SIGTERM)
        sent = time.monotonic()
        while run.processes_left() and time.monotonic() - sent < SIGTERM_LIMIT:
            time.sleep(0.2)
        left, took = run.processes_left(), time.monotonic() - sent
    finally:
        run.kill_what_is_left()

    assert left == [], f"still running {SIGTERM_LIMIT:.0f} s after SIGTERM:\n" + "\n".join(run.lines[-30:])
    assert _status(f"{run.base}/healthz") is None
    assert any("SIGTERM received" in line for line in run.lines)
    assert took < SIGTERM_LIMIT


def test_sigterm_while_the_output_is_paused_still_stops_the_supervisor(tmp_path):
    # A terminal paused with Ctrl-S, or a pager not reading: the supervisor blocks writing its
    # banner. A signal then must not hang it for good once the output flows again.
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    os.set_blocking(write_end, False)
    with contextlib.suppress(BlockingIOError):
        while True:
            os.write(write_end, b"." * 512)
    os.set_blocking(write_end, True)  # the supervisor's stdout blocks, as a paused terminal does
    var_dir = tmp_path / "var"
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(VAR_DIR=str(var_dir), PORT=str(_free_port()))
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, str(ROOT / "scripts" / "run_dev.py")], cwd=ROOT, env=env, start_new_session=True,
        stdout=write_end, stderr=write_end,
    )
    os.close(write_end)
    chunks: list[bytes] = []
    try:
        deadline = time.monotonic() + 30
        while not _catches(proc.pid, signal.SIGTERM) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1)  # its banner's first line is now stuck in the full pipe
        os.kill(proc.pid, signal.SIGTERM)
        time.sleep(0.5)
        drain = threading.Thread(target=lambda: chunks.extend(iter(lambda: os.read(read_end, 65536), b"")),
                                 daemon=True)
        drain.start()  # the output flows again
        proc.wait(timeout=SIGTERM_LIMIT)
        drain.join(timeout=5)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in _processes_with(f"VAR_DIR={var_dir}"):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        os.close(read_end)

    assert b"SIGTERM received" in b"".join(chunks)
    assert _processes_with(f"VAR_DIR={var_dir}") == []


def _catches(pid: int, sig: signal.Signals) -> bool:
    """Whether the process has installed a handler for ``sig`` (SigCgt in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (sig - 1)))
    return False


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
