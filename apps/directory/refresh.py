"""Keeping the index current: refresh requests (the outbox rows), their delivery, and
the repair of drift.

- A tenant-side change calls `directory_refresh_request` inside its own transaction: an
  upsert of the business's one pending `DirectoryRefresh` row (public schema, same
  connection, same transaction), so the request exists if and only if the change
  commits. A listing change is due at once, moves a waiting row earlier and is handed
  to a worker on commit; slot and catalogue changes are due
  DIRECTORY_REFRESH_DEBOUNCE_SECONDS later, and every change meanwhile folds into that
  row (debounced: one rebuild per burst), only share-locking it, so bookings of one
  business do not queue behind each other.
- `directory_dispatch_due` (beat, public) recovers rows whose worker died and queues
  the due ones; `directory_refresh_run` (the worker) claims a row once, rebuilds the
  business's rows (apps/directory/indexing.py) and settles it, retrying with backoff. A
  failed or lost row whose business has a newer pending row is settled as superseded
  (the newer row's rebuild covers it; the unique index allows one pending row).
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
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant
from apps.core.ids import uuid7
from apps.directory.index.models import DirectoryEntry, DirectoryRefresh
from apps.directory.indexing import (
    SERVING_STATUSES,
    directory_index_rebuild,
    directory_tenant_lock,
)
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

_INSERT = """
    INSERT INTO {table} AS r (
        id, tenant_id, reason, status, status_reason, attempts, last_error,
        next_attempt_at, created_at, updated_at
    ) VALUES (%s, %s, %s, 'pending', '', 0, '', %s, %s, %s)
    ON CONFLICT (tenant_id) WHERE status = 'pending'
"""
# Due now: the pending row is moved earlier (its row lock is held to commit; rare).
_IMMEDIATE = """
    DO UPDATE SET next_attempt_at = LEAST(r.next_attempt_at, EXCLUDED.next_attempt_at),
                  reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at
    RETURNING id, next_attempt_at
"""
# Debounced (every booking of a listed business): the pending row already covers the
# change. It is only share-locked to commit, so bookings of one business never wait for
# each other, while a worker's claim (an UPDATE) waits for them: the rebuild it starts
# sees their changes.
_DELAYED = "DO NOTHING RETURNING id, next_attempt_at"
_PENDING_SHARED = """
    SELECT id, next_attempt_at FROM {table}
    WHERE tenant_id = %s AND status = 'pending' FOR SHARE
"""


def directory_refresh_request(
    *, tenant_id: UUID, reason: str, debounce: bool, now: datetime | None = None
) -> UUID:
    """Asks for the business's index rows to be rebuilt: now (`debounce=False`: the
    worker gets it on commit) or after the debounce interval. Returns the outbox row."""
    now = now or timezone.now()
    delay = settings.DIRECTORY_REFRESH_DEBOUNCE_SECONDS if debounce else 0
    table = connection.ops.quote_name(DirectoryRefresh._meta.db_table)
    values: list[Any] = [uuid7(), tenant_id, reason[:64], now + timedelta(seconds=delay), now, now]
    with connection.cursor() as cursor:
        found = None
        for _ in range(3 if debounce else 0):
            cursor.execute(_INSERT.format(table=table) + _DELAYED, values)
            found = cursor.fetchone()
            if found is not None:
                break
            # A pending row exists; none here means a worker claimed it meanwhile, and
            # the next insert makes a new one.
            cursor.execute(_PENDING_SHARED.format(table=table), [tenant_id])
            found = cursor.fetchone()
            if found is not None:
                break
        if found is None:
            cursor.execute(_INSERT.format(table=table) + _IMMEDIATE, values)
            found = cursor.fetchone()
        assert found is not None  # DO UPDATE returns the row it wrote
        refresh_id, due = found
    if due <= now:
        outbox_enqueue_on_commit(DIRECTORY_OUTBOX, [refresh_id])
    return UUID(str(refresh_id))


def directory_entries_withdraw(*, tenant_id: UUID, resource_id: UUID | None = None) -> int:
    """Takes a business's rows (or one resource's) out of the index at once, in the
    caller's transaction: an opt-out is not left to a worker.

    Under the business's rebuild lock (held to the caller's commit): a rebuild that
    read the listing before the opt-out committed has committed its rows before this
    DELETE starts, so it sees them; one that starts later reads the opt-out."""
    directory_tenant_lock(tenant_id)
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
        _settle_failed(row, attempt=attempt, changes=changes)
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


SUPERSEDED = "superseded"


def _settle_failed(row: DirectoryRefresh, *, attempt: int, changes: dict[str, Any]) -> None:
    """Settles a failed attempt. A change that came in while it ran has its own pending
    row (one per business): that row's rebuild covers this one, so this row is done as
    superseded rather than pending a second time (which the unique index refuses)."""
    try:
        with transaction.atomic():
            outbox_settle(DIRECTORY_OUTBOX, row.pk, attempt=attempt, changes=changes)
    except IntegrityError:
        changes = changes | {
            "status": DirectoryRefresh.Status.DONE,
            "status_reason": SUPERSEDED,
            "next_attempt_at": row.next_attempt_at,
            "dispatched_at": row.dispatched_at,
        }
        outbox_settle(DIRECTORY_OUTBOX, row.pk, attempt=attempt, changes=changes)


def _recover(row: DirectoryRefresh, *, now: datetime) -> str:
    """Recovery of a row whose worker died: due again, failed after its last attempt,
    or done as superseded when a newer pending row of the business exists."""
    label = outbox_requeue_or_fail(
        row,
        max_attempts=int(settings.DIRECTORY_REFRESH_MAX_ATTEMPTS),
        now=now,
        lost="the worker stopped before the rebuild finished",
    )
    if row.status == DirectoryRefresh.Status.PENDING and (
        DirectoryRefresh.objects.filter(tenant_id=row.tenant_id, status=row.status)
        .exclude(pk=row.pk)
        .exists()
    ):
        row.status = DirectoryRefresh.Status.DONE
        row.status_reason = SUPERSEDED
        return SUPERSEDED
    return label


def directory_dispatch_due(*, now: datetime | None = None) -> int:
    """Beat: rows left running by a dead worker are due again (or failed after the last
    attempt), then every due row is handed to a worker."""
    now = now or timezone.now()
    try:
        outbox_recover_stale(
            DIRECTORY_OUTBOX,
            now=now,
            limit=REPAIR_BATCH,
            resolve=lambda row: _recover(row, now=now),
        )
    except IntegrityError:
        # A pending row committed between the check and the save: the next run sees it.
        # Due rows go out regardless.
        logger.warning("directory_refresh.recovery_conflict")
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
    # Only businesses that take bookings: a rebuild of a suspended one would drop the
    # rows it keeps for its reactivation (which asks for a rebuild itself).
    stale = list(
        DirectoryEntry.objects.filter(Q(next_free_at__lt=now) | Q(refreshed_at__lt=now - max_age))
        .filter(
            tenant__status__in=SERVING_STATUSES,
            tenant__is_ready=True,
            tenant__live_at__isnull=False,
        )
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
