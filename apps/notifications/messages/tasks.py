"""Celery adapters of customer messages: each task takes ids, runs inside the tenant its
message names, and is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from apps.accounts.selectors import tenant_current
from apps.notifications.messages.delivery import notification_send, notifications_recover_stale
from apps.notifications.messages.outbox_kind import MESSAGE_OUTBOX
from apps.notifications.messages.services import reminders_replan_for_tenant
from apps.notifications.outbox import outbox_dispatch


@shared_task(name="notifications.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    """Beat, every NOTIFICATION_DISPATCH_INTERVAL_SECONDS in every tenant: recover
    interrupted sends, then queue one send task per due notification."""
    notifications_recover_stale()
    return len(outbox_dispatch(MESSAGE_OUTBOX))


@shared_task(name="notifications.send", ignore_result=True)
def send_notification(notification_id: str) -> str:
    return notification_send(notification_id=notification_id).value


@shared_task(name="notifications.replan_reminders", ignore_result=True)
def replan_reminders() -> int:
    """For the settings page: re-plan reminders after the tenant's offsets changed."""
    return reminders_replan_for_tenant(tenant=tenant_current()).planned
