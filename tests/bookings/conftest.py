"""Committed data for tests whose threads each open their own database connection.

The usual `acme` fixture runs a test inside a transaction that is rolled back, which
other connections never see. `committed` instead runs the test inside a tenant of its own
whose rows are committed as they are written; that tenant (schema and all) is dropped at
the end of the session, so nothing is left behind and no other test sees its rows.
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from apps.accounts.models import Tenant, User
from apps.accounts.services import tenant_create
from apps.core.errors import DomainError
from apps.core.tenancy import use_public_schema, use_tenant


@pytest.fixture(scope="session")
def committed_tenant(django_db_setup: None, django_db_blocker: Any) -> Iterator[Tenant]:
    slug = f"book-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        owner = User.objects.create_user(email=f"owner@{slug}.test")
        tenant = tenant_create(slug=slug, name="Booking races", owner=owner, timezone="UTC")
    yield tenant
    with django_db_blocker.unblock():
        use_public_schema()
        tenant.delete(force_drop=True)
        # Not `owner.delete()`: its collector would visit tenant tables (resources keep
        # a user id) from the public schema.
        User.objects.filter(pk=owner.pk)._raw_delete(using=connection.alias)


@pytest.fixture
def committed(committed_tenant: Tenant, django_db_blocker: Any) -> Iterator[Tenant]:
    """Runs the test inside the committed tenant, in autocommit mode."""
    with django_db_blocker.unblock():
        committed_tenant.refresh_from_db()
        with tenant_context(committed_tenant):
            yield committed_tenant


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
