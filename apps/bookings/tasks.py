"""Periodic booking housekeeping; beat runs both in every tenant through
`accounts.run_in_every_tenant` (config/settings/base.py). Safe to run concurrently and
to retry."""

from __future__ import annotations

from celery import shared_task

from apps.bookings.audit import audit_actor
from apps.bookings.idempotency import idempotency_records_purge
from apps.bookings.services import SWEEPER, holds_expire


@shared_task(name="bookings.holds_expire")
def holds_expire_task(batch_size: int = 100) -> int:
    with audit_actor(SWEEPER):
        return holds_expire(batch_size=batch_size)


@shared_task(name="bookings.idempotency_purge")
def idempotency_purge_task() -> int:
    return idempotency_records_purge()
