"""Billing's periodic work (public schema): the daily standing check, and Stripe events
whose processing failed."""

from __future__ import annotations

from celery import shared_task

from apps.billing.services import tenants_lifecycle_check
from apps.billing.webhooks import stripe_events_retry


@shared_task(name="billing.lifecycle_check")
def lifecycle_check_task() -> dict[str, int]:
    return tenants_lifecycle_check()


@shared_task(name="billing.stripe_events_retry")
def stripe_events_retry_task() -> int:
    return stripe_events_retry()
