"""The iCalendar document of a booking: the invitation its emails attach and its pages
offer for download, and the building blocks other calendar documents of bookings (the
staff feeds in apps/notifications/feeds/) are made of.

Times are written in the location's time zone (DTSTART;TZID=Europe/London:…) with its
VTIMEZONE, so calendar apps show the wall-clock time the business means even across a
DST change. The UID is stable per booking; SEQUENCE is the booking's `sequence`, which
the booking core bumps on each reschedule, so calendar apps replace the event in place.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from apps.bookings.models import Booking

PRODID = "-//TimeNest//Bookings//EN"
METHOD_REQUEST = "REQUEST"
METHOD_CANCEL = "CANCEL"


def booking_calendar_uid(booking: Booking, *, domain: str) -> str:
    """Stable for the booking's whole life, so calendar apps update one event in place."""
    return f"{booking.id}@{domain}"


def ics_calendar(*, method: str | None, name: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", name)
    return calendar


def ics_add_timezones(calendar: Calendar, days: Iterable[date]) -> None:
    """VTIMEZONE blocks covering the events (plus a year each side), not 1970 to 2038."""
    days = list(days)
    if not days:
        return
    calendar.add_missing_timezones(
        first_date=min(days) - timedelta(days=366), last_date=max(days) + timedelta(days=366)
    )


def _location_text(booking: Booking) -> str:
    location = booking.resource.location
    lines = [location.name, *location.address.splitlines()]
    return ", ".join(line.strip() for line in lines if line.strip())


def booking_ics_event(
    *,
    booking: Booking,
    domain: str,
    summary: str,
    description: str = "",
    url: str = "",
    cancelled: bool = False,
    stamp: datetime,
) -> Event:
    zone = ZoneInfo(booking.resource.location.timezone)
    event = Event()
    event.add("uid", booking_calendar_uid(booking, domain=domain))
    event.add("dtstamp", stamp)
    event.add("dtstart", booking.starts_at.astimezone(zone))
    event.add("dtend", booking.ends_at.astimezone(zone))
    event.add("sequence", booking.sequence)
    event.add("summary", summary)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    location = _location_text(booking)
    if location:
        event.add("location", location)
    if description:
        event.add("description", description)
    if url:
        event.add("url", url)
    return event


def booking_invitation_ics(
    *,
    booking: Booking,
    domain: str,
    business_name: str,
    organizer_email: str,
    attendee_email: str,
    attendee_name: str,
    manage_url: str,
    cancel: bool = False,
    now: datetime | None = None,
) -> bytes:
    """METHOD:REQUEST (add or update the event) or METHOD:CANCEL (remove it)."""
    stamp = now or timezone.now()
    service = booking.service.name
    summary = f"{service} with {booking.resource.name} ({business_name})"
    description = "" if cancel else f"Reschedule or cancel: {manage_url}"
    event = booking_ics_event(
        booking=booking,
        domain=domain,
        summary=summary,
        description=description,
        url="" if cancel else manage_url,
        cancelled=cancel,
        stamp=stamp,
    )
    organizer = vCalAddress(f"mailto:{organizer_email}")
    organizer.params["cn"] = vText(business_name)
    event.add("organizer", organizer)
    if attendee_email:
        attendee = vCalAddress(f"mailto:{attendee_email}")
        attendee.params["cn"] = vText(attendee_name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("DECLINED" if cancel else "ACCEPTED")
        attendee.params["rsvp"] = vText("FALSE")
        event.add("attendee", attendee)
    calendar = ics_calendar(method=METHOD_CANCEL if cancel else METHOD_REQUEST)
    calendar.add_component(event)
    ics_add_timezones(calendar, [booking.starts_at.date()])
    return bytes(calendar.to_ical())
