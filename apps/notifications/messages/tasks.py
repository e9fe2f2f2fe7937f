"""Celery adapters of customer messages: each task takes ids, runs inside the tenant its
message names, and is safe to run twice."""

from __future__ import annotations

from celery import shared_task

from apps.accounts.due_work import work_due_reschedule
from apps.accounts.selectors import tenant_current
from apps.notifications.due_work import work_due_repair
from apps.notifications.messages.delivery import notification_send, notifications_recover_stale
from apps.notifications.messages.outbox_kind import MESSAGE_OUTBOX
from apps.notifications.messages.services import reminders_replan_for_tenant
from apps.notifications.outbox import outbox_dispatch, outbox_next_due


@shared_task(name="notifications.dispatch_due", ignore_result=True)
def dispatch_due() -> int:
    """Beat, every NOTIFICATION_DISPATCH_INTERVAL_SECONDS in every tenant with messages
    due (`accounts.run_where_due`): recover interrupted sends, then queue one send task
    per due notification, then note when messages are next due here."""
    notifications_recover_stale()
    queued = len(outbox_dispatch(MESSAGE_OUTBOX))
    work_due_reschedule(
        kind=MESSAGE_OUTBOX.due_work, next_due=lambda: outbox_next_due(MESSAGE_OUTBOX)
    )
    return queued


@shared_task(name="notifications.work_due_repair", ignore_result=True)
def work_due_repair_task() -> int:
    """Beat, hourly, in the public schema: notes due work the triggers could not see
    (apps/notifications/due_work.py)."""
    return work_due_repair()


@shared_task(name="notifications.send", ignore_result=True)
def send_notification(notification_id: str) -> str:
    return notification_send(notification_id=notification_id).value


@shared_task(name="notifications.replan_reminders", ignore_result=True)
def replan_reminders() -> int:
    """For the settings page: re-plan reminders after the tenant's offsets changed."""
    return reminders_replan_for_tenant(tenant=tenant_current()).planned
