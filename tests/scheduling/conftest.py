from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.core.cache import cache

from apps.accounts.models import Tenant
from apps.calendars.services import slots_materialize
from apps.calendars.timezones import zone
from apps.resources.models import Location, Resource, Service
from tests.scheduling.factories import (
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    WeeklyRuleFactory,
)

LONDON = zone("Europe/London")
# A Monday in winter (GMT = UTC): local and UTC wall times coincide.
MONDAY = dt.date(2026, 2, 2)
NOW = dt.datetime(2026, 2, 1, 12, 0, tzinfo=dt.UTC)  # the Sunday before


def london(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).astimezone(dt.UTC)


@pytest.fixture
def tenant(acme: Tenant) -> Tenant:
    """acme with a known policy: no minimum notice, 90-day horizon, show every slot."""
    acme.min_notice_minutes = 0
    acme.horizon_days = 90
    acme.exposure_mode = Tenant.ExposureMode.ALL
    acme.save(update_fields=["min_notice_minutes", "horizon_days", "exposure_mode"])
    return acme


@pytest.fixture
def location(tenant: Tenant) -> Location:
    return LocationFactory.create(name="Camden", timezone="Europe/London")


@pytest.fixture
def resource(location: Location) -> Resource:
    return ResourceFactory.create(name="Ada", location=location)


@pytest.fixture
def service(resource: Resource) -> Service:
    return ServiceFactory.create(name="Consultation", duration_minutes=30, resources=[resource])


@pytest.fixture
def weekday_hours(resource: Resource) -> Resource:
    """Mon-Fri 09:00-17:00 on a 30-minute grid, materialized for February 2026."""
    WeeklyRuleFactory(resource=resource)
    slots_materialize(
        resource=resource,
        start=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        end=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
    )
    return resource


@pytest.fixture
def exposure_cache() -> Iterator[None]:
    """Exposure picks are cached in the real Redis: drop ours afterwards (only ours:
    other test runs share the server)."""
    yield
    cache.delete_pattern("slot-exposure:*")  # type: ignore[attr-defined]
