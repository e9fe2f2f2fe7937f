"""The backstop of due work (apps/accounts/due_work.py): once an hour, one task reads what
is due in every ready business and notes it, as the triggers would have.

The triggers note every write, so in normal running this changes nothing. It catches
what they cannot see: a business whose schema has not reached the triggers' migration
yet during a long deploy, rows restored from an archive (loaded before the triggers
exist), a due time lost to anything unforeseen. One task walks the businesses (three
index reads each), not a task per business."""

from __future__ import annotations

import logging

from django.db import connection

from apps.accounts.selectors import tenants_ready

logger = logging.getLogger(__name__)

# Per business: the next lapse of a live hold, the next message and the next webhook
# delivery to send (or whose sending lease runs out), each noted only if earlier.
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
"""


def work_due_repair() -> int:
    """Notes what is due in every ready business; returns how many were read."""
    schemas = list(tenants_ready().values_list("schema_name", flat=True))
    read = 0
    for schema in schemas:
        try:
            with connection.cursor() as cursor:
                for statement in _NOTE_SQL.strip().split(";\n"):
                    cursor.execute(
                        statement.format(schema=connection.ops.quote_name(schema)),
                        {"schema": schema},
                    )
            read += 1
        except Exception:  # one business's schema must not stop the others'
            logger.exception("due_work.repair_failed", extra={"schema": schema})
    logger.info("due_work.repaired", extra={"tenants": read})
    return read
