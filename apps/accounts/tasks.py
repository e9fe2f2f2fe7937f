"""Tenant fan-out for periodic work, and the per-tenant heartbeat that proves it runs."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.due_work import work_due_claim
from apps.accounts.schema_pool import schema_pool_fill
from apps.accounts.selectors import tenants_ready
from apps.core.tenancy import current_schema
from config.celery import app
from config.request_id import get_request_id

logger = logging.getLogger(__name__)

HEARTBEAT_CACHE_KEY = "tenant:heartbeat"


@shared_task(name="accounts.run_in_every_tenant")
def run_in_every_tenant(task_name: str, kwargs: dict[str, Any] | None = None) -> int:
    """Beat sends this once; it sends `task_name` into every ready tenant. The tenant app
    puts the schema in each message's headers, so the task runs inside that tenant."""
    schemas = list(tenants_ready().values_list("schema_name", flat=True))
    for schema_name in schemas:
        with schema_context(schema_name):
            app.send_task(task_name, kwargs=kwargs or {})
    logger.info("tenants.fan_out", extra={"task": task_name, "tenants": len(schemas)})
    return len(schemas)


@shared_task(name="accounts.run_where_due")
def run_where_due(kind: str, task_name: str, kwargs: dict[str, Any] | None = None) -> int:
    """Beat sends this for work that falls due business by business (apps/accounts/
    due_work.py): `task_name` goes only into the ready businesses whose `kind` work is
    due, and that task reschedules the next due time when it is done. Bulk kinds go at a
    lower priority (TENANT_WORK_PRIORITY_BY_KIND)."""
    schemas = work_due_claim(kind=kind)
    priority = settings.TENANT_WORK_PRIORITY_BY_KIND.get(kind)
    options: dict[str, Any] = {} if priority is None else {"priority": int(priority)}
    for schema_name in schemas:
        with schema_context(schema_name):
            app.send_task(task_name, kwargs=kwargs or {}, **options)
    if schemas:
        logger.info("tenants.due_work_sent", extra={"task": task_name, "tenants": len(schemas)})
    return len(schemas)


@shared_task(name="accounts.schema_pool_fill")
def schema_pool_fill_task() -> dict[str, Any]:
    """Keeps TENANT_SCHEMA_POOL_SIZE spare schemas for signups (public schema)."""
    return schema_pool_fill()


@shared_task(name="accounts.tenant_heartbeat")
def tenant_heartbeat() -> dict[str, str]:
    """Records, in the tenant's own cache space, that periodic work reached it."""
    beat = {
        "schema": current_schema(),
        "at": timezone.now().isoformat(),
        "request_id": get_request_id(),
    }
    cache.set(HEARTBEAT_CACHE_KEY, beat, timeout=24 * 3600)
    logger.info("tenant.heartbeat", extra={"schema": current_schema()})
    return beat
