"""Keeping the index current: refresh requests (the outbox rows), their delivery, and
the repair of drift.

- A tenant-side change calls `directory_refresh_request` inside its own transaction: an
  upsert of the business's one pending `DirectoryRefresh` row (public schema, same
  connection, same transaction), so the request exists if and only if the change
  commits. A listing change is due at once and handed to a worker on commit; slot and
  catalogue changes are due DIRECTORY_REFRESH_DEBOUNCE_SECONDS later, and every change
  meanwhile folds into that row (debounced: one rebuild per burst).
- `directory_dispatch_due` (beat, public) recovers rows whose worker died and queues
  the due ones; `directory_refresh_run` (the worker) claims a row once, rebuilds the
  business's rows (apps/directory/indexing.py) and settles it, retrying with backoff.
- `directory_repair` (beat, public) works from the index itself, in proportion to what
  drifted: rows of closed businesses go, rows whose next free start has passed or that
  are older than DIRECTORY_MAX_AGE_HOURS are rebuilt, finished outbox rows are purged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant
from apps.core.ids import uuid7
from apps.directory.index.models import DirectoryEntry, DirectoryRefresh
from apps.directory.indexing import directory_index_rebuild
from apps.directory.outbox_kind import DIRECTORY_OUTBOX
from apps.notifications.outbox import (
    outbox_claim,
    outbox_dispatch,
    outbox_enqueue_on_commit,
    outbox_recover_stale,
    outbox_requeue_or_fail,
    outbox_retry_changes,
    outbox_settle,
)

logger = logging.getLogger(__name__)

FINISHED_ROWS_KEPT = timedelta(days=1)
REPAIR_BATCH = 500

_UPSERT = """
    INSERT INTO {table} AS r (
        id, tenant_id, reason, status, status_reason, attempts, last_error,
        next_attempt_at, created_at, updated_at
    ) VALUES (%s, %s, %s, 'pending', '', 0, '', %s, %s, %s)
    ON CONFLICT (tenant_id) WHERE status = 'pending'
    DO UPDATE SET next_attempt_at = LEAST(r.next_attempt_at, EXCLUDED.next_attempt_at),
                  reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at
    RETURNING id, next_attempt_at
"""


def directory_refresh_request(
    *, tenant_id: UUID, reason: str, debounce: bool, now: datetime | None = None
) -> UUID:
    """Asks for the business's index rows to be rebuilt: now (`debounce=False`: the
    worker gets it on commit) or after the debounce interval. Returns the outbox row."""
    now = now or timezone.now()
    delay = settings.DIRECTORY_REFRESH_DEBOUNCE_SECONDS if debounce else 0
    table = connection.ops.quote_name(DirectoryRefresh._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT.format(table=table),
            [uuid7(), tenant_id, reason[:64], now + timedelta(seconds=delay), now, now],
        )
        refresh_id, due = cursor.fetchone()
    if due <= now:
        outbox_enqueue_on_commit(DIRECTORY_OUTBOX, [refresh_id])
    return UUID(str(refresh_id))


def directory_entries_withdraw(*, tenant_id: UUID, resource_id: UUID | None = None) -> int:
    """Takes a business's rows (or one resource's) out of the index at once, in the
    caller's transaction: an opt-out is not left to a worker."""
    rows = DirectoryEntry.objects.filter(tenant_id=tenant_id)
    if resource_id is not None:
        rows = rows.filter(resource_id=resource_id)
    deleted, _ = rows.delete()
    return deleted


def directory_refresh_run(*, refresh_id: UUID | str) -> str:
    """The worker's side of one outbox row: claim, rebuild, settle. Safe to run twice:
    only one caller claims a row."""
    now = timezone.now()
    attempt = outbox_claim(DIRECTORY_OUTBOX, UUID(str(refresh_id)), now=now)
    if attempt is None:
        return "skipped"
    row = DirectoryRefresh.objects.select_related("tenant").get(pk=refresh_id)
    try:
        with tenant_context(row.tenant):
            count = directory_index_rebuild(tenant=row.tenant)
    except Exception as exc:  # settled below as a retry; the row says why
        finished = timezone.now()
        changes: dict[str, Any]
        if attempt >= int(settings.DIRECTORY_REFRESH_MAX_ATTEMPTS):
            changes = {"status": DirectoryRefresh.Status.FAILED, "status_reason": "gave_up"}
        else:
            changes = outbox_retry_changes(DIRECTORY_OUTBOX, attempt=attempt, at=finished)
        changes |= {
            "last_error": f"{exc.__class__.__name__}: {exc}"[:1000],
            "lease_expires_at": None,
            "updated_at": finished,
        }
        outbox_settle(DIRECTORY_OUTBOX, row.pk, attempt=attempt, changes=changes)
        logger.warning(
            "directory_refresh.failed",
            extra={"refresh_id": str(row.pk), "attempt": attempt, "error": str(exc)[:200]},
        )
        return "retry"
    outbox_settle(
        DIRECTORY_OUTBOX,
        row.pk,
        attempt=attempt,
        changes={
            "status": DirectoryRefresh.Status.DONE,
            "status_reason": f"{count} entries",
            "lease_expires_at": None,
            "updated_at": timezone.now(),
        },
    )
    return "done"


def directory_dispatch_due(*, now: datetime | None = None) -> int:
    """Beat: rows left running by a dead worker are due again (or failed after the last
    attempt), then every due row is handed to a worker."""
    now = now or timezone.now()
    lost = "the worker stopped before the rebuild finished"
    outbox_recover_stale(
        DIRECTORY_OUTBOX,
        now=now,
        limit=REPAIR_BATCH,
        resolve=lambda row: outbox_requeue_or_fail(
            row,
            max_attempts=int(settings.DIRECTORY_REFRESH_MAX_ATTEMPTS),
            now=now,
            lost=lost,
        ),
    )
    return len(outbox_dispatch(DIRECTORY_OUTBOX, now=now))


@dataclass(frozen=True)
class RepairResult:
    removed: int
    requested: int
    purged: int


def directory_repair(*, now: datetime | None = None, limit: int = REPAIR_BATCH) -> RepairResult:
    """Beat: mends the index from what it holds (see the module's docstring). A
    suspended business keeps its rows (searches leave it out) so they come back on
    reactivation; a closed one's rows go."""
    now = now or timezone.now()
    removed, _ = DirectoryEntry.objects.filter(
        Q(tenant__status=Tenant.Status.CLOSED) | Q(tenant__is_ready=False)
    ).delete()
    max_age = timedelta(hours=int(settings.DIRECTORY_MAX_AGE_HOURS))
    stale = list(
        DirectoryEntry.objects.filter(Q(next_free_at__lt=now) | Q(refreshed_at__lt=now - max_age))
        .exclude(tenant__status=Tenant.Status.CLOSED)
        .values_list("tenant_id", flat=True)
        .distinct()[:limit]
    )
    with transaction.atomic():
        for tenant_id in stale:
            directory_refresh_request(tenant_id=tenant_id, reason="repair", debounce=False, now=now)
    purged, _ = DirectoryRefresh.objects.filter(
        status__in=[DirectoryRefresh.Status.DONE, DirectoryRefresh.Status.FAILED],
        updated_at__lt=now - FINISHED_ROWS_KEPT,
    ).delete()
    result = RepairResult(removed=removed, requested=len(stale), purged=purged)
    if removed or stale or purged:
        logger.info("directory.repaired", extra=result.__dict__)
    return result
