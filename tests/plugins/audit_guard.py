"""Emptying audit tables in tests.

The database refuses UPDATE, DELETE and TRUNCATE on every audit trail (apps/audit/
migrations/0003 and the migrations after it), and pytest-django's flush after a
transactional test TRUNCATEs the public ones; tests that commit empty the business's
tables, booking history included. Triggers do not fire in a session that says it
replays changes as a replica (`session_replication_role`), which only a superuser may
say: the test role is one, the application's role in production is not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection, transaction


@contextlib.contextmanager
def audit_guard_lifted() -> Iterator[None]:
    """Inside: this transaction's statements fire no triggers (no audit guard, no
    foreign-key checks), so keep to the TRUNCATE that needs it."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        yield
        cursor.execute("SET LOCAL session_replication_role = origin")


def audit_guard_lift_for_session(lifted: bool) -> None:
    """For the flush that ends a transactional test: the flush runs in transactions of
    its own on this thread's connection (which is closed afterwards anyway)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET session_replication_role = {'replica' if lifted else 'DEFAULT'}")
