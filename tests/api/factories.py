"""Catalogue and slot rows for API tests (ORM level: the services have their own tests)."""

from __future__ import annotations

from datetime import datetime, timedelta

import factory
from django.utils import timezone

from apps.calendars.models import SlotInstance
from apps.resources.models import Location, Resource, Service


class LocationFactory(factory.django.DjangoModelFactory[Location]):
    class Meta:
        model = Location

    name = factory.Sequence(lambda n: f"Clinic {n}")
    timezone = "Europe/London"


class ResourceFactory(factory.django.DjangoModelFactory[Resource]):
    class Meta:
        model = Resource

    name = factory.Sequence(lambda n: f"Room {n}")
    kind = Resource.Kind.PERSON
    location = factory.SubFactory(LocationFactory)


class ServiceFactory(factory.django.DjangoModelFactory[Service]):
    """`ServiceFactory(resources=[r])` links the resources that deliver it."""

    class Meta:
        model = Service
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Consultation {n}")
    duration_minutes = 30
    capacity = 1
    currency = "GBP"
    min_notice_minutes = 0

    @factory.post_generation
    def resources(self, create: bool, extracted: list[Resource] | None, **kwargs: object) -> None:
        if create and extracted:
            self.resources.set(extracted)


def future_start(*, days: int = 3, hour: int = 10) -> datetime:
    """An aligned UTC instant well inside the booking window."""
    base = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=days)
    return base.replace(hour=hour)


def slots_create(
    *, resource: Resource, starts_at: datetime, count: int = 1, minutes: int = 30
) -> list[SlotInstance]:
    """`count` consecutive free grid steps of `minutes` from `starts_at`."""
    step = timedelta(minutes=minutes)
    return SlotInstance.objects.bulk_create(
        SlotInstance(
            resource=resource, starts_at=starts_at + step * i, ends_at=starts_at + step * (i + 1)
        )
        for i in range(count)
    )
