"""Tenant-aware Celery: the schema travels with every task in the `_schema_name` header,
so a task sent inside `schema_context("acme")` runs in acme. The request id travels too.

A worker or beat never guesses its settings: without DJANGO_SETTINGS_MODULE it stops
with a message (development settings, for one, let webhooks reach private addresses).
`make run` names config.settings.dev, the Docker image config.settings.prod.

Each worker and beat serves its own Prometheus endpoint and counts tasks
(config/celery_metrics.py).

Worker and beat log with the project's LOGGING (JSON lines: config/logging.py), not
Celery's own format, and trace like the web (config/tracing.py): each pool process sets
up its own tracing after the fork; the trace context travels in task headers."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import (
    beat_init,
    before_task_publish,
    celeryd_init,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from tenant_schemas_celery.app import CeleryApp

from config.celery_metrics import (
    close_inherited_server,
    serve_from_environment,
    serve_stop,
    task_finished,
    task_started,
)
from config.metrics_files import celery_process_shutdown, celery_worker_init
from config.request_id import get_request_id, set_request_id

SETTINGS_MISSING = (
    "DJANGO_SETTINGS_MODULE is not set, and Celery does not guess it: set it to "
    "config.settings.prod in production (the Docker image does) or config.settings.dev "
    "on a development machine (make run does)."
)

app = CeleryApp("timenest")


@app.on_configure.connect
def _settings_named(**_: Any) -> None:
    # Sent when the app first reads its configuration: in a worker or beat at start-up,
    # in a web process only after Django has loaded its (named) settings. SystemExit, as
    # Celery logs and swallows a receiver's exceptions.
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        raise SystemExit(SETTINGS_MISSING)


app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

REQUEST_ID_HEADER = "request_id"

# Metrics' multiprocess files (PROMETHEUS_MULTIPROC_DIR, config/metrics.py): a fresh
# directory when the worker starts, live gauges dropped when a pool process ends.
worker_init.connect(celery_worker_init, weak=False)
worker_process_shutdown.connect(celery_process_shutdown, weak=False)
# Each worker and beat serves its own metrics (config/celery_metrics.py): started in the
# main process once the pool runs, let go of by pool processes forked after that.
worker_ready.connect(serve_from_environment, weak=False)
beat_init.connect(serve_from_environment, weak=False)
worker_process_init.connect(close_inherited_server, weak=False)
worker_shutdown.connect(serve_stop, weak=False)
task_prerun.connect(task_started, weak=False)
task_postrun.connect(task_finished, weak=False)


@before_task_publish.connect
def _attach_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is not None and REQUEST_ID_HEADER not in headers:
        headers[REQUEST_ID_HEADER] = get_request_id()


@task_prerun.connect
def _adopt_request_id(task: Any = None, **_: Any) -> None:
    request = getattr(task, "request", None)
    incoming = None
    if request is not None:
        incoming = (getattr(request, "headers", None) or {}).get(REQUEST_ID_HEADER) or getattr(
            request, REQUEST_ID_HEADER, None
        )
    set_request_id(incoming)


@task_postrun.connect
def _forget_request_id(**_: Any) -> None:
    set_request_id("-")


@setup_logging.connect
@celeryd_init.connect
def _logging_from_settings(**_: Any) -> None:
    # A receiver of setup_logging makes Celery leave logging alone (no root-logger
    # hijack, no redirected stdout) in worker and beat; they take Django's LOGGING like
    # the web. In a worker that happens late: configured at celeryd_init too, the
    # warnings it gives before (running as root, say) are log lines as well.
    from django.conf import settings
    from django.utils.log import configure_logging

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    logging.captureWarnings(True)


@worker_process_init.connect
def _trace_pool_process(**_: Any) -> None:
    from config.tracing import tracing_setup

    tracing_setup(service="worker")


@worker_init.connect
def _trace_worker(sender: Any = None, **_: Any) -> None:
    # A prefork pool's processes set up their own after the fork (above), so that the
    # exporter's thread and connections belong to them; other pools run tasks here.
    from celery import concurrency
    from celery.concurrency.prefork import TaskPool

    from config.tracing import tracing_setup

    pool = concurrency.get_implementation(getattr(sender, "pool_cls", None))
    if not (isinstance(pool, type) and issubclass(pool, TaskPool)):
        tracing_setup(service="worker")


@beat_init.connect
def _trace_beat(**_: Any) -> None:
    from config.tracing import tracing_setup

    tracing_setup(service="beat")
