"""The waitlist (tenant schema): people waiting for a time that was full, the timed offers
made to them as holds, the business's offer window, and the marks that wake the offer
maker when capacity frees.

Invariants kept by the database:
- a person (their email's lookup hash) waits at most once for any one time of a service
  with one resource, or with anyone (`waitlist_entry_one_live_per_person`,
  `waitlist_entry_one_live_per_person_anyone`: exclusion constraints on overlapping
  ranges of acceptable starts, among waiting and offered entries);
- an entry has at most one live offer (`waitlist_offer_one_live_per_entry`);
- a hold is offered to at most one entry, ever (`waitlist_offer_unique_booking`);
- an offer's place is a real hold (`booking`), so capacity is the booking core's own.
"""

from __future__ import annotations

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import models
from django.db.models import F, Q, Value
from django.utils.translation import gettext_lazy as _

from apps.bookings import intake, pii
from apps.bookings.models import Booking, ContactDetails, Customer, TsTzRange
from apps.core.ids import uuid7
from apps.resources.models import Resource, Service

OFFER_WINDOW_DEFAULT_MINUTES = 15
# The live entries one person may not have twice for one time (see the constraints).
LIVE_STATUSES = ["waiting", "offered"]


class WaitlistSettings(models.Model):
    """The business's waitlist settings: one row (`singleton` is always 1)."""

    singleton = models.PositiveSmallIntegerField(default=1, unique=True, editable=False)
    # How long a freed place is held for the person offered it before the next in line.
    offer_window_minutes = models.PositiveSmallIntegerField(default=OFFER_WINDOW_DEFAULT_MINUTES)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(singleton=1), name="waitlist_settings_single_row"),
            models.CheckConstraint(
                condition=Q(offer_window_minutes__gte=5, offer_window_minutes__lte=1440),
                name="waitlist_offer_window_range",
            ),
        ]

    def __str__(self) -> str:
        return f"offer window {self.offer_window_minutes} min"


class WaitlistEntry(ContactDetails, models.Model):
    """One person waiting for a place of `service` (with `resource`, or anyone offering
    it) starting between `earliest_at` and `latest_at`. The contact is the one typed with
    the entry, encrypted like a booking's (apps/bookings/pii.py)."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Offered a place")
        BOOKED = "booked", _("Booked")
        LAPSED = "lapsed", _("Offer not taken")
        BOOKED_ELSEWHERE = "booked_elsewhere", _("Booked another time")
        REMOVED = "removed", _("Removed")
        PASSED = "passed", _("Time passed")

    OPEN_STATUSES = (Status.WAITING, Status.OFFERED)

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="waitlist_entries")
    # None: anyone who offers the service.
    resource = models.ForeignKey(
        Resource,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="waitlist_entries",
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    earliest_at = models.DateTimeField()
    latest_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    # The line's order (staff move entries up and down); ties by when they joined.
    position = models.BigIntegerField(default=0)
    contact_name = models.CharField(max_length=150)
    email_encrypted = models.TextField(blank=True)
    phone_encrypted = models.TextField(blank=True)
    email_hash = models.CharField(max_length=64, blank=True)
    # The language the customer joined in ("" for the business's): the offer's hold,
    # its email and text speak it.
    language = models.CharField(max_length=8, blank=True)
    # The answers to the service's intake questions given at the join, encrypted like a
    # booking's (apps/bookings/intake.py); the offer's hold is made with them.
    answers_encrypted = models.TextField(blank=True)
    created_by_type = models.CharField(max_length=16)
    created_by_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(latest_at__gte=F("earliest_at")), name="waitlist_entry_ordered"
            ),
            # One person waits at most once for any one start of a service with one
            # resource (or with anyone): two live entries whose ranges of acceptable
            # starts (both ends inclusive) overlap are refused, whoever commits second.
            # Two constraints because a NULL resource equals nothing.
            ExclusionConstraint(
                name="waitlist_entry_one_live_per_person",
                expressions=[
                    ("service", RangeOperators.EQUAL),
                    ("resource", RangeOperators.EQUAL),
                    ("email_hash", RangeOperators.EQUAL),
                    (TsTzRange("earliest_at", "latest_at", Value("[]")), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=LIVE_STATUSES, resource__isnull=False),
            ),
            ExclusionConstraint(
                name="waitlist_entry_one_live_per_person_anyone",
                expressions=[
                    ("service", RangeOperators.EQUAL),
                    ("email_hash", RangeOperators.EQUAL),
                    (TsTzRange("earliest_at", "latest_at", Value("[]")), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=LIVE_STATUSES, resource__isnull=True),
            ),
        ]
        indexes = [
            models.Index(
                fields=["position", "created_at"],
                name="waitlist_entry_waiting_idx",
                condition=Q(status="waiting"),
            ),
            models.Index(fields=["email_hash"], name="waitlist_entry_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.earliest_at.isoformat()} ({self.status})"

    def __repr__(self) -> str:  # keeps contact data out of tracebacks and logs
        return f"WaitlistEntry(id={self.id!s}, status={self.status})"

    @property
    def answers(self) -> list[intake.Answer]:
        """The intake answers given with the join, as they were asked."""
        return intake.answers_open(self.answers_encrypted)

    @property
    def masked_contact(self) -> str:
        return pii.mask_email(self.email) if self.email_encrypted else ""


class WaitlistOffer(models.Model):
    """A freed place held for one entry (`booking`, a hold of the booking core) until the
    hold lapses; accepted when that hold is confirmed."""

    class Status(models.TextChoices):
        LIVE = "live", _("Waiting for an answer")
        ACCEPTED = "accepted", _("Accepted")
        LAPSED = "lapsed", _("Lapsed")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="waitlist_offers")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.LIVE)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry"],
                condition=Q(status="live"),
                name="waitlist_offer_one_live_per_entry",
            ),
            models.UniqueConstraint(fields=["booking"], name="waitlist_offer_unique_booking"),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"], name="waitlist_offer_live_idx", condition=Q(status="live")
            ),
        ]

    def __str__(self) -> str:
        return f"offer {self.entry_id} ({self.status})"


class WaitlistWake(models.Model):
    """Capacity may have freed (a cancellation, a lapsed hold, a move, new opening hours):
    the offer maker should look. Written in the freeing transaction, only while someone
    waits; consumed by the run that saw it (apps/waitlist/services.py)."""

    id = models.BigAutoField(primary_key=True)
    reason = models.CharField(max_length=32)
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.reason} @ {self.due_at.isoformat()}"
