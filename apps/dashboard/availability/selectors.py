"""Reads behind the dashboard's availability screens: every rule by location and
resource, one rule, and a resource's materialized week of slots."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from uuid import UUID

from django.utils import timezone
from django.utils.translation import gettext as _

from apps.calendars.availability.selectors import slot_conflicts
from apps.calendars.models import AvailabilityRule, SlotInstance
from apps.calendars.rules.services import ISO_WEEKDAY_NAMES
from apps.calendars.timezones import format_wall_time, local_date, local_day_start, zone
from apps.core.errors import NotFound
from apps.resources.models import Location, Resource

EVERY_DAY = frozenset(ISO_WEEKDAY_NAMES)
WORKING_WEEK = frozenset({1, 2, 3, 4, 5})


@dataclass(frozen=True)
class RuleRow:
    """A rule with its settings spelled out for people."""

    rule: AvailabilityRule

    @property
    def label(self) -> str:
        if self.rule.kind == AvailabilityRule.Kind.WEEKLY:
            return "Weekly hours"
        if self.rule.kind == AvailabilityRule.Kind.DATE_RANGE:
            return "Hours for dates"
        return "Closure" if self.rule.is_closed else "Special hours"

    @property
    def days(self) -> str:
        days = frozenset(self.rule.days_of_week)
        if not days and self.rule.kind == AvailabilityRule.Kind.EXCEPTION:
            return "-"  # the dates say it all
        if not days or days == EVERY_DAY:
            return "Every day"
        if days == WORKING_WEEK:
            return "Mon-Fri"
        return ", ".join(ISO_WEEKDAY_NAMES[day] for day in sorted(days))

    @property
    def hours(self) -> str:
        if self.rule.is_closed:
            return "Closed"
        if self.rule.start_minute is None or self.rule.end_minute is None:
            return ""
        start, end = self.rule.start_minute, self.rule.end_minute
        return f"{format_wall_time(start)}-{format_wall_time(end)}"

    @property
    def dates(self) -> str:
        first, last = self.rule.valid_from, self.rule.valid_to
        if first and first == last:
            return f"{first:%-d %b %Y}"
        if first and last:
            return f"{first:%-d %b %Y} to {last:%-d %b %Y}"
        if first:
            return f"from {first:%-d %b %Y}"
        if last:
            return f"until {last:%-d %b %Y}"
        return ""


@dataclass(frozen=True)
class ResourceRules:
    resource: Resource
    rules: list[RuleRow]


@dataclass(frozen=True)
class LocationRules:
    location: Location
    rules: list[RuleRow]
    resources: list[ResourceRules]


@dataclass(frozen=True)
class AvailabilityOverview:
    locations: list[LocationRules]
    conflicts: int


def availability_overview(*, now: dt.datetime | None = None) -> AvailabilityOverview:
    """Every location with its own rules and its active resources with theirs, and how
    many upcoming blocked slots carry bookings. Four queries."""
    now = now or timezone.now()
    by_location: dict[UUID, list[RuleRow]] = defaultdict(list)
    by_resource: dict[UUID, list[RuleRow]] = defaultdict(list)
    for rule in AvailabilityRule.objects.order_by("kind", "valid_from", "start_minute", "pk"):
        if rule.resource_id is not None:
            by_resource[rule.resource_id].append(RuleRow(rule))
        elif rule.location_id is not None:
            by_location[rule.location_id].append(RuleRow(rule))
    resources: dict[UUID, list[ResourceRules]] = defaultdict(list)
    for resource in Resource.objects.filter(is_active=True).order_by("name", "pk"):
        resources[resource.location_id].append(
            ResourceRules(resource=resource, rules=by_resource.get(resource.pk, []))
        )
    return AvailabilityOverview(
        locations=[
            LocationRules(
                location=location,
                rules=by_location.get(location.pk, []),
                resources=resources.get(location.pk, []),
            )
            for location in Location.objects.order_by("name", "pk")
        ],
        conflicts=slot_conflicts(start=now).count(),
    )


def rule_get(*, rule_id: UUID | str) -> AvailabilityRule:
    rule = (
        AvailabilityRule.objects.select_related("resource__location", "location")
        .filter(pk=rule_id)
        .first()
    )
    if rule is None:
        raise NotFound(_("There is no such availability rule."))
    return rule


@dataclass(frozen=True)
class SlotDay:
    day: dt.date
    slots: list[SlotInstance]

    @property
    def open_count(self) -> int:
        return sum(1 for slot in self.slots if slot.status == SlotInstance.Status.OPEN)


@dataclass(frozen=True)
class WeekSlots:
    resource: Resource
    timezone: str
    days: list[SlotDay]  # Monday to Sunday

    @property
    def first_day(self) -> dt.date:
        return self.days[0].day

    @property
    def last_day(self) -> dt.date:
        return self.days[-1].day

    @property
    def total(self) -> int:
        return sum(len(day.slots) for day in self.days)


def week_slots(*, resource: Resource, day: dt.date) -> WeekSlots:
    """The materialized slots of `resource` from Monday to Sunday of the week holding
    local `day`, in its location's time zone. One query."""
    tz_name = resource.location.timezone
    tz = zone(tz_name)
    monday = day - dt.timedelta(days=day.weekday())
    days = [monday + dt.timedelta(days=offset) for offset in range(7)]
    by_day: dict[dt.date, list[SlotInstance]] = defaultdict(list)
    for slot in SlotInstance.objects.filter(
        resource=resource,
        starts_at__gte=local_day_start(days[0], tz),
        starts_at__lt=local_day_start(days[-1] + dt.timedelta(days=1), tz),
    ).order_by("starts_at"):
        by_day[local_date(slot.starts_at, tz)].append(slot)
    return WeekSlots(
        resource=resource,
        timezone=tz_name,
        days=[SlotDay(day=d, slots=by_day.get(d, [])) for d in days],
    )
