from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.resources.models import Location, Resource, Service
from tests.calendars.factories import (
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    WeeklyRuleFactory,
)
from tests.calendars.times import LONDON, materialize_days


@pytest.fixture
def tenant(acme: Tenant) -> Tenant:
    """acme with a known policy: no minimum notice, 90-day horizon, show every slot."""
    acme.min_notice_minutes = 0
    acme.horizon_days = 90
    acme.exposure_mode = Tenant.ExposureMode.ALL
    acme.hold_ttl_minutes = 10
    acme.save(
        update_fields=["min_notice_minutes", "horizon_days", "exposure_mode", "hold_ttl_minutes"]
    )
    return acme


@pytest.fixture
def monday() -> dt.date:
    """A London Monday 8 to 14 days ahead of the real today: bookings (which check the
    real clock) can be made on its week, and it lies well inside the horizon."""
    today = timezone.now().astimezone(LONDON).date()
    return today + dt.timedelta(days=14 - today.weekday())


@pytest.fixture
def location(tenant: Tenant) -> Location:
    return LocationFactory.create(name="Camden", timezone="Europe/London")


@pytest.fixture
def resource(location: Location) -> Resource:
    return ResourceFactory.create(name="Ada", location=location, kind=Resource.Kind.PERSON)


@pytest.fixture
def service(resource: Resource) -> Service:
    return ServiceFactory.create(name="Consultation", duration_minutes=30, resources=[resource])


@pytest.fixture
def weekday_hours(resource: Resource, monday: dt.date) -> Resource:
    """Mon-Fri 09:00-17:00 on a 30-minute grid, materialized for the week of `monday`."""
    WeeklyRuleFactory.create(resource=resource)
    materialize_days(resource, monday, 7)
    return resource


@pytest.fixture
def exposure_cache(tenant: Tenant) -> Iterator[None]:
    """Exposure picks are cached in the real Redis: start and end without ours (only
    ours: other test runs share the server under other key prefixes). Inside the
    tenant, because cache keys carry its schema."""
    cache.delete_pattern("slot-exposure:*")  # type: ignore[attr-defined]
    yield
    cache.delete_pattern("slot-exposure:*")  # type: ignore[attr-defined]
