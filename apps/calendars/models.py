"""When resources can be booked: rules in local wall time, and the materialized slot grid
in UTC whose counters carry capacity (tenant schema)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, IntegerField, Q, Value
from django.db.models.functions import Coalesce

from apps.core.ids import uuid7
from apps.resources.models import MINUTES_PER_DAY, Location, Resource, Service

ISO_WEEKDAYS = [1, 2, 3, 4, 5, 6, 7]


class AvailabilityRule(models.Model):
    """Opening hours of a resource, or of every resource at a location.

    Times are minutes after local midnight of the location's timezone; `end_minute` may
    be 1440 ("24:00"). Precedence on a date: EXCEPTION > DATE_RANGE > WEEKLY — an
    exception on a date replaces that date's hours (`is_closed` closes it; several
    exceptions on one date add up); date-range rules covering a date replace the weekly
    rules on it.

    How a resource's hours on one local date are decided (apps/calendars/rules/opening_hours.py):
    the kinds are tried in the order exception, date range, weekly; for each kind the
    resource's own rules that apply to the date are tried first, then its location's.
    The first non-empty set wins and the rest are ignored for that date:

    - a set containing a closure (`is_closed`) closes the date;
    - otherwise the set's windows add up (rules of one kind and one scope may not
      overlap on any date: the services refuse such a rule).

    So a location's holiday closes every resource that has no exception of its own that
    day, and a resource's own weekly hours replace the location's weekly hours on the
    weekdays it names. A rule applies to a date when the date lies within
    [`valid_from`, `valid_to`] (either end may be open on a weekly rule) and its ISO
    weekday is in `days_of_week` (empty = every day; weekly rules always name days).
    Each window yields a grid that starts at its start time and steps by its
    `granularity_minutes`; a slot must end by the window's end.
    """

    class Kind(models.TextChoices):
        WEEKLY = "weekly", "Weekly hours"
        DATE_RANGE = "date_range", "Hours for a date range"
        EXCEPTION = "exception", "Exception (closure or extra opening)"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, null=True, blank=True, related_name="rules"
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, null=True, blank=True, related_name="rules"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # ISO weekdays, Monday = 1 … Sunday = 7. Empty on an exception means "every day
    # of its date range".
    days_of_week = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    start_minute = models.PositiveSmallIntegerField(null=True, blank=True)
    end_minute = models.PositiveSmallIntegerField(null=True, blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    granularity_minutes = models.PositiveSmallIntegerField(default=30)
    # Caps places per session in this rule's window; None = the service's capacity.
    capacity = models.PositiveSmallIntegerField(null=True, blank=True)
    is_closed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "valid_from", "start_minute"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(resource__isnull=False) & Q(location__isnull=True))
                | (Q(resource__isnull=True) & Q(location__isnull=False)),
                name="rule_for_resource_xor_location",
            ),
            models.CheckConstraint(
                condition=Q(is_closed=True)
                | (
                    Q(start_minute__isnull=False)
                    & Q(end_minute__isnull=False)
                    & Q(start_minute__lt=F("end_minute"))
                    & Q(end_minute__lte=MINUTES_PER_DAY)
                ),
                name="rule_hours_ordered_within_day",
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_from__lte=F("valid_to")),
                name="rule_valid_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(granularity_minutes__gte=5) & Q(granularity_minutes__lte=720),
                name="rule_granularity_bounds",
            ),
            models.CheckConstraint(
                condition=Q(days_of_week__contained_by=ISO_WEEKDAYS), name="rule_days_iso"
            ),
            models.CheckConstraint(
                condition=~Q(kind="exception") | Q(valid_from__isnull=False),
                name="rule_exception_has_dates",
            ),
            models.CheckConstraint(
                condition=~Q(kind="date_range")
                | (Q(valid_from__isnull=False) & Q(valid_to__isnull=False)),
                name="rule_date_range_has_dates",
            ),
            models.CheckConstraint(
                condition=Q(is_closed=False) | Q(kind="exception"),
                name="rule_closure_is_exception",
            ),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(capacity__gte=1),
                name="rule_capacity_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk}"


class SlotInstance(models.Model):
    """One step of a resource's grid, in UTC, with the session that occupies it.

    A session (one service, one start) may cover several slots; every covered slot
    carries the session's service, start, capacity and counters, so a booking locks
    the slots it covers (in start order) and the CHECK constraints below make an
    overbooking impossible whatever the Python code does.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PARTIAL = "partial", "Partly booked"
        FULL = "full", "Full"
        BLOCKED = "blocked", "Blocked"  # no rule allows it any more, but it has bookings

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Indexed by the unique (resource, starts_at): a separate index would only slow the
    # bulk inserts of materialization.
    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, related_name="slots", db_index=False
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # The rule's cap on places per session here; None = the service's capacity.
    capacity = models.PositiveSmallIntegerField(null=True, blank=True)
    booked = models.PositiveSmallIntegerField(default=0)
    held = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    # The session occupying this slot while booked + held > 0.
    # Indexed only where set (see Meta.indexes): most slots carry no session.
    session_service = models.ForeignKey(
        Service,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    session_starts_at = models.DateTimeField(null=True, blank=True)
    session_ends_at = models.DateTimeField(null=True, blank=True)
    session_capacity = models.PositiveSmallIntegerField(null=True, blank=True)
    # The session's interval widened by its service's buffers: others may not overlap it.
    busy_from = models.DateTimeField(null=True, blank=True)
    busy_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["resource", "starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["resource", "starts_at"], name="slot_unique_start"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="slot_ordered"),
            models.CheckConstraint(
                condition=Q(booked__gte=0) & Q(held__gte=0), name="slot_counters_not_negative"
            ),
            # Counters can never exceed the session's capacity (no session: zero).
            models.CheckConstraint(
                condition=Q(
                    booked__lte=Coalesce(
                        F("session_capacity"), Value(0), output_field=IntegerField()
                    )
                    - F("held")
                ),
                name="slot_counters_within_capacity",
            ),
        ]
        indexes = [
            models.Index(fields=["starts_at"], name="slot_starts_at_idx"),
            # Conflicts for the tenant to resolve: a small partial index.
            models.Index(
                fields=["resource", "starts_at"],
                condition=Q(status="blocked"),
                name="slot_blocked_idx",
            ),
            models.Index(
                fields=["session_service"],
                condition=Q(session_service__isnull=False),
                name="slot_session_service_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_id} @ {self.starts_at.isoformat()}"


class SlotHold(models.Model):
    """A place held on a slot by an unconfirmed booking, until `expires_at`.

    `SlotInstance.held` counts these rows; availability reads subtract the ones already
    past `expires_at` (they count as free by timestamp before the sweeper runs).
    """

    id = models.BigAutoField(primary_key=True)
    slot = models.ForeignKey(SlotInstance, on_delete=models.CASCADE, related_name="holds")
    booking_id = models.UUIDField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["slot", "booking_id"], name="slot_hold_unique"),
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="slot_hold_expires_idx"),
            models.Index(fields=["booking_id"], name="slot_hold_booking_idx"),
        ]

    def __str__(self) -> str:
        return f"hold {self.booking_id} on {self.slot_id} until {self.expires_at.isoformat()}"
