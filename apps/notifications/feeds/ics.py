"""The iCalendar subscription feed of a resource's confirmed bookings. Each event is the
booking's own calendar event (apps/bookings/ics.py), so the feed and the invitations
the customer got name the same UID and SEQUENCE."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from apps.bookings.ics import booking_ics_event, ics_add_timezones, ics_calendar
from apps.bookings.models import Booking
from apps.resources.models import Resource


def resource_feed_ics(
    *,
    resource: Resource,
    bookings: Iterable[Booking],
    domain: str,
    business_name: str,
    now: datetime | None = None,
) -> bytes:
    """A subscription feed (no METHOD): one event per confirmed booking, titled with the
    service and the customer's name. Contact details stay out of the feed."""
    stamp = now or timezone.now()
    calendar = ics_calendar(method=None, name=f"{resource.name} · {business_name}")
    days = []
    for booking in bookings:
        calendar.add_component(
            booking_ics_event(
                booking=booking,
                domain=domain,
                summary=f"{booking.service.name}: {booking.customer.name}",
                description=booking.notes,
                stamp=stamp,
            )
        )
        days.append(booking.starts_at.date())
    ics_add_timezones(calendar, days)
    return bytes(calendar.to_ical())
