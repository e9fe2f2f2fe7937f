"""The notification outbox, a tenant's notification preferences and staff calendar feeds
(tenant schema).

A `Notification` row is one message to one customer on one channel. Rows are written by
the receivers of the booking domain events, inside the booking's own transaction, so a
row exists if and only if the booking change committed. Workers only ever move a row
forward through its statuses with guarded UPDATEs (see apps/notifications/outbox.py).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.bookings.models import Booking
from apps.core.ids import uuid7
from apps.resources.models import Resource


class Notification(models.Model):
    """One message about one booking, on one channel.

    At most one row exists per (booking, kind, channel, offset, booking_sequence):
    `booking_sequence` is the booking's `sequence` when the row was planned, so a
    reschedule (which bumps the sequence) gets its own notice and its own reminders
    while the reminders of the old time stay on record as cancelled; for one version
    of a booking each message goes out at most once.
    """

    class Kind(models.TextChoices):
        CONFIRMED = "confirmed", "Booking confirmed"
        RESCHEDULED = "rescheduled", "Booking rescheduled"
        CANCELLED = "cancelled", "Booking cancelled"
        HOLD_EXPIRED = "hold_expired", "Hold expired"
        REMINDER = "reminder", "Reminder"
        REFUNDED = "refunded", "Payment refunded"
        PAYMENT_LINK = "payment_link", "Payment link"
        # A freed place held for someone on the waitlist (apps/waitlist), with its link.
        WAITLIST_OFFER = "waitlist_offer", "Waitlist offer"
        # After a completed booking: a signed link to review it (apps/reviews).
        REVIEW_REQUEST = "review_request", "Review request"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    # `details` key: ISO 8601 starts, earliest first (apps/bookings/series.py).
    SERIES_STARTS = "series_starts"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    # Reminders: minutes before the booking starts (elapsed time). Refund notices: the
    # refund's number for the booking (0: the first), one notice each. Other kinds: 0.
    offset_minutes = models.PositiveIntegerField(default=0)
    booking_sequence = models.PositiveIntegerField(default=0)
    # When the message is meant to go out; `next_attempt_at` is when it is next due
    # (the same, until a failed attempt pushes it back).
    scheduled_for = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Facts of the event the message reports that the booking no longer holds, such as
    # the previous start of a rescheduled booking (ISO 8601), or under `SERIES_STARTS`
    # the start of every date a series' one confirmation or cancellation covers.
    details = models.JSONField(default=dict, blank=True)
    # Why a row was cancelled or failed, as a stable code (`past_due`, `rescheduled`, …).
    status_reason = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    # Where a message planned before its customer's data was erased still goes (name and
    # address, encrypted JSON; apps/notifications/personal_data.py); empty otherwise. The
    # database empties it once the row is sent, failed or cancelled (migration 0005).
    recipient_encrypted = models.TextField(blank=True)
    # Staff-requested resends of a sent message; part of the email Message-ID.
    resend_count = models.PositiveSmallIntegerField(default=0)
    # Last time the dispatcher queued a send task for this row.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # A row in `sending` past this instant belongs to a worker that died mid-send.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scheduled_for", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "kind", "channel", "offset_minutes", "booking_sequence"],
                name="notification_once_per_booking_version",
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(lease_expires_at__isnull=False),
                name="notification_sending_has_lease",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="notification_sent_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="notification_due_idx",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["lease_expires_at"],
                name="notification_lease_idx",
                condition=Q(status="sending"),
            ),
            models.Index(
                fields=["-updated_at"],
                name="notification_failed_idx",
                condition=Q(status="failed"),
            ),
        ]

    def __str__(self) -> str:
        offset = f" -{self.offset_minutes}m" if self.kind == self.Kind.REMINDER else ""
        return f"{self.kind}{offset} by {self.channel} ({self.status})"


class NotificationPreference(models.Model):
    """The tenant's notification choices: one row per tenant schema (id is always 1).
    Without a row, the defaults below apply."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    # Tell a customer when their unconfirmed hold lapsed (off unless the tenant opts in).
    notify_hold_expired = models.BooleanField(default=False)
    # Text messages go to customers who gave a phone number.
    sms_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="notification_preference_singleton"),
        ]

    def __str__(self) -> str:
        return "Notification preferences"


class CalendarFeed(models.Model):
    """A secret iCal subscription URL for one resource's confirmed bookings. Only a
    SHA-256 hash of the token is stored; the URL is shown once, when created."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="calendar_feeds")
    token_hash = models.CharField(max_length=64, unique=True)
    # The token's last characters, so staff can tell feeds apart.
    token_hint = models.CharField(max_length=8)
    created_by_id = models.CharField(max_length=64, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"Calendar feed …{self.token_hint} ({state})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# Webhook tables belong to this app (their code lives in apps/notifications/webhooks/).
from apps.notifications.webhooks.models import (  # noqa: E402
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

__all__ = [
    "CalendarFeed",
    "Notification",
    "NotificationPreference",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
