"""scripts/system_deps.sh and `make test`: the Debian packages of the browser, PDF and IMAP tests, on a
bare machine.

The script runs for real with stand-ins on PATH: ``id`` says whether we are root, ``sudo`` whether a
password-less sudo works, and ``APT_GET`` points at a fake apt-get that records its arguments (and,
for ``install``, creates the "missing" Chromium, as the real package would).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "system_deps.sh"
PACKAGES = ["chromium", "fonts-dejavu-core", "poppler-utils", "dovecot-imapd"]
ONE_LINE = ("sudo apt-get install -y --no-install-recommends chromium fonts-dejavu-core poppler-utils "
            "dovecot-imapd")


def _executable(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def _machine(tmp_path: Path, *, root: bool, sudo_works: bool, chromium_present: bool = False) -> dict[str, str]:
    """An environment where only Chromium may be missing; every call to apt-get/sudo goes to calls.log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    chromium = tmp_path / "usr-bin" / "chromium"
    chromium.parent.mkdir()
    if chromium_present:
        _executable(chromium, "exit 0\n")
    _executable(bin_dir / "id", f"echo {0 if root else 1000}\n")
    _executable(bin_dir / "sudo", f'echo "sudo $*" >> {calls}\n' + (
        '[ "$1" = -n ] && shift\nexec "$@"\n' if sudo_works else "echo 'sudo: a password is required' >&2\nexit 1\n"))
    apt = _executable(tmp_path / "fake-apt-get", f'echo "apt-get $*" >> {calls}\n'
                      f'if [ "$1" = install ]; then printf "#!/bin/sh\\n" > {chromium}; chmod +x {chromium}; fi\n')
    pdftoppm = _executable(bin_dir / "pdftoppm", "exit 0\n")
    font = tmp_path / "DejaVuSans.ttf"
    font.write_bytes(b"font")
    dovecot = _executable(tmp_path / "dovecot", "exit 0\n")
    return {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "CHROMIUM_PATH": str(chromium), "PDFTOPPM": str(pdftoppm), "DEJAVU_FONT": str(font), "APT_GET": str(apt),
        "DOVECOT_PATH": str(dovecot),
    }


def _calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def _run_script(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)  # noqa: S603, S607


def test_as_root_a_missing_chromium_is_installed_with_the_packages(tmp_path):
    env = _machine(tmp_path, root=True, sudo_works=False)
    result = _run_script(env)
    assert result.returncode == 0, result.stderr
    assert _calls(tmp_path) == ["apt-get update", "apt-get install -y --no-install-recommends " + " ".join(PACKAGES)]
    assert os.access(env["CHROMIUM_PATH"], os.X_OK)


def test_with_password_less_sudo_the_install_goes_through_sudo(tmp_path):
    _run_script(env := _machine(tmp_path, root=False, sudo_works=True))
    apt_calls = [line for line in _calls(tmp_path) if line.startswith("apt-get")]
    assert apt_calls == ["apt-get update", "apt-get install -y --no-install-recommends " + " ".join(PACKAGES)]
    assert any(line.startswith("sudo -n env DEBIAN_FRONTEND=noninteractive") and "install" in line
               for line in _calls(tmp_path))
    assert os.access(env["CHROMIUM_PATH"], os.X_OK)


def test_without_rights_it_stops_with_one_line_giving_the_command_and_installs_nothing(tmp_path):
    result = _run_script(_machine(tmp_path, root=False, sudo_works=False))
    assert result.returncode != 0
    assert (result.stdout + result.stderr).splitlines() == [ONE_LINE]
    assert [line for line in _calls(tmp_path) if not line.startswith("sudo -n true")] == []


def test_nothing_missing_means_nothing_run_and_nothing_said(tmp_path):
    result = _run_script(_machine(tmp_path, root=True, sudo_works=True, chromium_present=True))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert _calls(tmp_path) == []


def _make_test(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """`make test` with a stand-in venv whose python and ruff only record that they were run."""
    fake_bin = tmp_path / "venv" / "bin"
    fake_bin.mkdir(parents=True)
    ran = tmp_path / "ran.log"
    for tool in ("python", "ruff"):
        _executable(fake_bin / tool, f'echo "{tool} $*" >> {ran}\n')
    (tmp_path / "venv" / ".installed-dev").touch()  # newer than requirements*.txt: no pip install
    make = shutil.which("make") or "make"
    result = subprocess.run(  # noqa: S603 - fixed argv
        [make, "--no-print-directory", "-C", str(ROOT), "test", f"VENV={tmp_path / 'venv'}", "PYTHON=/bin/false"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    return result, ran.read_text().splitlines() if ran.exists() else []


def test_make_test_without_rights_stops_before_lint_and_pytest_with_the_command(tmp_path):
    result, ran = _make_test(tmp_path, _machine(tmp_path, root=False, sudo_works=False))
    assert result.returncode != 0
    assert ran == [], "make test ran something although the system packages are missing"
    assert ONE_LINE in result.stderr.splitlines()


def test_make_test_with_everything_present_goes_on_to_lint_and_pytest(tmp_path):
    # The counterpart of the test above: the stand-in venv does record what make runs.
    result, ran = _make_test(tmp_path, _machine(tmp_path, root=False, sudo_works=False, chromium_present=True))
    assert result.returncode == 0, result.stderr
    assert ran[0] == "ruff check ."
    assert any(line.startswith("python -m pytest") for line in ran)
