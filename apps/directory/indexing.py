"""Rebuilding one business's rows of the directory index.

Runs inside the business's schema (its listing, resources, services and slots are
read there) and writes the public index, whose tables the schema's search_path reaches.
The business's rows are replaced whole in one transaction under an advisory lock, so
two rebuilds of one business (a worker and `rebuild_directory`) never interleave, and a
search sees either the old rows or the new ones.

The text columns and the point are computed by PostgreSQL in the INSERT itself
(`unaccent`, `to_tsvector`, `cube`), the same functions the search applies to a query.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from psycopg.types.json import Jsonb

from apps.accounts.addresses import tenant_base_url
from apps.accounts.models import Tenant
from apps.calendars.models import SlotInstance
from apps.directory.index.models import DirectoryEntry
from apps.directory.models import ListingProfile, ResourceListing
from apps.directory.photos import photo_url
from apps.directory.ratings import RatingSummary, ratings_for
from apps.directory.taxonomy import LANGUAGE_NAMES, SPECIALIZATION_BY_SLUG
from apps.resources.models import Location, Resource, Service

logger = logging.getLogger(__name__)

# The mean Earth radius (IUGG), in metres: points are stored on this sphere.
EARTH_RADIUS_M = 6_371_008.8
# Businesses whose tenant row says they take no bookings are not indexed.
SERVING_STATUSES = (
    Tenant.Status.TRIAL,
    Tenant.Status.ACTIVE,
    Tenant.Status.PAST_DUE,
)
MAX_SERVICES_PER_ENTRY = 12


def earth_xyz(latitude: float, longitude: float) -> tuple[float, float, float]:
    """The point's Earth-centred coordinates in metres (a sphere of EARTH_RADIUS_M)."""
    lat, lon = math.radians(latitude), math.radians(longitude)
    return (
        EARTH_RADIUS_M * math.cos(lat) * math.cos(lon),
        EARTH_RADIUS_M * math.cos(lat) * math.sin(lon),
        EARTH_RADIUS_M * math.sin(lat),
    )


@dataclass(frozen=True)
class _Free:
    next_at: dt.datetime | None
    days: list[dt.date]


def _zones(resource_ids: list[UUID]) -> dict[UUID, str]:
    return dict(
        Resource.objects.filter(pk__in=resource_ids).values_list("pk", "location__timezone")
    )


def _advisory_key(tenant_id: UUID) -> int:
    # A signed 64-bit key from the tenant's id, in the directory's own key space.
    return (tenant_id.int >> 65) ^ 0x6469_7265_6374


def directory_tenant_lock(tenant_id: UUID) -> None:
    """Takes the business's rebuild lock until the surrounding transaction ends: a
    rebuild and anything that takes rows out (an opt-out) never interleave. Writers of
    the listing take it before they lock the listing's rows, as the rebuild does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_advisory_key(tenant_id)])


def _free_times(resource_ids: list[UUID], *, tenant: Tenant, now: dt.datetime) -> dict[UUID, _Free]:
    """Per resource: the first start nobody occupies after the business's minimum
    notice, and the local days (its location's zone) that have one, ahead to
    DIRECTORY_FREE_DAYS_AHEAD days. One statement for the whole business."""
    if not resource_ids:
        return {}
    slots = connection.ops.quote_name(SlotInstance._meta.db_table)
    resources = connection.ops.quote_name(Resource._meta.db_table)
    locations = connection.ops.quote_name(Location._meta.db_table)
    earliest = now + dt.timedelta(minutes=tenant.min_notice_minutes)
    latest = now + dt.timedelta(days=int(settings.DIRECTORY_FREE_DAYS_AHEAD))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT s.resource_id, min(s.starts_at),
                   array_agg(DISTINCT (s.starts_at AT TIME ZONE l.timezone)::date)
            FROM {slots} s
            JOIN {resources} r ON r.id = s.resource_id
            JOIN {locations} l ON l.id = r.location_id
            WHERE s.resource_id = ANY(%s) AND s.status = %s
              AND s.starts_at >= %s AND s.starts_at < %s
            GROUP BY s.resource_id
            """,  # noqa: S608 — table names are ours; values are parameters
            [resource_ids, SlotInstance.Status.OPEN, earliest, latest],
        )
        return {row[0]: _Free(next_at=row[1], days=sorted(row[2])) for row in cursor.fetchall()}


