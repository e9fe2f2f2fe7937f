"""A small bookable catalogue for the customer pages' tests: one London clinic, two
people delivering a 30-minute consultation, free slots a few days ahead (the pages
read the real clock, so the days are relative to today)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from apps.accounts.models import Tenant
from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking
from apps.bookings.services import CustomerInput, booking_confirm, booking_hold
from apps.calendars.models import SlotInstance
from apps.resources.models import Location, Resource, Service
from tests.bookings.factories import LocationFactory, ResourceFactory, ServiceFactory, slots_create

LONDON = ZoneInfo("Europe/London")
SLOT_HOURS = ((10, 0), (10, 30), (11, 0))


@dataclass
class Catalogue:
    location: Location
    ada: Resource
    grace: Resource
    service: Service
    day: dt.date  # the London day that has free slots

    def at(self, hour: int, minute: int = 0, *, day: dt.date | None = None) -> dt.datetime:
        """A London wall time on the catalogue's day, as a UTC instant."""
        local = dt.datetime.combine(day or self.day, dt.time(hour, minute), tzinfo=LONDON)
        return local.astimezone(dt.UTC)


def london_today() -> dt.date:
    return dt.datetime.now(LONDON).date()


def policy_set(tenant: Tenant, **changes: Any) -> Tenant:
    """acme's booking policy for these tests: every slot shown, an hour's notice."""
    values = {
        "exposure_mode": Tenant.ExposureMode.ALL,
        "min_notice_minutes": 60,
        "horizon_days": 60,
        "hold_ttl_minutes": 10,
        "cancellation_window_minutes": 24 * 60,
        **changes,
    }
    for field, value in values.items():
        setattr(tenant, field, value)
    tenant.save(update_fields=list(values))
    return tenant


def catalogue_create(*, days_ahead: int = 3, name: str = "Consultation") -> Catalogue:
    location = LocationFactory.create(
        name="Camden Clinic", timezone="Europe/London", address="1 High Street\nLondon"
    )
    ada = ResourceFactory.create(name="Dr Ada", kind=Resource.Kind.PERSON, location=location)
    grace = ResourceFactory.create(name="Dr Grace", kind=Resource.Kind.PERSON, location=location)
    service = ServiceFactory.create(
        name=name, duration_minutes=30, price=Decimal("0.00"), resources=[ada, grace]
    )
    catalogue = Catalogue(location, ada, grace, service, london_today() + dt.timedelta(days_ahead))
    for resource in (ada, grace):
        for hour, minute in SLOT_HOURS:
            slots_create(resource=resource, starts_at=catalogue.at(hour, minute))
    return catalogue


def slots_add(catalogue: Catalogue, resource: Resource, *times: dt.datetime) -> list[SlotInstance]:
    created: list[SlotInstance] = []
    for start in times:
        created.extend(slots_create(resource=resource, starts_at=start))
    return created


def generous_rates(**overrides: str) -> dict[str, Any]:
    """REST_FRAMEWORK with roomy rate limits (one address sends every test's requests)."""
    scopes = ("anon_read", "anon_booking", "api_key", "user", "auth")
    return {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**dict.fromkeys(scopes, "100000/min"), **overrides},
    }


def held_booking(
    catalogue: Catalogue, *, resource: Resource | None = None, hour: int = 10, minute: int = 0
) -> Booking:
    """A live hold made the way the details form makes it."""
    return booking_hold(
        service=catalogue.service,
        resource=resource or catalogue.ada,
        starts_at=catalogue.at(hour, minute),
        customer=CustomerInput(name="Jane Doe", email="jane@example.test", phone=""),
        actor=ActorRef.customer("", label="booking page"),
    )


def confirmed_booking(
    catalogue: Catalogue, *, resource: Resource | None = None, hour: int = 10
) -> Booking:
    held = held_booking(catalogue, resource=resource, hour=hour)
    return booking_confirm(booking=held, actor=ActorRef.customer(str(held.customer_id)))
