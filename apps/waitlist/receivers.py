"""The waitlist listens to the booking core and the calendars (connected in ready()):
a place that frees wakes the offer maker; an offered hold that is confirmed, lapses or
is released settles its offer. Both happen inside the change's own transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from apps.bookings import signals as booking_signals
from apps.bookings.customer_data import Erasure
from apps.bookings.models import Booking, Customer
from apps.calendars import signals as calendar_signals
from apps.resources import signals as resource_signals
from apps.waitlist.models import WaitlistEntry
from apps.waitlist.services import waitlist_offer_follow, waitlist_wake


def on_booking_confirmed(sender: Any, *, booking: Booking, **_: Any) -> None:
    waitlist_offer_follow(booking=booking)


def on_place_freed(sender: Any, *, booking: Booking, **_: Any) -> None:
    """Cancelled, expired or moved: its place (the old one, for a move) may be free."""
    waitlist_offer_follow(booking=booking)
    waitlist_wake(reason=f"booking_{booking.status}")


def on_booking_rescheduled(sender: Any, *, booking: Booking, **_: Any) -> None:
    waitlist_wake(reason="booking_rescheduled")


def on_slots_changed(sender: Any, **_: Any) -> None:
    """New opening hours, a larger class, a resource back: new places may exist."""
    waitlist_wake(reason="slots_changed")


def on_customer_erased(
    sender: Any, *, customer: Customer, booking_ids: list[UUID], erasure: Erasure, **_: Any
) -> None:
    """An erased customer's entries go, contact and all (their offers with them)."""
    WaitlistEntry.objects.filter(customer=customer).delete()


def connect() -> None:
    booking_signals.booking_confirmed.connect(
        on_booking_confirmed, dispatch_uid="waitlist.booking_confirmed"
    )
    booking_signals.booking_cancelled.connect(on_place_freed, dispatch_uid="waitlist.cancelled")
    booking_signals.booking_expired.connect(on_place_freed, dispatch_uid="waitlist.expired")
    booking_signals.booking_rescheduled.connect(
        on_booking_rescheduled, dispatch_uid="waitlist.rescheduled"
    )
    calendar_signals.slots_materialized.connect(on_slots_changed, dispatch_uid="waitlist.slots")
    resource_signals.schedule_changed.connect(on_slots_changed, dispatch_uid="waitlist.schedule")
    booking_signals.customer_erased.connect(on_customer_erased, dispatch_uid="waitlist.erasure")
