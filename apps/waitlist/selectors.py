"""Reads of the waitlist: the business's settings, the line as staff see it, free starts
an entry could be offered, and when the offer maker is next due."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass

from django.db.models import Min, QuerySet
from django.utils.translation import gettext as _

from apps.accounts.selectors import tenant_current
from apps.calendars.availability.selectors import availability_slots
from apps.core.errors import NotFound
from apps.resources.models import Resource, Service
from apps.waitlist.models import WaitlistEntry, WaitlistOffer, WaitlistSettings, WaitlistWake

ONE_DAY = dt.timedelta(days=1)


def waitlist_settings_get() -> WaitlistSettings:
    """The business's settings (the defaults until staff change them)."""
    settings = WaitlistSettings.objects.filter(singleton=1).first()
    return settings or WaitlistSettings()


def waitlist_entries_open() -> QuerySet[WaitlistEntry]:
    """Waiting and offered entries in the line's order, for the staff screen."""
    return (
        WaitlistEntry.objects.filter(status__in=WaitlistEntry.OPEN_STATUSES)
        .select_related("service", "resource")
        .prefetch_related("offers__booking")
        .order_by("position", "created_at", "id")
    )


def waitlist_entries_list(
    *,
    service_id: uuid.UUID | None = None,
    resource_id: uuid.UUID | None = None,
    starts_from: dt.datetime | None = None,
    starts_before: dt.datetime | None = None,
) -> QuerySet[WaitlistEntry]:
    """The open line (waiting and offered) in its order, narrowed to a service, a
    resource (its entries for anyone not included) and entries whose acceptable starts
    reach into [`starts_from`, `starts_before`)."""
    entries = waitlist_entries_open()
    if service_id is not None:
        entries = entries.filter(service_id=service_id)
    if resource_id is not None:
        entries = entries.filter(resource_id=resource_id)
    if starts_from is not None:
        entries = entries.filter(latest_at__gte=starts_from)
    if starts_before is not None:
        entries = entries.filter(earliest_at__lt=starts_before)
    return entries


def waitlist_live_offer(entry: WaitlistEntry) -> WaitlistOffer | None:
    """The entry's live offer, read from its prefetched offers."""
    live = [offer for offer in entry.offers.all() if offer.status == WaitlistOffer.Status.LIVE]
    return live[0] if live else None


def waitlist_entry_get(*, entry_id: uuid.UUID | str) -> WaitlistEntry:
    try:
        return (
            WaitlistEntry.objects.select_related("service", "resource")
            .prefetch_related("offers__booking")
            .get(pk=entry_id)
        )
    except (WaitlistEntry.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound(_("No such waitlist entry.")) from exc


def waitlist_offer_get(*, offer_id: uuid.UUID) -> WaitlistOffer:
    try:
        return WaitlistOffer.objects.select_related(
            "entry", "booking__service", "booking__resource__location"
        ).get(pk=offer_id)
    except WaitlistOffer.DoesNotExist as exc:
        raise NotFound(_("No such offer.")) from exc


def waitlist_offer_live(offer: WaitlistOffer) -> WaitlistOffer | None:
    """The entry's live offer, if it has one."""
    return offer if offer.status == WaitlistOffer.Status.LIVE else None


@dataclass(frozen=True)
class FreeStart:
    starts_at: dt.datetime
    resource_id: uuid.UUID


def waitlist_zone(*, resource: Resource | None) -> str:
    """The zone an entry's dates are read in: its resource's location's, else the
    business's."""
    return resource.location.timezone if resource is not None else tenant_current().timezone


def free_starts(
    *,
    service: Service,
    resource: Resource | None,
    earliest_at: dt.datetime,
    latest_at: dt.datetime,
    now: dt.datetime | None = None,
    limit: int = 10,
) -> list[FreeStart]:
    """Bookable starts of `service` (on `resource`, or anyone's) from `earliest_at` to
    `latest_at` inclusive, earliest first, as the availability engine offers them."""
    zone_name = waitlist_zone(resource=resource)
    zone = zoneinfo.ZoneInfo(zone_name)
    day = earliest_at.astimezone(zone).date()
    last = latest_at.astimezone(zone).date()
    found: list[FreeStart] = []
    while day <= last and len(found) < limit:
        slots = availability_slots(
            service=service,
            resource=resource,
            day=day,
            tz=zone_name,
            now=now,
            exposure_variant="all",
        )
        for slot in slots.slots:
            if earliest_at <= slot.start <= latest_at:
                found.append(FreeStart(starts_at=slot.start, resource_id=slot.resource_id))
        day += ONE_DAY
    return found[:limit]


def waitlist_next_due() -> dt.datetime | None:
    """When the offer maker next has something to do: a wake not yet consumed, or the
    lapse of a live offer (its hold)."""
    wake = WaitlistWake.objects.aggregate(due=Min("due_at"))["due"]
    lapse = WaitlistOffer.objects.filter(status=WaitlistOffer.Status.LIVE).aggregate(
        due=Min("expires_at")
    )["due"]
    times = [moment for moment in (wake, lapse) if moment is not None]
    return min(times) if times else None
