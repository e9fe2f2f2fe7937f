"""The .ics documents parse back with icalendar to the right instants and time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from apps.bookings.ics import booking_invitation_ics
from apps.bookings.models import Booking
from apps.bookings.services import booking_reschedule
from apps.notifications.feeds.ics import resource_feed_ics
from tests.notifications.factories import (
    STAFF,
    BookingFactory,
    LocationFactory,
    ResourceFactory,
    hour_from_now,
)

pytestmark = pytest.mark.django_db


def _invitation(booking: Booking, *, cancel: bool = False) -> Calendar:
    return Calendar.from_ical(
        booking_invitation_ics(
            booking=booking,
            domain="acme.localhost",
            business_name="Acme Clinic",
            organizer_email="no-reply@timenest.app",
            attendee_email="jane@example.test",
            attendee_name="Jane",
            manage_url="http://acme.localhost/manage/x/",
            cancel=cancel,
        )
    )


def test_invitation_parses_back_to_start_end_and_the_location_time_zone(acme):
    resource = ResourceFactory(location=LocationFactory(timezone="America/New_York"))
    booking = BookingFactory(
        resource=resource,
        starts_at=datetime(2027, 3, 15, 14, 0, tzinfo=UTC),  # 10:00 EDT
        ends_at=datetime(2027, 3, 15, 14, 45, tzinfo=UTC),
    )

    calendar = _invitation(booking)

    assert calendar["method"] == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert event["dtstart"].params["TZID"] == "America/New_York"
    assert event["dtend"].params["TZID"] == "America/New_York"
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert start == booking.starts_at and end == booking.ends_at
    assert (start.hour, start.minute) == (10, 0)  # wall-clock time in the location
    assert start.tzinfo == ZoneInfo("America/New_York")
    assert str(event["uid"]) == f"{booking.pk}@acme.localhost"
    assert event["sequence"] == 0
    assert str(event["status"]) == "CONFIRMED"
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["tzid"]) == "America/New_York"


def test_cancellation_has_method_cancel_and_the_same_uid(acme):
    booking = BookingFactory()
    request_uid = _invitation(booking).walk("VEVENT")[0]["uid"]

    booking.status = Booking.Status.CANCELLED
    calendar = _invitation(booking, cancel=True)

    assert calendar["method"] == "CANCEL"
    [event] = calendar.walk("VEVENT")
    assert event["uid"] == request_uid
    assert str(event["status"]) == "CANCELLED"
    assert event.decoded("dtstart") == booking.starts_at


def test_reschedule_bumps_sequence_and_moves_the_event(place):
    booking = place.book()
    first = _invitation(booking).walk("VEVENT")[0]
    new_start = hour_from_now(days=5, hour=15)
    place.slots(new_start)

    moved = booking_reschedule(booking=booking, starts_at=new_start, actor=STAFF)
    second = _invitation(moved).walk("VEVENT")[0]

    assert second["uid"] == first["uid"]
    assert (first["sequence"], second["sequence"]) == (0, 1)
    assert second.decoded("dtstart") == new_start
    assert second.decoded("dtend") == new_start + timedelta(minutes=30)


def test_feed_lists_the_confirmed_bookings_of_its_resource(acme):
    resource = ResourceFactory()
    mine = BookingFactory(resource=resource)
    BookingFactory(
        resource=resource, status=Booking.Status.CANCELLED, starts_at=hour_from_now(days=4)
    )
    BookingFactory(starts_at=hour_from_now(days=5))  # another resource

    calendar = Calendar.from_ical(
        resource_feed_ics(
            resource=resource,
            bookings=Booking.objects.filter(resource=resource, status="confirmed"),
            domain="acme.localhost",
            business_name="Acme Clinic",
        )
    )

    assert "method" not in calendar
    [event] = calendar.walk("VEVENT")
    assert str(event["uid"]) == f"{mine.pk}@acme.localhost"
    assert mine.customer.name in str(event["summary"])
    assert "@" not in str(event["summary"])
