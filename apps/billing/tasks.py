"""Billing's tasks: the daily standing check and Stripe events whose processing failed
(public schema), and closing the checkout of a hold that ended (its business's)."""

from __future__ import annotations

from celery import shared_task
from django_tenants.utils import schema_context

from apps.billing.booking_payments import booking_checkout_expire
from apps.billing.services import tenants_lifecycle_check
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
