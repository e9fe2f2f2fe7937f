#!/bin/sh
# web | worker | beat | migrate — the web role migrates first (public, the tenant
# template schema, then every tenant), so a fresh stack comes up usable.
set -e
role="${1:-web}"
case "$role" in
  web)
    python manage.py setup_database
    exec gunicorn config.wsgi:application \
      --bind 0.0.0.0:8000 \
      --workers "${GUNICORN_WORKERS:-4}" \
      --worker-class sync \
      --keep-alive 0 \
      --access-logfile - \
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
