"""Factories for the booking core's tests. Slots are created directly (the scheduling
engine materializes them in production), following the slot contract (PRODUCT.md §3)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from apps.bookings.actors import ActorRef
from apps.bookings.services import CustomerInput
from apps.calendars.models import SlotInstance
from apps.resources.models import Resource
from tests.plugins import factories as catalogue


class ResourceFactory(catalogue.ResourceFactory):
    kind = Resource.Kind.ASSET


LocationFactory = catalogue.LocationFactory
ServiceFactory = catalogue.ServiceFactory


def future_start(*, days: int = 3, hour: int = 10) -> datetime:
    """An aligned UTC instant well inside the default booking window."""
    base = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=days)
    return base.replace(hour=hour)


def slots_create(
    *,
    resource: Resource,
    starts_at: datetime,
    count: int = 1,
    minutes: int = 30,
    capacity: int | None = None,
) -> list[SlotInstance]:
    """`count` consecutive free grid steps of `minutes` from `starts_at`."""
    step = timedelta(minutes=minutes)
    return SlotInstance.objects.bulk_create(
        SlotInstance(
            resource=resource,
            starts_at=starts_at + step * i,
            ends_at=starts_at + step * (i + 1),
            capacity=capacity,
        )
        for i in range(count)
    )


def customer(n: int | str = 0) -> CustomerInput:
    return CustomerInput(name=f"Customer {n}", email=f"customer{n}@example.test")


CUSTOMER = ActorRef.customer(label="booking page")
STAFF = ActorRef.staff("00000000-0000-7000-8000-000000000001", label="front desk")
