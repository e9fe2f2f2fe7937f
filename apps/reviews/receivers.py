"""What reviews do when a booking changes: a booking marked completed asks its customer
for a review (in the completion's transaction, through the notifications outbox); a
customer being erased has their reviews anonymised (apps/reviews/personal_data.py)."""

from __future__ import annotations

from typing import Any

from apps.bookings import signals
from apps.bookings.models import Booking
from apps.reviews.personal_data import on_customer_erased
from apps.reviews.services import review_request_send


def on_booking_completed(sender: Any, *, booking: Booking, **_: Any) -> None:
    review_request_send(booking=booking)


def connect() -> None:
    signals.booking_completed.connect(
        on_booking_completed, dispatch_uid="reviews.on_booking_completed"
    )
    signals.customer_erased.connect(on_customer_erased, dispatch_uid="reviews.on_customer_erased")
