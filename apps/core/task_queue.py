"""Tasks enqueued by name, so a service never imports the task module that imports it.

Tasks carry explicit names (`@shared_task(name="notifications.send")`); the Celery app
finds them among the registered tasks when the message is sent. The tenant's schema
travels in the message headers (tenant_schemas_celery), as with `.delay()`.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import current_app
from django.apps import apps as django_apps


def task_enqueue(name: str, *args: Any, **kwargs: Any) -> None:
    """Sends task `name` with these arguments (run eagerly where Celery is set to).

    A worker imports every app's task module when it starts; a web process has not, so
    the first time a name is unknown here the task modules of the installed apps are
    imported (Celery's autodiscovery), and an unknown name after that is an error."""
    task_named(name).delay(*args, **kwargs)


_discovery = threading.Lock()


def task_named(name: str) -> Any:
    """The registered task called `name`; KeyError when no installed app defines it."""
    app = current_app
    if name not in app.tasks:
        # One thread discovers while the others wait: threads that raced into it saw
        # half-imported task modules and a name not yet registered.
        with _discovery:
            if name not in app.tasks:
                # Each app's `tasks` module (nested task modules are imported by their
                # app's ready()); not `import_default_modules`, which also runs checks.
                packages = [config.name for config in django_apps.get_app_configs()]
                app.loader.autodiscover_tasks(packages, related_name="tasks")
    return app.tasks[name]
