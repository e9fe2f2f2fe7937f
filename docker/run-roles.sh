#!/usr/bin/env bash
# The Docker image's process set without Docker (`make roles`): migrate first, then web,
# worker and beat, each through docker/entrypoint.sh as compose starts them, under honcho,
# with the production settings against the local PostgreSQL and Redis (.local/). Ctrl-C
# (SIGTERM) stops all three.
#
#   docker/run-roles.sh                         # migrate, then web + worker + beat
#   docker/run-roles.sh health web|worker|beat  # compose's healthcheck, same environment
#
# In places of its own: database `timenest_roles` (created when missing), Redis database
# 9 with cache prefix `roles`, Celery queue `timenest-roles`. Every value below can be
# given instead; PORT (8001) is web's port, WORKER_METRICS_PORT (9808) and
# BEAT_METRICS_PORT (9809) the worker's and beat's metrics.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
local_dir="${TIMENEST_LOCAL_DIR:-$root/.local}"
export PATH="$root/.venv/bin:$PATH"

: "${PORT:=8001}"
: "${DJANGO_SETTINGS_MODULE:=config.settings.prod}"
: "${DJANGO_SECRET_KEY:=roles-only-secret-key-not-for-production-0123456789}"
: "${DJANGO_ALLOWED_HOSTS:=localhost,.localhost,127.0.0.1}"
# Plain HTTP on loopback: no TLS redirect, no Secure-only cookies, no HSTS.
: "${DJANGO_SECURE_SSL_REDIRECT:=false}"
: "${DJANGO_SECURE_COOKIES:=false}"
: "${DJANGO_HSTS_SECONDS:=0}"
# Clients connect to gunicorn directly.
: "${API_NUM_PROXIES:=0}"
: "${BIND_ADDRESS:=127.0.0.1}"
: "${POSTGRES_HOST:=$local_dir/run}"
: "${POSTGRES_PORT:=${TIMENEST_PG_PORT:-5432}}"
: "${POSTGRES_DB:=timenest_roles}"
# The roles of ARCHITECTURE.md "Database roles", as `make run` has them.
: "${POSTGRES_USER:=timenest_app}"
: "${POSTGRES_OWNER_USER:=timenest_owner}"
: "${REDIS_URL:=redis://127.0.0.1:${TIMENEST_REDIS_PORT:-6390}/9}"
: "${CACHE_KEY_PREFIX:=roles}"
: "${CELERY_QUEUE:=timenest-roles}"
: "${EMAIL_BACKEND:=django.core.mail.backends.console.EmailBackend}"
: "${PII_ENCRYPTION_KEYS:=RoAQB2Ycd6LAf6M6-6HZX1O2Uh4HQFVXs5uHzPVKqfY=}"
: "${PII_LOOKUP_KEY:=roles-only-pii-lookup-key-not-for-production-0123456789}"
: "${PROMETHEUS_MULTIPROC_DIR:=$local_dir/roles/metrics}"
# The worker's and beat's own metrics endpoints (on BIND_ADDRESS, loopback here): two
# ports, as both run on this machine (in compose each container has its own 9808).
: "${WORKER_METRICS_PORT:=9808}"
: "${BEAT_METRICS_PORT:=9809}"
export PORT DJANGO_SETTINGS_MODULE DJANGO_SECRET_KEY DJANGO_ALLOWED_HOSTS \
  DJANGO_SECURE_SSL_REDIRECT DJANGO_SECURE_COOKIES DJANGO_HSTS_SECONDS API_NUM_PROXIES \
  BIND_ADDRESS POSTGRES_HOST POSTGRES_PORT POSTGRES_DB POSTGRES_USER POSTGRES_OWNER_USER \
  REDIS_URL CACHE_KEY_PREFIX CELERY_QUEUE EMAIL_BACKEND PII_ENCRYPTION_KEYS PII_LOOKUP_KEY \
  WORKER_METRICS_PORT BEAT_METRICS_PORT
# Given to the entrypoint only, which hands it to gunicorn and the worker (a process
# importing the metrics with it set needs the directory to exist).
metrics_dir="$PROMETHEUS_MULTIPROC_DIR"
unset PROMETHEUS_MULTIPROC_DIR

# With arguments: one command of the entrypoint in this environment, as `docker compose
# run` would (`health worker`, `celery -A config inspect stats`, `web`).
if [ $# -gt 0 ]; then
  PROMETHEUS_MULTIPROC_DIR="$metrics_dir" exec docker/entrypoint.sh "$@"
fi
# What the image build does: static files with their manifest (prod's storage needs it).
python manage.py collectstatic --noinput --verbosity 0
# What compose's `migrate` does, as the owner, with the cluster's superuser as admin
# (the database itself is made here: compose's postgres image makes its own).
python - <<'PY'
import os
import psycopg
from psycopg import sql

name = os.environ["POSTGRES_DB"]
admin = os.environ.get("POSTGRES_ADMIN_USER", "timenest")
with psycopg.connect(host=os.environ["POSTGRES_HOST"], port=os.environ["POSTGRES_PORT"],
                     user=admin, dbname="postgres", autocommit=True) as conn:
    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
PY
DATABASE_ROLE=owner POSTGRES_ADMIN_USER="${POSTGRES_ADMIN_USER:-timenest}" \
  docker/entrypoint.sh migrate
DATABASE_ROLE=serving PROMETHEUS_MULTIPROC_DIR="$metrics_dir" exec honcho -f docker/Procfile.roles -d "$root" start
