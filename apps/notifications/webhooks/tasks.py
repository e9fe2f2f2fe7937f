"""Celery adapters of webhooks: each task takes ids, runs inside the tenant its message
names, and is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from apps.accounts.due_work import work_due_reschedule
from apps.accounts.selectors import tenant_current
from apps.notifications.outbox import outbox_dispatch, outbox_next_due
from apps.notifications.webhooks.delivery import (
    webhook_deliveries_recover_stale,
    webhook_delivery_send,
)
from apps.notifications.webhooks.notices import webhook_endpoint_disabled_notify
from apps.notifications.webhooks.outbox_kind import WEBHOOK_OUTBOX
from apps.notifications.webhooks.services import webhook_events_next_purge, webhook_events_purge


@shared_task(name="webhooks.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    """Beat, every WEBHOOK_DISPATCH_INTERVAL_SECONDS in every tenant with deliveries due
    (`accounts.run_where_due`): recover interrupted sends, then queue one send task per
    due delivery (first tries whose task was lost, retries whose backoff has passed),
    then note when deliveries are next due here."""
    webhook_deliveries_recover_stale()
    queued = len(outbox_dispatch(WEBHOOK_OUTBOX))
    work_due_reschedule(
        kind=WEBHOOK_OUTBOX.due_work, next_due=lambda: outbox_next_due(WEBHOOK_OUTBOX)
    )
    return queued


@shared_task(name="webhooks.send", ignore_result=True)
def send_webhook_delivery(delivery_id: str) -> str:
    return webhook_delivery_send(delivery_id=delivery_id).value


# The email may be retried; each retry re-reads the endpoint and skips it if enabled.
@shared_task(
    name="webhooks.endpoint_disabled_notice",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=60,
    max_retries=5,
)
def webhook_endpoint_disabled_notice(endpoint_id: str) -> int:
    return webhook_endpoint_disabled_notify(endpoint_id=endpoint_id, tenant=tenant_current())


# The purge's kind of due work (apps/accounts/due_work.py): noted by the hourly backstop
# (apps/notifications/due_work.py), rescheduled by the purge.
WEBHOOK_EVENTS_WORK = "webhook-events"


@shared_task(name="webhooks.purge", ignore_result=True)
def purge_old_events() -> int:
    """In a business with events past WEBHOOK_RETENTION_DAYS (accounts.run_where_due)."""
    purged = webhook_events_purge()
    work_due_reschedule(kind=WEBHOOK_EVENTS_WORK, next_due=webhook_events_next_purge)
    return purged
