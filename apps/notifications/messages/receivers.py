"""Adapters from the booking domain events to the message planning services. They run
inside the booking's transaction, so the outbox rows commit or roll back with the change."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from apps.accounts.models import Tenant
from apps.accounts.signals import tenant_settings_changed
from apps.bookings import signals
from apps.bookings.models import Booking
from apps.core.task_queue import task_enqueue
from apps.notifications.messages import services

logger = logging.getLogger(__name__)


def on_booking_confirmed(sender: Any, *, booking: Booking, notify: bool = True, **_: Any) -> None:
    services.notifications_plan_confirmed(booking=booking, confirmation=notify)


def on_booking_series_confirmed(sender: Any, *, bookings: Sequence[Booking], **_: Any) -> None:
    services.notifications_plan_series_confirmed(bookings=bookings)


def on_booking_series_cancelled(sender: Any, *, bookings: Sequence[Booking], **_: Any) -> None:
    services.notifications_plan_series_cancelled(bookings=bookings)


def on_booking_payment_requested(sender: Any, *, booking: Booking, url: str, **_: Any) -> None:
    services.notifications_plan_payment_link(booking=booking, url=url)


def on_booking_rescheduled(
    sender: Any, *, booking: Booking, previous_starts_at: datetime | None = None, **_: Any
) -> None:
    services.notifications_plan_rescheduled(booking=booking, previous_starts_at=previous_starts_at)


def on_booking_cancelled(sender: Any, *, booking: Booking, reason: str = "", **_: Any) -> None:
    services.notifications_plan_cancelled(booking=booking, reason=reason)


def on_booking_expired(sender: Any, *, booking: Booking, **_: Any) -> None:
    services.notifications_plan_hold_expired(booking=booking)


def on_booking_refunded(
    sender: Any,
    *,
    booking: Booking,
    amount: Decimal | None = None,
    currency: str = "",
    **_: Any,
) -> None:
    services.notifications_plan_refunded(booking=booking, amount=amount, currency=currency)


def on_booking_completed(sender: Any, *, booking: Booking, **_: Any) -> None:
    services.notifications_revoke_pending(booking=booking, reason="booking_completed")


def on_booking_no_show(sender: Any, *, booking: Booking, **_: Any) -> None:
    services.notifications_revoke_pending(booking=booking, reason="booking_no_show")


def on_tenant_settings_changed(sender: Any, *, tenant: Tenant, changed: set[str], **_: Any) -> None:
    """New reminder offsets re-plan the reminders of every booking still to come, by a
    task once the change commits (many bookings: not in the settings request)."""
    if "reminder_offsets_minutes" not in changed:
        return

    def enqueue() -> None:
        try:
            task_enqueue("notifications.replan_reminders")
        except Exception:  # broker out of reach: do it here rather than never
            logger.warning("notifications.replan_enqueue_failed", extra={"tenant": tenant.slug})
            services.reminders_replan_for_tenant(tenant=tenant)

    transaction.on_commit(enqueue)


def connect() -> None:
    pairs: list[tuple[Signal, Callable[..., None]]] = [
        (signals.booking_confirmed, on_booking_confirmed),
        (signals.booking_rescheduled, on_booking_rescheduled),
        (signals.booking_cancelled, on_booking_cancelled),
        (signals.booking_expired, on_booking_expired),
        (signals.booking_completed, on_booking_completed),
        (signals.booking_no_show, on_booking_no_show),
        (signals.booking_refunded, on_booking_refunded),
        (signals.booking_payment_requested, on_booking_payment_requested),
        (signals.booking_series_confirmed, on_booking_series_confirmed),
        (signals.booking_series_cancelled, on_booking_series_cancelled),
    ]
    for signal, receiver in pairs:
        signal.connect(receiver, dispatch_uid=f"notifications.{receiver.__name__}")
    tenant_settings_changed.connect(
        on_tenant_settings_changed, dispatch_uid="notifications.on_tenant_settings_changed"
    )
