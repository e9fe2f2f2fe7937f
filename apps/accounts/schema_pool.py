"""Spare tenant schemas, copied from the template ahead of signups.

A clone of the template takes longer the more businesses the database holds
(django-tenants' clone function reads `information_schema`, whose views scan every
schema's tables): about 0.4 s with a handful of businesses, 2-3 s with a thousand. A
signup that takes a spare instead renames it (`ALTER SCHEMA`, constant time), so the
time to a usable business does not grow with the database. The SQL is the owner's
(apps/accounts/database_roles.py): spares are `pool_<random>`, stamped with the
template's migrations, taken under a transaction-scoped advisory lock; a spare of an
older template (a deploy migrated the template since) is never taken, and the fill drops
it. Without a spare, a signup clones as before.

`schema_pool_fill` (the task `accounts.schema_pool_fill`: beat every few minutes and
after each signup's commit) keeps TENANT_SCHEMA_POOL_SIZE current spares."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from apps.core.task_queue import task_enqueue
from apps.core.tenancy import search_path_forget, use_public_schema

logger = logging.getLogger(__name__)

SPARE_PREFIX = "pool_"
# One fill at a time (a session-level advisory lock; the others return at once).
_FILL_LOCK = "SELECT pg_try_advisory_lock(hashtext('tenant_schema_pool_fill'))"
_FILL_UNLOCK = "SELECT pg_advisory_unlock(hashtext('tenant_schema_pool_fill'))"

_SPARES_SQL = r"""
SELECT n.nspname FROM pg_namespace n
WHERE n.nspname LIKE 'pool\_%'
  AND obj_description(n.oid, 'pg_namespace') = public.tenant_schema_stamp()
ORDER BY n.nspname
"""


def schema_pool_spares() -> list[str]:
    """The spare schemas a signup may take now (copies of the current template)."""
    with connection.cursor() as cursor:
        cursor.execute(_SPARES_SQL)
        return [row[0] for row in cursor.fetchall()]


def schema_pool_fill(*, size: int | None = None) -> dict[str, Any]:
    """Drops spares of an older template (or of older copying code) and any beyond
    `size`, then copies the template (each copy its own transaction) until `size` spares
    wait (TENANT_SCHEMA_POOL_SIZE; 0 drops them all, and every signup clones). A fill
    already running elsewhere makes this one return at once."""
    size = int(settings.TENANT_SCHEMA_POOL_SIZE if size is None else size)
    use_public_schema()
    with connection.cursor() as cursor:
        cursor.execute(_FILL_LOCK)
        if not cursor.fetchone()[0]:
            return {"skipped": True, "dropped": 0, "added": 0, "spares": None}
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT public.tenant_schema_pool_prune(%s)", [size])
            dropped = int(cursor.fetchone()[0])
        spares = len(schema_pool_spares())
        added = 0
        while spares + added < size:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT public.tenant_schema_pool_add()")
            added += 1
    finally:
        search_path_forget()  # a copy ends with a plain SET search_path
        with connection.cursor() as cursor:
            cursor.execute(_FILL_UNLOCK)
    if dropped or added:
        logger.info(
            "schema_pool.filled",
            extra={"dropped": dropped, "added": added, "spares": spares + added},
        )
    return {"skipped": False, "dropped": dropped, "added": added, "spares": spares + added}


def schema_pool_empty() -> int:
    """Drops every spare (the end of setup_database: a deploy may have changed what a
    copy must hold); the next fill makes fresh ones. Returns how many it dropped."""
    use_public_schema()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT public.tenant_schema_pool_prune(0)")
        return int(cursor.fetchone()[0])


def schema_pool_fill_after_commit() -> None:
    """After the surrounding transaction (a signup that may have taken a spare) commits,
    a fill in a task. A broker out of reach only delays it to beat's next fill."""
    if not settings.TENANT_SCHEMA_POOL_SIZE:
        return

    def send() -> None:
        try:
            task_enqueue("accounts.schema_pool_fill")
        except Exception:
            logger.exception("schema_pool.fill_enqueue_failed")

    transaction.on_commit(send)
