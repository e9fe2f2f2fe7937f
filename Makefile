# TimeNest: `make run` sets everything up and serves; `make test` sets up and tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT
# `make run` serves this machine only; BIND_ADDRESS=0.0.0.0 opens it to the network.
BIND_ADDRESS ?= 127.0.0.1
export BIND_ADDRESS
# Named for every local command: manage.py, Celery and honcho never guess it (config/celery.py).
LOCAL_SETTINGS := DJANGO_SETTINGS_MODULE=config.settings.dev
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: run test setup venv services services-down lint typecheck pytest measure bench browser-deps clean lock

$(VENV)/.installed: requirements/dev.txt requirements/base.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 ($(PYTHON)) is required."; exit 1; }
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	@touch $@

venv: $(VENV)/.installed

services:
	@bash config/local/services.sh up

services-down:
	@bash config/local/services.sh down

# As the owner role; setup_database first creates the roles as the cluster's superuser.
setup: venv services
	$(LOCAL_SETTINGS) DATABASE_ROLE=owner $(PY) manage.py setup_database
	@# The demo is loaded when it is missing; its credentials are made once per machine
	@# and kept in .local/demo-credentials.json (0600).
	$(LOCAL_SETTINGS) DATABASE_ROLE=owner $(PY) manage.py load_demo --if-missing

run: setup
	@mkdir -p .local/mail
	@echo ""
	@echo "  TimeNest is starting (web + Celery worker + beat). Ctrl-C stops all of them."
	@echo "    Root domain:  http://localhost:$(PORT)/"
	@echo "    Demo tenant:  http://demo.localhost:$(PORT)/   (dashboard: /dashboard/)"
	@echo "    Listening on $(BIND_ADDRESS):$(PORT) (BIND_ADDRESS=0.0.0.0 opens it to the network)"
	@echo "    Emails are written to .local/mail/"
	@echo ""
	@$(LOCAL_SETTINGS) $(PY) manage.py load_demo --credentials
	@echo ""
	@# honcho gives each process its own PORT: the web's port travels as WEB_PORT (the
	@# Stripe stand-in's webhooks) and TENANT_URL_PORT (links the worker writes in emails).
	@# They connect as the serving role, which reads and writes rows and nothing more
	@# (ARCHITECTURE.md "Database roles"); the set-up above ran as the owner.
	$(LOCAL_SETTINGS) DATABASE_ROLE=serving WEB_PORT=$(PORT) TENANT_URL_PORT=$(PORT) $(VENV)/bin/honcho -f config/local/Procfile -d . start

browser-deps:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Install Debian's chromium (sudo apt-get install -y chromium)"; exit 1; fi; }

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: venv
	$(VENV)/bin/mypy .

pytest: venv services browser-deps
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: setup browser-deps lint typecheck pytest

# Figures for notes (throughput, lags): minutes long, so not part of `make test`.
measure: setup
	TIMENEST_MEASURE=1 $(VENV)/bin/pytest -m measurement -s $(PYTEST_ARGS)

# PRODUCT.md §7 targets against gunicorn (minutes; seeds databases timenest_bench* once,
# reused afterwards). BENCH_ARGS=--quick for a short try, --reseed to seed again.
bench: setup
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else echo "Install Debian's wrk (sudo apt-get install -y wrk)"; exit 1; fi; }
	$(PY) -m tests.bench $(BENCH_ARGS)

lock: venv
	$(VENV)/bin/pip-compile -q --strip-extras --no-header --allow-unsafe --no-emit-index-url --no-emit-find-links requirements/base.in -o requirements/base.txt
	$(VENV)/bin/pip-compile -q --strip-extras --no-header --allow-unsafe --no-emit-index-url --no-emit-find-links requirements/dev.in -o requirements/dev.txt

clean: services-down
	rm -rf $(VENV) .local .mypy_cache .ruff_cache .pytest_cache test-artifacts
