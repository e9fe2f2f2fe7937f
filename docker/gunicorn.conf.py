"""gunicorn as the `web` role runs it (docker/entrypoint.sh: `gunicorn -c` this file).

Every value can be changed from the environment without rebuilding the image:
GUNICORN_WORKERS (else 2 x CPUs + 1, at most GUNICORN_MAX_WORKERS), GUNICORN_TIMEOUT,
GUNICORN_MAX_REQUESTS, GUNICORN_BIND (else BIND_ADDRESS:PORT, 0.0.0.0:8000 in the
image) and FORWARDED_ALLOW_IPS.
"""

from __future__ import annotations

import glob
import math
import os
from pathlib import Path
from typing import Any

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def cpus_available(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """CPUs this process may use: its affinity mask, narrowed by a cgroup v2 quota (a
    container's `cpus:` limit). os.cpu_count() counts the host's, which would start a
    worker per host CPU in a container allowed two."""
    count = len(os.sched_getaffinity(0))
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count)


def workers_default(cpus: int, ceiling: int) -> int:
    """Sync workers are CPU-bound Python (STACK.md "Serving"): two per CPU and one
    more to cover a worker waiting on PostgreSQL; capped, as each one holds a database
    connection and its own memory."""
    return max(1, min(2 * cpus + 1, ceiling))


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# Sync workers: measured faster than threads or ASGI for this app (README, "Benchmark").
worker_class = "sync"
workers = _env_int(
    "GUNICORN_WORKERS", workers_default(cpus_available(), _env_int("GUNICORN_MAX_WORKERS", 9))
)
# Every interface of the container: compose's `ports:` decides what reaches it.
_address = os.environ.get("BIND_ADDRESS", "0.0.0.0")  # noqa: S104
bind = os.environ.get("GUNICORN_BIND") or f"{_address}:{os.environ.get('PORT', '8000')}"
# A sync worker answers one request per connection anyway; 0 says so and matches the
# benchmark's figures (tests/bench/server.py).
keepalive = 0
# A request that takes longer is a bug or an attack: its worker is killed and replaced.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (docker stop) requests in flight get this long; compose waits longer.
graceful_timeout = 30
# Each worker is replaced after about this many requests (the jitter keeps them from
# restarting together), so that memory a request leaked is given back. Not lower: each
# replaced worker leaves its counters' files to the metrics scrape until the next start.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 10_000)
max_requests_jitter = max(1, max_requests // 10)
# The workers' heartbeat files: in memory, not on the container's overlay filesystem,
# where a write that blocks makes a healthy worker look hung, and it is killed.
worker_tmp_dir = "/dev/shm"  # noqa: S108 - gunicorn's documented choice for containers
# Which peers may set X-Forwarded-Proto / X-Forwarded-For for gunicorn (wsgi.url_scheme,
# REMOTE_ADDR are not rewritten by it otherwise). Behind a load balancer, its addresses
# (or "*" when nothing but the load balancer can reach the container). Django reads the
# headers by its own settings: SECURE_PROXY_SSL_HEADER (prod.py) for the scheme and
# API_NUM_PROXIES for the client address (apps/core/rate_limits.py).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"
errorlog = "-"
# No `gunicornc` control socket: nothing uses it, and its default path ($HOME) is shared
# by every gunicorn of a user (and not writable by the image's user).
control_socket_disable = True


# Metrics (config/metrics.py): with PROMETHEUS_MULTIPROC_DIR set, each worker writes its
# metrics to files named after its pid there, and a scrape adds them up.
def on_starting(server: Any) -> None:
    """The previous run's files go, so that its counts are not added to this run's.
    Subdirectories belong to other process groups (a Celery worker's `celery/`)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for name in glob.glob(os.path.join(directory, "*.db")):
            Path(name).unlink(missing_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """A worker ended (replaced, killed or stopped): its live gauges go."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
