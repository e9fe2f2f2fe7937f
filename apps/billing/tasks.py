"""Billing's tasks: the daily standing check and Stripe events whose processing failed
(public schema), and closing the checkout of a hold that ended, making a cancellation's
refund and the sweep of refunds still due (its business's)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from celery import shared_task
from django_tenants.utils import schema_context

from apps.accounts.due_work import work_due_reschedule
from apps.billing.booking_payments import booking_checkout_expire
from apps.billing.refunds import (
    REFUNDS_WORK,
    RefundChoice,
    RefundMode,
    booking_refund_due_make,
    booking_refund_on_cancel_decide_late,
    refunds_due_make,
    refunds_due_next,
)
from apps.billing.services import tenants_lifecycle_check
from apps.billing.stripe_api import PaymentsUnavailable
from apps.billing.webhooks import stripe_events_retry


@shared_task(name="billing.lifecycle_check")
def lifecycle_check_task() -> dict[str, int]:
    return tenants_lifecycle_check()


@shared_task(name="billing.stripe_events_retry")
def stripe_events_retry_task() -> int:
    return stripe_events_retry()


@shared_task(name="billing.booking_checkout_expire")
def booking_checkout_expire_task(schema: str, session_id: str, account_id: str) -> str:
    with schema_context(schema):
        return booking_checkout_expire(session_id=session_id, account_id=account_id)


# Stripe out of reach: tried again with backoff (the refund's idempotency key makes a
# repeat safe), for about a day; the sweep below also keeps trying.
@shared_task(
    name="billing.booking_refund_on_cancel",
    autoretry_for=(PaymentsUnavailable,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=30,
)
def booking_refund_on_cancel_task(
    schema: str,
    booking_id: str,
    refund_id: str = "",
    # Sent by releases that decided the refund in the task, not at cancel time.
    cancelled_at: str = "",
    mode: str = RefundMode.POLICY.value,
    amount: str = "",
    note: str = "",
) -> str:
    with schema_context(schema):
        if not refund_id:
            choice = RefundChoice(
                mode=RefundMode(mode), amount=Decimal(amount) if amount else None, note=note
            )
            due = booking_refund_on_cancel_decide_late(
                booking_id=booking_id,
                cancelled_at=datetime.fromisoformat(cancelled_at),
                choice=choice,
            )
            if due is None:
                return "nothing to refund"
            refund_id = str(due.pk)
        return booking_refund_due_make(refund_id=refund_id)


@shared_task(name="billing.refunds_due")
def refunds_due_task() -> int:
    """In a business whose refunds are due (accounts.run_where_due): refunds decided and
    not made; then when the next one is due."""
    made = refunds_due_make()
    work_due_reschedule(kind=REFUNDS_WORK, next_due=refunds_due_next)
    return made
