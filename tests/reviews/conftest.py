"""Reviews test fixtures: a listed person in acme and completed bookings with them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.bookings import pii
from apps.bookings.actors import ActorRef
from apps.bookings.models import Booking
from apps.bookings.services import booking_mark_completed
from apps.directory.index.models import DirectoryRefresh
from apps.directory.indexing import directory_index_rebuild
from apps.directory.models import ListingProfile
from apps.resources.models import Resource, Service
from tests.booking_site.catalogue import generous_rates
from tests.dashboard.factories import (
    CustomerFactory,
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    booking_row,
    local_at,
    slots_open,
)

STAFF = ActorRef.staff("00000000-0000-7000-8000-0000000000aa", label="Front desk")


@dataclass
class Place:
    tenant: Tenant
    resource: Resource
    service: Service


@pytest.fixture(autouse=True)
def _roomy_rate_limits(settings: Any) -> None:
    """Tests post from one address; the review rate limit has a test of its own."""
    settings.REST_FRAMEWORK = generous_rates(review_write="100000/min")


def place_create(tenant: Tenant, *, listed: bool = True) -> Place:
    location = LocationFactory.create(name="Main", timezone="Europe/London")
    ListingProfile.objects.update_or_create(
        singleton=True,
        defaults={"is_listed": listed, "display_name": tenant.name, "languages": ["en"]},
    )
    resource = ResourceFactory.create(name="Anna Berg", location=location)
    service = ServiceFactory.create(name="Sports massage", resources=[resource])
    slots_open(resource=resource, starts_at=local_at(location, days=2, hour=10))
    return Place(tenant=tenant, resource=resource, service=service)


@pytest.fixture
def place(acme: Tenant) -> Place:
    made = place_create(acme)
    directory_index_rebuild(tenant=acme)
    DirectoryRefresh.objects.all().delete()
    return made


def completed_booking(
    place: Place, *, name: str = "Maria Sanchez Lopez", days_ago: int = 2, phone: str = ""
) -> Booking:
    """A confirmed booking of `days_ago` days ago, marked completed through the service
    (which sends `booking_completed`)."""
    starts_at = timezone.now() - dt.timedelta(days=days_ago)
    customer = CustomerFactory.create(
        name=name, phone_encrypted=pii.pii_encrypt(phone) if phone else ""
    )
    booking = booking_row(
        service=place.service, resource=place.resource, starts_at=starts_at, customer=customer
    )
    return booking_mark_completed(booking=booking, actor=STAFF)


@pytest.fixture
def complete(place: Place) -> Callable[..., Booking]:
    def make(**kwargs: object) -> Booking:
        return completed_booking(place, **kwargs)  # type: ignore[arg-type]

    return make
