"""Who or what can be booked, where, and for which services (tenant schema)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy

from apps.core.ids import uuid7
from apps.core.timezones import validate_timezone

MINUTES_PER_DAY = 24 * 60


class Location(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=120)
    address = models.TextField(blank=True)
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    # ISO 3166 alpha-2 ("DE"): how customers' phone numbers typed without their country
    # code are read, and whose public holidays the first-day checklist offers. Blank:
    # numbers need their country code. Defaults to the time zone's country.
    country = models.CharField(max_length=2, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Resource(models.Model):
    """A person (staff member) or an asset (room, chair, equipment). One session at a time."""

    class Kind(models.TextChoices):
        PERSON = "person", gettext_lazy("Person")
        ASSET = "asset", gettext_lazy("Room or equipment")

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
    # Customers may book it as a weekly series on the booking pages (staff always may);
    # only for a service not paid online (apps/bookings/series.py says why).
    customers_may_repeat = models.BooleanField(default=False)
    # How many intake questions it asks, kept by apps/resources/intake.py's writes under
    # the service's row lock: a hold of a service asking none skips reading them.
    questions_asked_count = models.PositiveSmallIntegerField(default=0, editable=False)
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
    def is_paid(self) -> bool:
        """Whether a booking of it waits for an online payment (`payment_mode` is not
        none): the one test of it, for holds, booking pages and staff bookings alike."""
        return self.requires_payment and self.price > 0

    @property
    def payment_mode(self) -> str:
        """none (paid at the venue, or free), full, or deposit."""
        if not self.is_paid:
            return "none"
        if self.deposit_amount is not None or self.deposit_percent is not None:
            return "deposit"
        return "full"


class IntakeQuestion(models.Model):
    """A question a service asks when it is booked (apps/bookings/intake.py checks and
    keeps the answers). Questions are not versioned: each answer keeps the label and
    kind it was asked with, so editing a question never changes what old bookings say.
    Removing one sets `removed_at` (it is no longer asked) and keeps the row, so the
    bookings export still has a column for the answers it got."""

    class Kind(models.TextChoices):
        SHORT_TEXT = "short_text", gettext_lazy("Short text")
        LONG_TEXT = "long_text", gettext_lazy("Long text")
        SINGLE_CHOICE = "single_choice", gettext_lazy("One of several choices")
        MULTIPLE_CHOICE = "multiple_choice", gettext_lazy("Any of several choices")
        CHECKBOX = "checkbox", gettext_lazy("Checkbox (consent)")
        DATE = "date", gettext_lazy("Date")

    CHOICE_KINDS = (Kind.SINGLE_CHOICE, Kind.MULTIPLE_CHOICE)

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="questions")
    # Asked in this order (gaps allowed); unique among the questions still asked.
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    label = models.CharField(max_length=200)
    help_text = models.CharField(max_length=500, blank=True)
    required = models.BooleanField(default=False)
    # The options of a choice question, in the order they are offered.
    choices = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "position"],
                condition=Q(removed_at__isnull=True),
                name="intake_question_unique_position",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["short_text", "long_text", "checkbox", "date"])
                | Q(kind__in=["single_choice", "multiple_choice"], choices__len__gte=1),
                name="intake_question_choices_given",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def is_choice(self) -> bool:
        return self.kind in self.CHOICE_KINDS
