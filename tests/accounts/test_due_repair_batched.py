"""The hourly backstops read the businesses a batch per statement
(apps/accounts/due_work.py, `work_due_repair_batched`): each business of a batch gets
its due times noted, a time already noted as early is left alone (no row lock taken),
and a business that cannot be read fails alone."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from apps.accounts import due_work
from apps.accounts.due_work import work_due_at
from apps.accounts.models import Tenant, TenantWorkDue
from apps.accounts.selectors import tenants_ready
from apps.bookings.models import Booking
from apps.bookings.tasks import HOLDS_WORK
from apps.calendars.grid.services import upkeep_offset
from apps.notifications.due_work import work_due_repair
from apps.notifications.models import Notification
from apps.waitlist.due_work import waitlist_work_due_repair
from tests.accounts.test_due_work import _message as message_due
from tests.notifications.factories import BookingFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def _held(expires_at: datetime) -> Booking:
    return BookingFactory.create(
        customer=CustomerFactory.create(),
        status=Booking.Status.HELD,
        hold_expires_at=expires_at,
    )


def _message(at: datetime) -> Notification:
    return message_due(BookingFactory.create(customer=CustomerFactory.create()), at)


def _forget(*schemas: str) -> None:
    TenantWorkDue.objects.filter(schema_name__in=schemas).delete()


def _row_locked(schema: str, kind: str) -> bool:
    """Whether this transaction has locked (or updated) the row: a row lock writes the
    locker into the row's xmax, which is 0 on a row only ever inserted."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xmax::text <> '0' FROM public.accounts_tenantworkdue "
            "WHERE schema_name = %s AND kind = %s",
            [schema, kind],
        )
        return bool(cursor.fetchone()[0])


def _statements(queries: CaptureQueriesContext, marker: str) -> int:
    return sum(marker in query["sql"] for query in queries.captured_queries)


def test_each_business_of_a_batch_gets_its_due_times_noted_by_one_statement(acme, globex):
    # given a lapsing hold in each of two businesses, written as if without the trigger
    acme_hold = _held(timezone.now() + timedelta(minutes=9))
    with tenant_context(globex):
        globex_hold = _held(timezone.now() + timedelta(minutes=7))
    _forget("t_acme", "t_globex")

    # when the backstop reads every business
    with schema_context("public"), CaptureQueriesContext(connection) as queries:
        read = work_due_repair()

    # then both are noted by the one batch's statement, the upkeep made due in both
    assert read == tenants_ready().count()
    assert _statements(queries, "tenant_work_due_note(") == 1
    assert work_due_at(kind=HOLDS_WORK, schema="t_acme") == acme_hold.hold_expires_at
    assert work_due_at(kind=HOLDS_WORK, schema="t_globex") == globex_hold.hold_expires_at
    for schema in ("t_acme", "t_globex"):
        upkeep = work_due_at(kind="materialize", schema=schema)
        assert upkeep is not None
        assert upkeep <= timezone.now() + upkeep_offset(schema)


def test_a_time_noted_as_early_is_left_unlocked_and_a_later_one_moved_earlier(acme):
    # given a hold noted earlier than it lapses, a message noted later than it is due
    now = timezone.now()
    _held(now + timedelta(minutes=30))
    message = _message(now + timedelta(minutes=20))
    _forget("t_acme")
    with schema_context("public"):
        TenantWorkDue.objects.create(schema_name="t_acme", kind=HOLDS_WORK, due_at=now)
        TenantWorkDue.objects.create(
            schema_name="t_acme", kind="messages", due_at=now + timedelta(hours=1)
        )

        # when the backstop reads every business
        work_due_repair()

        # then the earlier time stands, without a row lock taken on it
        assert work_due_at(kind=HOLDS_WORK, schema="t_acme") == now
        assert not _row_locked("t_acme", HOLDS_WORK)
        # the later one is moved to the message's
        assert work_due_at(kind="messages", schema="t_acme") == message.next_attempt_at
        # and nothing is noted where nothing is due
        assert not TenantWorkDue.objects.filter(
            schema_name="t_acme", kind__in=["webhooks", "refunds", "webhook-events"]
        ).exists()


def test_a_business_without_tables_fails_alone_and_is_logged(acme, globex, caplog):
    # given a ready business whose schema has no tables yet (mid-migration), in the same
    # batch as two whose holds were written as if without the trigger
    acme_hold = _held(timezone.now() + timedelta(minutes=9))
    with tenant_context(globex):
        globex_hold = _held(timezone.now() + timedelta(minutes=7))
    _forget("t_acme", "t_globex")
    with schema_context("public"):
        with connection.cursor() as cursor:
            cursor.execute('CREATE SCHEMA "t_due_broken"')
        Tenant.objects.bulk_create(
            [Tenant(slug="due-broken", name="Broken", schema_name="t_due_broken", is_ready=True)]
        )
        ready = tenants_ready().count()

        # when both backstops read every business
        with caplog.at_level(logging.ERROR):
            read = work_due_repair()
            waitlist_read = waitlist_work_due_repair()

    # then every other business is read and noted, and the broken one is logged
    assert read == waitlist_read == ready - 1
    assert work_due_at(kind=HOLDS_WORK, schema="t_acme") == acme_hold.hold_expires_at
    assert work_due_at(kind=HOLDS_WORK, schema="t_globex") == globex_hold.hold_expires_at
    assert work_due_at(kind="materialize", schema="t_due_broken") is None
    failed = [
        (record.getMessage(), getattr(record, "schema", None))
        for record in caplog.records
        if record.levelno == logging.ERROR
    ]
    assert failed == [
        ("due_work.repair_failed", "t_due_broken"),
        ("waitlist.due_repair_failed", "t_due_broken"),
    ]


def test_the_backstops_run_a_statement_per_batch_not_per_business(acme, globex, monkeypatch):
    # given two businesses or more, two per batch
    monkeypatch.setattr(due_work, "REPAIR_SCHEMAS_PER_STATEMENT", 2)
    with schema_context("public"):
        businesses = tenants_ready().count()
        assert businesses >= 2
        batches = math.ceil(businesses / 2)
        assert batches < businesses

        # when both backstops read every business
        with CaptureQueriesContext(connection) as queries:
            assert work_due_repair() == businesses
            assert waitlist_work_due_repair() == businesses

    # then each batch is one statement of notes per backstop and one upkeep insert
    assert _statements(queries, "tenant_work_due_note(") == 2 * batches
    assert _statements(queries, "unnest(") == batches
    assert _statements(queries, 'FROM "t_acme".') == 2
