"""Periodic work goes only where it is due (apps/accounts/due_work.py): the tables note
their due times through triggers, beat claims due businesses, the work reschedules, and
a due time noted while the work reschedules is never lost."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from apps.accounts.due_work import (
    work_due_at,
    work_due_claim,
    work_due_reschedule,
)
from apps.accounts.models import Tenant, TenantWorkDue, User
from apps.accounts.services import tenant_create
from apps.accounts.tasks import run_where_due
from apps.bookings.models import Booking
from apps.bookings.selectors import holds_next_expiry
from apps.bookings.tasks import HOLDS_WORK, holds_expire_task
from apps.core.tenancy import use_public_schema, use_tenant
from apps.notifications.due_work import work_due_repair
from apps.notifications.messages.outbox_kind import MESSAGE_OUTBOX
from apps.notifications.models import Notification
from apps.notifications.outbox import outbox_next_due
from apps.notifications.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from apps.notifications.webhooks.tasks import dispatch_due as webhooks_dispatch_due
from config.celery import app
from tests.notifications.factories import (
    BookingFactory,
    CustomerFactory,
    ResourceFactory,
    ServiceFactory,
)
from tests.workers import running_worker, wait_for


@pytest.fixture(scope="module")
def due_tenant(django_db_setup: None, django_db_blocker: Any) -> Iterator[Tenant]:
    """A business of this module's own, whose rows are committed as they are written
    (threads and a worker read them) and which is dropped afterwards, rows and all."""
    slug = f"due-{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        owner = User.objects.get(email="owner@acme.test")
        tenant = tenant_create(slug=slug, name="Due work", owner=owner, timezone="UTC")
    yield tenant
    with django_db_blocker.unblock():
        use_public_schema()
        TenantWorkDue.objects.filter(schema_name=tenant.schema_name).delete()
        tenant.delete(force_drop=True)


@pytest.fixture
def committed(due_tenant: Tenant, django_db_blocker: Any) -> Iterator[Tenant]:
    with django_db_blocker.unblock():
        due_tenant.refresh_from_db()
        with tenant_context(due_tenant):
            yield due_tenant


def _forget(schema: str) -> None:
    TenantWorkDue.objects.filter(schema_name=schema).delete()


def _held(expires_at: datetime) -> Booking:
    return BookingFactory.create(
        customer=CustomerFactory.create(),
        status=Booking.Status.HELD,
        hold_expires_at=expires_at,
    )


def _message(booking: Booking, at: datetime) -> Notification:
    return Notification.objects.create(
        booking=booking,
        kind=Notification.Kind.REMINDER,
        channel="email",
        offset_minutes=60,
        scheduled_for=at,
        next_attempt_at=at,
    )


@pytest.mark.django_db
def test_a_hold_notes_the_sweeper_due_when_it_lapses_and_only_ever_earlier(acme):
    _forget("t_acme")
    now = timezone.now()

    first = _held(now + timedelta(minutes=10))
    assert work_due_at(kind=HOLDS_WORK) == first.hold_expires_at

    # a later hold does not push the due time back
    _held(now + timedelta(minutes=20))
    assert work_due_at(kind=HOLDS_WORK) == first.hold_expires_at

    # an earlier one brings it forward, as does an update of a hold's expiry
    earlier = _held(now + timedelta(minutes=5))
    assert work_due_at(kind=HOLDS_WORK) == earlier.hold_expires_at
    Booking.objects.filter(pk=first.pk).update(hold_expires_at=now + timedelta(minutes=1))
    assert work_due_at(kind=HOLDS_WORK) == now + timedelta(minutes=1)

    # a confirmed booking makes nothing due
    _forget("t_acme")
    BookingFactory(customer=CustomerFactory(), status=Booking.Status.CONFIRMED)
    assert work_due_at(kind=HOLDS_WORK) is None


@pytest.mark.django_db
def test_messages_and_deliveries_note_their_dispatcher_due(acme):
    _forget("t_acme")
    now = timezone.now()
    booking = BookingFactory(customer=CustomerFactory(), status=Booking.Status.CONFIRMED)

    reminder = _message(booking, now + timedelta(hours=3))
    assert work_due_at(kind="messages") == reminder.next_attempt_at

    # a message being sent is due again when its lease runs out (recovery)
    Notification.objects.filter(pk=reminder.pk).update(
        status="sending", lease_expires_at=now + timedelta(minutes=2)
    )
    assert work_due_at(kind="messages") == now + timedelta(minutes=2)

    endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.example.test/in",
        events=["booking.confirmed"],
        secret_encrypted="x",
        secret_hint="x",
    )
    event = WebhookEvent.objects.create(
        type="booking.confirmed", version=1, booking=booking, body_encrypted="x"
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        attempts_allowed=5,
        next_attempt_at=now + timedelta(seconds=30),
    )
    assert work_due_at(kind="webhooks") == delivery.next_attempt_at
    assert work_due_at(kind="holds") is None


@pytest.mark.django_db
def test_claim_returns_due_ready_businesses_pushes_them_a_lease_ahead_and_drops_the_gone(
    acme, globex, settings
):
    settings.TENANT_WORK_LEASE_SECONDS = 120
    now = timezone.now()
    TenantWorkDue.objects.filter(kind="test-kind").delete()
    TenantWorkDue.objects.create(schema_name="t_acme", kind="test-kind", due_at=now)
    TenantWorkDue.objects.create(
        schema_name="t_globex", kind="test-kind", due_at=now + timedelta(minutes=5)
    )
    TenantWorkDue.objects.create(schema_name="t_no_such_business", kind="test-kind", due_at=now)

    assert work_due_claim(kind="test-kind", now=now) == ["t_acme"]

    rows = dict(TenantWorkDue.objects.filter(kind="test-kind").values_list("schema_name", "due_at"))
    assert rows == {
        "t_acme": now + timedelta(seconds=120),
        "t_globex": now + timedelta(minutes=5),
    }
    # claimed again only once the lease has run out (a lost task is sent again)
    assert work_due_claim(kind="test-kind", now=now + timedelta(seconds=60)) == []
    assert work_due_claim(kind="test-kind", now=now + timedelta(seconds=121)) == ["t_acme"]


@pytest.mark.django_db
def test_claim_skips_a_business_that_is_not_ready(acme, settings):
    now = timezone.now()
    TenantWorkDue.objects.filter(kind="test-kind").delete()
    TenantWorkDue.objects.create(schema_name="t_acme", kind="test-kind", due_at=now)
    Tenant.objects.filter(schema_name="t_acme").update(is_ready=False)

    assert work_due_claim(kind="test-kind", now=now) == []
    assert TenantWorkDue.objects.get(kind="test-kind").due_at == now


@pytest.mark.django_db
def test_the_sweeper_reschedules_to_the_next_live_hold_or_clears(acme):
    _forget("t_acme")
    now = timezone.now()
    lapsed = _held(now - timedelta(minutes=1))
    later = _held(now + timedelta(minutes=7))

    assert holds_expire_task.delay().get() == 1

    lapsed.refresh_from_db()
    assert lapsed.status == Booking.Status.EXPIRED
    assert work_due_at(kind=HOLDS_WORK) == later.hold_expires_at

    Booking.objects.filter(pk=later.pk).update(status=Booking.Status.CONFIRMED)
    holds_expire_task.delay().get()
    assert work_due_at(kind=HOLDS_WORK) is None


@pytest.mark.django_db
def test_the_webhook_dispatcher_reschedules_to_the_next_delivery(acme):
    _forget("t_acme")
    assert webhooks_dispatch_due.delay().get() == 0
    assert work_due_at(kind="webhooks") is None


@pytest.mark.django_db
def test_next_due_of_a_message_queued_recently_waits_for_its_redispatch(acme, settings):
    settings.NOTIFICATION_REDISPATCH_SECONDS = 300
    now = timezone.now()
    booking = BookingFactory(customer=CustomerFactory(), status=Booking.Status.CONFIRMED)
    Notification.objects.all().delete()
    message = _message(booking, now - timedelta(seconds=5))
    assert outbox_next_due(MESSAGE_OUTBOX) == message.next_attempt_at

    Notification.objects.filter(pk=message.pk).update(dispatched_at=now)
    assert outbox_next_due(MESSAGE_OUTBOX) == now + timedelta(seconds=300)

    Notification.objects.filter(pk=message.pk).update(status="cancelled")
    assert outbox_next_due(MESSAGE_OUTBOX) is None


def _writer_waits_for_a_lock(timeout: float = 20.0) -> bool:
    """Whether another backend of this database waits for a lock (polled)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # (activity is read once per transaction unless the snapshot is cleared)
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone():
                return True
            time.sleep(0.02)
    return False


