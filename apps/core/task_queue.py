"""Tasks enqueued by name, so a service never imports the task module that imports it.

Tasks carry explicit names (`@shared_task(name="notifications.send")`); the Celery app
finds them among the registered tasks when the message is sent. The tenant's schema
travels in the message headers (tenant_schemas_celery), as with `.delay()`.
"""

from __future__ import annotations

from typing import Any

from celery import current_app


def task_enqueue(name: str, *args: Any, **kwargs: Any) -> None:
    """Sends task `name` with these arguments (run eagerly where Celery is set to)."""
    current_app.tasks[name].delay(*args, **kwargs)
