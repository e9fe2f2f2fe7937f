"""Races: calls started at once, each in its own thread with its own connection, and what
came of each."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from apps.accounts.models import Tenant
from apps.core.errors import DomainError
from apps.core.tenancy import use_tenant


@dataclass
class Outcome:
    value: Any = None
    error: DomainError | None = None
    crash: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.crash is None

    @property
    def code(self) -> str | None:
        return self.error.code if self.error else None


@dataclass
class Race:
    outcomes: list[Outcome]
    seconds: float  # from the moment every thread was ready until the last one finished

    def count(self, code: str | None = None) -> int:
        if code is None:
            return sum(1 for outcome in self.outcomes if outcome.ok)
        return sum(1 for outcome in self.outcomes if outcome.code == code)

    @property
    def crashes(self) -> list[BaseException]:
        return [outcome.crash for outcome in self.outcomes if outcome.crash is not None]


def race(tenant: Tenant, calls: Sequence[Callable[[], Any]]) -> Race:
    """Runs every call at once, each in its own thread with its own connection (opened
    and used once before the start line, like a server's persistent connections, so
    connecting is not part of the race)."""
    outcomes = [Outcome() for _ in calls]
    started: list[float] = []
    barrier = threading.Barrier(len(calls), action=lambda: started.append(time.perf_counter()))

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            use_tenant(tenant)
            with connection.cursor() as cursor:  # connected and on the tenant's schema
                cursor.execute("SELECT 1")
            barrier.wait(timeout=60)
            outcomes[index].value = call()
        except DomainError as exc:
            outcomes[index].error = exc
        except BaseException as exc:
            outcomes[index].crash = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, call), daemon=True)
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    finished = time.perf_counter()
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    return Race(outcomes=outcomes, seconds=finished - started[0] if started else 0.0)


def measurement(message: str) -> None:
    """Shows a measured number in the test output (visible with `pytest -s`)."""
    print(message, file=sys.stderr)  # noqa: T201 - reporting the measurement is the point
