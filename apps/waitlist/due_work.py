"""The backstop of the waitlist's due work (apps/accounts/due_work.py): once an hour, one
task reads in every ready business when its offer maker is next due (an unconsumed wake,
a live offer's end) and notes it. The wakes note themselves after their commit
(`services.waitlist_wake`); this catches a note lost between that commit and the note
(a process that died). One task walks the businesses (two index reads each)."""

from __future__ import annotations

import logging

from django.db import connection

from apps.accounts.selectors import tenants_ready
from apps.waitlist.services import WAITLIST_WORK

logger = logging.getLogger(__name__)

_NOTE_SQL = """
SELECT public.tenant_work_due_note(%(schema)s, %(kind)s, least(
    (SELECT min(due_at) FROM {schema}.waitlist_waitlistwake),
    (SELECT min(expires_at) FROM {schema}.waitlist_waitlistoffer WHERE status = 'live')))
"""


def waitlist_work_due_repair() -> int:
    """Notes what is due in every ready business; returns how many were read."""
    read = 0
    for schema in tenants_ready().values_list("schema_name", flat=True):
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    _NOTE_SQL.format(schema=connection.ops.quote_name(schema)),
                    {"schema": schema, "kind": WAITLIST_WORK},
                )
            read += 1
        except Exception:  # one business's schema must not stop the others'
            logger.exception("waitlist.due_repair_failed", extra={"schema": schema})
    logger.info("waitlist.due_repaired", extra={"tenants": read})
    return read
