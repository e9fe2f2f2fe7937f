#!/bin/sh
# web | worker | beat | migrate | health [web|worker|beat]. `migrate` runs first
# (compose starts the others once it has succeeded): as the owner role
# (DATABASE_ROLE=owner) it creates the database roles, migrates public, the tenant
# template schema and every tenant, and grants the serving role its rows. web, worker
# and beat connect as the serving role, which may not migrate (ARCHITECTURE.md
# "Database roles"); none of them migrates. `health` is what compose's healthchecks run.
# Outside Docker, docker/run-roles.sh runs the same roles under honcho.
set -e
here="$(cd "$(dirname "$0")" && pwd)"
role="${1:-web}"
# Remote-control node names, which the health checks ping: one per host (container).
worker_name="${CELERY_WORKER_NAME:-worker@$(uname -n)}"
beat_name="${CELERY_BEAT_NAME:-celerybeat@$(uname -n)}"
# Metrics' multiprocess files (config/metrics_files.py): gunicorn's workers use the
# directory, a Celery worker a subdirectory of it (made before Python starts: each
# metric opens its file when its module is imported); each group serves its own. Beat
# (one process) and one-off commands keep their metrics in memory.
metrics_dir="${PROMETHEUS_MULTIPROC_DIR:-/tmp/timenest-metrics}"
unset PROMETHEUS_MULTIPROC_DIR
# A worker's and beat's own metrics endpoint (config/celery_metrics.py), on every
# interface of the container unless BIND_ADDRESS says otherwise (docker/run-roles.sh:
# loopback); compose does not publish it, Prometheus reaches it on compose's network.
unset CELERY_METRICS_PORT CELERY_METRICS_ADDRESS
metrics_address="${BIND_ADDRESS:-0.0.0.0}"
# The image's HEALTHCHECK reads which long-running role this container is.
case "$role" in
  web|worker|beat)
    if [ -n "${TIMENEST_ROLE_FILE:-}" ]; then echo "$role" > "$TIMENEST_ROLE_FILE"; fi
    ;;
esac

case "$role" in
  web)
    export PROMETHEUS_MULTIPROC_DIR="$metrics_dir"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    exec gunicorn config.wsgi:application -c "$here/gunicorn.conf.py" \
      --logger-class config.gunicorn_logging.RedactingLogger
    ;;
  worker)
    export PROMETHEUS_MULTIPROC_DIR="$metrics_dir/celery"
    # This container's counts start from zero, as gunicorn's do (a previous run's files
    # would be added in, their pids maybe reused).
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db
    export CELERY_METRICS_PORT="${WORKER_METRICS_PORT:-9808}"
    export CELERY_METRICS_ADDRESS="$metrics_address"
    # Time limits come from the settings (CELERY_TASK_SOFT_TIME_LIMIT / _TIME_LIMIT and
    # per-task annotations). A pool process is replaced after this many tasks, giving
    # back what they leaked. Gossip and mingle only exchange worker state with other
    # workers, which nothing here reads: without them a worker starts sooner and sends
    # less to the broker.
    exec celery -A config worker --loglevel=INFO \
      --hostname "$worker_name" \
      --concurrency "${CELERY_CONCURRENCY:-4}" \
      --max-tasks-per-child "${CELERY_MAX_TASKS_PER_CHILD:-1000}" \
      --without-gossip --without-mingle
    ;;
  beat)
    # The scheduler is the setting's (config/beat_scheduler.py): any number of beats may
    # run, one sends. Remote control answers `inspect ping` only while beat ticks.
    export CELERY_METRICS_PORT="${BEAT_METRICS_PORT:-9808}"
    export CELERY_METRICS_ADDRESS="$metrics_address"
    exec celery -A config beat --loglevel=INFO \
      --hostname "$beat_name" --enable-remote-control
    ;;
  migrate)
    exec python manage.py setup_database
    ;;
  health)
    # Without an argument, the role this container was started with (the image's
    # HEALTHCHECK); compose names it.
    check="${2:-}"
    if [ -z "$check" ] && [ -n "${TIMENEST_ROLE_FILE:-}" ] && [ -r "$TIMENEST_ROLE_FILE" ]; then
      check="$(cat "$TIMENEST_ROLE_FILE")"
    fi
    case "$check" in
      web)
        # By address, with no business's host: /healthz answers before host routing.
        exec python -c "import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=4) as answer:
    sys.exit(0 if answer.status == 200 else 1)" "http://127.0.0.1:${PORT:-8000}/healthz"
        ;;
      worker|beat)
        # A reply travels through the broker: the process consumes from it. Beat
        # answers only while its scheduler ticks (celery beat --enable-remote-control).
        if [ "$check" = worker ]; then node="$worker_name"; else node="$beat_name"; fi
        exec celery -A config inspect ping --destination "$node" \
          --timeout "${HEALTH_PING_TIMEOUT:-5}"
        ;;
      "")
        exit 0  # a one-off command (migrate, manage.py): nothing runs on to check
        ;;
      *)
        echo "health: unknown role $check" >&2
        exit 2
        ;;
    esac
    ;;
  *)
    exec "$@"
    ;;
esac
