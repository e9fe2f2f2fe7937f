"""Every periodic task that works inside a business is sent only where its work is due
(apps/accounts/due_work.py), so an idle business costs no task at any tick: refunds are
noted due by the payments table's trigger, idempotency records and webhook events past
their retention by the hourly backstop and the purges themselves, and the grid upkeep is
due once a day, just after a location's local midnight."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from decimal import Decimal
from typing import cast

import pytest
from django.conf import settings
from django.db.models import Model
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts import tasks as tasks_module
from apps.accounts.due_work import work_due_at, work_due_claim
from apps.accounts.models import TenantWorkDue
from apps.accounts.services import tenant_settings_update
from apps.billing.tasks import refunds_due_task
from apps.bookings.idempotency import RETENTION, idempotency_next_purge
from apps.bookings.models import Booking, IdempotencyRecord, Payment
from apps.bookings.payments import REFUND_DUE_GRACE, refunds_next_due
from apps.bookings.tasks import HOLDS_WORK, idempotency_purge_task
from apps.calendars.grid.services import tenant_materialize_next_due, upkeep_offset
from apps.calendars.tasks import materialize_resource, materialize_tenant
from apps.calendars.timezones import local_date, local_day_start, zone
from apps.notifications.due_work import work_due_repair
from apps.notifications.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from apps.notifications.webhooks.services import webhook_events_next_purge
from apps.notifications.webhooks.tasks import purge_old_events
from apps.resources.models import Resource
from tests.notifications.factories import (
    BookingFactory,
    CustomerFactory,
    LocationFactory,
    ResourceFactory,
)
from tests.workers import unique_queue

RUN_WHERE_DUE = "accounts.run_where_due"


def _forget(schema: str = "t_acme") -> None:
    TenantWorkDue.objects.filter(schema_name=schema).delete()


def _kinds() -> set[str]:
    return {
        str(cast(tuple[str, ...], entry["args"])[0])
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == RUN_WHERE_DUE
    }


def _booking() -> Booking:
    return BookingFactory.create(customer=CustomerFactory(), status=Booking.Status.CANCELLED)


def _refund(status: str = Payment.Status.DUE, booking: Booking | None = None) -> Payment:
    return Payment.objects.create(
        booking=booking or _booking(),
        kind=Payment.Kind.REFUND,
        status=status,
        amount=Decimal("10.00"),
        currency="EUR",
        actor_type="system",
    )


def _aged(model: type[Model], pk: object, age: timedelta) -> None:
    model._default_manager.filter(pk=pk).update(created_at=timezone.now() - age)


def test_no_periodic_task_goes_into_every_business():
    schedule = settings.CELERY_BEAT_SCHEDULE

    into_every = [name for name, entry in schedule.items() if entry["task"] != RUN_WHERE_DUE]
    # the rest run once, in the public schema (they read every business in one task)
    assert all(schedule[name]["task"] != "accounts.run_in_every_tenant" for name in into_every)
    assert _kinds() == {
        "holds",
        "waitlist",
        "messages",
        "webhooks",
        "refunds",
        "idempotency",
        "webhook-events",
        "materialize",
    }


@pytest.mark.django_db
def test_an_idle_business_is_due_for_its_first_grid_upkeep_and_then_for_nothing(acme):
    _forget()
    with schema_context("public"):
        work_due_repair()
        # due at its own offset after now (businesses are spread), and nothing else is
        first = work_due_at(kind="materialize", schema="t_acme")
        assert first is not None
        assert timezone.now() < first <= timezone.now() + upkeep_offset("t_acme")
        soon = first + timedelta(seconds=1)
        claimed = {kind for kind in _kinds() if "t_acme" in work_due_claim(kind=kind, now=soon)}
    assert claimed == {"materialize"}

    materialize_tenant(days=1)

    upkeep = work_due_at(kind="materialize")
    assert upkeep is not None
    assert timezone.now() < upkeep <= timezone.now() + timedelta(days=1) + upkeep_offset("t_acme")
    with schema_context("public"):
        # the hourly backstop does not make it due again, nor anything else
        work_due_repair()
        claimed = {
            kind
            for kind in _kinds()
            if "t_acme" in work_due_claim(kind=kind, now=timezone.now() + timedelta(seconds=1))
        }
    assert claimed == set()
    assert work_due_at(kind="materialize", schema="t_acme") == upkeep


@pytest.mark.django_db
def test_the_grid_upkeep_is_due_just_after_the_first_local_midnight(acme):
    Resource.objects.update(is_active=False)
    offset = upkeep_offset("t_acme")
    assert timedelta(minutes=1) <= offset < timedelta(minutes=31)
    assert upkeep_offset("t_globex") != offset  # businesses are spread
    now = dt.datetime(2026, 3, 8, 3, 0, tzinfo=dt.UTC)  # 22:00 on the 7th in New York
    assert tenant_materialize_next_due(now=now) == now + timedelta(days=1) + offset

    ResourceFactory(location=LocationFactory(timezone="Europe/London"))
    london = dt.datetime(2026, 3, 9, 0, 0, tzinfo=dt.UTC) + offset
    assert tenant_materialize_next_due(now=now) == london

    # New York's midnight comes first (05:00 UTC, still winter time on the 8th)
    ResourceFactory(location=LocationFactory(timezone="America/New_York"))
    new_york = dt.datetime(2026, 3, 8, 5, 0, tzinfo=dt.UTC) + offset
    assert tenant_materialize_next_due(now=now) == new_york

    # an inactive resource's location does not count
    Resource.objects.filter(location__timezone="America/New_York").update(is_active=False)
    assert tenant_materialize_next_due(now=now) == london


@pytest.mark.django_db
def test_a_due_refund_notes_the_sweep_due_when_its_grace_runs_out(acme):
    _forget()
    _refund(status=Payment.Status.SUCCEEDED)
    Payment.objects.create(
        booking=_booking(),
        kind=Payment.Kind.CHARGE,
        status=Payment.Status.SUCCEEDED,
        amount=Decimal("10.00"),
        currency="EUR",
        actor_type="system",
    )
    assert work_due_at(kind="refunds") is None

    refund = _refund()
    assert work_due_at(kind="refunds") == refund.created_at + REFUND_DUE_GRACE

    # a failed refund made due again (by support) is noted too
    _forget()
    failed = _refund(status=Payment.Status.FAILED)
    Payment.objects.filter(pk=refund.pk).update(status=Payment.Status.SUCCEEDED)
    Payment.objects.filter(pk=failed.pk).update(status=Payment.Status.DUE)
    assert work_due_at(kind="refunds") == failed.created_at + REFUND_DUE_GRACE


@pytest.mark.django_db
def test_the_refund_sweep_is_next_due_at_the_next_grace_end_or_its_retry(acme):
    now = timezone.now()
    grace, retry = timedelta(minutes=5), timedelta(minutes=10)
    assert refunds_next_due(grace=grace, retry=retry, now=now) is None

    young = _refund()
    assert refunds_next_due(grace=grace, retry=retry, now=now) == young.created_at + grace

    # a refund past its grace and still due (refused, or Stripe out of reach) is retried
    stale = _refund()
    _aged(Payment, stale.pk, timedelta(hours=1))
    young_due = young.created_at + grace
    assert refunds_next_due(grace=grace, retry=retry, now=now) == min(young_due, now + retry)
    Payment.objects.filter(pk=young.pk).delete()
    assert refunds_next_due(grace=grace, retry=retry, now=now) == now + retry


@pytest.mark.django_db
def test_the_refund_sweep_reschedules_to_what_is_due_next(acme):
    young = _refund()
    refunds_due_task()  # nothing is past its grace: nothing is made
    assert work_due_at(kind="refunds") == young.created_at + REFUND_DUE_GRACE

    Payment.objects.filter(pk=young.pk).update(status=Payment.Status.SUCCEEDED)
    refunds_due_task()
    assert work_due_at(kind="refunds") is None


def _record(key: str) -> IdempotencyRecord:
    return IdempotencyRecord.objects.create(
        key=key, actor_key="api_key:bench", request_hash="0" * 64, response_body=""
    )


@pytest.mark.django_db
def test_idempotency_records_are_purged_where_and_when_one_passes_the_retention(acme):
    _forget()
    old, recent = _record("old"), _record("recent")
    _aged(IdempotencyRecord, old.pk, RETENTION + timedelta(minutes=1))
    old.refresh_from_db()
    assert work_due_at(kind="idempotency") is None  # no trigger on the API's writes

    with schema_context("public"):
        work_due_repair()
    assert work_due_at(kind="idempotency", schema="t_acme") == old.created_at + RETENTION

    assert idempotency_purge_task() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]
    assert work_due_at(kind="idempotency") == recent.created_at + RETENTION
    assert idempotency_next_purge() == recent.created_at + RETENTION

    IdempotencyRecord.objects.all().delete()
    idempotency_purge_task()
    assert work_due_at(kind="idempotency") is None


@pytest.mark.django_db
def test_webhook_events_are_purged_where_one_passes_the_retention_unless_still_queued(acme):
    _forget()
    days = timedelta(days=int(settings.WEBHOOK_RETENTION_DAYS))
    booking = _booking()
    endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.example.test/in",
        events=["booking.confirmed"],
        secret_encrypted="x",
        secret_hint="x",
    )
    queued, done, recent = (
        WebhookEvent.objects.create(
            type="booking.confirmed", version=1, booking=booking, body_encrypted="x"
        )
        for _ in range(3)
    )
    _aged(WebhookEvent, queued.pk, days + timedelta(hours=2))
    _aged(WebhookEvent, done.pk, days + timedelta(hours=1))
    WebhookDelivery.objects.create(
        endpoint=endpoint, event=queued, attempts_allowed=5, next_attempt_at=timezone.now()
    )
    _forget()  # the delivery noted the dispatcher due; this is about the purge
    done.refresh_from_db()
    recent.refresh_from_db()

    with schema_context("public"):
        work_due_repair()
    # the queued event is older but not purgeable: the due time is the done one's
    assert work_due_at(kind="webhook-events", schema="t_acme") == done.created_at + days

    assert purge_old_events() == 1
    assert set(WebhookEvent.objects.values_list("pk", flat=True)) == {queued.pk, recent.pk}
    assert work_due_at(kind="webhook-events") == recent.created_at + days
    assert webhook_events_next_purge() == recent.created_at + days


@pytest.mark.django_db
def test_the_upkeep_is_sent_again_only_after_its_own_longer_lease(acme, settings):
    _forget()
    now = timezone.now()
    with schema_context("public"):
        for kind in ("materialize", "refunds"):
            TenantWorkDue.objects.create(schema_name="t_acme", kind=kind, due_at=now)
            assert "t_acme" in work_due_claim(kind=kind, now=now)

    assert work_due_at(kind="materialize") == now + timedelta(hours=2)
    assert work_due_at(kind="refunds") == now + timedelta(
        seconds=settings.TENANT_WORK_LEASE_SECONDS
    )


@pytest.mark.django_db
def test_a_longer_horizon_makes_the_upkeep_due_at_once(acme):
    _forget()
    materialize_tenant(days=1)
    assert work_due_at(kind="materialize") > timezone.now()

    tenant_settings_update(tenant=acme, data={"horizon_days": acme.horizon_days + 30})

    assert work_due_at(kind="materialize") <= timezone.now()


@pytest.mark.django_db
def test_a_resource_rebuilt_in_a_new_zone_brings_the_upkeep_to_that_zones_midnight(acme):
    _forget()
    Resource.objects.update(is_active=False)
    london = ResourceFactory(location=LocationFactory(timezone="Europe/London"))
    materialize_resource([str(london.pk)], days=1)
    london_due = work_due_at(kind="materialize")
    assert london_due == tenant_materialize_next_due(now=timezone.now())

    # a resource in the zone whose midnight comes soonest moves it earlier, never later
    now = timezone.now()
    soonest = min(ZONES, key=lambda name: _next_midnight(name, now))
    ahead = ResourceFactory(location=LocationFactory(timezone=soonest))
    materialize_resource([str(ahead.pk)], days=1)

    moved = work_due_at(kind="materialize")
    assert moved == min(london_due, _next_midnight(soonest, now) + upkeep_offset("t_acme"))
    if soonest != "Europe/London":
        assert moved < london_due


ZONES = [
    "Pacific/Kiritimati",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Europe/Moscow",
    "Europe/London",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Los_Angeles",
    "Pacific/Pago_Pago",
]


def _next_midnight(name: str, now: dt.datetime) -> dt.datetime:
    tz = zone(name)
    return local_day_start(local_date(now, tz) + timedelta(days=1), tz)


def test_the_grid_upkeep_goes_at_the_lowest_priority_and_the_rest_at_the_default(acme, monkeypatch):
    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        tasks_module.app, "send_task", lambda name, **options: sent.append((name, options))
    )
    now = timezone.now()
    with schema_context("public"):
        for kind in ("materialize", HOLDS_WORK):
            _forget()
            TenantWorkDue.objects.create(schema_name="t_acme", kind=kind, due_at=now)
            tasks_module.run_where_due(kind, f"task.{kind}")

    assert [(name, options.get("priority")) for name, options in sent] == [
        ("task.materialize", 9),
        (f"task.{HOLDS_WORK}", None),
    ]


def test_the_broker_hands_out_a_default_task_before_queued_low_priority_ones():
    """What the priority above relies on, with this project's broker settings: Redis
    keeps a list per priority and a worker takes from priority 0 (every other task's)
    first, however many upkeeps were queued before."""
    queue = unique_queue()
    low = [
        tasks_module.app.send_task("accounts.tenant_heartbeat", queue=queue, priority=9).id
        for _ in range(3)
    ]
    default = tasks_module.app.send_task("accounts.tenant_heartbeat", queue=queue).id
    with tasks_module.app.connection_for_read() as connection:
        waiting = connection.SimpleQueue(queue)
        try:
            taken = []
            for _ in range(4):
                message = waiting.get(timeout=5)
                taken.append(message.headers["id"])
                message.ack()
        finally:
            waiting.queue.delete()
            waiting.close()

    assert taken[0] == default
    assert sorted(taken[1:]) == sorted(low)
