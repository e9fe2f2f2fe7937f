"""Periodic booking housekeeping (config/settings/base.py): beat sends the hold sweeper
into businesses with a hold due to lapse and the purge into businesses with idempotency
records past their retention (`accounts.run_where_due`). Safe to run concurrently and to
retry."""

from __future__ import annotations

from celery import shared_task

from apps.accounts.due_work import work_due_reschedule
from apps.bookings.audit import audit_actor
from apps.bookings.idempotency import idempotency_next_purge, idempotency_records_purge
from apps.bookings.selectors import holds_next_expiry
from apps.bookings.services import SWEEPER, holds_expire

# The kind of due work (apps/accounts/due_work.py) the sweeper does; the bookings table's
# trigger notes it (apps/notifications/migrations/0007).
HOLDS_WORK = "holds"
# The purge's kind: noted by the hourly backstop (apps/notifications/due_work.py) and
# rescheduled by the purge itself, never by the API's writes (no trigger on their path).
IDEMPOTENCY_WORK = "idempotency"


@shared_task(name="bookings.holds_expire")
def holds_expire_task(batch_size: int = 100) -> int:
    with audit_actor(SWEEPER):
        expired = holds_expire(batch_size=batch_size)
    # A full batch leaves lapsed holds behind: the next due time is then already past.
    work_due_reschedule(kind=HOLDS_WORK, next_due=holds_next_expiry)
    return expired


@shared_task(name="bookings.idempotency_purge")
def idempotency_purge_task() -> int:
    purged = idempotency_records_purge()
    work_due_reschedule(kind=IDEMPOTENCY_WORK, next_due=idempotency_next_purge)
    return purged
