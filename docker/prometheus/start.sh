#!/bin/sh
# Prometheus' start in docker/compose.yaml (service `prometheus`): start.sh TOKEN_FILE.
# METRICS_TOKEN comes from the same env files as the application's (docker/defaults.env,
# which holds none, then ../.env). It is written to TOKEN_FILE, which prometheus.yml's
# scrape jobs send as `Authorization: Bearer`, and Prometheus starts with an empty
# environment: the container was handed the application's settings with the token, and
# Prometheus needs none of them.
set -eu
token_file="${1:?usage: start.sh TOKEN_FILE}"
if [ -z "${METRICS_TOKEN:-}" ]; then
  # Without a token the web's /metrics and the workers' endpoints answer their own
  # container only: every scrape from this one would be refused. Better no Prometheus
  # than one whose targets are all down for a reason it cannot show.
  rm -f "$token_file"
  cat >&2 <<'MESSAGE'
prometheus: METRICS_TOKEN is not set, so web, worker and beat serve their metrics to
their own container only and every scrape would be refused. Set it in the repository
root's .env (e.g. METRICS_TOKEN=<output of: python -c "import secrets; print(secrets.token_urlsafe(32))">),
then run `docker compose -f docker/compose.yaml up -d` again.
MESSAGE
  exit 1
fi
umask 077
printf '%s' "$METRICS_TOKEN" > "$token_file"
prometheus="$(command -v prometheus)"
exec env -i "$prometheus" --config.file=/etc/prometheus/prometheus.yml \
  --storage.tsdb.path=/prometheus --storage.tsdb.retention.time=15d