@pytest.mark.parametrize("noted_before", [None, -60], ids=["no-row", "row-due-earlier"])
def test_a_hold_made_while_the_sweeper_reschedules_is_not_lost(committed, noted_before):
    """The sweeper has locked its row and read its next due time when a customer's hold
    commits: the hold's trigger waits for the reschedule and notes its own expiry after
    it, instead of being overwritten by the sweeper's answer. With a row already due
    earlier, the trigger would otherwise see that older time and note nothing."""
    schema = connection.schema_name
    now = timezone.now()
    with schema_context("public"):
        _forget(schema)
        if noted_before is not None:
            TenantWorkDue.objects.create(
                schema_name=schema, kind=HOLDS_WORK, due_at=now + timedelta(seconds=noted_before)
            )
    expires = now + timedelta(minutes=10)
    # Everything but the booking row itself is made before the race.
    customer, service, resource = (
        CustomerFactory.create(),
        ServiceFactory.create(),
        ResourceFactory.create(),
    )
    finished = threading.Event()
    errors: list[BaseException] = []
    made: list[Booking] = []

    def customer_holds() -> None:
        try:
            use_tenant(committed)
            made.append(
                BookingFactory.create(
                    customer=customer,
                    service=service,
                    resource=resource,
                    status=Booking.Status.HELD,
                    hold_expires_at=expires,
                )
            )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()
            finished.set()

    writer = threading.Thread(target=customer_holds)
    waited: list[bool] = []

    def next_due_while_a_hold_commits() -> datetime | None:
        writer.start()
        # the writer's trigger waits for this transaction's lock
        waited.append(_writer_waits_for_a_lock())
        return None

    try:
        assert work_due_reschedule(kind=HOLDS_WORK, next_due=next_due_while_a_hold_commits) is None
        writer.join(timeout=30)
        assert not errors, errors
        assert finished.is_set()
        assert waited == [True], "the writer never waited for the reschedule's lock"
        assert work_due_at(kind=HOLDS_WORK) == expires
    finally:
        Booking.objects.filter(pk__in=[b.pk for b in made]).delete()


