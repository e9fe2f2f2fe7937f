"""`{% booking_notification_status booking %}`: the messages of a booking with their
status and Retry, for pages of apps that must not import notifications (bookings come
before notifications in the dependency order; a template may use both)."""

from __future__ import annotations

from typing import Any

from django import template

from apps.bookings.models import Booking
from apps.notifications.messages.selectors import booking_notification_status as status_of

register = template.Library()


@register.inclusion_tag("dashboard/notifications/_booking_status.html", takes_context=True)
def booking_notification_status(context: template.Context, booking: Booking) -> dict[str, Any]:
    status = status_of(booking=booking)
    for notification in status.notifications:
        # The rows show the booking's time in its location's zone: reuse the booking the
        # page already loaded instead of one query per row.
        notification.booking = booking
    return {
        "notification_status": status,
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
    }
