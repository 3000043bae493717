#!/usr/bin/env bash
# Backup of what cannot be rebuilt: the PostgreSQL database (records, journal, outbox,
# configuration) and the private uploads (attachments, logo, generated export files).
#
#   reclamations-backup.sh            run by deploy/backup/reclamations-backup.timer, nightly
#
# Reads DATABASE_URL and PRIVATE_MEDIA_ROOT from /etc/reclamations/reclamations.env (or the
# environment); writes to BACKUP_DIR (default /var/backups/reclamations), keeps KEEP_DAYS (30) days.
# Copy BACKUP_DIR off the host (rsync, restic, borg...): a backup on the same disk is no backup.
#
# The database is dumped first, then the files: an attachment added in between is in the archive
# without its row (harmless), never a row without its file.
#
# Restore (application stopped:  systemctl stop reclamations.target):
#   pg_restore --clean --if-exists --no-owner -d "$DATABASE_URL" db-<stamp>.dump
#   tar -C "$(dirname "$PRIVATE_MEDIA_ROOT")" -xzf private-<stamp>.tar.gz
#   cd /srv/reclamations && .venv/bin/python manage.py verify_journal   # the chain must be intact
set -euo pipefail

ENV_FILE=${ENV_FILE:-/etc/reclamations/reclamations.env}
# Read the two values from the file (never "source" it: it is configuration, not a script).
env_value() {
    [[ -r "$ENV_FILE" ]] || return 0
    sed -n "s/^$1=//p" "$ENV_FILE" | tail -n1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/"
}
DATABASE_URL=${DATABASE_URL:-$(env_value DATABASE_URL)}
PRIVATE_MEDIA_ROOT=${PRIVATE_MEDIA_ROOT:-$(env_value PRIVATE_MEDIA_ROOT)}
: "${DATABASE_URL:?DATABASE_URL is not set (environment or $ENV_FILE)}"
: "${PRIVATE_MEDIA_ROOT:=/var/lib/reclamations/private}"
BACKUP_DIR=${BACKUP_DIR:-/var/backups/reclamations}
KEEP_DAYS=${KEEP_DAYS:-30}

stamp=$(date -u +%Y%m%dT%H%M%SZ)
umask 077  # personal data: readable by the backup's owner only
mkdir -p "$BACKUP_DIR"
cd "$BACKUP_DIR"

# Custom format: compressed, restorable table by table; one consistent snapshot.
pg_dump --format=custom --no-owner --file "db-$stamp.dump.partial" "$DATABASE_URL"
pg_restore --list "db-$stamp.dump.partial" >/dev/null  # the dump can be read back
mv "db-$stamp.dump.partial" "db-$stamp.dump"

tar -C "$(dirname "$PRIVATE_MEDIA_ROOT")" -czf "private-$stamp.tar.gz.partial" "$(basename "$PRIVATE_MEDIA_ROOT")"
mv "private-$stamp.tar.gz.partial" "private-$stamp.tar.gz"

sha256sum "db-$stamp.dump" "private-$stamp.tar.gz" >"SHA256SUMS-$stamp"
find . -maxdepth 1 -type f \( -name 'db-*' -o -name 'private-*' -o -name 'SHA256SUMS-*' \) \
    -mtime +"$KEEP_DAYS" -delete
echo "backup $stamp: $(du -ch "db-$stamp.dump" "private-$stamp.tar.gz" | tail -n1 | cut -f1) in $BACKUP_DIR"
