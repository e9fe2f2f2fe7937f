"""Random sequences of hold / confirm / cancel / expire / sweep / reschedule keep every
slot's counters and session equal to the bookings that occupy it, and every hold or
reschedule succeeds exactly when the slot contract (PRODUCT.md §3) says a place is left."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from apps.bookings.errors import (
    HoldExpired,
    InvalidTransition,
    SlotFull,
    SlotNotFound,
)
from apps.bookings.models import Booking
from apps.bookings.services import (
    booking_cancel,
    booking_confirm,
    booking_hold,
    booking_reschedule,
    holds_expire,
)
from apps.calendars.models import SlotHold, SlotInstance
from apps.resources.models import Resource, Service
from tests.bookings.factories import (
    CUSTOMER,
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    customer,
    future_start,
    slots_create,
)

OCCUPYING = (
    Booking.Status.HELD,
    Booking.Status.CONFIRMED,
    Booking.Status.COMPLETED,
    Booking.Status.NO_SHOW,
)
GRID_STEPS = 6
NEVER = datetime.max.replace(tzinfo=UTC)  # a hold without an expiry never elapses


def _overlap(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


class BookingLedger(RuleBasedStateMachine):
    bookings = Bundle("bookings")

    def __init__(self) -> None:
        super().__init__()
        location = LocationFactory.create()
        self.resources = [ResourceFactory.create(location=location) for _ in range(2)]
        self.services = [
            ServiceFactory.create(duration_minutes=30, capacity=1),
            ServiceFactory.create(duration_minutes=60, capacity=2),
            ServiceFactory.create(duration_minutes=30, capacity=3, buffer_after_minutes=30),
            ServiceFactory.create(duration_minutes=45, capacity=2, buffer_before_minutes=15),
        ]
        for service in self.services:
            service.resources.set(self.resources)
        self.start = future_start(days=3, hour=8)
        for resource in self.resources:
            slots_create(resource=resource, starts_at=self.start, count=GRID_STEPS)
        # a rule caps one step of the first resource at one place; the second has a gap
        SlotInstance.objects.filter(
            resource=self.resources[0], starts_at=self.start + timedelta(minutes=60)
        ).update(capacity=1)
        SlotInstance.objects.filter(
            resource=self.resources[1], starts_at=self.start + timedelta(minutes=120)
        ).delete()
        self.customers = 0

    # --- the contract, computed from the bookings alone ----------------------------------

    def expected_places(
        self,
        *,
        resource: Resource,
        service: Service,
        starts_at: datetime,
        ignore: uuid.UUID | None = None,
    ) -> int | None:
        """Places left for `service` at `starts_at`; None when the time is not on the grid."""
        ends_at = starts_at + timedelta(minutes=service.duration_minutes)
        covered = list(
            SlotInstance.objects.filter(
                resource=resource, starts_at__lt=ends_at, ends_at__gt=starts_at
            ).order_by("starts_at")
        )
        if (
            not covered
            or covered[0].starts_at != starts_at
            or covered[-1].ends_at < ends_at
            or any(a.ends_at != b.starts_at for a, b in itertools.pairwise(covered))
        ):
            return None
        places = min([service.capacity, *(s.capacity for s in covered if s.capacity is not None)])
        now = timezone.now()
        live = [
            b
            for b in Booking.objects.filter(resource=resource, status__in=OCCUPYING)
            .exclude(pk__in=[ignore] if ignore else [])
            .select_related("service")
            if b.status != Booking.Status.HELD or (b.hold_expires_at or now) > now
        ]
        inside = [b for b in live if _overlap(b.starts_at, b.ends_at, starts_at, ends_at)]
        if not inside:
            wanted_from = starts_at - timedelta(minutes=service.buffer_before_minutes)
            wanted_until = ends_at + timedelta(minutes=service.buffer_after_minutes)
            for b in live:
                busy_from = b.starts_at - timedelta(minutes=b.service.buffer_before_minutes)
                busy_until = b.ends_at + timedelta(minutes=b.service.buffer_after_minutes)
                if _overlap(busy_from, busy_until, wanted_from, wanted_until):
                    return 0
            return places
        if all(
            (b.service_id, b.starts_at, b.ends_at) == (service.pk, starts_at, ends_at)
            for b in inside
        ):
            return places - len(inside)
        return 0

    def at(self, step: int) -> datetime:
        return self.start + timedelta(minutes=30 * step)

    # --- rules ---------------------------------------------------------------------------

    @rule(
        target=bookings,
        resource=st.integers(0, 1),
        service=st.integers(0, 3),
        step=st.integers(0, GRID_STEPS),
    )
    def hold(self, resource: int, service: int, step: int):
        where, what, when = self.resources[resource], self.services[service], self.at(step)
        expected = self.expected_places(resource=where, service=what, starts_at=when)
        self.customers += 1
        try:
            booking = booking_hold(
                service=what,
                resource=where,
                starts_at=when,
                customer=customer(f"ledger-{self.customers}"),
                actor=CUSTOMER,
            )
        except SlotNotFound:
            assert expected is None
            return multiple()
        except SlotFull:
            assert expected == 0
            return multiple()
        assert expected is not None and expected > 0
        return booking.pk

    @rule(booking_id=bookings)
    def confirm(self, booking_id: uuid.UUID) -> None:
        booking = Booking.objects.get(pk=booking_id)
        elapsed = booking.status == "held" and (booking.hold_expires_at or NEVER) <= timezone.now()
        try:
            booking_confirm(booking=booking, actor=CUSTOMER)
        except HoldExpired:
            assert elapsed or booking.status == "expired"
        except InvalidTransition:
            assert booking.status not in ("held", "confirmed")
        else:
            assert booking.status in ("held", "confirmed") and not elapsed

    @rule(booking_id=bookings)
    def cancel(self, booking_id: uuid.UUID) -> None:
        booking = Booking.objects.get(pk=booking_id)
        try:
            booking_cancel(booking=booking, actor=CUSTOMER, reason="changed plans")
        except InvalidTransition:
            assert booking.status not in ("held", "confirmed", "cancelled")

    @rule(booking_id=bookings)
    def let_hold_elapse(self, booking_id: uuid.UUID) -> None:
        """Time passes for one hold: its TTL runs out (the sweeper has not run)."""
        past = timezone.now() - timedelta(seconds=1)
        if Booking.objects.filter(pk=booking_id, status="held").update(hold_expires_at=past):
            SlotHold.objects.filter(booking_id=booking_id).update(expires_at=past)

    @rule()
    def sweep(self) -> None:
        now = timezone.now()
        elapsed = Booking.objects.filter(
            resource__in=self.resources, status="held", hold_expires_at__lte=now
        ).count()
        assert holds_expire(now=now) >= elapsed

    @rule(
        booking_id=bookings,
        resource=st.integers(0, 1),
        step=st.integers(0, GRID_STEPS),
    )
    def reschedule(self, booking_id: uuid.UUID, resource: int, step: int) -> None:
        booking = Booking.objects.select_related("service").get(pk=booking_id)
        where, when = self.resources[resource], self.at(step)
        active = booking.status in ("held", "confirmed")
        elapsed = booking.status == "held" and (booking.hold_expires_at or NEVER) <= timezone.now()
        unchanged = (when, where.pk) == (booking.starts_at, booking.resource_id)
        expected = self.expected_places(
            resource=where, service=booking.service, starts_at=when, ignore=booking.pk
        )
        try:
            moved = booking_reschedule(
                booking=booking, starts_at=when, resource=where, actor=CUSTOMER
            )
        except HoldExpired:
            assert elapsed or booking.status == "expired"
        except InvalidTransition:
            assert not active
        except SlotNotFound:
            assert active and not elapsed and expected is None
        except SlotFull:
            assert active and not elapsed and expected == 0
        else:
            assert active and not elapsed
            assert unchanged or (expected is not None and expected > 0)
            assert (moved.starts_at, moved.resource_id) == (when, where.pk)
            assert moved.sequence == booking.sequence + (0 if unchanged else 1)

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def slots_mirror_the_bookings_that_occupy_them(self) -> None:
        for resource in self.resources:
            occupying = list(Booking.objects.filter(resource=resource, status__in=OCCUPYING))
            holds: dict[uuid.UUID, set[uuid.UUID]] = {}
            for slot_id, booking_id in SlotHold.objects.filter(slot__resource=resource).values_list(
                "slot_id", "booking_id"
            ):
                holds.setdefault(slot_id, set()).add(booking_id)
            for slot in SlotInstance.objects.filter(resource=resource):
                covering = [
                    b
                    for b in occupying
                    if _overlap(b.starts_at, b.ends_at, slot.starts_at, slot.ends_at)
                ]
                held = {b.pk for b in covering if b.status == Booking.Status.HELD}
                assert slot.held == len(held), slot
                assert slot.booked == len(covering) - len(held), slot
                assert holds.get(slot.pk, set()) == held, slot
                if not covering:
                    assert slot.status == SlotInstance.Status.OPEN
                    assert slot.session_service_id is None and slot.busy_from is None
                    assert slot.session_capacity is None
                    continue
                sessions = {(b.service_id, b.starts_at, b.ends_at) for b in covering}
                assert sessions == {
                    (slot.session_service_id, slot.session_starts_at, slot.session_ends_at)
                }
                assert slot.session_capacity is not None
                assert len(covering) <= slot.session_capacity
                full = len(covering) >= slot.session_capacity
                assert slot.status == ("full" if full else "partial")
                assert all(b.exclusive == (slot.session_capacity == 1) for b in covering)


def test_booking_ledger_keeps_slot_counters_equal_to_the_bookings(acme):
    run_state_machine_as_test(
        BookingLedger,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