def _services_of(resource_ids: list[UUID]) -> dict[UUID, list[Service]]:
    found: dict[UUID, list[Service]] = defaultdict(list)
    through = Service.resources.through
    links = (
        through.objects.filter(resource_id__in=resource_ids, service__is_active=True)
        .select_related("service")
        .order_by("service__price", "service__name")
    )
    for link in links:
        found[link.resource_id].append(link.service)
    return found


def _first(own: Any, inherited: Any) -> Any:
    return own if own not in (None, "", []) else inherited


_INSERT = """
    INSERT INTO {table} (
        id, tenant_id, resource_id, kind, name, business_name, description,
        specializations, tags, languages, address, latitude, longitude, earth_point,
        photo_url, payment_modes, price_min, price_max, currency, services, booking_url,
        rating_average, rating_count, latest_reviews, next_free_at, time_zone, free_days,
        document, search_text, refreshed_at
    ) VALUES (
        %(id)s, %(tenant_id)s, %(resource_id)s, %(kind)s, %(name)s, %(business_name)s,
        %(description)s, %(specializations)s, %(tags)s, %(languages)s, %(address)s,
        %(latitude)s, %(longitude)s,
        CASE WHEN %(x)s::float8 IS NULL THEN NULL
             ELSE public.cube(ARRAY[%(x)s, %(y)s, %(z)s]::float8[]) END,
        %(photo_url)s, %(payment_modes)s, %(price_min)s, %(price_max)s, %(currency)s,
        %(services)s, %(booking_url)s, %(rating_average)s, %(rating_count)s,
        %(latest_reviews)s, %(next_free_at)s, %(time_zone)s, %(free_days)s::date[],
        setweight(to_tsvector('simple', public.unaccent(%(text_a)s)), 'A')
          || setweight(to_tsvector('simple', public.unaccent(%(text_b)s)), 'B')
          || setweight(to_tsvector('simple', public.unaccent(%(text_c)s)), 'C')
          || setweight(to_tsvector('simple', public.unaccent(%(text_d)s)), 'D'),
        lower(public.unaccent(%(text_a)s || ' ' || %(text_b)s || ' ' || %(text_c)s)),
        %(refreshed_at)s
    )
"""


def directory_index_rebuild(*, tenant: Tenant, now: dt.datetime | None = None) -> int:
    """Replaces `tenant`'s rows of the index with what its listing says now (none when
    it is not listed or takes no bookings). Call inside the tenant's schema. Returns the
    number of rows written."""
    now = now or timezone.now()
    with transaction.atomic():
        directory_tenant_lock(tenant.pk)
        DirectoryEntry.objects.filter(tenant_id=tenant.pk).delete()
        # FOR SHARE: a listing change still in flight is waited for, then read as
        # committed (its writer took the lock above first, so this never deadlocks).
        profile = next(
            iter(ListingProfile.objects.raw(_FOR_SHARE.format(table=_table(ListingProfile)))), None
        )
        fresh = (
            Tenant.objects.filter(pk=tenant.pk)
            .values("status", "is_ready", "live_at", "name")
            .first()
        )
        if (
            profile is None
            or not profile.is_listed
            or fresh is None
            or not fresh["is_ready"]
            or fresh["live_at"] is None
            or fresh["status"] not in SERVING_STATUSES
        ):
            return 0
        rows = _rows(tenant=tenant, business_name=fresh["name"], profile=profile, now=now)
        if rows:
            table = connection.ops.quote_name(DirectoryEntry._meta.db_table)
            with connection.cursor() as cursor:
                cursor.executemany(_INSERT.format(table=table), rows)
    logger.info("directory.rebuilt", extra={"tenant_id": str(tenant.pk), "entries": len(rows)})
    return len(rows)


_FOR_SHARE = "SELECT * FROM {table} ORDER BY id FOR SHARE"


def _table(model: type[Any]) -> str:
    return str(connection.ops.quote_name(model._meta.db_table))


