"""The processes of the topology under test, each in its own process group with its output in a log
file, and the one way to stop them: SIGTERM to the group, then SIGKILL after a grace period.

Each child also gets SIGTERM from the kernel if the smoke process dies without cleaning up
(``PR_SET_PDEATHSIG``), so even a SIGKILLed smoke run leaves nothing behind. Children are started
before any thread exists in this process (``preexec_fn`` is only safe then).
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

STOP_GRACE_SECONDS = 20.0  # a Celery worker finishes its running task (a sending run) first


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 25) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def _own_group_and_die_with_parent() -> None:
    os.setsid()
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Processes:
    """Starts children with one environment and working directory; ``stop_all`` undoes it all."""

    def __init__(self, *, cwd: Path, env: dict[str, str], log_dir: Path) -> None:
        self.cwd, self.env, self.log_dir = cwd, env, log_dir
        self.children: list[Child] = []

    def start(self, name: str, argv: list[str]) -> Child:
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - fixed argv, our own venv binaries
                argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_own_group_and_die_with_parent,  # safe: no thread exists yet (module docstring)
            )
        child = Child(name=name, process=process, log=log)
        self.children.append(child)
        return child

    def dead(self) -> list[Child]:
        return [child for child in self.children if not child.alive()]

    def stop_all(self, grace: float = STOP_GRACE_SECONDS) -> list[str]:
        """Stop every child's whole group; returns the names that needed SIGKILL."""
        for child in self.children:
            if child.alive():
                _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + grace
        killed: list[str] = []
        for child in self.children:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                killed.append(child.name)
                _signal_group(child, signal.SIGKILL)
                child.process.wait()
            # Whatever the leader left in its group (a pool process, a gunicorn worker) goes too.
            _signal_group(child, signal.SIGKILL)
        return killed


def _signal_group(child: Child, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.process.pid, sig)  # the child leads its own group (setsid)
