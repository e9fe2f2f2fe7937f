"""Cached availability answers against writers on other connections (committed data):
a commit always retires the answers computed before it, even one a reader stores after
the commit from rows it read before."""

from __future__ import annotations

import datetime as dt
import threading
from functools import partial

import pytest
from django.db import connection, transaction

from apps.bookings.services import booking_hold
from apps.calendars.availability import selectors
from apps.calendars.availability.selectors import availability_slots
from apps.core.tenancy import use_tenant
from tests.bookings.factories import (
    CUSTOMER,
    ResourceFactory,
    ServiceFactory,
    customer,
    future_start,
    slots_create,
)
from tests.bookings.races import race

pytestmark = pytest.mark.slow


def _starts(service, resource, day) -> list[dt.datetime]:
    return [
        slot.start for slot in availability_slots(service=service, resource=resource, day=day).slots
    ]


def _catalogue():
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource])
    start = future_start(days=4, hour=11)
    slots_create(resource=resource, starts_at=start, count=4)
    return service, resource, start, start.date()


def test_a_hold_committed_on_another_connection_retires_the_cached_answer(committed):
    # given: the answer is cached
    service, resource, start, day = _catalogue()
    assert start in _starts(service, resource, day)

    # when: another connection holds the start
    held = race(
        committed,
        [
            partial(
                booking_hold,
                service=service,
                resource=resource,
                starts_at=start,
                customer=customer("elsewhere"),
                actor=CUSTOMER,
            )
        ],
    )
    assert held.count() == 1

    # then
    assert start not in _starts(service, resource, day)


def test_an_answer_read_before_a_commit_and_stored_after_it_is_not_reused(committed, monkeypatch):
    # given: a writer that has locked the slots (and renewed the tokens) but not committed
    service, resource, start, day = _catalogue()
    locked, release, done = threading.Event(), threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            use_tenant(committed)
            with transaction.atomic():
                booking_hold(
                    service=service,
                    resource=resource,
                    starts_at=start,
                    customer=customer("slow-writer"),
                    actor=CUSTOMER,
                )
                locked.set()
                release.wait(timeout=30)
        except BaseException as exc:
            failures.append(exc)
            locked.set()
        finally:
            connection.close()
            done.set()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    assert locked.wait(timeout=30)

    # when: a reader reads the rows before the commit and stores its answer after it
    compute = selectors._compute

    def compute_then_let_the_writer_commit(**kwargs):
        computed = compute(**kwargs)
        release.set()
        assert done.wait(timeout=30)
        return computed

    monkeypatch.setattr(selectors, "_compute", compute_then_let_the_writer_commit)
    stale = _starts(service, resource, day)
    monkeypatch.undo()
    thread.join(timeout=30)
    assert not failures
    assert start in stale, "the reader did not see the uncommitted hold"

    # then: the next read does not reuse that answer
    assert start not in _starts(service, resource, day)
