# Verifier: `make run` serves the demo, `make test` runs the suite. Both set up .venv first.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# The first of these that is Python >= 3.11; override with `make PYTHON=/path/to/python3.12 ...`.
PYTHON ?= $(shell for candidate in python3 python3.13 python3.12 python3.11; do \
	"$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 \
	&& { command -v "$$candidate"; break; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
# Reinstalls whenever pyproject.toml is newer than the last install.
INSTALLED := $(VENV)/.installed

# `make run` process settings; the Procfile reads them from the environment.
WEB_BIND ?= 127.0.0.1:8000
WEB_WORKERS ?= 2
WEB_THREADS ?= 4
WORKER_POOL ?= threads
WORKER_CONCURRENCY ?= 4
WORKER_PROCESSES ?= 2
LOG_LEVEL ?= INFO
export WEB_BIND WEB_WORKERS WEB_THREADS WORKER_POOL WORKER_CONCURRENCY WORKER_PROCESSES LOG_LEVEL

PYTEST_ARGS ?=

.PHONY: help install run migrate static seed test lint ci clean

help:
	@echo "make run    set up .venv, migrate, collect static files, seed the demo, run web + worker + beat"
	@echo "make test   set up .venv and run the test suite (PYTEST_ARGS='-k ...' to narrow it)"
	@echo "make lint   ruff, mypy and lint-imports (the layers in pyproject.toml)"
	@echo "make ci     what CI runs: .ci/run (SQLite + filesystem broker, then PostgreSQL + Redis)"
	@echo "make clean  remove .venv (the local database and files under var/ stay)"

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "Verifier needs Python 3.11 or newer, and none of python3, python3.13, python3.12," >&2; \
		echo "python3.11 on PATH is. Install one, or run: make PYTHON=/path/to/python3.11 $(MAKECMDGOALS)" >&2; \
		exit 1; \
	fi
	@command -v "$(PYTHON)" >/dev/null || { \
		echo "$(PYTHON) is not a command. Run: make PYTHON=/path/to/python3.11 $(MAKECMDGOALS)" >&2; \
		exit 1; }
	@"$(PYTHON)" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "Verifier needs Python 3.11 or newer; $(PYTHON) is $$("$(PYTHON)" -V 2>&1 | head -n 1)." >&2; \
		echo "Run: make PYTHON=/path/to/python3.11 $(MAKECMDGOALS)" >&2; \
		exit 1; }
	"$(PYTHON)" -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "$(VENV) was made with $$($(BIN)/python -V 2>&1); Verifier needs 3.11 or newer." >&2; \
		echo "Remove it (make clean) and run make again." >&2; \
		exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(INSTALLED)

migrate: install
	$(MANAGE) migrate --noinput

# Whitenoise serves the collected files; gunicorn finds nothing to serve before this ran.
static: install
	$(MANAGE) collectstatic --noinput --verbosity 0

seed: migrate
	$(MANAGE) seed_demo

# supervisord runs the Procfile's web, worker and beat (config/supervisor.py): a process that dies
# is restarted and the restart logged, the others keep serving; Ctrl-C stops all three.
run: migrate static seed
	$(BIN)/python -m config.supervisor

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache

ci:
	.ci/run

clean:
	rm -rf $(VENV)
