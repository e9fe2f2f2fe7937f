"""A full time and people waiting for it: what the waitlist's tests start from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from apps.bookings.models import Booking
from apps.bookings.services import booking_confirm, booking_hold
from apps.calendars.models import SlotInstance
from apps.resources.models import Resource, Service
from apps.waitlist.models import WaitlistEntry
from apps.waitlist.services import waitlist_join
from tests.bookings.factories import (
    CUSTOMER,
    ResourceFactory,
    ServiceFactory,
    customer,
    future_start,
    slots_create,
)


@dataclass
class FullTime:
    service: Service
    resource: Resource
    slots: list[SlotInstance]
    bookings: list[Booking]

    @property
    def starts_at(self) -> datetime:
        return self.slots[0].starts_at


def full_time(
    *, count: int = 1, capacity: int = 1, days: int = 3, hour: int = 10, tag: str = "x"
) -> FullTime:
    """`count` consecutive 30-minute starts of a service on a room, every place booked
    (confirmed) by someone."""
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource], capacity=capacity)
    slots = slots_create(
        resource=resource, starts_at=future_start(days=days, hour=hour), count=count
    )
    bookings = []
    for index, slot in enumerate(slots):
        for place in range(capacity):
            held = booking_hold(
                service=service,
                resource=resource,
                starts_at=slot.starts_at,
                customer=customer(f"{tag}-booked-{index}-{place}"),
                actor=CUSTOMER,
            )
            bookings.append(booking_confirm(booking=held, actor=CUSTOMER))
    return FullTime(service=service, resource=resource, slots=slots, bookings=bookings)


def wait_in_line(full: FullTime, *names: str, span: timedelta | None = None) -> list[WaitlistEntry]:
    """Each name joins the line for the full times, in order."""
    last = full.slots[-1].starts_at
    return [
        waitlist_join(
            service=full.service,
            resource=full.resource,
            earliest_at=full.starts_at,
            latest_at=last + (span or timedelta()),
            customer=customer(name),
            actor=CUSTOMER,
        )
        for name in names
    ]
