"""Development supervisor: the web server, a Celery worker and Celery beat, in one terminal.

Started by ``make run`` (after migrate, collectstatic and seed_demo). Each child's output is
prefixed with ``[web]``, ``[worker]`` or ``[beat]``. Ctrl-C or SIGTERM stops the three; if one of
them exits on its own, the others are stopped too and this script exits with status 1.

The signal handler only records the signal: it may run in the middle of a ``say()`` (even one
blocked on a paused terminal), so taking a lock or writing there could hang for ever. The main loop
waits on ``signal.set_wakeup_fd``'s pipe, so it sees the signal at once and does the stopping.

Standard library only. Environment: ``PORT`` (default 8000), ``DEMO_PASSWORD`` (shown in the banner).
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv make chose (VENV=…), not always .venv
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL

_print_lock = threading.Lock()


def say(line: str) -> None:
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def commands(port: str, var_dir: Path) -> dict[str, list[str]]:
    gunicorn, celery = str(BIN / "gunicorn"), str(BIN / "celery")
    return {
        # One worker process: the embedded cache (rate limits) is per process.
        "web": [
            gunicorn, "config.wsgi", "-c", "config/gunicorn.py", "--bind", f"127.0.0.1:{port}",
            "--workers", "1", "--threads", "4",
        ],
        "worker": [celery, "-A", "config", "worker", "--loglevel", "INFO", "-P", "threads", "-c", "2"],
        "beat": [
            celery, "-A", "config", "beat", "--loglevel", "INFO",
            "--schedule", str(var_dir / "celerybeat-schedule"),
        ],
    }


def _die_with_parent() -> None:
    """In the child, before exec: its own process group, and SIGTERM if this supervisor dies."""
    os.setsid()
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _pump(name: str, stream: IO[bytes]) -> None:
    for raw in iter(stream.readline, b""):
        say(f"[{name}] {raw.decode('utf-8', errors='replace').rstrip()}")
    stream.close()


def banner(port: str) -> None:
    base = f"http://127.0.0.1:{port}"
    password = os.environ.get("DEMO_PASSWORD", "demo-reclamations-2026")
    say("=" * 72)
    say(f"  Formulaire de réclamation : {base}/contact/")
    say(f"  Back-office               : {base}/backoffice/")
    say(f"  Administration            : {base}/admin/")
    say(f"  Santé                     : {base}/healthz")
    say(f"  Comptes de démonstration  : gestionnaire / qualite — mot de passe {password}")
    say("  Ctrl-C pour tout arrêter.")
    say("=" * 72)


def stop_all(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM to every child's process group, wait up to STOP_TIMEOUT, then SIGKILL what is left."""
    for proc in children.values():
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for name, proc in children.items():
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"[run_dev] {name} still running after {STOP_TIMEOUT:.0f} s: SIGKILL")
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)  # the child leads its own group (setsid)


def main() -> int:
    port = os.environ.get("PORT", "8000")
    var_dir = Path(os.environ.get("VAR_DIR", str(ROOT / "var")))
    var_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"

    received: list[int] = []  # appended by the handler: no lock, no I/O there
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    # Python writes each signal's number to this pipe: select() below returns at once.
    signal.set_wakeup_fd(wake_write, warn_on_full_buffer=False)

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    banner(port)
    children: dict[str, subprocess.Popen[bytes]] = {}
    # Start all children before any reader thread: preexec_fn is only safe without other threads.
    # A signal during the banner (output paused, say) means: start nothing.
    for name, argv in (commands(port, var_dir) if not received else {}).items():
        children[name] = subprocess.Popen(  # noqa: S603 - fixed argv, our own venv binaries
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    readers = [
        threading.Thread(target=_pump, args=(name, proc.stdout), daemon=True)
        for name, proc in children.items()
    ]
    for reader in readers:
        reader.start()

    failed: str | None = None
    while not received:
        for name, proc in children.items():
            if proc.poll() is not None:
                failed = f"{name} exited unexpectedly (status {proc.returncode})"
                break
        if failed:
            break
        select.select([wake_read], [], [], 0.5)
        with contextlib.suppress(BlockingIOError):
            os.read(wake_read, 512)

    if failed:
        say(f"[run_dev] {failed}; stopping the others...")
    else:
        say(f"[run_dev] {signal.Signals(received[0]).name} received, stopping...")
    stop_all(children)
    for reader in readers:
        reader.join(timeout=2)
    say("[run_dev] all processes stopped.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
