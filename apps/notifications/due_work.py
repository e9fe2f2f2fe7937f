"""The backstop of due work (apps/accounts/due_work.py): once an hour, one task reads what
is due in every ready business and notes it, as the triggers would have.

The triggers note every write, so in normal running this changes nothing. It catches
what they cannot see: a business whose schema has not reached the triggers' migration
yet during a long deploy, rows restored from an archive (loaded before the triggers
exist), a due time lost to anything unforeseen. It is also how work without a trigger
becomes due: idempotency records and webhook events past their retention (no trigger on
the API's writes), and a new business's daily grid upkeep. One task walks the businesses
(seven index reads each), not a task per business."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection

from apps.accounts.selectors import tenants_ready
from apps.bookings.idempotency import RETENTION as IDEMPOTENCY_RETENTION
from apps.bookings.payments import REFUND_DUE_GRACE
from apps.calendars.grid.services import upkeep_offset

logger = logging.getLogger(__name__)

# Per business: the next lapse of a live hold, the next message and the next webhook
# delivery to send (or whose sending lease runs out), the next refund past its grace, the
# next idempotency record and webhook event past their retention, each noted only if
# earlier; and the daily grid upkeep of a business that has never had it (a new one).
_NOTE_SQL = """
SELECT public.tenant_work_due_note(%(schema)s, 'holds', min(hold_expires_at))
FROM {schema}.bookings_booking WHERE status = 'held';
SELECT public.tenant_work_due_note(
    %(schema)s, 'messages',
    min(CASE status WHEN 'sending' THEN lease_expires_at ELSE next_attempt_at END))
FROM {schema}.notifications_notification WHERE status IN ('pending', 'sending');
SELECT public.tenant_work_due_note(
    %(schema)s, 'webhooks',
    min(CASE status WHEN 'sending' THEN lease_expires_at ELSE next_attempt_at END))
FROM {schema}.notifications_webhookdelivery WHERE status IN ('pending', 'sending');
SELECT public.tenant_work_due_note(
    %(schema)s, 'refunds', min(created_at) + %(refund_grace)s)
FROM {schema}.bookings_payment WHERE kind = 'refund' AND status = 'due';
SELECT public.tenant_work_due_note(
    %(schema)s, 'idempotency', min(created_at) + %(idempotency_retention)s)
FROM {schema}.bookings_idempotencyrecord;
SELECT public.tenant_work_due_note(
    %(schema)s, 'webhook-events',
    (SELECT e.created_at FROM {schema}.notifications_webhookevent e
     WHERE NOT EXISTS (
         SELECT 1 FROM {schema}.notifications_webhookdelivery d
         WHERE d.event_id = e.id AND d.status IN ('pending', 'sending'))
     ORDER BY e.created_at LIMIT 1) + %(webhook_retention)s);
INSERT INTO public.accounts_tenantworkdue (schema_name, kind, due_at)
VALUES (%(schema)s, 'materialize', now() + %(upkeep_offset)s)
ON CONFLICT (schema_name, kind) DO NOTHING;
"""


def work_due_repair() -> int:
    """Notes what is due in every ready business; returns how many were read."""
    schemas = list(tenants_ready().values_list("schema_name", flat=True))
    intervals: dict[str, Any] = {
        "refund_grace": REFUND_DUE_GRACE,
        "idempotency_retention": IDEMPOTENCY_RETENTION,
        "webhook_retention": timedelta(days=int(settings.WEBHOOK_RETENTION_DAYS)),
    }
    read = 0
    for schema in schemas:
        try:
            params: dict[str, Any] = {
                "schema": schema,
                "upkeep_offset": upkeep_offset(schema),
                **intervals,
            }
            with connection.cursor() as cursor:
                for statement in _NOTE_SQL.strip().split(";\n"):
                    cursor.execute(
                        statement.format(schema=connection.ops.quote_name(schema)), params
                    )
            read += 1
        except SoftTimeLimitExceeded:
            raise  # the task's time is up: stop here (the next run starts from the first)
        except Exception:  # one business's schema must not stop the others'
            logger.exception("due_work.repair_failed", extra={"schema": schema})
    logger.info("due_work.repaired", extra={"tenants": read})
    return read
