# Gestion des réclamations (Qualiopi, indicateur 31) — developer commands.
#   make run    start web + Celery worker + Celery beat on http://127.0.0.1:8000/
#   make test   system packages check, ruff, migration check, then the whole pytest suite (browser tests included)
#   make prod-smoke  production topology on PostgreSQL + Redis (gunicorn, 2 workers, beat), 200 submissions

# The newest supported Python that actually runs: a pyenv shim for a version that is not installed
# is on PATH but fails, so "found" means it ran. Override with PYTHON=/path/to/python3.x.
SUPPORTED_PYTHONS := python3.13 python3.12 python3.11
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach cmd,$(SUPPORTED_PYTHONS),$(shell $(cmd) -c 'import sys' >/dev/null 2>&1 && echo $(cmd))) python3.11)
endif
# One venv per interpreter if needed, e.g. VENV=.venv-3.12 PYTHON=python3.12 (.venv-* is git-ignored).
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_PASSWORD ?= demo-reclamations-2026
PYTEST_ARGS ?=
SMOKE_ARGS ?=

export DEMO_PASSWORD

.PHONY: venv run test lint clean prod-smoke system-deps

# The virtualenv, (re)installed only when a requirements file changed (stamp file).
venv: $(VENV)/.installed-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# Database, static files and demo accounts, then the three processes (Ctrl-C or SIGTERM stops them
# all). `exec` makes the supervisor make's own child, not a shell's: GNU make passes a SIGTERM it
# receives on to its running recipe, so `kill <make's pid>` reaches run_dev.py.
run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput
	$(BIN)/python manage.py seed_demo --password $(DEMO_PASSWORD)
	exec $(BIN)/python scripts/run_dev.py

# Chromium, DejaVu fonts and pdftoppm for the browser and PDF tests: installed when root or
# passwordless sudo allows, otherwise one line with the command to run (scripts/system_deps.sh).
system-deps:
	bash scripts/system_deps.sh

# System packages first (so a missing one stops the run before anything else), lint, no missing
# migration, then pytest (pass options with PYTEST_ARGS="-k sla -x").
test: system-deps venv
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Production topology on the local PostgreSQL and Redis: gunicorn with 3 workers, two Celery workers
# and one beat, 200 Contact-form submissions from 20 concurrent clients, every record and e-mail
# checked once; stops everything it started (scripts/prod_smoke.py; options with SMOKE_ARGS).
prod-smoke: venv
	$(BIN)/python scripts/prod_smoke.py $(SMOKE_ARGS)

lint: venv
	$(BIN)/ruff check .

# Local data (var/: SQLite database, broker folders, e-mails, uploads) and tool caches; keeps .venv and .venv-*.
clean:
	rm -rf var .pytest_cache .ruff_cache .hypothesis
	find . \( -path ./.venv -o -path './.venv-*' -o -path ./$(VENV) \) -prune -o -type d -name __pycache__ -exec rm -rf {} +
