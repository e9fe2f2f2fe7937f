"""Webhook endpoints, the events recorded for them, one delivery per endpoint and event,
and the log of every attempt (tenant schema).

Rows are written by the receivers of the booking domain events inside the booking's own
transaction, so an event exists if and only if the booking change committed. Workers move
a delivery forward with guarded UPDATEs only (apps/notifications/outbox.py).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from apps.bookings.models import Booking
from apps.core.ids import uuid7


class WebhookEventType(models.TextChoices):
    BOOKING_HELD = "booking.held", "Booking held"
    BOOKING_CONFIRMED = "booking.confirmed", "Booking confirmed"
    BOOKING_CANCELLED = "booking.cancelled", "Booking cancelled"
    BOOKING_RESCHEDULED = "booking.rescheduled", "Booking rescheduled"
    BOOKING_EXPIRED = "booking.expired", "Hold expired"
    BOOKING_PAID = "booking.paid", "Booking paid"
    BOOKING_REFUNDED = "booking.refunded", "Booking refunded"
    # Sent on request to one endpoint, to test it; nobody subscribes to it.
    PING = "webhook.ping", "Test ping"


SUBSCRIBABLE_EVENT_TYPES: tuple[str, ...] = tuple(
    value for value in WebhookEventType.values if value != WebhookEventType.PING
)


class WebhookEndpoint(models.Model):
    """A URL of the business that receives the events it subscribed to, signed with its
    secret. The secret is kept encrypted (it is needed in clear to sign) and shown once,
    when created or rotated; after a rotation the previous secret keeps signing too until
    `previous_secret_expires_at`, so receivers can switch without losing events."""

    class DisabledReason(models.TextChoices):
        MANUAL = "manual", "Disabled by a person"
        FAILING = "failing", "Disabled after failing deliveries"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = ArrayField(models.CharField(max_length=40))
    secret_encrypted = models.TextField()
    # The secret's last characters, so people can tell which one a receiver has.
    secret_hint = models.CharField(max_length=8)
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=16, choices=DisabledReason.choices, blank=True)
    # Events in a row whose delivery failed for good, and when the failing began (the
    # first failed attempt after the last success): together they decide auto-disabling.
    failure_streak = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    # The staff user who created it (a global user id), empty when made by an API key.
    created_by_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(disabled_at__isnull=True, disabled_reason="")
                | (Q(disabled_at__isnull=False) & ~Q(disabled_reason="")),
                name="webhook_endpoint_disabled_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.url} ({'active' if self.is_active else 'disabled'})"

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


class WebhookEvent(models.Model):
    """One occurrence of an event, with the exact JSON body every endpoint receives (so
    retries and replays send the same bytes and the same event id). The body names the
    customer, so it is stored encrypted like other customer contact data."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    type = models.CharField(max_length=40, choices=WebhookEventType.choices)
    version = models.PositiveSmallIntegerField()
    booking = models.ForeignKey(
        Booking,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhook_events",
    )
    body_encrypted = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_at"], name="webhook_event_created_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookDelivery(models.Model):
    """One event to one endpoint: at most one row per (endpoint, event). Attempts are
    logged in WebhookAttempt; a replay puts the same row back in the queue."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Why a row is retrying, failed or cancelled, as a stable code.
    status_reason = models.CharField(max_length=64, blank=True)
    # Attempts made so far (numbering the log) and the number at which the row gives
    # up: the retry schedule for a new event, one more for a replay, one for a ping.
    attempts = models.PositiveSmallIntegerField(default=0)
    attempts_allowed = models.PositiveSmallIntegerField()
    replays = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Last time a send task was queued for this row.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # A row in `sending` past this instant belongs to a worker that died mid-send.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event"], name="webhook_delivery_once_per_endpoint"
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(lease_expires_at__isnull=False),
                name="webhook_delivery_sending_has_lease",
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | Q(delivered_at__isnull=False),
                name="webhook_delivery_succeeded_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due_idx",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["lease_expires_at"],
                name="webhook_delivery_lease_idx",
                condition=Q(status="sending"),
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} to {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery and what came back (append-only)."""

    class Trigger(models.TextChoices):
        AUTOMATIC = "automatic", "Automatic"
        MANUAL = "manual", "Replay"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    started_at = models.DateTimeField()
    succeeded = models.BooleanField()
    # None when no HTTP answer came (refused address, timeout, connection error).
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="webhook_attempt_number_once"
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.status_code or self.error[:40]}"
