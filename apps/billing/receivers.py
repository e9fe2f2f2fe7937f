"""Billing listens to bookings: a hold that ends closes the checkout opened for it."""

from __future__ import annotations

from typing import Any

from apps.billing.booking_payments import checkouts_close_after_commit
from apps.bookings import signals
from apps.bookings.models import Booking
from apps.core.tenancy import current_schema


def _hold_ended(sender: Any, *, booking: Booking, **_: Any) -> None:
    if booking.payment_status == Booking.PaymentStatus.PENDING:
        checkouts_close_after_commit(booking=booking, schema=current_schema())


def connect() -> None:
    signals.booking_expired.connect(_hold_ended, dispatch_uid="billing.hold_expired")
    signals.booking_cancelled.connect(_hold_ended, dispatch_uid="billing.hold_cancelled")
