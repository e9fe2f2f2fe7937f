"""The HAProxy and PgBouncer configurations the scale-out drill runs with, as text: what
OPERATIONS.md "Scale-out" shows and explains (tests/test_drill_configs.py holds the two
to each other)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HEALTH_CHECK_PATH = "/healthz"
# django-tenants sets search_path once per connection and again only when the tenant
# changes; transaction pooling would hand the next transaction of that connection to a
# server connection another client left in another tenant's schema.
POOL_MODE = "session"
# Requests one gunicorn instance is given at a time (its sync workers): the rest wait in
# HAProxy's queue, from where a request goes to whichever instance is up. So a killed
# instance takes down at most this many requests in flight.
SERVER_MAXCONN = 2
SERVER_OPTIONS = (
    f"inter 1s fall 2 rise 2 maxconn {SERVER_MAXCONN} "
    "observe layer4 error-limit 1 on-error mark-down"
)


@dataclass(frozen=True)
class Backend:
    name: str
    port: int
    host: str = "127.0.0.1"


def haproxy_config(
    *,
    listen_port: int,
    backends: Sequence[Backend],
    stats_socket: Path,
    pid_file: Path,
    bind_address: str = "127.0.0.1",
) -> str:
    servers = "\n".join(
        f"    server {backend.name} {backend.host}:{backend.port} check" for backend in backends
    )
    return f"""\
global
    maxconn 2048
    pidfile {pid_file}
    stats socket {stats_socket} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout queue 15s
    # A request whose instance refused the connection, or died before answering, is
    # sent again, to another instance.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
    option forwardfor

frontend web
    bind {bind_address}:{listen_port}
    default_backend django

backend django
    balance roundrobin
    option httpchk
    http-check send meth GET uri {HEALTH_CHECK_PATH} ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    # Checked every second: out after 2 failures, back after 2 successes; taken out at
    # once when a connection to it fails (a killed instance is not tried again while
    # its checks catch up, which would spend the retries of the requests sent to it).
    default-server {SERVER_OPTIONS}
    # Replaying a POST is safe only when it carries an Idempotency-Key (the API answers
    # the replay from the stored response); any other POST is never sent twice.
    http-request disable-l7-retry if METH_POST !{{ req.hdr(Idempotency-Key) -m found }}
{servers}
"""


def pgbouncer_config(
    *,
    listen_port: int,
    database: str,
    postgres_host: str,
    postgres_port: int,
    user: str,
    auth_file: Path,
    log_file: Path,
    pid_file: Path,
    pool_size: int,
    auth_type: str = "scram-sha-256",
    listen_address: str = "127.0.0.1",
) -> str:
    return f"""\
[databases]
{database} = host={postgres_host} port={postgres_port} dbname={database}

[pgbouncer]
listen_addr = {listen_address}
listen_port = {listen_port}
unix_socket_dir =
auth_type = {auth_type}
auth_file = {auth_file}
admin_users = {user}
pool_mode = {POOL_MODE}
server_reset_query = DISCARD ALL
server_lifetime = 600
default_pool_size = {pool_size}
max_client_conn = 500
ignore_startup_parameters = extra_float_digits,options
logfile = {log_file}
pidfile = {pid_file}
"""


def pgbouncer_userlist(user: str) -> str:
    # The drill's: auth_type trust (the local cluster trusts loopback) still looks the
    # user name up here. In production each line holds the role's SCRAM secret.
    return f'"{user}" ""\n'
