"""Adapters from the booking domain events to webhook events. They run inside the
booking's transaction, so the deliveries commit or roll back with the change."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from apps.bookings import signals
from apps.bookings.models import Booking
from apps.notifications.webhooks.models import WebhookEventType
from apps.notifications.webhooks.services import webhook_event_record


def on_booking_held(sender: Any, *, booking: Booking, **_: Any) -> None:
    webhook_event_record(event_type=WebhookEventType.BOOKING_HELD, booking=booking)


def on_booking_confirmed(sender: Any, *, booking: Booking, **_: Any) -> None:
    webhook_event_record(event_type=WebhookEventType.BOOKING_CONFIRMED, booking=booking)


def on_booking_cancelled(sender: Any, *, booking: Booking, **_: Any) -> None:
    webhook_event_record(event_type=WebhookEventType.BOOKING_CANCELLED, booking=booking)


def on_booking_expired(sender: Any, *, booking: Booking, **_: Any) -> None:
    webhook_event_record(event_type=WebhookEventType.BOOKING_EXPIRED, booking=booking)


def on_booking_rescheduled(
    sender: Any,
    *,
    booking: Booking,
    previous_starts_at: datetime | None = None,
    previous_ends_at: datetime | None = None,
    **_: Any,
) -> None:
    previous = {
        "start": previous_starts_at.isoformat() if previous_starts_at else None,
        "end": previous_ends_at.isoformat() if previous_ends_at else None,
    }
    webhook_event_record(
        event_type=WebhookEventType.BOOKING_RESCHEDULED, booking=booking, previous=previous
    )


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"amount": str(amount), "currency": currency}


def on_booking_paid(
    sender: Any, *, booking: Booking, amount: Decimal, currency: str, **_: Any
) -> None:
    webhook_event_record(
        event_type=WebhookEventType.BOOKING_PAID,
        booking=booking,
        payment=_money(amount, currency),
    )


def on_booking_refunded(
    sender: Any, *, booking: Booking, amount: Decimal, currency: str, **_: Any
) -> None:
    webhook_event_record(
        event_type=WebhookEventType.BOOKING_REFUNDED,
        booking=booking,
        payment=_money(amount, currency),
    )


def connect() -> None:
    pairs = [
        (signals.booking_held, on_booking_held),
        (signals.booking_confirmed, on_booking_confirmed),
        (signals.booking_cancelled, on_booking_cancelled),
        (signals.booking_rescheduled, on_booking_rescheduled),
        (signals.booking_expired, on_booking_expired),
        (signals.booking_paid, on_booking_paid),
        (signals.booking_refunded, on_booking_refunded),
    ]
    for signal, receiver in pairs:
        signal.connect(receiver, dispatch_uid=f"webhooks.{receiver.__name__}")