def _rows(
    *, tenant: Tenant, business_name: str, profile: ListingProfile, now: dt.datetime
) -> list[dict[str, Any]]:
    listings = {
        listing.resource_id: listing
        for listing in ResourceListing.objects.raw(_FOR_SHARE.format(table=_table(ResourceListing)))
    }
    resources = [
        resource
        for resource in Resource.objects.filter(is_active=True).order_by("name", "pk")
        if resource.pk not in listings or listings[resource.pk].is_listed
    ]
    ids = [resource.pk for resource in resources]
    services = _services_of(ids)
    free = _free_times(ids, tenant=tenant, now=now)
    ratings = ratings_for(ids)
    zones = _zones(ids)
    base_url = tenant_base_url(tenant)
    rows = []
    for resource in resources:
        offered = services.get(resource.pk, [])
        if not offered:
            continue  # nothing to book with them
        listing = listings.get(resource.pk)
        rows.append(
            _row(
                tenant=tenant,
                business_name=profile.display_name or business_name,
                profile=profile,
                resource=resource,
                listing=listing,
                offered=offered,
                free=free.get(resource.pk, _Free(next_at=None, days=[])),
                rating=ratings.get(resource.pk, RatingSummary()),
                base_url=base_url,
                time_zone=zones.get(resource.pk) or "",
                now=now,
            )
        )
    return rows


def _row(
    *,
    tenant: Tenant,
    business_name: str,
    profile: ListingProfile,
    resource: Resource,
    listing: ResourceListing | None,
    offered: list[Service],
    free: _Free,
    rating: RatingSummary,
    base_url: str,
    time_zone: str,
    now: dt.datetime,
) -> dict[str, Any]:
    def own(field: str) -> Any:
        return getattr(listing, field) if listing is not None else None

    name = own("display_name") or resource.name
    specializations = _first(own("specializations"), profile.specializations)
    # The listing's tags only: a resource's own tags are the business's internal words.
    tags = sorted(set(_first(own("tags"), profile.tags)))
    languages = _first(own("languages"), profile.languages)
    # Coordinates go by pairs: the resource's own place, else the business's.
    if own("latitude") is not None and own("longitude") is not None:
        latitude, longitude = own("latitude"), own("longitude")
    else:
        latitude, longitude = profile.latitude, profile.longitude
    if latitude is None or longitude is None:
        latitude = longitude = None
    description = own("description") or profile.description
    services_out = [
        {
            "id": str(service.pk),
            "name": service.name,
            "price": str(service.price),
            "currency": service.currency,
            "url": base_url
            + reverse(
                "booking:when",
                urlconf=settings.ROOT_URLCONF,
                kwargs={"service_id": str(service.pk), "who": str(resource.pk)},
            ),
        }
        for service in offered[:MAX_SERVICES_PER_ENTRY]
    ]
    prices = [service.price for service in offered]
    cheapest = offered[0]
    spec_words = []
    for slug in specializations:
        spec = SPECIALIZATION_BY_SLUG.get(slug)
        if spec is not None:
            spec_words.extend([str(spec.label), *spec.synonyms])
    xyz = earth_xyz(float(latitude), float(longitude)) if latitude is not None else None
    return {
        # Stable across rebuilds, and unique across businesses (a restored copy of a
        # business beside the original has the same resource ids).
        "id": uuid5(tenant.pk, str(resource.pk)),
        "tenant_id": tenant.pk,
        "resource_id": resource.pk,
        "kind": resource.kind,
        "name": name,
        "business_name": business_name,
        "description": description,
        "specializations": list(specializations),
        "tags": tags,
        "languages": list(languages),
        "address": own("address") or profile.address,
        "latitude": float(latitude) if latitude is not None else None,
        "longitude": float(longitude) if longitude is not None else None,
        "x": xyz[0] if xyz else None,
        "y": xyz[1] if xyz else None,
        "z": xyz[2] if xyz else None,
        "photo_url": photo_url(own("photo") or profile.photo),
        "payment_modes": list(_first(own("payment_modes"), profile.payment_modes)),
        "price_min": min(prices, default=None),
        "price_max": max(prices, default=None),
        "currency": cheapest.currency,
        "services": Jsonb(services_out),
        "booking_url": services_out[0]["url"],
        "rating_average": rating.average.quantize(Decimal("0.01")),
        "rating_count": rating.count,
        "latest_reviews": Jsonb(list(rating.latest)),
        "next_free_at": free.next_at,
        "time_zone": time_zone,
        "free_days": free.days,
        "text_a": name,
        "text_b": " ".join([*spec_words, *(service.name for service in offered)]),
        "text_c": " ".join([*tags, business_name, *(LANGUAGE_NAMES.get(c, "") for c in languages)]),
        "text_d": description,
        "refreshed_at": now,
    }
