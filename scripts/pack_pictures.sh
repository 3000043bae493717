#!/usr/bin/env bash
# Pictures of the evidence pack for docs/screenshots/: the demo data's pack (last 12 months) and an
# empty period's, made on a throw-away SQLite database, then the pages that matter rendered to PNG
# (found by their title, so a longer register does not move them). Run from the project root after
# `make venv`; needs pdftoppm and pdftotext (poppler-utils, see scripts/system_deps.sh).
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export VAR_DIR="$work/var" DATABASE_URL="sqlite:///$work/db.sqlite3" DEMO_PASSWORD=pictures-only
py=${PY:-.venv/bin/python}
out=${OUT:-docs/screenshots}
$py manage.py migrate --noinput -v 0
$py manage.py seed_demo --password "$DEMO_PASSWORD" >/dev/null
end=$(date -d yesterday +%F)
start=$(date -d "$end -1 year +1 day" +%F)
$py manage.py export_evidence --start "$start" --end "$end" --output "$work/pack.pdf" --requested-by qualite
$py manage.py export_evidence --start 2020-01-01 --end 2020-01-31 --output "$work/empty.pdf" --requested-by qualite

# The first page whose text has $2 (case-insensitive), rendered to $out/$3.png.
picture() {
    local pdf=$1 title=$2 name=$3 pages page
    pages=$(pdfinfo "$pdf" | awk '/^Pages:/ {print $2}')
    for page in $(seq 1 "$pages"); do
        if pdftotext -f "$page" -l "$page" "$pdf" - | tr -s "\n" " " | grep -qi -- "$title"; then
            pdftoppm -f "$page" -l "$page" -r 60 -png -singlefile "$pdf" "$out/$name"
            echo "$out/$name.png (page $page)"
            return
        fi
    done
    echo "not found: $title" >&2
    return 1
}
rm -f "$out"/pack-*.png
picture "$work/pack.pdf" "Dossier de preuves" pack-couverture
picture "$work/pack.pdf" "médiateur" pack-procedure-mediateur
picture "$work/pack.pdf" "ajoutée le" pack-fiche
picture "$work/pack.pdf" "Ce contrôle relit les dates" pack-controles-coherence
picture "$work/pack.pdf" "Chaque modification de la configuration" pack-configuration
picture "$work/empty.pdf" "Dossier de preuves" pack-periode-vide-couverture
picture "$work/empty.pdf" "médiateur" pack-periode-vide-procedure
