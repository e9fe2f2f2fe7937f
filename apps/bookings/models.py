"""Customers, bookings and their append-only history (tenant schema)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, Func, Q
from django.utils.translation import gettext_lazy

from apps.bookings import intake, pii
from apps.core.ids import uuid7
from apps.resources.models import Resource, Service


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = models.DateTimeField()  # only used inside the exclusion constraint


class ContactDetails:
    """Email and phone of a person, read from their encrypted columns (apps/bookings/
    pii.py): a customer's, or the contact given with one booking."""

    email_encrypted: str
    phone_encrypted: str

    @property
    def email(self) -> str:
        """Clear-text email (decrypted on access); never log it, use `masked_email`."""
        return pii.pii_decrypt(self.email_encrypted)

    @property
    def phone(self) -> str:
        """Clear-text E.164 phone (decrypted on access); never log it."""
        return pii.pii_decrypt(self.phone_encrypted)

    @property
    def masked_email(self) -> str:
        return pii.mask_email(self.email)

    @property
    def masked_phone(self) -> str:
        return pii.mask_phone(self.phone)


class Customer(ContactDetails, models.Model):
    """A person who books. Email and phone are encrypted at rest (apps/bookings/pii.py);
    `*_hash` columns hold a keyed hash of the normalized value for exact lookups."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=150)
    email_encrypted = models.TextField(blank=True)
    phone_encrypted = models.TextField(blank=True)
    email_hash = models.CharField(max_length=64, blank=True, db_index=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # Set when the customer's data was erased (apps/bookings/customer_data.py): the name
    # is then a pseudonym and no contact detail or lookup hash is left.
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # One customer per email address in a tenant; concurrent first bookings of
            # a new address meet on this index instead of creating twins.
            models.UniqueConstraint(
                fields=["email_hash"],
                condition=~Q(email_hash=""),
                name="customer_unique_email_hash",
            ),
        ]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Contact(ContactDetails):
    """Where to reach the person a booking is for: a name, and email and phone encrypted
    as on Customer. Read it through `Booking.contact`."""

    name: str
    email_encrypted: str
    phone_encrypted: str

    def __repr__(self) -> str:  # keeps contact data out of tracebacks and logs
        return "Contact(…)"


class Actor(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    STAFF = "staff", "Staff user"
    API_KEY = "api_key", "API key"
    SYSTEM = "system", "System"


class BookingSeries(models.Model):
    """A booking repeated every `every_weeks` weeks at the same local time, `count`
    times or until `until` (apps/bookings/series.py). Each occurrence is an ordinary
    Booking pointing here, so every booking invariant holds for each; the series keeps
    the rule it was made with, in its location's zone, for the pages that show it."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="series")
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="series")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="series")
    every_weeks = models.PositiveSmallIntegerField()
    count = models.PositiveSmallIntegerField(null=True, blank=True)
    until = models.DateField(null=True, blank=True)
    # The wall time the occurrences keep, in this zone (the instant moves across DST).
    first_date = models.DateField()
    local_time = models.TimeField()
    timezone = models.CharField(max_length=64)
    created_by_type = models.CharField(max_length=16, choices=Actor.choices)
    created_by_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "booking series"
        constraints = [
            # A rule that never ends is refused: a count or an end date, not both.
            models.CheckConstraint(
                condition=(Q(count__isnull=False) & Q(until__isnull=True))
                | (Q(count__isnull=True) & Q(until__isnull=False)),
                name="series_count_or_until",
            ),
            models.CheckConstraint(
                condition=Q(count__isnull=True) | Q(count__gte=1, count__lte=52),
                name="series_count_within_limit",
            ),
            models.CheckConstraint(condition=Q(every_weeks__gte=1), name="series_every_weeks"),
        ]

    def __str__(self) -> str:
        return f"every {self.every_weeks} week(s) from {self.first_date.isoformat()}"


