"""Adapters from the booking domain events to the planning services. They run inside the
booking's transaction, so the outbox rows commit or roll back with the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apps.bookings import signals
from apps.bookings.models import Booking
from apps.notifications import services


def on_booking_confirmed(sender: Any, *, booking: Booking, **_: Any) -> None:
    services.notifications_plan_confirmed(booking=booking)


def on_booking_rescheduled(
    sender: Any, *, booking: Booking, previous_starts_at: datetime | None = None, **_: Any
) -> None:
    services.notifications_plan_rescheduled(booking=booking, previous_starts_at=previous_starts_at)


def on_booking_cancelled(sender: Any, *, booking: Booking, reason: str = "", **_: Any) -> None:
    services.notifications_plan_cancelled(booking=booking, reason=reason)


def on_booking_expired(sender: Any, *, booking: Booking, **_: Any) -> None:
    services.notifications_plan_hold_expired(booking=booking)


def on_booking_completed(sender: Any, *, booking: Booking, **_: Any) -> None:
    services.notifications_revoke_pending(booking=booking, reason="booking_completed")


def on_booking_no_show(sender: Any, *, booking: Booking, **_: Any) -> None:
    services.notifications_revoke_pending(booking=booking, reason="booking_no_show")


def connect() -> None:
    pairs = [
        (signals.booking_confirmed, on_booking_confirmed),
        (signals.booking_rescheduled, on_booking_rescheduled),
        (signals.booking_cancelled, on_booking_cancelled),
        (signals.booking_expired, on_booking_expired),
        (signals.booking_completed, on_booking_completed),
        (signals.booking_no_show, on_booking_no_show),
    ]
    for signal, receiver in pairs:
        signal.connect(receiver, dispatch_uid=f"notifications.{receiver.__name__}")
