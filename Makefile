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

.PHONY: run test setup venv services services-down lint typecheck pytest measure bench browser-deps promtool-deps i18n-deps clean lock roles drill drill-deps

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
	@# The message catalogues to .mo files (Babel; build output, not committed).
	$(LOCAL_SETTINGS) $(PY) manage.py compile_catalogues
	$(LOCAL_SETTINGS) DATABASE_ROLE=owner $(PY) manage.py setup_database
	@# The demo is loaded when it is missing; its credentials are made once per machine
	@# and kept in .local/demo-credentials.json (0600).
	$(LOCAL_SETTINGS) DATABASE_ROLE=owner $(PY) manage.py load_demo --if-missing
	@# The demo business in the public directory (http://localhost:$(PORT)/find/).
	$(LOCAL_SETTINGS) DATABASE_ROLE=owner $(PY) manage.py load_directory_demo --if-missing
	@# Reviews of past visits to its listed people (fixtures/reviews_demo.json).
	$(LOCAL_SETTINGS) DATABASE_ROLE=owner $(PY) manage.py load_reviews_demo --if-missing
	@# A recurring client: a fortnightly series (fixtures/series_demo.json).
	$(LOCAL_SETTINGS) DATABASE_ROLE=owner $(PY) manage.py load_series_demo --if-missing
	@# A full morning with people on its waitlist (fixtures/waitlist_demo.json).
	$(LOCAL_SETTINGS) DATABASE_ROLE=owner $(PY) manage.py load_waitlist_demo --if-missing
	@# A German-speaking customer's booking: its emails speak German (fixtures/language_demo.json).
	$(LOCAL_SETTINGS) DATABASE_ROLE=owner $(PY) manage.py load_language_demo --if-missing

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

# promtool checks the alert rules (tests/test_metrics.py skips that check without it).
# RUNLEVEL=1: install the package without starting a Prometheus server.
promtool-deps:
	@command -v promtool >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	  else echo "promtool is missing; the alert rules' check is skipped (sudo apt-get install -y prometheus)"; fi; }

# xgettext extracts the strings marked for translation (tests/core/test_catalogues.py
# compares them with the catalogues; skipped without it).
i18n-deps:
	@command -v xgettext >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gettext >/dev/null; \
	  else echo "xgettext is missing; the catalogues' check is skipped (sudo apt-get install -y gettext)"; fi; }

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: venv
	$(VENV)/bin/mypy .

pytest: venv services browser-deps promtool-deps i18n-deps
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

# The scale-out drill (OPERATIONS.md "Scale-out"): 2 gunicorn behind HAProxy, PgBouncer
# (session pooling), 2 Celery workers and beat, loaded for a minute while one web instance
# and one worker are killed (minutes, not part of `make test`). DRILL_ARGS=--rate 30 --duration 60.
DRILL_ARGS ?=
# RUNLEVEL=1: install the packages without starting their system services.
drill-deps:
	@command -v haproxy >/dev/null && command -v pgbouncer >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy pgbouncer >/dev/null; \
	  else echo "Install Debian's haproxy and pgbouncer (sudo apt-get install -y haproxy pgbouncer)"; exit 1; fi; }

drill: setup drill-deps
	$(PY) -m tests.drill $(DRILL_ARGS)

# The Docker image's roles without Docker: migrate, then web (gunicorn), worker and beat
# through docker/entrypoint.sh, production settings, local services (docker/run-roles.sh).
roles: venv services
	@bash docker/run-roles.sh

lock: venv
	$(VENV)/bin/pip-compile -q --strip-extras --no-header --allow-unsafe --no-emit-index-url --no-emit-find-links requirements/base.in -o requirements/base.txt
	$(VENV)/bin/pip-compile -q --strip-extras --no-header --allow-unsafe --no-emit-index-url --no-emit-find-links requirements/dev.in -o requirements/dev.txt

clean: services-down
	rm -rf $(VENV) .local .mypy_cache .ruff_cache .pytest_cache test-artifacts
