"""A throw-away Dovecot IMAP server on a free loopback port, for the inbound e-mail tests and the
benchmark: its own config file, mail directory and passwd-file, plaintext login, no TLS.

Debian's ``dovecot-imapd`` is required (`.ci/run` installs it); a missing one is a failure of the
tests that need it, never a skip.
"""
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from datetime import datetime
from pathlib import Path

from imap_tools import MailBoxUnencrypted

DOVECOT = Path(os.environ.get("DOVECOT_PATH", "/usr/sbin/dovecot"))
PASSWORD = "boite-de-test"
USERS = 200  # one empty mailbox per test, made before start-up
MISSING = f"{DOVECOT} is missing: install Debian's Dovecot with `apt-get install dovecot-imapd` (.ci/run does)."


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Dovecot:
    """``start()``, ``stop()``, ``add_user(name)``; ``url(user)`` is an INBOUND_IMAP_URL for it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.users: set[str] = set()
        self.handed_out: set[str] = set()
        # Dovecot refuses to give mail to root: as root, mail belongs to its own "dovecot" account.
        account = pwd.getpwnam("dovecot") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
        self.uid, self.gid = account.pw_uid, account.pw_gid
        self.internal_user = "dovecot" if os.geteuid() == 0 else account.pw_name
        self.login_user = "dovenull" if os.geteuid() == 0 else account.pw_name

    # --- Set-up ------------------------------------------------------------------------------------
    def _write_config(self) -> None:
        # Dovecot's own processes (auth, mail) run as its accounts: they must reach these files.
        self.root.chmod(0o755)
        for folder in ("run", "state", "mail"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        os.chown(self.root / "mail", self.uid, self.gid)
        (self.root / "passwd").touch()
        for number in range(USERS):
            self.add_user(f"boite{number:03d}")
        (self.root / "dovecot.conf").write_text(f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {self.internal_user}
default_login_user = {self.login_user}
first_valid_uid = {self.uid}
mail_location = maildir:{self.root}/mail/%u
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={self.root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
""")

    def start(self) -> None:
        if not DOVECOT.exists():
            raise FileNotFoundError(MISSING)
        self._write_config()
        self.process = subprocess.Popen([str(DOVECOT), "-F", "-c", str(self.root / "dovecot.conf")],  # noqa: S603
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        start_new_session=True)  # its own group: stop() ends its children too
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot stopped at start-up: {self.process.stderr.read().decode()[-2000:]}"
                                   f"{self.log()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"dovecot does not answer on 127.0.0.1:{self.port}: {self.log()[-2000:]}")

    def stop(self) -> None:
        """Stop the server and every session it serves (the clients see their connection drop)."""
        if self.process is not None:
            group = self.process.pid  # the group this Popen started, and only that one
            if self.process.poll() is None:
                os.killpg(group, signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(group, signal.SIGKILL)
                    self.process.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)  # imap processes left behind by the master
        self.process = None

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def add_user(self, name: str) -> str:
        """A user of its own (an empty mailbox). Written before start-up: Dovecot caches the
        passwd-file and may not see a line added within the same second."""
        if name not in self.users:
            with (self.root / "passwd").open("a") as passwd:
                passwd.write(f"{name}:{{PLAIN}}{PASSWORD}::::::\n")
            self.users.add(name)
        return name

    def new_user(self) -> str:
        """The next unused user of those made at start-up."""
        unused = sorted(self.users - self.handed_out)
        if not unused:
            raise RuntimeError("no Dovecot test user left: raise USERS in tests/dovecot.py")
        self.handed_out.add(unused[0])
        return unused[0]

    def remove_mail(self) -> None:
        shutil.rmtree(self.root / "mail", ignore_errors=True)

    # --- Use ----------------------------------------------------------------------------------------
    def url(self, user: str, folder: str = "INBOX") -> str:
        return f"imap://{user}:{PASSWORD}@127.0.0.1:{self.port}/{folder}"

    def mailbox(self, user: str, folder: str = "INBOX") -> MailBoxUnencrypted:
        return MailBoxUnencrypted("127.0.0.1", self.port, timeout=10).login(user, PASSWORD, initial_folder=folder)

    def append(self, user: str, *messages: bytes, folder: str = "INBOX", dt: datetime | None = None) -> None:
        """Deliver messages; ``dt`` is their arrival time on the server (INTERNALDATE)."""
        with self.mailbox(user, folder) as box:
            for raw in messages:
                box.append(raw, folder, dt=dt)

    def count(self, user: str, folder: str = "INBOX") -> int:
        with self.mailbox(user) as box:
            if not box.folder.exists(folder):
                return 0
            box.folder.set(folder)
            return len(box.uids("ALL"))