class Booking(models.Model):
    class Status(models.TextChoices):
        HELD = "held", gettext_lazy("Held")
        CONFIRMED = "confirmed", gettext_lazy("Confirmed")
        CANCELLED = "cancelled", gettext_lazy("Cancelled")
        COMPLETED = "completed", gettext_lazy("Completed")
        NO_SHOW = "no_show", gettext_lazy("No-show")
        EXPIRED = "expired", gettext_lazy("Expired")

    ACTIVE_STATUSES = (Status.HELD, Status.CONFIRMED)

    class Source(models.TextChoices):
        PAGE = "page", gettext_lazy("Booking page")
        API = "api", gettext_lazy("API")
        ADMIN = "admin", gettext_lazy("Staff")

    class PaymentStatus(models.TextChoices):
        NOT_REQUIRED = "not_required", gettext_lazy("Not required")
        PENDING = "pending", gettext_lazy("Pending")
        # A paid service booked by staff, the customer paying on the day.
        AT_VENUE = "at_venue", gettext_lazy("Pay at venue")
        PAID = "paid", gettext_lazy("Paid")
        PARTIALLY_REFUNDED = "partially_refunded", gettext_lazy("Partially refunded")
        REFUNDED = "refunded", gettext_lazy("Refunded")

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="bookings")
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="bookings")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="bookings")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.HELD)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    # One-to-one sessions (effective capacity 1) take part in the exclusion constraint.
    exclusive = models.BooleanField(default=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.PAGE)
    notes = models.TextField(blank=True)
    # The contact details typed with this booking (encrypted like Customer's). Messages
    # about the booking go there: the customer record is found by email and anyone can
    # type anyone's address, so what one booking says never changes that record.
    contact_name = models.CharField(max_length=150, blank=True)
    contact_email_encrypted = models.TextField(blank=True)
    contact_phone_encrypted = models.TextField(blank=True)
    # The answers to the service's intake questions, each with the label and kind it
    # was asked with: one JSON list encrypted like the contact (apps/bookings/intake.py).
    answers_encrypted = models.TextField(blank=True)
    payment_status = models.CharField(
        max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.NOT_REQUIRED
    )
    idempotency_key = models.CharField(max_length=255, blank=True)
    created_by_type = models.CharField(max_length=16, choices=Actor.choices)
    created_by_id = models.CharField(max_length=64, blank=True)
    cancellation_reason = models.TextField(blank=True)
    # Why staff booked outside the minimum notice or the horizon (also in the held event).
    window_override_reason = models.CharField(max_length=500, blank=True)
    # The language the customer booked in (the page's, or the API's `language`): this
    # booking's emails, texts and reminders speak it ("": the business's default).
    language = models.CharField(max_length=8, blank=True)
    # Bumped on every reschedule; calendar invitations use it as SEQUENCE.
    sequence = models.PositiveIntegerField(default=0)
    # The recurring series this booking is an occurrence of, if any.
    series = models.ForeignKey(
        BookingSeries,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="occurrences",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="booking_ordered"),
            models.CheckConstraint(
                condition=~Q(status="held") | Q(hold_expires_at__isnull=False),
                name="booking_hold_has_expiry",
            ),
            # Second line of defence under the slot counters: two active one-to-one
            # bookings of one resource never overlap (btree_gist lives in public).
            ExclusionConstraint(
                name="booking_exclusive_no_overlap",
                expressions=[
                    ("resource", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=["held", "confirmed"], exclusive=True),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "hold_expires_at"], name="booking_status_expiry_idx"),
            models.Index(fields=["resource", "starts_at"], name="booking_resource_start_idx"),
            models.Index(fields=["starts_at"], name="booking_starts_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} @ {self.starts_at.isoformat()} ({self.status})"

    @property
    def answers(self) -> list[intake.Answer]:
        """The intake answers given with this booking, in the order they were asked
        (decrypted on access; none when its key is gone)."""
        return intake.answers_open(self.answers_encrypted)

    @property
    def contact(self) -> Contact:
        """The contact details given with this booking. Every booking made since they
        are kept per booking has an email of its own (an email is required); older
        bookings have none and use their customer's."""
        if self.contact_email_encrypted:
            return Contact(
                name=self.contact_name,
                email_encrypted=self.contact_email_encrypted,
                phone_encrypted=self.contact_phone_encrypted,
            )
        customer = self.customer
        return Contact(
            name=customer.name,
            email_encrypted=customer.email_encrypted,
            phone_encrypted=customer.phone_encrypted,
        )


class BookingEvent(models.Model):
    """Append-only, human-readable history of a booking (the database refuses UPDATE
    and DELETE on this table)."""

    class Kind(models.TextChoices):
        HELD = "held", "Held"
        CONFIRMED = "confirmed", "Confirmed"
        RESCHEDULED = "rescheduled", "Rescheduled"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"
        COMPLETED = "completed", "Completed"
        NO_SHOW = "no_show", "No-show"

    id = models.BigAutoField(primary_key=True)
    booking = models.ForeignKey(Booking, on_delete=models.DO_NOTHING, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_starts_at = models.DateTimeField(null=True, blank=True)
    to_starts_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    actor_type = models.CharField(max_length=16, choices=Actor.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.booking_id}"


class IdempotencyRecord(models.Model):
    """The stored outcome of one idempotent request (apps/bookings/idempotency.py).

    The row is inserted first, in the transaction that performs the request: a duplicate
    arriving meanwhile waits on the unique index and then reads the stored response.
    Rows older than the retention (24 h) are purged and no longer replayed.
    """

    id = models.BigAutoField(primary_key=True)
    key = models.CharField(max_length=255)
    # `ActorRef.key`: a key is scoped to whoever sent it.
    actor_key = models.CharField(max_length=140)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # Encrypted (`pii.pii_encrypt`): answers carry API keys, secrets, booking tokens.
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["actor_key", "key"], name="idempotency_unique_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.actor_key} {self.key}"


class Payment(models.Model):
    """Money for a booking: a charge taken online (or its checkout while open) or a
    refund. Amounts in the service's currency; the provider's ids for support.

    A refund decided when a booking is cancelled is written `due` in the cancellation's
    own transaction (the amount the policy or staff decided then) and becomes
    `succeeded` once the provider has made it, so a refund whose task was lost is still
    owed and is made later at the same amount."""

    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"
        REFUND = "refund", "Refund"

    class Status(models.TextChoices):
        OPEN = "open", "Checkout open"
        SUCCEEDED = "succeeded", "Succeeded"
        EXPIRED = "expired", "Checkout expired"
        FAILED = "failed", "Failed"
        DUE = "due", "Refund due"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    provider = models.CharField(max_length=16, default="stripe")
    # The business's connected account, the checkout, the charge and the refund.
    account_id = models.CharField(max_length=255, blank=True)
    checkout_session_id = models.CharField(max_length=255, blank=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    refund_id = models.CharField(max_length=255, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    actor_type = models.CharField(max_length=16, choices=Actor.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_positive"),
            # One row per checkout and per refund, however often the provider reports it.
            models.UniqueConstraint(
                fields=["checkout_session_id"],
                condition=Q(kind="charge") & ~Q(checkout_session_id=""),
                name="payment_unique_checkout",
            ),
            models.UniqueConstraint(
                fields=["refund_id"], condition=~Q(refund_id=""), name="payment_unique_refund"
            ),
            # A cancellation decides one refund; only refunds are ever due.
            models.UniqueConstraint(
                fields=["booking"],
                condition=Q(kind="refund", status="due"),
                name="payment_one_refund_due",
            ),
            models.CheckConstraint(
                condition=~Q(status="due") | Q(kind="refund"), name="payment_due_is_refund"
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], name="payment_refund_due_idx", condition=Q(status="due")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} ({self.status})"
