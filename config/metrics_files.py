"""The multiprocess files of the metrics (prometheus-client's multiprocess mode).

With PROMETHEUS_MULTIPROC_DIR set, every process writes its counters and histograms to
files named after its pid in that directory, and a scrape adds up the files. One
directory per group of processes that share a pid namespace and start together, and
each group serves its own directory and nothing else: gunicorn's workers use the
directory itself, served by the web's /metrics (config/metrics.py); a Celery worker a
directory of its own (the image: `<dir>/celery`), served by the worker's own endpoint
(config/celery_metrics.py). So a count is served by exactly one Prometheus target,
whichever machines or containers the groups run on, and sums across targets never count
it twice. Each group cleans its own directory when it starts (the counts of a previous
run are gone with it) and marks a process dead when it ends (its live gauges go; its
counts stay in the sums until the next start).

- gunicorn: `on_starting = gunicorn_on_starting`, `child_exit = gunicorn_child_exit` in
  its configuration (config/gunicorn_conf_metrics.py);
- Celery: `celery_worker_init` and `celery_process_shutdown` are connected to its
  signals in config/celery.py.

Imported by gunicorn's master and by config/celery.py before Django is set up: nothing
here reads Django's settings.
"""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiproc_dir() -> str:
    return os.environ.get(MULTIPROC_ENV, "")


def metrics_dir_clean() -> None:
    """At a process group's start: removes the files earlier processes left in this
    group's directory (their counts belong to a previous run). Files of this process
    are kept, and so are subdirectories: another group (a Celery worker) owns those."""
    path = multiproc_dir()
    if not path:
        return
    Path(path).mkdir(parents=True, exist_ok=True)
    own = f"_{os.getpid()}.db"
    for name in glob.glob(os.path.join(path, "*.db")):
        if not name.endswith(own):
            with contextlib.suppress(FileNotFoundError):
                os.remove(name)


def process_dead(pid: int) -> None:
    """A worker process ended: its live gauges go (its counters stay in the sums)."""
    path = multiproc_dir()
    if path:
        mark_process_dead(pid, path)


def gunicorn_on_starting(server: Any) -> None:
    """gunicorn's `on_starting` hook: a fresh directory for this run's workers."""
    metrics_dir_clean()


def gunicorn_child_exit(server: Any, worker: Any) -> None:
    """gunicorn's `child_exit` hook (runs in the master when a worker ended)."""
    process_dead(worker.pid)


def celery_worker_init(**_: Any) -> None:
    """Celery's `worker_init` (the main process, before the pool starts)."""
    metrics_dir_clean()


def celery_process_shutdown(pid: int | None = None, **_: Any) -> None:
    """Celery's `worker_process_shutdown` (in the pool process that is ending)."""
    process_dead(pid or os.getpid())


class ProcessFiles(Collector):
    """prometheus-client's MultiProcessCollector over one group's directory: its own
    files, never a subdirectory's (another group's, served by that group)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self) -> Iterable[Metric]:
        files = glob.glob(os.path.join(self.path, "*.db"))
        return MultiProcessCollector.merge(files, accumulate=True)
