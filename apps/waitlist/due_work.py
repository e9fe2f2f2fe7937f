"""The backstop of the waitlist's due work (apps/accounts/due_work.py): once an hour, one
task reads in every ready business when its offer maker is next due (an unconsumed wake,
a live offer's end) and notes it. The wakes note themselves after their commit
(`services.waitlist_wake`); this catches a note lost between that commit and the note
(a process that died). One task reads the businesses fifty per statement
(`work_due_repair_batched`), two index reads each, and notes a due time only where the
table does not already show it or an earlier one."""

from __future__ import annotations

import logging

from apps.accounts.due_work import work_due_repair_batched
from apps.accounts.selectors import tenants_ready
from apps.waitlist.services import WAITLIST_WORK

logger = logging.getLogger(__name__)

_DUE_SQL = """
SELECT %(kind)s::text AS kind, least(
    (SELECT min(due_at) FROM {schema}.waitlist_waitlistwake),
    (SELECT min(expires_at) FROM {schema}.waitlist_waitlistoffer WHERE status = 'live')
) AS due_at
"""


def waitlist_work_due_repair() -> int:
    """Notes what is due in every ready business; returns how many were read."""
    read = work_due_repair_batched(
        select_sql=_DUE_SQL,
        params={"kind": WAITLIST_WORK},
        schemas=list(tenants_ready().values_list("schema_name", flat=True)),
        failed_event="waitlist.due_repair_failed",
    )
    logger.info("waitlist.due_repaired", extra={"tenants": read})
    return read
