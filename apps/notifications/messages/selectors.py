"""Reads of customer messages: a booking's messages, the failed ones, the outbox lag and
the tenant's reminder offsets."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from django.db.models import Min, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Tenant
from apps.bookings.models import Booking
from apps.core.tenancy import current_schema
from apps.notifications.messages.errors import NotificationNotFound
from apps.notifications.models import Notification


def tenant_reminder_offsets() -> list[int]:
    """The current tenant's reminder offsets, read fresh (a cached tenant object may
    predate a settings change), distinct, positive, largest first."""
    offsets = (
        Tenant.objects.filter(schema_name=current_schema())
        .values_list("reminder_offsets_minutes", flat=True)
        .first()
    )
    return reminder_offsets_clean(offsets or [])


def reminder_offsets_clean(offsets: list[int]) -> list[int]:
    return sorted({int(offset) for offset in offsets if int(offset) > 0}, reverse=True)


def notification_get(*, notification_id: UUID | str) -> Notification:
    notification = (
        Notification.objects.select_related(
            "booking__service", "booking__resource__location", "booking__customer"
        )
        .filter(pk=notification_id)
        .first()
    )
    if notification is None:
        raise NotificationNotFound(_("No such notification."))
    return notification


def notifications_for_booking(*, booking: Booking) -> list[Notification]:
    return list(
        Notification.objects.filter(booking=booking).order_by("scheduled_for", "kind", "channel")
    )


@dataclass(frozen=True)
class BookingNotificationStatus:
    """What the booking detail page shows: every message, and a one-line summary."""

    booking: Booking
    notifications: list[Notification]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> list[Notification]:
        return [n for n in self.notifications if n.status == Notification.Status.FAILED]

    @property
    def next_pending(self) -> Notification | None:
        pending = [n for n in self.notifications if n.status == Notification.Status.PENDING]
        return min(pending, key=lambda n: n.next_attempt_at) if pending else None


def booking_notification_status(*, booking: Booking) -> BookingNotificationStatus:
    rows = notifications_for_booking(booking=booking)
    return BookingNotificationStatus(
        booking=booking, notifications=rows, counts=dict(Counter(n.status for n in rows))
    )


def notifications_failed(*, limit: int = 200) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(status=Notification.Status.FAILED)
        .select_related("booking__service", "booking__resource", "booking__customer")
        .order_by("-updated_at")[:limit]
    )


def notifications_failed_count() -> int:
    return Notification.objects.filter(status=Notification.Status.FAILED).count()


def outbox_lag_seconds(*, now: datetime | None = None) -> float:
    """How long the oldest due notification has been waiting (0 when none is due)."""
    now = now or timezone.now()
    oldest = Notification.objects.filter(
        status=Notification.Status.PENDING, next_attempt_at__lte=now
    ).aggregate(oldest=Min("next_attempt_at"))["oldest"]
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
