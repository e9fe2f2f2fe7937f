"""The message outbox (Notification rows) as the engine in apps/notifications/outbox.py
sees it: its table, the task that sends one message, its log names and its settings."""

from __future__ import annotations

from apps.notifications.models import Notification
from apps.notifications.outbox import OutboxKind

MESSAGE_OUTBOX = OutboxKind(
    model=Notification,
    send_task="notifications.send",
    row_event="notification",
    rows_event="notifications",
    id_field="notification_id",
    retry_base_setting="NOTIFICATION_RETRY_BASE_SECONDS",
    retry_max_setting="NOTIFICATION_RETRY_MAX_SECONDS",
    lease_setting="NOTIFICATION_SENDING_LEASE_SECONDS",
    redispatch_setting="NOTIFICATION_REDISPATCH_SECONDS",
    dispatch_batch_setting="NOTIFICATION_DISPATCH_BATCH",
    due_work="messages",
    # Recovery may find that the provider has the message: the row is then sent.
    recovery_fields=("sent_at",),
)
