"""Billing listens to bookings: a hold that ends closes the checkout opened for it, and
a paid booking that is cancelled is refunded by the business's policy."""

from __future__ import annotations

import functools
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.billing.booking_payments import checkouts_close_after_commit
from apps.billing.refunds import refund_choice_current
from apps.bookings import signals
from apps.bookings.models import Booking
from apps.core.task_queue import task_enqueue
from apps.core.tenancy import current_schema


def _hold_ended(sender: Any, *, booking: Booking, **_: Any) -> None:
    if booking.payment_status == Booking.PaymentStatus.PENDING:
        checkouts_close_after_commit(booking=booking, schema=current_schema())


def _cancelled(sender: Any, *, booking: Booking, **kwargs: Any) -> None:
    _hold_ended(sender, booking=booking, **kwargs)
    if booking.payment_status in (
        Booking.PaymentStatus.PAID,
        Booking.PaymentStatus.PARTIALLY_REFUNDED,
    ):
        # After the commit, by a task: a slow Stripe never holds up the cancellation.
        choice = refund_choice_current()
        transaction.on_commit(
            functools.partial(
                task_enqueue,
                "billing.booking_refund_on_cancel",
                schema=current_schema(),
                booking_id=str(booking.pk),
                cancelled_at=timezone.now().isoformat(),
                mode=choice.mode.value,
                amount=str(choice.amount) if choice.amount is not None else "",
                note=choice.note,
            )
        )


def connect() -> None:
    signals.booking_expired.connect(_hold_ended, dispatch_uid="billing.hold_expired")
    signals.booking_cancelled.connect(_cancelled, dispatch_uid="billing.cancelled")
