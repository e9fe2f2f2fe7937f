"""The outbox engine: how a row written in a business transaction reaches a worker and is
sent exactly once. Two kinds of rows use it: customer messages (Notification, in
apps/notifications/messages/) and webhook deliveries (WebhookDelivery, in
apps/notifications/webhooks/). Each describes itself with an `OutboxKind`.

Life of a row: `pending` → (claimed) `sending` → the kind's final status; or back to
`pending` with a later `next_attempt_at` after a failed attempt. Both tables have the
columns this module reads and writes: status, attempts, next_attempt_at, dispatched_at,
lease_expires_at, status_reason, last_error, updated_at.

What the engine does the same way for both kinds:
- enqueue on commit: rows written for an immediate send are handed to the kind's send
  task (by name) once the transaction commits; an unreachable broker is logged, never
  raised, and the dispatcher picks the row up later;
- dispatch: due rows, in batches, are marked queued and handed to the send task; rows
  queued recently are left to the task already queued for them;
- claim: `UPDATE … SET status='sending' WHERE status='pending' AND next_attempt_at <= now`
  succeeds for one caller only, however many send tasks exist for the row;
- settle: an attempt moves its row on only while the row is still that attempt's claim;
- retry delay: BASE · 2^(n-1) after the n-th failed attempt, capped at MAX;
- recovery: rows left `sending` past their lease (the worker died mid-send) are locked
  and handed to the kind, which decides what each becomes.

What a row says, how it goes out and what an attempt leaves behind belong to the kind.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.task_queue import task_enqueue

logger = logging.getLogger(__name__)

# Both outbox tables spell these statuses alike (their models' Status choices).
PENDING = "pending"
SENDING = "sending"
FAILED = "failed"

# Written by every recovery, whatever the kind decided.
_RECOVERY_FIELDS = (
    "status",
    "status_reason",
    "last_error",
    "next_attempt_at",
    "dispatched_at",
    "lease_expires_at",
    "updated_at",
)


@dataclass(frozen=True)
class OutboxKind:
    """One outbox table as the engine sees it. Settings are named, not read, here: they
    are read when used, so a changed setting (tests, a worker's environment) applies."""

    model: type[models.Model]
    # The Celery task that sends one row, given its id (as a string).
    send_task: str
    # Log event prefixes: `<row_event>.enqueue_failed`, `<rows_event>.dispatched`.
    row_event: str
    rows_event: str
    # The log field that names one row.
    id_field: str
    retry_base_setting: str
    retry_max_setting: str
    lease_setting: str
    redispatch_setting: str
    dispatch_batch_setting: str
    # The kind of due work its rows make (apps/accounts/due_work.py): the table's
    # trigger notes it (apps/notifications/migrations/0007), the dispatcher reschedules.
    due_work: str = ""
    # Columns the claim also sets to the claim's time (a delivery's last_attempt_at).
    claim_stamps: tuple[str, ...] = ()
    # Columns a kind's recovery may change beside the ones every recovery writes.
    recovery_fields: tuple[str, ...] = ()

    def setting(self, name: str) -> int:
        return int(getattr(settings, name))


def outbox_retry_delay(kind: OutboxKind, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: BASE · 2^(n-1), capped at MAX."""
    base = kind.setting(kind.retry_base_setting)
    seconds = min(base * 2 ** max(attempts - 1, 0), kind.setting(kind.retry_max_setting))
    return timedelta(seconds=seconds)


def outbox_retry_changes(kind: OutboxKind, *, attempt: int, at: datetime) -> dict[str, Any]:
    """A failed attempt that will be retried: back to pending, due after its backoff, and
    up for dispatch again."""
    return {
        "status": PENDING,
        "status_reason": "retrying",
        "next_attempt_at": at + outbox_retry_delay(kind, attempt),
        "dispatched_at": None,
    }


def outbox_enqueue_on_commit(kind: OutboxKind, ids: Iterable[Any]) -> None:
    """Rows due now go to a worker as soon as the surrounding transaction commits; the
    dispatcher catches up (after the kind's re-dispatch interval) if the broker is out of
    reach. Nothing is sent for a transaction that rolls back."""
    ids = list(ids)
    if not ids:
        return

    def enqueue() -> None:
        for row_id in ids:
            try:
                task_enqueue(kind.send_task, str(row_id))
            except Exception:  # the change has committed; never fail its response
                logger.warning(
                    f"{kind.row_event}.enqueue_failed", extra={kind.id_field: str(row_id)}
                )

    transaction.on_commit(enqueue)


def outbox_dispatch_due(
    kind: OutboxKind, *, now: datetime | None = None, limit: int | None = None
) -> list[UUID]:
    """Claims up to `limit` due rows for queueing (rows queued recently are left to their
    task), marks them queued and returns their ids. Concurrent dispatchers skip each
    other's rows (SKIP LOCKED) instead of queueing them twice."""
    now = now or timezone.now()
    limit = limit or kind.setting(kind.dispatch_batch_setting)
    requeue_before = now - timedelta(seconds=kind.setting(kind.redispatch_setting))
    rows = kind.model._default_manager
    with transaction.atomic():
        ids = list(
            rows.select_for_update(skip_locked=True)
            .filter(status=PENDING, next_attempt_at__lte=now)
            .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lte=requeue_before))
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            rows.filter(pk__in=ids).update(dispatched_at=now)
    return ids


def outbox_dispatch(kind: OutboxKind, *, now: datetime | None = None) -> list[UUID]:
    """For the beat task: queues one send task per due row (see outbox_dispatch_due)."""
    ids = outbox_dispatch_due(kind, now=now)
    for row_id in ids:
        task_enqueue(kind.send_task, str(row_id))
    if ids:
        logger.info(f"{kind.rows_event}.dispatched", extra={"count": len(ids)})
    return ids


def outbox_next_due(kind: OutboxKind) -> datetime | None:
    """When the dispatcher next has something to do for this kind: a pending row's next
    attempt (not before its re-dispatch interval when it was queued recently), or a
    sending row's lease running out (recovery). None when no row is pending or sending."""
    table = connection.ops.quote_name(kind.model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(CASE WHEN status = 'sending' THEN lease_expires_at "  # noqa: S608
            "ELSE GREATEST(next_attempt_at, dispatched_at + %s * interval '1 second') END) "
            f"FROM {table} WHERE status IN ('pending', 'sending')",
            [kind.setting(kind.redispatch_setting)],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def outbox_claim(kind: OutboxKind, row_id: UUID, *, now: datetime) -> int | None:
    """pending → sending, for one caller only. Returns the attempt number, or None.

    One guarded UPDATE, not a read then a write: two workers that both loaded the row as
    pending race in the database, and the second finds it `sending` and changes nothing.
    The lease says when a row still `sending` belongs to a worker that died."""
    table = connection.ops.quote_name(kind.model._meta.db_table)
    lease = now + timedelta(seconds=kind.setting(kind.lease_setting))
    stamps = "".join(f"{connection.ops.quote_name(c)} = %s, " for c in kind.claim_stamps)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = 'sending', attempts = attempts + 1, "  # noqa: S608
            f"lease_expires_at = %s, {stamps}updated_at = %s "
            "WHERE id = %s AND status = 'pending' AND next_attempt_at <= %s "
            "RETURNING attempts",
            [lease, *[now] * len(kind.claim_stamps), now, row_id, now],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def outbox_settle(kind: OutboxKind, row_id: UUID, *, attempt: int, changes: dict[str, Any]) -> int:
    """Applies the outcome of attempt `attempt` to its row, unless recovery (or anything
    else) moved the row on meanwhile. Returns the number of rows changed (0 or 1)."""
    return kind.model._default_manager.filter(pk=row_id, status=SENDING, attempts=attempt).update(
        **changes
    )


def outbox_requeue_or_fail(row: Any, *, max_attempts: int, now: datetime, lost: str) -> str:
    """For a kind's recovery: a stale row that may be sent (again) is due now, or failed
    when that was its last attempt. Returns the label it is counted under."""
    exhausted = row.attempts >= max_attempts
    row.status = FAILED if exhausted else PENDING
    row.status_reason = "worker_lost" if exhausted else "recovered"
    row.last_error = lost
    row.next_attempt_at = now
    row.dispatched_at = None
    return "failed" if exhausted else "requeued"


def outbox_recover_stale(
    kind: OutboxKind, *, now: datetime, limit: int, resolve: Callable[[Any], str]
) -> Counter[str]:
    """Rows left `sending` past their lease by a worker that died mid-send: each is locked
    (SKIP LOCKED: concurrent recoveries take different rows), given its new status by
    `resolve` (which returns the label to count it under) and saved, its lease cleared.
    All in one transaction, so a row is resolved once."""
    outcomes: Counter[str] = Counter()
    with transaction.atomic():
        # Any: the kind's model, which has the outbox columns (see the module docstring).
        stale: list[Any] = list(
            kind.model._default_manager.select_for_update(skip_locked=True)
            .filter(status=SENDING, lease_expires_at__lt=now)
            .order_by("lease_expires_at")[:limit]
        )
        for row in stale:
            outcomes[resolve(row)] += 1
            row.lease_expires_at = None
            row.save(update_fields=[*_RECOVERY_FIELDS, *kind.recovery_fields])
    return outcomes
