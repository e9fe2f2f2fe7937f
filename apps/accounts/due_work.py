"""Periodic work sent only where it is due.

Holds lapse, messages and webhook deliveries fall due one business at a time; sending the
sweeper and the two dispatchers into every business every 15 to 60 seconds would cost a
task per idle business per tick (1,500 tasks a second at 10,000 businesses). Instead the
public `TenantWorkDue` table says, per business and kind of work, when it next has
something due:

- the tenant tables that make work due note it themselves: triggers
  (apps/notifications/migrations/0007) move `due_at` earlier in the writer's transaction;
- beat runs `work_due_claim` for a kind: the due rows of ready businesses are pushed one
  lease ahead and their schemas returned, and the work is sent into those only. A task
  that is lost (broker down, worker killed) makes its business due again when the lease
  runs out;
- the work, once done in a business, calls `work_due_reschedule` with a function that
  reads its next due time, which replaces the lease (or clears the row's time).

Why no due time is ever lost: `work_due_reschedule` locks the row FOR UPDATE before it
reads the next due time (in a statement of its own, so it sees every commit before the
lock). A writer's trigger takes a KEY SHARE lock on the same row, so a writer that noted
its due time before the lock has committed (its row is read), and one that comes after
waits for the reschedule to commit and then moves the new time earlier if it must.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.core.tenancy import current_schema

logger = logging.getLogger(__name__)

_TABLE = "public.accounts_tenantworkdue"

# Due rows of ready businesses move one lease ahead; rows of businesses that no longer
# exist are deleted (a dropped schema leaves its rows behind).
_CLAIM_SQL = f"""
WITH gone AS (
    DELETE FROM {_TABLE} w
    WHERE w.kind = %(kind)s AND w.due_at <= %(now)s
      AND NOT EXISTS (SELECT 1 FROM public.accounts_tenant t WHERE t.schema_name = w.schema_name)
)
UPDATE {_TABLE} w SET due_at = %(lease)s
FROM public.accounts_tenant t
WHERE w.kind = %(kind)s AND w.due_at <= %(now)s
  AND t.schema_name = w.schema_name AND t.is_ready AND t.schema_name <> 'public'
RETURNING w.schema_name
"""  # noqa: S608 (the table name is a constant)


def work_due_lease(kind: str = "") -> timedelta:
    """How long a claimed business waits before its `kind` work is sent again (a lost
    task): TENANT_WORK_LEASE_SECONDS, or longer for work that may queue or run longer
    (TENANT_WORK_LEASE_SECONDS_BY_KIND)."""
    seconds = settings.TENANT_WORK_LEASE_SECONDS_BY_KIND.get(
        kind, settings.TENANT_WORK_LEASE_SECONDS
    )
    return timedelta(seconds=int(seconds))


def work_due_claim(*, kind: str, now: datetime | None = None) -> list[str]:
    """The schemas of ready businesses with `kind` work due at `now`, each pushed one
    lease ahead (so a lost task is sent again then). Run in the public schema."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"kind": kind, "now": now, "lease": now + work_due_lease(kind)})
        schemas = sorted(row[0] for row in cursor.fetchall())
    return schemas


def work_due_reschedule(
    *, kind: str, next_due: Callable[[], datetime | None], schema: str | None = None
) -> datetime | None:
    """After `kind` work ran in the current business: its next due time, as `next_due`
    reads it, replaces whatever the row said (the claim's lease included). Returns it."""
    schema = schema or current_schema()
    with transaction.atomic(), connection.cursor() as cursor:
        # The row exists before it is locked: a writer inserting it concurrently is
        # waited for, and nothing it notes afterwards can slip past the lock.
        cursor.execute(
            f"INSERT INTO {_TABLE} (schema_name, kind, due_at) VALUES (%s, %s, NULL) "  # noqa: S608
            "ON CONFLICT (schema_name, kind) DO NOTHING",
            [schema, kind],
        )
        cursor.execute(
            f"SELECT due_at FROM {_TABLE} WHERE schema_name = %s AND kind = %s FOR UPDATE",  # noqa: S608
            [schema, kind],
        )
        due = next_due()
        cursor.execute(
            f"UPDATE {_TABLE} SET due_at = %s WHERE schema_name = %s AND kind = %s",  # noqa: S608
            [due, schema, kind],
        )
    return due


def work_due_note(*, kind: str, due: datetime, schema: str | None = None) -> None:
    """Notes `kind` work due at `due` in a business (the current one), moving its due
    time earlier only, as the tables' triggers do."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT public.tenant_work_due_note(%s, %s, %s)",
            [schema or current_schema(), kind, due],
        )


def work_due_at(*, kind: str, schema: str | None = None) -> datetime | None:
    """When `kind` work is next due in a business, as the table says (None: nothing)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT due_at FROM {_TABLE} WHERE schema_name = %s AND kind = %s",  # noqa: S608
            [schema or current_schema(), kind],
        )
        row = cursor.fetchone()
    return row[0] if row else None
