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
    cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$RUN'
unix_socket_permissions = 0700
port = $PG_PORT
max_connections = 200
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  fi
  # Clusters made before the socket was private get it at their next start.
  grep -q '^unix_socket_permissions' "$PGDATA/postgresql.conf" \
    || echo "unix_socket_permissions = 0700" | as_pg tee -a "$PGDATA/postgresql.conf" >/dev/null
  if ! as_pg "$(pg_bin pg_ctl)" -D "$PGDATA" status >/dev/null 2>&1; then
    as_pg "$(pg_bin pg_ctl)" -D "$PGDATA" -l "$LOCAL/log/postgres.log" -w -t 30 start >/dev/null
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

down() {
  if [ -f "$PGDATA/PG_VERSION" ]; then
    as_pg "$(pg_bin pg_ctl)" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true
  fi
  if command -v redis-cli >/dev/null; then
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
  echo "Local services stopped."
}

case "${1:-up}" in
  up) pg_up; redis_up ;;
  down) down ;;
  status)
    as_pg "$(pg_bin pg_ctl)" -D "$PGDATA" status || true
    redis-cli -p "$REDIS_PORT" ping || true
    ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
