"""Celery adapters: each task takes ids, runs inside the tenant its message names, and is
safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from apps.accounts.selectors import tenant_current
from apps.notifications.delivery import (
    notification_send,
    notifications_dispatch_due,
    notifications_recover_stale,
)
from apps.notifications.services import reminders_replan_for_tenant

logger = logging.getLogger(__name__)


@shared_task(name="notifications.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    """Beat, every NOTIFICATION_DISPATCH_INTERVAL_SECONDS in every tenant: recover
    interrupted sends, then queue one send task per due notification."""
    notifications_recover_stale()
    ids = notifications_dispatch_due()
    for notification_id in ids:
        send_notification.delay(str(notification_id))
    if ids:
        logger.info("notifications.dispatched", extra={"count": len(ids)})
    return len(ids)


@shared_task(name="notifications.send", ignore_result=True)
def send_notification(notification_id: str) -> str:
    return notification_send(notification_id=notification_id).value


@shared_task(name="notifications.replan_reminders", ignore_result=True)
def replan_reminders() -> int:
    """For the settings page: re-plan reminders after the tenant's offsets changed."""
    return reminders_replan_for_tenant(tenant=tenant_current()).planned
