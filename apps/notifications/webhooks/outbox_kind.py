"""The webhook outbox (WebhookDelivery rows) as the engine in apps/notifications/outbox.py
sees it: its table, the task that makes one attempt, its log names and its settings."""

from __future__ import annotations

from apps.notifications.outbox import OutboxKind
from apps.notifications.webhooks.models import WebhookDelivery

WEBHOOK_OUTBOX = OutboxKind(
    model=WebhookDelivery,
    send_task="webhooks.send",
    row_event="webhook_delivery",
    rows_event="webhook_deliveries",
    id_field="delivery_id",
    retry_base_setting="WEBHOOK_RETRY_BASE_SECONDS",
    retry_max_setting="WEBHOOK_RETRY_MAX_SECONDS",
    lease_setting="WEBHOOK_SENDING_LEASE_SECONDS",
    redispatch_setting="WEBHOOK_REDISPATCH_SECONDS",
    dispatch_batch_setting="WEBHOOK_DISPATCH_BATCH",
    due_work="webhooks",
    # The delivery log shows when the last attempt started.
    claim_stamps=("last_attempt_at",),
)
