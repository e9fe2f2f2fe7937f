"""The directory's refresh outbox (DirectoryRefresh rows, public schema) as the engine
in apps/notifications/outbox.py sees it."""

from __future__ import annotations

from apps.directory.index.models import DirectoryRefresh
from apps.notifications.outbox import OutboxKind

DIRECTORY_OUTBOX = OutboxKind(
    model=DirectoryRefresh,
    send_task="directory.refresh",
    row_event="directory_refresh",
    rows_event="directory_refreshes",
    id_field="refresh_id",
    retry_base_setting="DIRECTORY_REFRESH_RETRY_BASE_SECONDS",
    retry_max_setting="DIRECTORY_REFRESH_RETRY_MAX_SECONDS",
    lease_setting="DIRECTORY_REFRESH_LEASE_SECONDS",
    redispatch_setting="DIRECTORY_REFRESH_REDISPATCH_SECONDS",
    dispatch_batch_setting="DIRECTORY_REFRESH_DISPATCH_BATCH",
)
