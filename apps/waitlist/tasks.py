"""The offer maker's task: sent on commit by whatever freed a place, and by beat into
businesses whose waitlist work is due (`accounts.run_where_due`, kind "waitlist").
Idempotent and safe to run concurrently."""

from __future__ import annotations

from celery import shared_task

from apps.accounts.due_work import work_due_reschedule
from apps.bookings.audit import audit_actor
from apps.waitlist.due_work import waitlist_work_due_repair
from apps.waitlist.selectors import waitlist_next_due
from apps.waitlist.services import OFFER_ACTOR, WAITLIST_WORK, waitlist_offers_make


@shared_task(name="waitlist.offers_make")
def offers_make_task() -> int:
    with audit_actor(OFFER_ACTOR):
        made = waitlist_offers_make()
    work_due_reschedule(kind=WAITLIST_WORK, next_due=waitlist_next_due)
    return made


@shared_task(name="waitlist.work_due_repair", ignore_result=True)
def work_due_repair_task() -> int:
    """Beat, hourly, in the public schema: notes waitlist work whose note was lost
    (apps/waitlist/due_work.py)."""
    return waitlist_work_due_repair()
