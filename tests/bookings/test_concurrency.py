"""Real races: every thread has its own PostgreSQL connection and all start together."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from functools import partial
from itertools import combinations

import pytest

from apps.bookings.actors import ActorRef
from apps.bookings.idempotency import IdempotentResponse, idempotent_call
from apps.bookings.models import Booking, BookingEvent, IdempotencyRecord
from apps.bookings.pii import pii_decrypt
from apps.bookings.services import (
    booking_confirm,
    booking_hold,
    booking_reschedule,
    holds_expire,
)
from apps.calendars.models import SlotHold, SlotInstance
from tests.bookings.factories import (
    CUSTOMER,
    ResourceFactory,
    ServiceFactory,
    customer,
    future_start,
    slots_create,
)
from tests.bookings.races import measurement, race

pytestmark = pytest.mark.slow


def _warm_up() -> None:
    """One uncontended hold first, as a running server has served requests before: the
    first call in a process compiles Django's email validator regexes (~70 ms), which 50
    threads arriving at once would all do together."""
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource])
    start = future_start(days=20)
    slots_create(resource=resource, starts_at=start)
    booking_hold(
        service=service,
        resource=resource,
        starts_at=start,
        customer=customer("warm-up"),
        actor=CUSTOMER,
    )


def _storm(committed, *, capacity: int, slot_capacity: int | None = None, threads: int = 50):
    _warm_up()
    resource = ResourceFactory.create()
    service = ServiceFactory.create(capacity=capacity, resources=[resource])
    start = future_start(hour=9)
    [slot] = slots_create(resource=resource, starts_at=start, capacity=slot_capacity)
    calls = [
        partial(
            booking_hold,
            service=service,
            resource=resource,
            starts_at=start,
            customer=customer(f"storm-{capacity}-{slot_capacity}-{i}"),
            actor=CUSTOMER,
        )
        for i in range(threads)
    ]
    result = race(committed, calls)
    slot.refresh_from_db()
    return result, slot, resource


def test_booking_hold_storm_on_capacity_one_admits_exactly_one(committed):
    # given 50 customers and one slot of a one-to-one service
    # when they all hold it at the same instant
    result, slot, resource = _storm(committed, capacity=1)

    # then exactly one hold succeeds and 49 are told SLOT_FULL, with no server error
    measurement(
        f"\n50-way hold storm, capacity 1: {result.count()} ok, "
        f"{result.count('SLOT_FULL')} SLOT_FULL, {len(result.crashes)} errors "
        f"in {result.seconds * 1000:.0f} ms"
    )
    assert result.crashes == []
    assert result.count() == 1
    assert result.count("SLOT_FULL") == 49
    assert (slot.held, slot.booked, slot.session_capacity, slot.status) == (1, 0, 1, "full")
    held = Booking.objects.filter(resource=resource, status=Booking.Status.HELD)
    assert held.count() == 1
    assert held.get().exclusive is True
    assert SlotHold.objects.filter(slot=slot).count() == 1


def test_booking_hold_storm_on_group_of_three_admits_exactly_three(committed):
    result, slot, resource = _storm(committed, capacity=3)

    measurement(
        f"\n50-way hold storm, capacity 3: {result.count()} ok, "
        f"{result.count('SLOT_FULL')} SLOT_FULL in {result.seconds * 1000:.0f} ms"
    )
    assert result.crashes == []
    assert result.count() == 3
    assert result.count("SLOT_FULL") == 47
    assert (slot.held, slot.session_capacity, slot.status) == (3, 3, "full")
    held = Booking.objects.filter(resource=resource, status=Booking.Status.HELD)
    assert held.count() == 3
    assert not held.filter(exclusive=True).exists()


def test_booking_hold_storm_respects_the_rule_cap_under_the_service_capacity(committed):
    # a class of 6 whose slot the rule caps at 2 places
    result, slot, _ = _storm(committed, capacity=6, slot_capacity=2, threads=20)

    assert result.crashes == []
    assert result.count() == 2
    assert (slot.held, slot.session_capacity) == (2, 2)


def test_booking_hold_long_service_racing_half_slot_bookings_never_overlaps(committed):
    resource = ResourceFactory.create()
    long = ServiceFactory.create(duration_minutes=60, resources=[resource])
    short = ServiceFactory.create(duration_minutes=30, resources=[resource])
    for round_ in range(4):
        start = future_start(days=4 + round_, hour=10)
        first, second = slots_create(resource=resource, starts_at=start, count=2)
        half = start + timedelta(minutes=30)
        calls = []
        for i in range(8):
            for service, at in ((long, start), (short, start), (short, half)):
                calls.append(
                    partial(
                        booking_hold,
                        service=service,
                        resource=resource,
                        starts_at=at,
                        customer=customer(f"halves-{round_}-{service.pk}-{at:%H%M}-{i}"),
                        actor=CUSTOMER,
                    )
                )

        result = race(committed, calls)

        assert result.crashes == []
        assert result.count() + result.count("SLOT_FULL") == len(calls)
        active = list(
            Booking.objects.filter(
                resource=resource,
                status__in=Booking.ACTIVE_STATUSES,
                starts_at__gte=start,
                starts_at__lt=start + timedelta(hours=1),
            )
        )
        assert len(active) == result.count()
        assert 1 <= len(active) <= 2
        for a, b in combinations(active, 2):
            assert a.ends_at <= b.starts_at or b.ends_at <= a.starts_at
        if any(b.service_id == long.pk for b in active):
            assert len(active) == 1
        for slot in (first, second):
            slot.refresh_from_db()
            covering = [
                b for b in active if b.starts_at < slot.ends_at and b.ends_at > slot.starts_at
            ]
            assert slot.held == len(covering)


def test_idempotent_call_with_one_key_from_ten_threads_books_once(committed):
    # given a group slot with room for everyone, so a duplicate would really book
    resource = ResourceFactory.create()
    service = ServiceFactory.create(capacity=10, resources=[resource])
    start = future_start(hour=11)
    slots_create(resource=resource, starts_at=start)
    actor = ActorRef.api_key("key-race", label="integration")
    payload = {"service": str(service.pk), "resource": str(resource.pk), "start": start.isoformat()}

    def perform() -> IdempotentResponse:
        booking = booking_hold(
            service=service,
            resource=resource,
            starts_at=start,
            customer=customer("idem"),
            actor=actor,
            source=Booking.Source.API,
            idempotency_key="order-42",
        )
        return IdempotentResponse(201, json.dumps({"id": str(booking.pk), "status": "held"}))

    call = partial(idempotent_call, key="order-42", actor=actor, payload=payload, perform=perform)

    # when ten identical requests arrive at once
    result = race(committed, [call] * 10)

    # then one booking exists and all ten got the same stored answer
    assert result.crashes == []
    assert result.count() == 10
    answers = {(o.value.status_code, o.value.body) for o in result.outcomes}
    assert len(answers) == 1
    assert sum(1 for o in result.outcomes if not o.value.replayed) == 1
    [booking] = Booking.objects.filter(resource=resource)
    assert json.loads(next(iter(answers))[1])["id"] == str(booking.pk)
    assert booking.idempotency_key == "order-42"
    record = IdempotencyRecord.objects.get(actor_key=actor.key, key="order-42")
    assert (record.status_code, pii_decrypt(record.response_body)) == next(iter(answers))


def test_holds_expire_two_sweepers_in_parallel_never_process_the_same_hold(committed):
    # given 200 elapsed holds spread over 8 resources
    service = ServiceFactory.create(capacity=25)
    resources = [ResourceFactory.create() for _ in range(8)]
    service.resources.set(resources)
    start = future_start(hour=13)
    for r_index, resource in enumerate(resources):
        slots_create(resource=resource, starts_at=start)
        for i in range(25):
            booking_hold(
                service=service,
                resource=resource,
                starts_at=start,
                customer=customer(f"sweep-{r_index}-{i}"),
                actor=CUSTOMER,
            )
    held = Booking.objects.filter(resource__in=resources, status=Booking.Status.HELD)
    ids = list(held.values_list("pk", flat=True))
    assert len(ids) == 200
    elapsed = start - timedelta(days=10)
    held.update(hold_expires_at=elapsed)
    SlotHold.objects.filter(booking_id__in=ids).update(expires_at=elapsed)

    # when two sweepers run at once, in small batches
    sweep = partial(holds_expire, batch_size=10)
    result = race(committed, [sweep, sweep])

    # then together they expired each hold exactly once
    measurement(f"\ntwo sweepers split 200 elapsed holds: {[o.value for o in result.outcomes]}")
    assert result.crashes == []
    assert sum(o.value for o in result.outcomes) == 200
    expired_events = BookingEvent.objects.filter(booking_id__in=ids, kind="expired")
    assert expired_events.count() == 200
    assert expired_events.values("booking_id").distinct().count() == 200
    assert Booking.objects.filter(pk__in=ids, status=Booking.Status.EXPIRED).count() == 200
    for slot in SlotInstance.objects.filter(resource__in=resources):
        assert (slot.held, slot.booked, slot.session_service_id, slot.status) == (
            0,
            0,
            None,
            "open",
        )
    assert not SlotHold.objects.filter(booking_id__in=ids).exists()


def _after(delay: float, call, /, **kwargs):
    time.sleep(delay)
    return call(**kwargs)


def test_booking_reschedule_racing_a_new_hold_for_the_target_has_one_winner(committed):
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource])
    outcomes = {"reschedule": 0, "hold": 0}
    for round_ in range(8):
        source_at = future_start(days=5, hour=8) + timedelta(hours=round_)
        target_at = source_at + timedelta(minutes=30)
        source_slot, target_slot = slots_create(resource=resource, starts_at=source_at, count=2)
        original = booking_hold(
            service=service,
            resource=resource,
            starts_at=source_at,
            customer=customer(f"mover-{round_}"),
            actor=CUSTOMER,
        )
        original = booking_confirm(booking=original, actor=CUSTOMER)

        # Who reaches the resource lock first varies with a small head start for either.
        delay = (round_ % 4) * 0.003
        reschedule = partial(
            _after,
            delay if round_ % 2 else 0.0,
            booking_reschedule,
            booking=original,
            starts_at=target_at,
            actor=CUSTOMER,
        )
        hold = partial(
            _after,
            0.0 if round_ % 2 else delay,
            booking_hold,
            service=service,
            resource=resource,
            starts_at=target_at,
            customer=customer(f"rival-{round_}"),
            actor=CUSTOMER,
        )

        result = race(committed, [reschedule, hold])

        assert result.crashes == []
        assert result.count() == 1
        assert result.count("SLOT_FULL") == 1
        moved = result.outcomes[0]
        after = Booking.objects.get(pk=original.pk)
        source_slot.refresh_from_db()
        target_slot.refresh_from_db()
        if moved.ok:
            outcomes["reschedule"] += 1
            assert (after.starts_at, after.sequence) == (target_at, 1)
            assert (source_slot.booked, target_slot.booked, target_slot.held) == (0, 1, 0)
        else:
            outcomes["hold"] += 1
            # the loser's booking is untouched: same time, same sequence, same history
            assert (after.starts_at, after.ends_at, after.status) == (
                original.starts_at,
                original.ends_at,
                Booking.Status.CONFIRMED,
            )
            assert after.sequence == 0
            assert list(after.events.values_list("kind", flat=True)) == ["held", "confirmed"]
            assert (source_slot.booked, target_slot.held) == (1, 1)
    measurement(f"\nreschedule vs new hold, winners over 8 rounds: {outcomes}")
