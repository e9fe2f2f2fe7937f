"""Who or what can be booked, where, and for which services (tenant schema)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

from apps.core.ids import uuid7
from apps.core.timezones import validate_timezone

MINUTES_PER_DAY = 24 * 60


class Location(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=120)
    address = models.TextField(blank=True)
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Resource(models.Model):
    """A person (staff member) or an asset (room, chair, equipment). One session at a time."""

    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        ASSET = "asset", "Room or equipment"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PERSON)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="resources")
    name = models.CharField(max_length=120)
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    is_active = models.BooleanField(default=True)
    # A staff member who manages this resource's own calendar (a global user).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,  # the user lives in the public schema
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    duration_minutes = models.PositiveSmallIntegerField()
    buffer_before_minutes = models.PositiveSmallIntegerField(default=0)
    buffer_after_minutes = models.PositiveSmallIntegerField(default=0)
    price = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="USD")
    # Places per session: 1 = one-to-one, >1 = group class.
    capacity = models.PositiveSmallIntegerField(default=1)
    resources = models.ManyToManyField(Resource, related_name="services", blank=True)
    # None = the tenant's default policy.
    min_notice_minutes = models.PositiveIntegerField(null=True, blank=True)
    horizon_days = models.PositiveSmallIntegerField(null=True, blank=True)
    requires_payment = models.BooleanField(default=False)
    # A service paid when booking takes its whole price online, or a deposit: a fixed
    # amount or a percentage of the price (the rest is paid at the venue).
    deposit_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    deposit_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0), name="service_duration_positive"
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="service_capacity_positive"),
            models.CheckConstraint(condition=Q(price__gte=0), name="service_price_not_negative"),
            models.CheckConstraint(
                condition=Q(deposit_amount__isnull=True) | Q(deposit_percent__isnull=True),
                name="service_one_kind_of_deposit",
            ),
            models.CheckConstraint(
                condition=Q(deposit_percent__isnull=True)
                | Q(deposit_percent__gte=1, deposit_percent__lte=99),
                name="service_deposit_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(deposit_amount__isnull=True)
                | Q(deposit_amount__gt=0, deposit_amount__lt=F("price")),
                name="service_deposit_below_price",
            ),
            # A session and its buffers fit in one day: availability reads rely on it to
            # bound how far around a day they look for sessions whose buffers reach in.
            models.CheckConstraint(
                condition=Q(
                    duration_minutes__lte=MINUTES_PER_DAY
                    - F("buffer_before_minutes")
                    - F("buffer_after_minutes")
                ),
                name="service_fits_in_a_day",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def payment_mode(self) -> str:
        """none (paid at the venue, or free), full, or deposit."""
        if not self.requires_payment or self.price <= 0:
            return "none"
        if self.deposit_amount is not None or self.deposit_percent is not None:
            return "deposit"
        return "full"
