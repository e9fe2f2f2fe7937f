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

The hourly backstops (apps/notifications/due_work.py, apps/waitlist/due_work.py) read
every business's tables and note what the triggers may have missed, fifty
businesses per statement (`work_due_repair_batched`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, connection, transaction
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

# Businesses one backstop statement reads. The time per business is the same from 50 to
# 400 (planning dominates: opening each table and index, 3 to 4 ms a business cold), so
# the size is set by locks: every table read and all its indexes stay locked (ACCESS
# SHARE, taken by the planner) until the batch commits, and 50 businesses of the
# notifications' six tables are some 2,000 entries of the shared lock table, which holds
# max_locks_per_transaction times connections for everyone (OPERATIONS.md, "The lock
# table"; 12,800 with PostgreSQL's defaults). A batch that does not fit fails and is read
# one business at a time.
REPAIR_SCHEMAS_PER_STATEMENT = 50

# The due times found in a batch are noted only where the table shows none or a later
# one. In normal running the triggers have noted everything, so the backstop then takes
# no row locks at all: the note function takes KEY SHARE or UPDATE locks held to commit,
# and many of them held for one long statement would make `work_due_reschedule`'s FOR
# UPDATE wait, and could deadlock with a writer noting two kinds. Skipping a row that
# already shows an earlier or equal time is safe: a reschedule that replaces it
# concurrently reads the business's tables itself after its lock, so it sees what this
# read saw. The fixed order keeps the locks that are taken in one order.
_REPAIR_NOTE_SQL = f"""
WITH found (schema_name, kind, due_at) AS (
{{found}}
)
SELECT public.tenant_work_due_note(found.schema_name, found.kind, found.due_at)
FROM found
LEFT JOIN {_TABLE} w ON w.schema_name = found.schema_name AND w.kind = found.kind
WHERE found.due_at IS NOT NULL AND (w.due_at IS NULL OR w.due_at > found.due_at)
ORDER BY found.schema_name, found.kind
"""  # noqa: S608 (identifiers quoted by the backend, every value a parameter)

# A business without a row of this kind gets one, due after its own delay.
_REPAIR_FIRST_DUE_SQL = f"""
INSERT INTO {_TABLE} (schema_name, kind, due_at)
SELECT first_due.schema_name, %s, now() + first_due.delay
FROM unnest(%s::text[], %s::interval[]) AS first_due(schema_name, delay)
ON CONFLICT (schema_name, kind) DO NOTHING
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


@dataclass(frozen=True)
class _Reading:
    """What the backstop reads in each business (see `work_due_repair_batched`)."""

    select_sql: str
    params: Mapping[str, Any]
    first_due: Mapping[str, Callable[[str], timedelta]]


def work_due_repair_batched(
    *,
    select_sql: str,
    params: Mapping[str, Any],
    schemas: Sequence[str],
    failed_event: str,
    first_due: Mapping[str, Callable[[str], timedelta]] | None = None,
) -> int:
    """The backstop's read: notes in each of `schemas` the due times `select_sql` finds
    there, moving them earlier only, a batch of businesses per statement. `select_sql`
    yields (kind, due_at) rows from one business's tables, named `{schema}.table`, with
    `params` as %(name)s parameters. For each kind of `first_due`, a business without a
    row of that kind is made due after the delay it gives for the schema (its first grid
    upkeep). Returns how many businesses were read; one that fails is logged as
    `failed_event` and the others are read all the same."""
    reading = _Reading(select_sql, params, first_due or {})
    read = 0
    for start in range(0, len(schemas), REPAIR_SCHEMAS_PER_STATEMENT):
        batch = schemas[start : start + REPAIR_SCHEMAS_PER_STATEMENT]
        try:
            _repair_batch(batch, reading)
            read += len(batch)
        except DatabaseError:
            # One business that cannot be read (its tables mid-migration, say) fails its
            # whole batch: read the batch's businesses one by one to leave out only it.
            logger.warning("due_work.repair_batch_failed", extra={"first_schema": batch[0]})
            read += _repair_one_by_one(batch, reading, failed_event)
        # Every business read leaves its tables' catalogue entries in this connection:
        # a new one every DATABASE_CONNECTION_MAX_SCHEMAS (apps/core/postgresql_backend).
        note = getattr(connection, "schemas_note", None)
        if note is not None:
            note(batch)
            connection.recycle_if_wide()  # type: ignore[attr-defined]
    return read


def _repair_one_by_one(schemas: Sequence[str], reading: _Reading, failed_event: str) -> int:
    read = 0
    for schema in schemas:
        try:
            _repair_batch([schema], reading)
            read += 1
        except SoftTimeLimitExceeded:
            raise  # the task's time is up: stop here (the next run starts from the first)
        except Exception:  # one business's schema must not stop the others'
            logger.exception(failed_event, extra={"schema": schema})
    return read


def _repair_batch(schemas: Sequence[str], reading: _Reading) -> None:
    """One statement reads and notes the batch, one more per kind of `first_due`; in a
    transaction (a savepoint inside one) so that a failure leaves nothing behind."""
    quote = connection.ops.quote_name
    selects: list[str] = []
    values: dict[str, Any] = dict(reading.params)
    for index, schema in enumerate(schemas):
        filled = reading.select_sql.format(schema=quote(schema))
        selects.append(
            f"SELECT %(_schema_{index})s::text, one.kind::text, "  # noqa: S608
            f"one.due_at::timestamptz FROM ({filled}) AS one"
        )
        values[f"_schema_{index}"] = schema
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_REPAIR_NOTE_SQL.format(found="\nUNION ALL\n".join(selects)), values)
        for kind, delay in reading.first_due.items():
            cursor.execute(
                _REPAIR_FIRST_DUE_SQL,
                [kind, list(schemas), [delay(schema) for schema in schemas]],
            )
