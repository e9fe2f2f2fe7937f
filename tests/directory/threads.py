"""Two transactions on two connections, interleaved on purpose: one runs in a thread,
and the test waits until that thread has finished or is waiting for a lock the other
holds (PostgreSQL says so in pg_stat_activity), never for a length of time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from apps.accounts.models import Tenant
from apps.core.tenancy import use_tenant

WAIT_LIMIT_SECONDS = 30


@dataclass
class Side:
    """A call running in its own thread and connection, in `tenant`'s schema."""

    thread: threading.Thread
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    crash: BaseException | None = None

    def join(self) -> Any:
        self.thread.join(timeout=WAIT_LIMIT_SECONDS)
        assert not self.thread.is_alive(), "the other transaction never finished"
        if self.crash is not None:
            raise self.crash
        return self.value


def side_start(tenant: Tenant, call: Callable[[], Any]) -> Side:
    side = Side(thread=threading.Thread(target=lambda: None))

    def run() -> None:
        try:
            use_tenant(tenant)
            side.value = call()
        except BaseException as exc:
            side.crash = exc
        finally:
            side.done.set()
            connection.close()

    side.thread = threading.Thread(target=run, daemon=True)
    side.thread.start()
    return side


def lock_waiters() -> int:
    """Sessions of this test database waiting for a lock now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def finished_or_blocked(side: Side) -> bool:
    """Waits until `side` finished (True) or waits for a lock (False)."""
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while time.monotonic() < deadline:
        if side.done.wait(0.02):
            return True
        if lock_waiters():
            return False
    raise AssertionError("the other transaction neither finished nor waited for a lock")
