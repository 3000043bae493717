#!/usr/bin/env bash
# The Debian packages the browser, PDF and inbound e-mail tests need: Chromium (Playwright drives the
# system one), DejaVu fonts (the PDFs' font), poppler-utils (pdftoppm) and Dovecot's IMAP server
# (tests/dovecot.py starts its own on loopback). Called by `make system-deps` (so by `make test`)
# and by .ci/run.
#
# Nothing missing: exits 0 quietly. Something missing: installs the packages as root, or through
# `sudo -n` when that works without a password; otherwise prints ONE line, the command to run, and
# exits 1 before anything else runs.
#
# Overridable (tests, other layouts): CHROMIUM_PATH, PDFTOPPM (command name or path), DEJAVU_FONT,
# DOVECOT_PATH, APT_GET (the apt-get to run). Root is `id -u`, sudo is whatever `sudo` is on PATH.
set -euo pipefail

PACKAGES="chromium fonts-dejavu-core poppler-utils dovecot-imapd"
CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
PDFTOPPM=${PDFTOPPM:-pdftoppm}
DEJAVU_FONT=${DEJAVU_FONT:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}
DOVECOT_PATH=${DOVECOT_PATH:-/usr/sbin/dovecot}
APT_GET=${APT_GET:-apt-get}

missing() {
    local what=()
    [[ -x $CHROMIUM_PATH ]] || what+=("$CHROMIUM_PATH")
    command -v "$PDFTOPPM" >/dev/null 2>&1 || what+=("$PDFTOPPM")
    [[ -f $DEJAVU_FONT ]] || what+=("$DEJAVU_FONT")
    [[ -x $DOVECOT_PATH ]] || what+=("$DOVECOT_PATH")
    [[ ${#what[@]} -gt 0 ]] && echo "${what[*]}"
}

absent=$(missing) || exit 0

# Word splitting of $PACKAGES is wanted: one argument per package.
# shellcheck disable=SC2086
if [[ $(id -u) -eq 0 ]]; then
    echo "system-deps: missing $absent; installing $PACKAGES" >&2
    DEBIAN_FRONTEND=noninteractive "$APT_GET" update
    DEBIAN_FRONTEND=noninteractive "$APT_GET" install -y --no-install-recommends $PACKAGES
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    echo "system-deps: missing $absent; installing $PACKAGES with sudo" >&2
    sudo -n env DEBIAN_FRONTEND=noninteractive "$APT_GET" update
    sudo -n env DEBIAN_FRONTEND=noninteractive "$APT_GET" install -y --no-install-recommends $PACKAGES
else
    # The one line a newcomer needs; the reason (what is missing) would only make it two.
    echo "sudo apt-get install -y --no-install-recommends $PACKAGES" >&2
    exit 1
fi

if absent=$(missing); then
    echo "system-deps: still missing after the install: $absent" >&2
    exit 1
fi
