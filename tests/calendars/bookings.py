"""Bookings made the way customers make them (the booking core's services), so the
availability read is tested against the slot rows the real writer leaves behind."""

from __future__ import annotations

import datetime as dt

from apps.bookings.models import Booking
from apps.bookings.services import booking_cancel, booking_confirm, booking_hold
from apps.resources.models import Resource, Service
from tests.bookings.factories import CUSTOMER, STAFF, customer


def hold(*, service: Service, resource: Resource, start: dt.datetime, who: int = 0) -> Booking:
    """One held place (it lasts the tenant's hold TTL from the real now)."""
    return booking_hold(
        service=service, resource=resource, starts_at=start, customer=customer(who), actor=CUSTOMER
    )


def book(*, service: Service, resource: Resource, start: dt.datetime, who: int = 0) -> Booking:
    """One confirmed place."""
    held = hold(service=service, resource=resource, start=start, who=who)
    return booking_confirm(booking=held, actor=CUSTOMER)


def cancel(booking: Booking) -> Booking:
    return booking_cancel(booking=booking, actor=STAFF, reason="test", override_window=True)
