"""Reads behind the staff dashboard: the day and week calendars, the bookings list, a
booking's page, free times to move a booking to, today's figures with the per-day chart,
and the bookings stuck on blocked slots. Each costs a fixed number of queries whatever
the number of bookings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from uuid import UUID

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.bookings.models import Booking, BookingEvent, Payment
from apps.bookings.selectors import (
    booking_events,
    booking_get,
    booking_list,
    series_occurrences,
)
from apps.calendars.availability.selectors import AvailableSlots, availability_slots, slot_conflicts
from apps.calendars.models import SlotInstance
from apps.calendars.timezones import local_date, local_day_start, zone
from apps.dashboard.bookings.calendar_grid import CalendarGrid, ColumnSpec, grid_build
from apps.dashboard.bookings.day_chart import DayChart, day_chart
from apps.resources.models import Location, Resource

Status = Booking.Status
CHART_DAYS_EACH_WAY = 30
UPCOMING_LIMIT = 8


def _shown(*, now: dt.datetime, include_cancelled: bool) -> Q:
    """Bookings that occupy (or occupied) a place; a hold counts until it expires."""
    shown = Q(status__in=[Status.CONFIRMED, Status.COMPLETED, Status.NO_SHOW]) | Q(
        status=Status.HELD, hold_expires_at__gt=now
    )
    if include_cancelled:
        shown |= Q(status=Status.CANCELLED)
    return shown


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


# --- Calendar ----------------------------------------------------------------------


def calendar_day(
    *,
    location: Location,
    day: dt.date,
    include_cancelled: bool = False,
    now: dt.datetime | None = None,
) -> CalendarGrid:
    """One column per resource at `location` on local `day`: its active resources, and
    any other resource there with bookings that day. Three queries."""
    now = now or timezone.now()
    tz = zone(location.timezone)
    lo, hi = local_day_start(day, tz), local_day_start(day + dt.timedelta(days=1), tz)
    bookings = list(
        Booking.objects.filter(
            _shown(now=now, include_cancelled=include_cancelled),
            resource__location=location,
            starts_at__gte=lo,
            starts_at__lt=hi,
        )
        .select_related("service", "customer", "resource")
        .order_by("starts_at", "pk")
    )
    resources = {
        resource.pk: resource
        for resource in Resource.objects.filter(location=location, is_active=True)
    }
    for booking in bookings:
        resources.setdefault(booking.resource_id, booking.resource)
    ordered = sorted(resources.values(), key=lambda resource: (resource.name, resource.pk))
    by_resource: dict[str, list[Booking]] = {}
    for booking in bookings:
        by_resource.setdefault(str(booking.resource_id), []).append(booking)
    open_times: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    for resource_id, starts_at, ends_at in _open_slots(resource_ids=list(resources), lo=lo, hi=hi):
        open_times.setdefault(str(resource_id), []).append((starts_at, ends_at))
    return grid_build(
        tz_name=location.timezone,
        columns=[ColumnSpec(key=str(r.pk), day=day, resource=r) for r in ordered],
        bookings=by_resource,
        open_times=open_times,
    )


def calendar_week(
    *,
    resource: Resource,
    day: dt.date,
    include_cancelled: bool = False,
    now: dt.datetime | None = None,
) -> CalendarGrid:
    """Monday to Sunday of the week holding `day`, for one resource, in its location's
    time zone. Two queries."""
    now = now or timezone.now()
    tz_name = resource.location.timezone
    tz = zone(tz_name)
    monday = week_start(day)
    days = [monday + dt.timedelta(days=offset) for offset in range(7)]
    lo, hi = local_day_start(days[0], tz), local_day_start(days[-1] + dt.timedelta(days=1), tz)
    by_day: dict[str, list[Booking]] = {}
    for booking in (
        Booking.objects.filter(
            _shown(now=now, include_cancelled=include_cancelled),
            resource=resource,
            starts_at__gte=lo,
            starts_at__lt=hi,
        )
        .select_related("service", "customer", "resource")
        .order_by("starts_at", "pk")
    ):
        by_day.setdefault(local_date(booking.starts_at, tz).isoformat(), []).append(booking)
    open_times: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    for _, starts_at, ends_at in _open_slots(resource_ids=[resource.pk], lo=lo, hi=hi):
        open_times.setdefault(local_date(starts_at, tz).isoformat(), []).append(
            (starts_at, ends_at)
        )
    return grid_build(
        tz_name=tz_name,
        columns=[ColumnSpec(key=d.isoformat(), day=d, resource=resource) for d in days],
        bookings=by_day,
        open_times=open_times,
    )


def _open_slots(
    *, resource_ids: list[UUID], lo: dt.datetime, hi: dt.datetime
) -> QuerySet[SlotInstance, tuple[UUID, dt.datetime, dt.datetime]]:
    return (
        SlotInstance.objects.filter(
            resource_id__in=resource_ids, starts_at__gte=lo, starts_at__lt=hi
        )
        .exclude(status=SlotInstance.Status.BLOCKED)
        .order_by("resource_id", "starts_at")
        .values_list("resource_id", "starts_at", "ends_at")
    )


# --- Bookings list -----------------------------------------------------------------


def bookings_search(
    *,
    tz_name: str,
    status: str | None = None,
    resource_id: UUID | str | None = None,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    customer_email: str | None = None,
) -> QuerySet[Booking]:
    """Bookings in start order; dates are calendar days in `tz_name`, both included."""
    tz = zone(tz_name)
    return booking_list(
        status=status or None,
        resource_id=resource_id or None,
        customer_email=customer_email or None,
        starts_from=local_day_start(first_day, tz) if first_day else None,
        starts_before=local_day_start(last_day + dt.timedelta(days=1), tz) if last_day else None,
    ).select_related("resource__location")


# --- One booking -------------------------------------------------------------------


@dataclass(frozen=True)
class BookingDetail:
    booking: Booking
    events: list[BookingEvent]
    now: dt.datetime
    payments: list[Payment]
    # The occurrences of the booking's recurring series, earliest first (or none).
    series: list[Booking] = field(default_factory=list)

    @property
    def series_later_active(self) -> int:
        """How many active occurrences "this and the rest" would cancel."""
        return sum(
            1
            for b in self.series
            if b.starts_at >= self.booking.starts_at and b.status in Booking.ACTIVE_STATUSES
        )

    @property
    def timezone(self) -> str:
        return self.booking.resource.location.timezone

    @property
    def hold_is_live(self) -> bool:
        expires = self.booking.hold_expires_at
        return self.booking.status == Status.HELD and expires is not None and expires > self.now

    @property
    def can_confirm(self) -> bool:
        return self.hold_is_live

    @property
    def can_change(self) -> bool:
        """Cancel or reschedule."""
        return self.booking.status == Status.CONFIRMED or self.hold_is_live

    @property
    def can_finish(self) -> bool:
        """Mark completed or no-show: a confirmed booking once it has started."""
        return self.booking.status == Status.CONFIRMED and self.booking.starts_at <= self.now


def booking_detail(*, booking_id: UUID | str, now: dt.datetime | None = None) -> BookingDetail:
    """Raises NotFound for an unknown or malformed id."""
    booking = booking_get(booking_id=booking_id)
    return BookingDetail(
        booking=booking,
        events=list(booking_events(booking=booking)),
        now=now or timezone.now(),
        payments=list(booking.payments.order_by("created_at")),
        series=series_occurrences(booking=booking),
    )


@dataclass(frozen=True)
class RescheduleOptions:
    booking: Booking
    day: dt.date
    resource: Resource | None  # None: any resource delivering the service
    resources: list[Resource]
    available: AvailableSlots

    @property
    def resource_names(self) -> dict[UUID, str]:
        return {resource.pk: resource.name for resource in self.resources}


def reschedule_options(
    *, booking: Booking, day: dt.date, resource: Resource | None, now: dt.datetime | None = None
) -> RescheduleOptions:
    """Every free start of the booking's service on `day` (the location's calendar day):
    staff see all of them, never the curated few customers get."""
    resources = list(
        booking.service.resources.filter(is_active=True)
        .select_related("location")
        .order_by("name", "pk")
    )
    available = availability_slots(
        service=booking.service,
        resource=resource,
        day=day,
        tz=booking.resource.location.timezone,
        now=now,
        exposure_variant="all",
    )
    return RescheduleOptions(
        booking=booking, day=day, resource=resource, resources=resources, available=available
    )


# --- Today -------------------------------------------------------------------------


@dataclass(frozen=True)
class DayFigures:
    day: dt.date
    confirmed: int = 0
    held: int = 0
    cancelled: int = 0
    completed: int = 0
    no_show: int = 0

    @property
    def booked(self) -> int:
        """Places taken that day: live holds, confirmed, completed and no-shows."""
        return self.confirmed + self.held + self.completed + self.no_show


@dataclass(frozen=True)
class TodaySummary:
    today: dt.date
    timezone: str
    days: list[DayFigures]  # today - 30 ... today + 30
    upcoming: list[Booking]
    conflicts: int  # upcoming blocked slots still carrying bookings

    @property
    def figures(self) -> DayFigures:
        return next(day for day in self.days if day.day == self.today)

    @cached_property
    def chart(self) -> DayChart:
        return day_chart(counts=[(day.day, day.booked) for day in self.days], today=self.today)


def today_summary(*, tz_name: str, now: dt.datetime | None = None) -> TodaySummary:
    """Today's figures in `tz_name`, the bookings per day 30 days each way, and the next
    appointments, and how many conflicts wait to be resolved. Three queries."""
    now = now or timezone.now()
    tz = zone(tz_name)
    today = local_date(now, tz)
    first = today - dt.timedelta(days=CHART_DAYS_EACH_WAY)
    last = today + dt.timedelta(days=CHART_DAYS_EACH_WAY)
    rows = (
        Booking.objects.filter(
            starts_at__gte=local_day_start(first, tz),
            starts_at__lt=local_day_start(last + dt.timedelta(days=1), tz),
        )
        .annotate(day=TruncDate("starts_at", tzinfo=tz))
        .order_by()
        .values("day")
        .annotate(
            confirmed=Count("pk", filter=Q(status=Status.CONFIRMED)),
            held=Count("pk", filter=Q(status=Status.HELD, hold_expires_at__gt=now)),
            cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
            completed=Count("pk", filter=Q(status=Status.COMPLETED)),
            no_show=Count("pk", filter=Q(status=Status.NO_SHOW)),
        )
    )
    by_day: dict[dt.date, DayFigures] = {}
    for row in rows:
        by_day[row["day"]] = DayFigures(
            day=row["day"],
            confirmed=row["confirmed"],
            held=row["held"],
            cancelled=row["cancelled"],
            completed=row["completed"],
            no_show=row["no_show"],
        )
    days = [
        by_day.get(first + dt.timedelta(days=offset), DayFigures(first + dt.timedelta(days=offset)))
        for offset in range((last - first).days + 1)
    ]
    upcoming = list(
        Booking.objects.filter(
            Q(status=Status.CONFIRMED) | Q(status=Status.HELD, hold_expires_at__gt=now),
            starts_at__gte=now,
        )
        .select_related("service", "customer", "resource__location")
        .order_by("starts_at", "pk")[:UPCOMING_LIMIT]
    )
    return TodaySummary(
        today=today,
        timezone=tz_name,
        days=days,
        upcoming=upcoming,
        conflicts=slot_conflicts(start=now).count(),
    )


# --- Conflicts ---------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """A slot no rule allows any more, and the bookings still on it."""

    slot: SlotInstance
    bookings: list[Booking]


def booking_conflicts(*, now: dt.datetime | None = None) -> list[Conflict]:
    """Upcoming blocked slots with the active bookings overlapping each. Two queries."""
    now = now or timezone.now()
    slots = list(slot_conflicts(start=now).select_related("resource__location"))
    if not slots:
        return []
    bookings = list(
        Booking.objects.filter(
            resource_id__in={slot.resource_id for slot in slots},
            status__in=Booking.ACTIVE_STATUSES,
            starts_at__lt=max(slot.ends_at for slot in slots),
            ends_at__gt=min(slot.starts_at for slot in slots),
        )
        .select_related("service", "customer", "resource__location")
        .order_by("starts_at", "pk")
    )
    return [
        Conflict(
            slot=slot,
            bookings=[
                booking
                for booking in bookings
                if booking.resource_id == slot.resource_id
                and booking.starts_at < slot.ends_at
                and booking.ends_at > slot.starts_at
            ],
        )
        for slot in slots
    ]
