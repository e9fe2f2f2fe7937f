"""Reads the customer booking pages need beyond the availability selectors: what can be
booked, by whom, nearby free starts when a chosen time is gone, and until when a
customer may still change a booking."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from uuid import UUID

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import Tenant
from apps.bookings.models import Booking
from apps.calendars.availability.selectors import (
    AvailableSlot,
    availability_dates,
    availability_slots,
)
from apps.calendars.timezones import zone
from apps.core.errors import NotFound
from apps.resources.models import Resource, Service
from apps.resources.selectors import resource_get, resource_list, service_get

ALTERNATIVES = 4
# How many days either side of the lost time are searched for alternatives.
ALTERNATIVES_SEARCH_DAYS = 7


def bookable_services() -> QuerySet[Service]:
    """Active services that at least one active resource delivers, by name."""
    delivered = Resource.objects.filter(services=OuterRef("pk"), is_active=True)
    return Service.objects.filter(is_active=True).filter(Exists(delivered)).order_by("name", "id")


def bookable_service_get(*, service_id: UUID | str) -> Service:
    """An active service; NotFound for unknown, malformed or retired ids."""
    service = service_get(service_id=service_id)
    if not service.is_active:
        raise NotFound(_("There is no such service."))
    return service


def service_resources(*, service: Service) -> QuerySet[Resource]:
    """The active resources (with their location) that deliver `service`."""
    return resource_list(service=service)


def service_resource_get(*, service: Service, resource_id: UUID | str) -> Resource:
    """An active resource that delivers `service`; NotFound otherwise (an id of another
    service's resource, or of another business, names nothing here)."""
    resource = resource_get(resource_id=resource_id)
    if not resource.is_active or not service_resources(service=service).filter(pk=resource.pk):
        raise NotFound(_("There is no such resource."))
    return resource


def booking_last_day(*, service: Service, tenant: Tenant, today: dt.date) -> dt.date:
    """The last calendar day a customer can book `service` on (its horizon)."""
    horizon = service.horizon_days if service.horizon_days is not None else tenant.horizon_days
    return today + dt.timedelta(days=horizon)


def alternative_starts(
    *,
    service: Service,
    resource: Resource | None,
    around: dt.datetime,
    tz: str,
    viewer_key: str = "",
    limit: int = ALTERNATIVES,
    now: dt.datetime | None = None,
) -> list[AvailableSlot]:
    """The free starts nearest to `around` (before or after it), in start order.

    Days with space (one dates query for the week either side) are read outwards from
    the day of `around` in `tz`; once `limit` starts are found, one more day's distance
    is read, since a start just past midnight can be nearer than the far end of a day.
    With `resource` None every resource delivering the service counts, so the same time
    with another person is the best answer when there is one."""
    day = around.astimezone(zone(tz)).date()
    span = dt.timedelta(days=ALTERNATIVES_SEARCH_DAYS)
    dates = availability_dates(
        service=service, resource=resource, start=day - span, end=day + span, tz=tz, now=now
    )
    days_with_space = sorted(
        (entry.day for entry in dates.dates if entry.free),
        key=lambda other: (abs((other - day).days), other),
    )
    found: list[AvailableSlot] = []
    enough_within: int | None = None  # day distance at which `limit` starts were found
    for other in days_with_space:
        distance = abs((other - day).days)
        if enough_within is not None and distance > enough_within + 1:
            break
        free = availability_slots(
            service=service, resource=resource, day=other, tz=tz, viewer_key=viewer_key, now=now
        )
        found.extend(free.slots)
        if enough_within is None and len(found) >= limit:
            enough_within = distance
    nearest = sorted(found, key=lambda slot: (abs(slot.start - around), slot.start))[:limit]
    return sorted(nearest, key=lambda slot: slot.start)


def resource_names(*, resource_ids: Iterable[UUID]) -> dict[UUID, str]:
    """Names of the resources offered times belong to (for "anyone", whose times mix them)."""
    return dict(Resource.objects.filter(pk__in=set(resource_ids)).values_list("pk", "name"))


def service_payment_required(*, service: Service) -> bool:
    """Whether a hold of `service` waits for payment before it can be confirmed (the same
    condition `booking_hold` uses to mark it pending)."""
    return service.is_paid


def hold_is_live(*, booking: Booking, now: dt.datetime | None = None) -> bool:
    """A hold whose time is not up (the sweeper marks elapsed ones expired later)."""
    now = now or timezone.now()
    return (
        booking.status == Booking.Status.HELD
        and booking.hold_expires_at is not None
        and booking.hold_expires_at > now
    )


def booking_change_deadline(*, booking: Booking, tenant: Tenant) -> dt.datetime | None:
    """Until when the customer may cancel or move a confirmed booking online (the
    tenant's cancellation window before its start); None for a hold, which can always
    be let go. The booking services enforce the same rule."""
    if booking.status != Booking.Status.CONFIRMED:
        return None
    return booking.starts_at - dt.timedelta(minutes=tenant.cancellation_window_minutes)


def booking_changeable(
    *, booking: Booking, tenant: Tenant, now: dt.datetime | None = None
) -> tuple[bool, dt.datetime | None]:
    """Whether the customer can still cancel or move the booking online, and until when."""
    deadline = booking_change_deadline(booking=booking, tenant=tenant)
    return deadline is not None and (now or timezone.now()) < deadline, deadline
