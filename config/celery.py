"""Tenant-aware Celery: the schema travels with every task in the `_schema_name` header,
so a task sent inside `schema_context("acme")` runs in acme. The request id travels too.

A worker or beat never guesses its settings: without DJANGO_SETTINGS_MODULE it stops
with a message (development settings, for one, let webhooks reach private addresses).
`make run` names config.settings.dev, the Docker image config.settings.prod."""

from __future__ import annotations

import os
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun
from tenant_schemas_celery.app import CeleryApp

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