@pytest.mark.django_db
def test_the_hourly_repair_notes_what_the_triggers_did_not(acme):
    _forget("t_acme")
    held = _held(timezone.now() + timedelta(minutes=9))
    _forget("t_acme")  # as if the row had been written without the trigger
    assert work_due_at(kind=HOLDS_WORK) is None

    with schema_context("public"):
        assert work_due_repair() >= 2

    assert work_due_at(kind=HOLDS_WORK, schema="t_acme") == held.hold_expires_at


@pytest.mark.worker
def test_beat_sends_the_sweeper_only_where_a_hold_is_due(committed, tmp_path):
    schema = connection.schema_name
    # (it stays: its history is append-only; it goes with the module's business)
    lapsed = _held(timezone.now() - timedelta(minutes=1))
    later = timezone.now() + timedelta(hours=1)
    with schema_context("public"):
        TenantWorkDue.objects.filter(kind=HOLDS_WORK).exclude(schema_name=schema).update(
            due_at=later
        )
    default_queue = app.conf.task_default_queue
    with running_worker(tmp_path) as worker:
        app.conf.task_default_queue = worker.queue
        try:
            with schema_context("public"):
                sent = run_where_due(HOLDS_WORK, "bookings.holds_expire")
        finally:
            app.conf.task_default_queue = default_queue

        assert sent == 1

        def expired() -> bool:
            return Booking.objects.get(pk=lapsed.pk).status == Booking.Status.EXPIRED

        assert wait_for(expired, timeout=45), worker.log()
        # the worker noted the next live hold's expiry (none: the time is cleared)
        assert wait_for(
            lambda: work_due_at(kind=HOLDS_WORK, schema=schema) == holds_next_expiry(),
            timeout=10,
        )
