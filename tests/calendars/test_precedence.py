"""Which rules decide a resource's hours on a date: exception > date range > weekly; the
resource's own rules before its location's within a kind; closures; exceptions adding
up; rule capacity caps. Read through the materialized grid (what customers book)."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.calendars.grid.services import slots_materialize
from apps.calendars.models import AvailabilityRule, SlotInstance
from apps.calendars.rules.services import availability_rule_create
from apps.calendars.timezones import local_day_bounds
from tests.calendars.factories import ResourceFactory
from tests.calendars.times import LONDON, london

WEEKLY = AvailabilityRule.Kind.WEEKLY
DATE_RANGE = AvailabilityRule.Kind.DATE_RANGE
EXCEPTION = AvailabilityRule.Kind.EXCEPTION
# A winter week (GMT): Monday 4 to Sunday 10 January 2027.
MON, TUE, WED, THU, FRI, SAT, SUN = (dt.date(2027, 1, 4) + dt.timedelta(days=n) for n in range(7))


def grid(start: str, end: str, step: int = 30) -> list[str]:
    """Expected wall-clock starts of a window (a step must end by the window's end)."""
    first = int(start[:2]) * 60 + int(start[3:])
    last = int(end[:2]) * 60 + int(end[3:])
    return [f"{m // 60:02d}:{m % 60:02d}" for m in range(first, last - step + 1, step)]


def starts_on(resource, day: dt.date) -> list[str]:
    lo, hi = local_day_bounds(day, LONDON)
    return [
        slot.starts_at.astimezone(LONDON).strftime("%H:%M")
        for slot in SlotInstance.objects.filter(
            resource=resource, starts_at__gte=lo, starts_at__lt=hi
        ).order_by("starts_at")
    ]


def materialize_week(*resources) -> None:
    for resource in resources:
        slots_materialize(resource=resource, start=london(MON, 0), end=london(SUN, 23, 59))


def weekly(scope, *, days=(1, 2, 3, 4, 5), start="09:00", end="17:00", **extra):
    return availability_rule_create(
        kind=WEEKLY, days_of_week=days, start_time=start, end_time=end, **scope, **extra
    )


def test_weekly_rule_opens_the_weekdays_it_names(resource):
    # given
    weekly({"resource": resource})

    # when
    materialize_week(resource)

    # then
    for day in (MON, TUE, WED, THU, FRI):
        assert starts_on(resource, day) == grid("09:00", "17:00")
    assert starts_on(resource, SAT) == starts_on(resource, SUN) == []


def test_grid_starts_at_the_rules_start_not_the_top_of_the_hour(resource):
    weekly({"resource": resource}, days=[1], start="09:15", end="12:00")

    materialize_week(resource)

    assert starts_on(resource, MON) == ["09:15", "09:45", "10:15", "10:45", "11:15"]


def test_weekly_rule_applies_only_within_its_valid_dates(resource):
    weekly({"resource": resource}, valid_from=TUE, valid_to=THU)

    materialize_week(resource)

    assert [day for day in (MON, TUE, WED, THU, FRI) if starts_on(resource, day)] == [
        TUE,
        WED,
        THU,
    ]


def test_date_range_replaces_weekly_hours_on_its_dates_and_may_open_other_days(resource):
    # given: weekly hours, and a range Tuesday-Saturday with other hours every day
    weekly({"resource": resource})
    availability_rule_create(
        kind=DATE_RANGE,
        resource=resource,
        valid_from=TUE,
        valid_to=SAT,
        start_time="10:00",
        end_time="14:00",
    )

    # when
    materialize_week(resource)

    # then
    assert starts_on(resource, MON) == grid("09:00", "17:00")
    for day in (TUE, WED, THU, FRI, SAT):
        assert starts_on(resource, day) == grid("10:00", "14:00")
    assert starts_on(resource, SUN) == []


def test_exception_replaces_date_range_and_weekly_hours_on_its_date(resource):
    weekly({"resource": resource})
    availability_rule_create(
        kind=DATE_RANGE,
        resource=resource,
        valid_from=TUE,
        valid_to=THU,
        start_time="10:00",
        end_time="14:00",
    )
    availability_rule_create(
        kind=EXCEPTION,
        resource=resource,
        valid_from=WED,
        start_time="15:00",
        end_time="18:00",
        granularity_minutes=60,
    )

    materialize_week(resource)

    assert starts_on(resource, TUE) == grid("10:00", "14:00")
    assert starts_on(resource, WED) == ["15:00", "16:00", "17:00"]
    assert starts_on(resource, THU) == grid("10:00", "14:00")


def test_several_exceptions_on_one_date_add_up(resource):
    weekly({"resource": resource})
    for start, end in (("09:00", "11:00"), ("14:00", "16:00")):
        availability_rule_create(
            kind=EXCEPTION, resource=resource, valid_from=THU, start_time=start, end_time=end
        )

    materialize_week(resource)

    assert starts_on(resource, THU) == grid("09:00", "11:00") + grid("14:00", "16:00")
    assert starts_on(resource, FRI) == grid("09:00", "17:00")


def test_closure_closes_its_dates_even_beside_an_opening_exception(resource):
    # given: a closure over Tuesday-Wednesday and an extra opening on Wednesday
    weekly({"resource": resource})
    availability_rule_create(
        kind=EXCEPTION, resource=resource, valid_from=TUE, valid_to=WED, is_closed=True
    )
    availability_rule_create(
        kind=EXCEPTION, resource=resource, valid_from=WED, start_time="18:00", end_time="20:00"
    )

    # when
    materialize_week(resource)

    # then: the closure wins on both dates
    assert starts_on(resource, TUE) == starts_on(resource, WED) == []
    assert starts_on(resource, THU) == grid("09:00", "17:00")


def test_location_rules_apply_to_every_resource_at_the_location(location):
    ada, room = ResourceFactory(location=location), ResourceFactory(location=location)
    elsewhere = ResourceFactory()
    weekly({"location": location})

    materialize_week(ada, room, elsewhere)

    assert starts_on(ada, MON) == starts_on(room, MON) == grid("09:00", "17:00")
    assert starts_on(elsewhere, MON) == []


def test_location_closure_closes_every_resource_without_an_exception_of_its_own(location):
    # given: location hours, a location holiday on Wednesday, and one resource who
    # works a short day that Wednesday anyway
    ada, bob = ResourceFactory(location=location), ResourceFactory(location=location)
    weekly({"location": location})
    availability_rule_create(kind=EXCEPTION, location=location, valid_from=WED, is_closed=True)
    availability_rule_create(
        kind=EXCEPTION, resource=bob, valid_from=WED, start_time="10:00", end_time="12:00"
    )

    # when
    materialize_week(ada, bob)

    # then
    assert starts_on(ada, WED) == []
    assert starts_on(bob, WED) == grid("10:00", "12:00")
    assert starts_on(ada, THU) == starts_on(bob, THU) == grid("09:00", "17:00")


def test_resource_weekly_hours_replace_the_locations_on_the_weekdays_they_name(location):
    ada = ResourceFactory(location=location)
    weekly({"location": location})
    weekly({"resource": ada}, days=[1], start="12:00", end="14:00")

    materialize_week(ada)

    assert starts_on(ada, MON) == grid("12:00", "14:00")
    assert starts_on(ada, TUE) == grid("09:00", "17:00")


def test_location_date_range_beats_a_resources_weekly_hours(location):
    """Kinds come before scopes: a location's date range (a seasonal timetable) replaces
    a resource's weekly hours on its dates."""
    ada = ResourceFactory(location=location)
    weekly({"resource": ada})
    availability_rule_create(
        kind=DATE_RANGE,
        location=location,
        valid_from=MON,
        valid_to=TUE,
        start_time="08:00",
        end_time="10:00",
    )

    materialize_week(ada)

    assert starts_on(ada, MON) == starts_on(ada, TUE) == grid("08:00", "10:00")
    assert starts_on(ada, WED) == grid("09:00", "17:00")


def test_resource_exception_beats_the_locations_exception_on_the_same_date(location):
    ada = ResourceFactory(location=location)
    availability_rule_create(
        kind=EXCEPTION, location=location, valid_from=SAT, start_time="10:00", end_time="13:00"
    )
    availability_rule_create(
        kind=EXCEPTION, resource=ada, valid_from=SAT, start_time="11:00", end_time="12:00"
    )

    materialize_week(ada)

    assert starts_on(ada, SAT) == grid("11:00", "12:00")


@pytest.mark.parametrize("scope", ["resource", "location"])
def test_rule_capacity_caps_the_places_of_the_slots_in_its_window(resource, scope):
    # given: Mon-Thu uncapped, a smaller class on Fridays
    target = {"resource": resource} if scope == "resource" else {"location": resource.location}
    weekly(target, days=[1, 2, 3, 4])
    weekly(target, days=[5], capacity=4)

    # when
    materialize_week(resource)

    # then
    slots = SlotInstance.objects.filter(resource=resource)
    friday_lo, friday_hi = local_day_bounds(FRI, LONDON)
    on_friday = slots.filter(starts_at__gte=friday_lo, starts_at__lt=friday_hi)
    assert set(on_friday.values_list("capacity", flat=True)) == {4}
    assert set(slots.exclude(pk__in=on_friday).values_list("capacity", flat=True)) == {None}
    assert on_friday.count() == 16
