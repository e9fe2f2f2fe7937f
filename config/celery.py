"""Tenant-aware Celery: the schema travels with every task in the `_schema_name` header,
so a task sent inside `schema_context("acme")` runs in acme. The request id travels too."""

from __future__ import annotations

import os
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun
from tenant_schemas_celery.app import CeleryApp

from config.request_id import get_request_id, set_request_id

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = CeleryApp("timenest")
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
