#!/usr/bin/env bash
# Local PostgreSQL and Redis kept under .local/ (idempotent).
#   services.sh up | down | status
# PostgreSQL listens on a unix socket in .local/run (no TCP port to collide with);
# Redis on 127.0.0.1:${TIMENEST_REDIS_PORT:-6390}.
# The cluster trusts whoever reaches its socket, so only its owner may: the socket (and
# its folder) are 0700, and .local/ (which also holds the demo's credentials) is closed
# to other users of the machine. Run as root, the cluster's owner is `postgres` and root
# passes anyway; other accounts get "permission denied".
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LOCAL=${TIMENEST_LOCAL_DIR:-$ROOT/.local}
PGDATA=$LOCAL/pg/data
RUN=$LOCAL/run
PG_PORT=${TIMENEST_PG_PORT:-5432}
REDIS_PORT=${TIMENEST_REDIS_PORT:-6390}
DB_NAME=timenest
DB_USER=timenest

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/$1" ] && { echo "$dir/$1"; return; }
  done
  command -v "$1"
}

# initdb and pg_ctl refuse to run as root: run them as `postgres` then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# As root the cluster runs as `postgres`, which must be able to reach .local/: give
# "others" search (x, not read) permission on any ancestor that lacks it.
ensure_postgres_can_reach() {
  [ "$(id -u)" = 0 ] || return 0
  local dir=$1
  while [ "$dir" != "/" ]; do
    if ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
      chmod o+x "$dir"
    fi
    dir=$(dirname "$dir")
  done
}

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "Please install $* (needs root): sudo apt-get install -y $*" >&2
    exit 1
  fi
  echo "Installing $* with apt-get ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The cluster's settings, kept in $PGDATA/timenest.conf (included last by
# postgresql.conf) and rewritten by every `up`, so an existing cluster follows changes.
# Durable: fsync, synchronous_commit and full_page_writes are PostgreSQL's defaults (on),
# so the data of `make run` survives a crash of PostgreSQL or of the machine. The test
# databases turn synchronous_commit off for themselves (tests/plugins/database.py).
CONF_FILE=timenest.conf
pg_conf() {
  cat <<CONF
# Written by config/local/services.sh on every \`up\`: edit that script, not this file.
listen_addresses = ''
unix_socket_directories = '$RUN'
unix_socket_permissions = 0700
port = $PG_PORT
max_connections = 200
shared_buffers = 256MB
# pg_dump (manage.py backup) locks every table at once: 512 x 200 connections holds
# some 4,000 businesses' tables (OPERATIONS.md "Backups and recovery").
max_locks_per_transaction = 512
fsync = on
synchronous_commit = on
full_page_writes = on
CONF
}

# Writes the settings; true (0) when they changed. Clusters made by earlier versions of
# this script had them appended to postgresql.conf, durability off: those lines go.
pg_conf_write() {
  local conf="$PGDATA/postgresql.conf" wanted current=""
  wanted=$(pg_conf)
  [ -f "$PGDATA/$CONF_FILE" ] && current=$(cat "$PGDATA/$CONF_FILE")
  local stale=0
  grep -qE '^(fsync|synchronous_commit|full_page_writes) = off$' "$conf" && stale=1
  grep -qx "include_if_exists = '$CONF_FILE'" "$conf" || stale=1
  [ "$wanted" = "$current" ] && [ "$stale" = 0 ] && return 1
  as_pg sed -i -E '/^(fsync|synchronous_commit|full_page_writes) = off$/d' "$conf"
  grep -qx "include_if_exists = '$CONF_FILE'" "$conf" \
    || echo "include_if_exists = '$CONF_FILE'" | as_pg tee -a "$conf" >/dev/null
  printf '%s\n' "$wanted" | as_pg tee "$PGDATA/$CONF_FILE" >/dev/null
  return 0
}

pg_up() {
  mkdir -p "$LOCAL/pg" "$RUN" "$LOCAL/log"
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$LOCAL/pg" "$RUN" "$LOCAL/log"
    chmod 711 "$LOCAL"  # postgres passes through to pg/, run/ and log/; nobody lists it
    ensure_postgres_can_reach "$LOCAL"
  else
    chmod 700 "$LOCAL"
  fi
  chmod 700 "$RUN"
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    as_pg "$(pg_bin initdb)" -D "$PGDATA" -U "$DB_USER" --auth=trust -E UTF8 \
      --locale=C.UTF-8 >/dev/null
  fi
  local changed=0
  pg_conf_write && changed=1
  if ! as_pg "$(pg_bin pg_ctl)" -D "$PGDATA" status >/dev/null 2>&1; then
    as_pg "$(pg_bin pg_ctl)" -D "$PGDATA" -l "$LOCAL/log/postgres.log" -w -t 30 start >/dev/null
  elif [ "$changed" = 1 ]; then
    # Every setting written here takes effect on a reload but the socket's place, port,
    # max_connections, shared_buffers and max_locks_per_transaction, which wait for a
    # restart (said below): a running `make run` is not cut off.
    as_pg "$(pg_bin pg_ctl)" -D "$PGDATA" reload >/dev/null
    echo "PostgreSQL: settings changed, reloaded ($PGDATA/$CONF_FILE)"
    sleep 0.5
    local pending
    pending=$("$(pg_bin psql)" -h "$RUN" -p "$PG_PORT" -U "$DB_USER" -d postgres -tAc \
      "SELECT string_agg(name, ', ') FROM pg_settings WHERE pending_restart")
    [ -z "$pending" ] \
      || echo "PostgreSQL: $pending take effect at the next restart (make services-down services)"
  fi
  if ! "$(pg_bin psql)" -h "$RUN" -p "$PG_PORT" -U "$DB_USER" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
    "$(pg_bin createdb)" -h "$RUN" -p "$PG_PORT" -U "$DB_USER" "$DB_NAME"
  fi
  echo "PostgreSQL: socket $RUN (port $PG_PORT), database $DB_NAME"
}

redis_up() {
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$LOCAL/redis" "$RUN" "$LOCAL/log"
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    echo "Redis: 127.0.0.1:$REDIS_PORT (already running)"
    return
  fi
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes \
    --dir "$LOCAL/redis" --pidfile "$RUN/redis.pid" --logfile "$LOCAL/log/redis.log" \
    --save "" --appendonly no
  for _ in $(seq 50); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "Redis: 127.0.0.1:$REDIS_PORT"
}

pg_down() {
  if [ -f "$PGDATA/PG_VERSION" ]; then
    as_pg "$(pg_bin pg_ctl)" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true
  fi
}

down() {
  pg_down
  if command -v redis-cli >/dev/null; then
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
  echo "Local services stopped."
}

case "${1:-up}" in
  up) pg_up; redis_up ;;
  down) down ;;
  # PostgreSQL alone (tests start a cluster of their own this way, under another
  # TIMENEST_LOCAL_DIR), and the settings it is given.
  pg-up) pg_up ;;
  pg-down) pg_down ;;
  pg-conf) pg_conf ;;
  status)
    as_pg "$(pg_bin pg_ctl)" -D "$PGDATA" status || true
    redis-cli -p "$REDIS_PORT" ping || true
    ;;
  *) echo "usage: $0 up|down|status|pg-up|pg-down|pg-conf" >&2; exit 2 ;;
esac
