"""The backstop of due work (apps/accounts/due_work.py): once an hour, one task reads what
is due in every ready business and notes it, as the triggers would have.

The triggers note every write, so in normal running this changes nothing. It catches
what they cannot see: a business whose schema has not reached the triggers' migration
yet during a long deploy, rows restored from an archive (loaded before the triggers
exist), a due time lost to anything unforeseen. It is also how work without a trigger
becomes due: idempotency records and webhook events past their retention (no trigger on
the API's writes), and a new business's daily grid upkeep. One task reads the businesses
fifty per statement (`work_due_repair_batched`): six index reads each, and a
due time is noted only where the table does not already show it or an earlier one; one
more statement per batch makes the upkeep due where it has never been."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings

from apps.accounts.due_work import work_due_repair_batched
from apps.accounts.selectors import tenants_ready
from apps.bookings.idempotency import RETENTION as IDEMPOTENCY_RETENTION
from apps.bookings.payments import REFUND_DUE_GRACE
from apps.calendars.grid.services import upkeep_offset

logger = logging.getLogger(__name__)

# Per business: the next lapse of a live hold, the next message and the next webhook
# delivery to send (or whose sending lease runs out), the next refund past its grace, the
# next idempotency record and webhook event past their retention. One row per business,
# turned into one (kind, due_at) row per kind: a UNION ALL per kind would give the
# planner six times as many branches to plan per statement.
_DUE_SQL = """
SELECT v.kind, v.due_at FROM (SELECT
    (SELECT min(hold_expires_at) FROM {schema}.bookings_booking
     WHERE status = 'held') AS holds,
    (SELECT min(CASE status WHEN 'sending' THEN lease_expires_at ELSE next_attempt_at END)
     FROM {schema}.notifications_notification
     WHERE status IN ('pending', 'sending')) AS messages,
    (SELECT min(CASE status WHEN 'sending' THEN lease_expires_at ELSE next_attempt_at END)
     FROM {schema}.notifications_webhookdelivery
     WHERE status IN ('pending', 'sending')) AS webhooks,
    (SELECT min(created_at) + %(refund_grace)s FROM {schema}.bookings_payment
     WHERE kind = 'refund' AND status = 'due') AS refunds,
    (SELECT min(created_at) + %(idempotency_retention)s
     FROM {schema}.bookings_idempotencyrecord) AS idempotency,
    (SELECT e.created_at + %(webhook_retention)s FROM {schema}.notifications_webhookevent e
     WHERE NOT EXISTS (
         SELECT 1 FROM {schema}.notifications_webhookdelivery d
         WHERE d.event_id = e.id AND d.status IN ('pending', 'sending'))
     ORDER BY e.created_at LIMIT 1) AS webhook_events
) AS due
CROSS JOIN LATERAL (VALUES
    ('holds', due.holds),
    ('messages', due.messages),
    ('webhooks', due.webhooks),
    ('refunds', due.refunds),
    ('idempotency', due.idempotency),
    ('webhook-events', due.webhook_events)
) AS v(kind, due_at)
"""


def work_due_repair() -> int:
    """Notes what is due in every ready business; returns how many were read."""
    params: dict[str, Any] = {
        "refund_grace": REFUND_DUE_GRACE,
        "idempotency_retention": IDEMPOTENCY_RETENTION,
        "webhook_retention": timedelta(days=int(settings.WEBHOOK_RETENTION_DAYS)),
    }
    read = work_due_repair_batched(
        select_sql=_DUE_SQL,
        params=params,
        schemas=list(tenants_ready().values_list("schema_name", flat=True)),
        failed_event="due_work.repair_failed",
        # a new business's first daily grid upkeep, at its place in the spread
        first_due={"materialize": upkeep_offset},
    )
    logger.info("due_work.repaired", extra={"tenants": read})
    return read
