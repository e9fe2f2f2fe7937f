#!/bin/sh
# web | worker | beat | migrate. `migrate` runs first (compose starts the others once it
# has succeeded): as the owner role (DATABASE_ROLE=owner) it creates the database roles,
# migrates public, the tenant template schema and every tenant, and grants the serving
# role its rows. web, worker and beat connect as the serving role, which may not migrate
# (ARCHITECTURE.md "Database roles").
set -e
role="${1:-web}"
case "$role" in
  web)
    exec gunicorn config.wsgi:application \
      --bind 0.0.0.0:8000 \
      --workers "${GUNICORN_WORKERS:-4}" \
      --worker-class sync \
      --keep-alive 0 \
      --access-logfile - \
      --logger-class config.gunicorn_logging.RedactingLogger \
      --timeout 30
    ;;
  worker)
    exec celery -A config worker --loglevel=INFO --concurrency "${CELERY_CONCURRENCY:-4}"
    ;;
  beat)
    exec celery -A config beat --loglevel=INFO \
      --scheduler django_celery_beat.schedulers:DatabaseScheduler
    ;;
  migrate)
    exec python manage.py setup_database
    ;;
  *)
    exec "$@"
    ;;
esac
