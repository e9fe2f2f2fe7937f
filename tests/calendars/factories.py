"""Factories for scheduling tests. Locations, resources and services are the booking
core's factories (one copy for the whole suite); rules are added here. Factories write
rows directly: the services that validate them are tested on their own."""

from __future__ import annotations

import factory

from apps.calendars.models import AvailabilityRule
from tests.bookings.factories import LocationFactory, ResourceFactory, ServiceFactory

__all__ = [
    "DateRangeRuleFactory",
    "ExceptionRuleFactory",
    "LocationFactory",
    "ResourceFactory",
    "ServiceFactory",
    "WeeklyRuleFactory",
]


class WeeklyRuleFactory(factory.django.DjangoModelFactory[AvailabilityRule]):
    """Mon-Fri 09:00-17:00 on a 30-minute grid; give it a `resource` or a `location`."""

    class Meta:
        model = AvailabilityRule

    kind = AvailabilityRule.Kind.WEEKLY
    days_of_week = factory.LazyFunction(lambda: [1, 2, 3, 4, 5])
    start_minute = 9 * 60
    end_minute = 17 * 60
    granularity_minutes = 30


class DateRangeRuleFactory(WeeklyRuleFactory):
    """Every day of [valid_from, valid_to] unless `days_of_week` narrows it."""

    kind = AvailabilityRule.Kind.DATE_RANGE
    days_of_week = factory.LazyFunction(list)


class ExceptionRuleFactory(WeeklyRuleFactory):
    """An extra opening on `valid_from` (through `valid_to`); `closure=True` closes."""

    class Params:
        closure = factory.Trait(is_closed=True, start_minute=None, end_minute=None)

    kind = AvailabilityRule.Kind.EXCEPTION
    days_of_week = factory.LazyFunction(list)
    valid_to = factory.SelfAttribute("valid_from")
