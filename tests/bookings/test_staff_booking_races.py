"""A staff booking racing a customer's for the last place: real threads, each with its
own PostgreSQL connection, started together. Staff have no way round capacity."""

from __future__ import annotations

from functools import partial

import pytest

from apps.bookings.models import Booking
from apps.bookings.services import booking_hold
from apps.bookings.staff_bookings import booking_create_by_staff
from apps.calendars.models import SlotInstance
from tests.bookings.factories import (
    CUSTOMER,
    STAFF,
    ResourceFactory,
    ServiceFactory,
    customer,
    future_start,
    slots_create,
)
from tests.bookings.races import race

pytestmark = pytest.mark.slow

ROUNDS = 8


def test_staff_and_customer_racing_for_the_last_place_yield_exactly_one_booking(committed):
    # given a one-to-one service with a free slot per round
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource])
    slots = slots_create(resource=resource, starts_at=future_start(hour=8), count=ROUNDS)

    for index, slot in enumerate(slots):
        # when front desk (confirming at once, with a reason to override the window)
        # and a customer book the same place at the same instant
        result = race(
            committed,
            [
                partial(
                    booking_create_by_staff,
                    service=service,
                    resource=resource,
                    starts_at=slot.starts_at,
                    customer=customer(f"phone-in-{index}"),
                    actor=STAFF,
                    override_reason="Regular patient",
                ),
                partial(
                    booking_hold,
                    service=service,
                    resource=resource,
                    starts_at=slot.starts_at,
                    customer=customer(f"online-{index}"),
                    actor=CUSTOMER,
                ),
            ],
        )

        # then exactly one of them has it and the other is told SLOT_FULL
        assert result.crashes == []
        assert (result.count(), result.count("SLOT_FULL")) == (1, 1)
        slot.refresh_from_db()
        assert slot.booked + slot.held == 1
        assert Booking.objects.filter(starts_at=slot.starts_at, resource=resource).count() == 1


def test_staff_racing_customers_for_the_last_place_of_a_class(committed):
    # given a class of three with two places taken
    resource = ResourceFactory.create()
    service = ServiceFactory.create(capacity=3, resources=[resource])
    start = future_start(hour=9)
    [slot] = slots_create(resource=resource, starts_at=start)
    for n in range(2):
        booking_hold(
            service=service,
            resource=resource,
            starts_at=start,
            customer=customer(f"early-{n}"),
            actor=CUSTOMER,
        )

    # when front desk and five customers go for the last place together
    calls = [
        partial(
            booking_create_by_staff,
            service=service,
            resource=resource,
            starts_at=start,
            customer=customer("walk-in"),
            actor=STAFF,
        ),
        *(
            partial(
                booking_hold,
                service=service,
                resource=resource,
                starts_at=start,
                customer=customer(f"late-{n}"),
                actor=CUSTOMER,
            )
            for n in range(5)
        ),
    ]
    result = race(committed, calls)

    # then one gets it, five are refused, and the class holds three
    assert result.crashes == []
    assert (result.count(), result.count("SLOT_FULL")) == (1, 5)
    slot = SlotInstance.objects.get(pk=slot.pk)
    assert (slot.booked + slot.held, slot.session_capacity) == (3, 3)
