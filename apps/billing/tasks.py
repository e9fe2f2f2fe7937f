"""Billing's tasks: the daily standing check and Stripe events whose processing failed
(public schema), and closing the checkout of a hold that ended (its business's)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from celery import shared_task
from django_tenants.utils import schema_context

from apps.accounts.models import Tenant
from apps.billing.booking_payments import booking_checkout_expire
from apps.billing.refunds import RefundChoice, RefundMode, booking_refund_on_cancel
from apps.billing.services import tenants_lifecycle_check
from apps.billing.stripe_api import PaymentsUnavailable
from apps.billing.webhooks import stripe_events_retry
from apps.bookings.models import Booking


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
# repeat safe), for about a day.
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
    cancelled_at: str,
    mode: str = RefundMode.POLICY.value,
    amount: str = "",
    note: str = "",
) -> str:
    choice = RefundChoice(
        mode=RefundMode(mode), amount=Decimal(amount) if amount else None, note=note
    )
    with schema_context(schema):
        tenant = Tenant.objects.get(schema_name=schema)
        booking = Booking.objects.select_related("service").get(pk=booking_id)
        return booking_refund_on_cancel(
            booking=booking,
            tenant=tenant,
            cancelled_at=datetime.fromisoformat(cancelled_at),
            choice=choice,
        )
