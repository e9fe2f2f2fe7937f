"""ORM-level factories for scheduling tests (the services are tested on their own)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory

from apps.calendars.models import AvailabilityRule
from apps.resources.models import Location, Resource, Service


class LocationFactory(factory.django.DjangoModelFactory[Location]):
    class Meta:
        model = Location

    name = factory.Sequence(lambda n: f"Location {n}")
    timezone = "Europe/London"


class ResourceFactory(factory.django.DjangoModelFactory[Resource]):
    class Meta:
        model = Resource

    name = factory.Sequence(lambda n: f"Resource {n}")
    location = factory.SubFactory(LocationFactory)
    kind = Resource.Kind.PERSON


class ServiceFactory(factory.django.DjangoModelFactory[Service]):
    class Meta:
        model = Service
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Service {n}")
    duration_minutes = 30
    price = Decimal("0.00")
    currency = "GBP"
    capacity = 1
    min_notice_minutes = 0

    @factory.post_generation
    def resources(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.resources.set(extracted)


class WeeklyRuleFactory(factory.django.DjangoModelFactory[AvailabilityRule]):
    """Mon-Fri 09:00-17:00 on a 30-minute grid, for a resource unless told otherwise."""

    class Meta:
        model = AvailabilityRule

    kind = AvailabilityRule.Kind.WEEKLY
    days_of_week = factory.LazyFunction(lambda: [1, 2, 3, 4, 5])
    start_minute = 9 * 60
    end_minute = 17 * 60
    granularity_minutes = 30
