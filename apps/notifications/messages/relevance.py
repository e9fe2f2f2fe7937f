"""Whether a planned message still makes sense for the booking as it is now."""

from __future__ import annotations

from datetime import datetime

from apps.bookings.models import Booking
from apps.notifications.models import Notification

Kind = Notification.Kind

# The booking status each kind of message describes.
_EXPECTED_STATUS = {
    Kind.CONFIRMED: Booking.Status.CONFIRMED,
    Kind.RESCHEDULED: Booking.Status.CONFIRMED,
    Kind.REMINDER: Booking.Status.CONFIRMED,
    Kind.CANCELLED: Booking.Status.CANCELLED,
    Kind.HOLD_EXPIRED: Booking.Status.EXPIRED,
    Kind.REVIEW_REQUEST: Booking.Status.COMPLETED,
}


def notification_obsolete_reason(
    *, notification: Notification, booking: Booking, now: datetime
) -> str:
    """A stable reason code when the message should not go out any more, else ""."""
    if notification.kind == Kind.REFUNDED:
        return ""  # money given back is news whatever became of the booking
    if notification.kind == Kind.PAYMENT_LINK:
        if booking.status != Booking.Status.HELD:
            return f"booking_{booking.status}"
        if booking.payment_status != Booking.PaymentStatus.PENDING:
            return f"payment_{booking.payment_status}"
        return ""
    if notification.kind == Kind.WAITLIST_OFFER:
        # Worth sending while the offered hold lasts.
        if booking.status != Booking.Status.HELD:
            return f"booking_{booking.status}"
        if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
            return "offer_lapsed"
        return ""
    if booking.status != _EXPECTED_STATUS[Notification.Kind(notification.kind)]:
        return f"booking_{booking.status}"
    if notification.kind in (Kind.REMINDER, Kind.RESCHEDULED) and (
        notification.booking_sequence != booking.sequence
    ):
        return "rescheduled"
    if notification.kind == Kind.REMINDER and now >= booking.starts_at:
        # Not sent late: a reminder after the start helps nobody.
        return "booking_started"
    if notification.kind in (Kind.CONFIRMED, Kind.RESCHEDULED, Kind.CANCELLED) and (
        now >= booking.ends_at
    ):
        return "booking_over"
    return ""
