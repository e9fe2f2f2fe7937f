"""What a customer can book: `availability_slots` and `availability_dates` over grids
materialized from rules and occupied by the booking core's own services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.calendars.availability.selectors import availability_dates, availability_slots
from apps.calendars.models import SlotInstance
from apps.calendars.timezones import local_date, zone
from apps.core.errors import ValidationFailed
from apps.resources.services import resource_update, service_update
from tests.calendars.bookings import book, cancel, hold
from tests.calendars.factories import (
    ExceptionRuleFactory,
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    WeeklyRuleFactory,
)
from tests.calendars.times import LONDON, london, materialize_days

MINUTES_30 = dt.timedelta(minutes=30)


def day_grid(day: dt.date, first=(9, 0), last=(16, 30), step: int = 30) -> list[dt.datetime]:
    """The London starts first..last of one day on a `step`-minute grid."""
    start, end = london(day, *first), london(day, *last)
    count = (end - start) // dt.timedelta(minutes=step) + 1
    return [start + dt.timedelta(minutes=step * n) for n in range(count)]


def starts(result) -> list[dt.datetime]:
    return [slot.start for slot in result.slots]


def at_location(location, *, name, rule=True):
    resource = ResourceFactory(location=location, name=name)
    if rule:
        WeeklyRuleFactory(resource=resource)
    return resource


# --- The plain day ---------------------------------------------------------------------


def test_slots_offer_every_free_start_of_the_day_with_its_slot_and_places(
    service, weekday_hours, monday
):
    # when
    result = availability_slots(service=service, resource=weekday_hours, day=monday)

    # then
    expected = day_grid(monday)
    assert starts(result) == expected
    assert all(slot.end - slot.start == MINUTES_30 for slot in result.slots)
    assert {slot.remaining for slot in result.slots} == {1}
    assert {slot.resource_id for slot in result.slots} == {weekday_hours.pk}
    slot_ids = dict(SlotInstance.objects.values_list("starts_at", "id"))
    assert [slot.id for slot in result.slots] == [slot_ids[start] for start in expected]
    assert (result.total, result.has_more) == (16, False)
    assert (result.timezone, result.display_timezone) == ("Europe/London", "Europe/London")
    assert (
        availability_slots(
            service=service, resource=weekday_hours, day=monday + dt.timedelta(days=5)
        ).slots
        == []
    )


def test_slots_keep_minimum_notice_from_now(service, weekday_hours, monday):
    # given: the service needs two hours' notice, and it is 10:10 that Monday
    service_update(service=service, data={"min_notice_minutes": 120})
    now = london(monday, 10, 10)

    # when
    result = availability_slots(service=service, resource=weekday_hours, day=monday, now=now)

    # then: the first start is the first one at or after 12:10
    assert starts(result)[0] == london(monday, 12, 30)
    assert len(result.slots) == 9


def test_slots_fall_back_to_the_tenants_notice_and_never_offer_the_past(
    tenant, service, weekday_hours, monday
):
    tenant.min_notice_minutes = 60
    now = london(monday, 10, 0)

    with_notice = availability_slots(service=service, resource=weekday_hours, day=monday, now=now)
    tenant.min_notice_minutes = 0
    without = availability_slots(service=service, resource=weekday_hours, day=monday, now=now)

    assert starts(with_notice)[0] == london(monday, 11)
    assert starts(without)[0] == london(monday, 10)  # a start exactly now is still bookable


@pytest.mark.parametrize(
    ("days_before", "hour", "offered"),
    [(7, 0, True), (7, 23, True), (8, 23, False), (8, 0, False)],
    ids=["today+7 early", "today+7 late", "today+8 late", "today+8 early"],
)
def test_slots_end_at_the_end_of_the_local_day_horizon_days_after_today(
    tenant, service, weekday_hours, monday, days_before, hour, offered
):
    # given: a 7-day horizon, and a "now" some days before that Monday (London time)
    tenant.horizon_days = 7
    now = london(monday - dt.timedelta(days=days_before), hour, 59)

    # when
    result = availability_slots(service=service, resource=weekday_hours, day=monday, now=now)

    # then
    assert len(result.slots) == (16 if offered else 0)


def test_service_horizon_overrides_the_tenants(tenant, service, weekday_hours, monday):
    tenant.horizon_days = 7
    service_update(service=service, data={"horizon_days": 30})
    now = london(monday - dt.timedelta(days=20), 12)

    result = availability_slots(service=service, resource=weekday_hours, day=monday, now=now)

    assert len(result.slots) == 16


# --- Bookings, holds, capacity ---------------------------------------------------------


def test_booked_and_held_starts_are_not_offered_and_cancelling_frees_them(
    service, weekday_hours, monday
):
    # given
    confirmed = book(service=service, resource=weekday_hours, start=london(monday, 10))
    hold(service=service, resource=weekday_hours, start=london(monday, 11), who=1)

    # when
    before = availability_slots(service=service, resource=weekday_hours, day=monday)
    cancel(confirmed)
    after = availability_slots(service=service, resource=weekday_hours, day=monday)

    # then: touching neighbours stay bookable (no buffers)
    assert london(monday, 10) not in starts(before)
    assert london(monday, 11) not in starts(before)
    assert {london(monday, 9, 30), london(monday, 10, 30), london(monday, 11, 30)} <= set(
        starts(before)
    )
    assert len(before.slots) == 14
    assert london(monday, 10) in starts(after) and len(after.slots) == 15


def test_a_hold_past_its_expiry_counts_as_free_before_any_sweeper_runs(
    service, weekday_hours, monday
):
    # given: a hold for the tenant's 10-minute TTL
    booking = hold(service=service, resource=weekday_hours, start=london(monday, 10))

    # when: read before and after its expiry (nothing has swept it)
    live = availability_slots(service=service, resource=weekday_hours, day=monday)
    expired = availability_slots(
        service=service,
        resource=weekday_hours,
        day=monday,
        now=booking.hold_expires_at + dt.timedelta(seconds=1),
    )

    # then
    assert london(monday, 10) not in starts(live)
    assert london(monday, 10) in starts(expired)
    assert SlotInstance.objects.get(starts_at=london(monday, 10)).held == 1


def test_group_session_is_shared_until_full_counting_live_holds(resource, weekday_hours, monday):
    # given: a class of 6 with two confirmed places and one live hold at 10:00
    yoga = ServiceFactory(name="Yoga", capacity=6, duration_minutes=60, resources=[resource])
    ten = london(monday, 10)
    book(service=yoga, resource=resource, start=ten, who=1)
    book(service=yoga, resource=resource, start=ten, who=2)
    held = hold(service=yoga, resource=resource, start=ten, who=3)

    # when
    result = availability_slots(service=yoga, resource=resource, day=monday)
    after_expiry = availability_slots(
        service=yoga, resource=resource, day=monday, now=held.hold_expires_at
    )

    # then: 10:00 has 3 places left; starts overlapping the session are not offered
    places = {slot.start: slot.remaining for slot in result.slots}
    assert places[ten] == 3
    assert london(monday, 9, 30) not in places and london(monday, 10, 30) not in places
    assert places[london(monday, 9)] == places[london(monday, 11)] == 6
    assert {slot.start: slot.remaining for slot in after_expiry.slots}[ten] == 4


def test_full_group_session_is_not_offered_and_blocks_other_services(
    resource, service, weekday_hours, monday
):
    pair = ServiceFactory(name="Pair", capacity=2, resources=[resource])
    ten = london(monday, 10)
    book(service=pair, resource=resource, start=ten, who=1)

    shared = availability_slots(service=pair, resource=resource, day=monday)
    other_service = availability_slots(service=service, resource=resource, day=monday)
    book(service=pair, resource=resource, start=ten, who=2)
    full = availability_slots(service=pair, resource=resource, day=monday)

    assert {slot.start: slot.remaining for slot in shared.slots}[ten] == 1
    assert ten not in starts(other_service)  # one session at a time
    assert ten not in starts(full)


def test_rule_capacity_caps_the_places_of_a_class(resource, monday):
    # given: a class of 6, capped to 4 places on Fridays
    WeeklyRuleFactory(resource=resource, days_of_week=[1, 2, 3, 4])
    WeeklyRuleFactory(resource=resource, days_of_week=[5], capacity=4)
    materialize_days(resource, monday, 7)
    yoga = ServiceFactory(capacity=6, resources=[resource])
    friday = monday + dt.timedelta(days=4)

    # when
    on_monday = availability_slots(service=yoga, resource=resource, day=monday)
    on_friday = availability_slots(service=yoga, resource=resource, day=friday)
    book(service=yoga, resource=resource, start=london(friday, 9))
    after_booking = availability_slots(service=yoga, resource=resource, day=friday)

    # then
    assert {slot.remaining for slot in on_monday.slots} == {6}
    assert {slot.remaining for slot in on_friday.slots} == {4}
    assert after_booking.slots[0].remaining == 3


# --- Buffers ---------------------------------------------------------------------------


def test_buffers_keep_candidates_clear_of_a_booking_and_its_buffers(
    resource, weekday_hours, monday
):
    # given: a booking 10:00-10:30 of a service with 15 minutes after it (busy to 10:45)
    cleanup = ServiceFactory(buffer_after_minutes=15, resources=[resource])
    book(service=cleanup, resource=resource, start=london(monday, 10))

    # when: the same service is asked for
    offered = starts(availability_slots(service=cleanup, resource=resource, day=monday))

    # then: 09:30 would run into 10:00 with its own buffer; 10:30 starts inside 10:45
    assert london(monday, 9) in offered
    assert london(monday, 9, 30) not in offered
    assert london(monday, 10, 30) not in offered
    assert london(monday, 11) in offered


def test_buffers_of_both_sessions_add_up_and_touching_is_fine(resource, weekday_hours, monday):
    # given: A (30 min after) booked at 10:00: busy 10:00-11:00
    a = ServiceFactory(buffer_after_minutes=30, resources=[resource])
    b = ServiceFactory(buffer_before_minutes=15, resources=[resource])
    book(service=a, resource=resource, start=london(monday, 10))

    # when: B needs 15 minutes before it
    offered = starts(availability_slots(service=b, resource=resource, day=monday))

    # then: 11:00 would need 10:45; 11:30 is clear; 09:30 ends as A's interval starts
    assert london(monday, 11) not in offered
    assert london(monday, 11, 30) in offered
    assert london(monday, 9, 30) in offered
    assert london(monday, 10, 30) not in offered


# --- Durations and the grid ------------------------------------------------------------


def test_service_longer_than_a_slot_needs_every_covered_slot_free(resource, weekday_hours, monday):
    # given: 45 minutes on a 30-minute grid covers two steps
    long = ServiceFactory(duration_minutes=45, resources=[resource])
    one_to_one = ServiceFactory(resources=[resource])
    book(service=one_to_one, resource=resource, start=london(monday, 12))

    # when
    result = availability_slots(service=long, resource=resource, day=monday)

    # then: 16:30 would end after the day; 11:30 would cover the booked 12:00 slot
    offered = starts(result)
    assert offered[-1] == london(monday, 16)
    assert london(monday, 11, 30) not in offered and london(monday, 12) not in offered
    assert london(monday, 11) in offered and london(monday, 12, 30) in offered
    assert all(slot.end - slot.start == dt.timedelta(minutes=45) for slot in result.slots)
    assert len(offered) == 15 - 2


def test_long_booking_occupies_every_slot_it_covers(resource, weekday_hours, monday):
    long = ServiceFactory(duration_minutes=45, resources=[resource])
    one_to_one = ServiceFactory(resources=[resource])
    book(service=long, resource=resource, start=london(monday, 10))

    offered = starts(availability_slots(service=one_to_one, resource=resource, day=monday))

    assert london(monday, 10) not in offered and london(monday, 10, 30) not in offered
    assert london(monday, 9, 30) in offered and london(monday, 11) in offered


def test_short_service_on_a_longer_grid_is_offered_on_the_hour_for_its_own_length(resource, monday):
    """PRODUCT.md §4.4: a 30-minute service on a 60-minute grid is valid and offered on the
    hour with end - start = 30 minutes (issue 3's "must be a multiple" is overruled)."""
    WeeklyRuleFactory(resource=resource, granularity_minutes=60)
    materialize_days(resource, monday, 1)
    quick = ServiceFactory(duration_minutes=30, resources=[resource])

    result = availability_slots(service=quick, resource=resource, day=monday)

    assert starts(result) == [london(monday, hour) for hour in range(9, 17)]
    assert {slot.end - slot.start for slot in result.slots} == {MINUTES_30}


# --- What is not bookable --------------------------------------------------------------


def test_inactive_resources_and_services_offer_nothing(service, weekday_hours, monday):
    resource_update(resource=weekday_hours, data={"is_active": False})
    inactive_resource = availability_slots(service=service, resource=weekday_hours, day=monday)
    resource_update(resource=weekday_hours, data={"is_active": True})
    service_update(service=service, data={"is_active": False})
    inactive_service = availability_slots(service=service, resource=weekday_hours, day=monday)

    assert inactive_resource.slots == inactive_service.slots == []
    assert inactive_resource.timezone == "Europe/London"


def test_a_resource_that_does_not_deliver_the_service_offers_nothing(weekday_hours, monday):
    other = ServiceFactory()

    assert availability_slots(service=other, resource=weekday_hours, day=monday).slots == []


def test_closed_date_offers_nothing_once_materialized(service, weekday_hours, monday):
    wednesday = monday + dt.timedelta(days=2)
    ExceptionRuleFactory(resource=weekday_hours, valid_from=wednesday, closure=True)
    materialize_days(weekday_hours, monday, 7)

    assert availability_slots(service=service, resource=weekday_hours, day=wednesday).slots == []
    assert len(availability_slots(service=service, resource=weekday_hours, day=monday).slots) == 16


# --- Location and "anyone" -------------------------------------------------------------


@pytest.fixture
def team(location, monday):
    """Ada and Bob at Camden, Cy at another location; all deliver the consultation."""
    ada, bob = at_location(location, name="Ada"), at_location(location, name="Bob")
    cy = at_location(LocationFactory(name="Leeds"), name="Cy")
    WeeklyRuleFactory(resource=cy, days_of_week=[6])  # Cy also works Saturdays
    for person in (ada, bob, cy):
        materialize_days(person, monday, 7)
    consultation = ServiceFactory(resources=[ada, bob, cy])
    return ada, bob, cy, consultation


def test_location_scope_offers_each_start_once_from_its_resources(team, location, monday):
    ada, bob, _, consultation = team

    result = availability_slots(service=consultation, location=location, day=monday)

    assert starts(result) == day_grid(monday)
    assert {slot.resource_id for slot in result.slots} <= {ada.pk, bob.pk}
    assert result.timezone == "Europe/London"


def test_location_scope_offers_a_start_while_any_resource_there_is_free(team, location, monday):
    # given: Ada is booked at 10:00; then Bob is too
    ada, bob, cy, consultation = team
    ten = london(monday, 10)
    book(service=consultation, resource=ada, start=ten, who=1)
    one_booked = availability_slots(service=consultation, location=location, day=monday)
    book(service=consultation, resource=bob, start=ten, who=2)
    both_booked = availability_slots(service=consultation, location=location, day=monday)
    anyone = availability_slots(service=consultation, day=monday)

    # then
    by_start = {slot.start: slot.resource_id for slot in one_booked.slots}
    assert by_start[ten] == bob.pk
    assert ten not in starts(both_booked)
    assert {slot.start: slot.resource_id for slot in anyone.slots}[ten] == cy.pk


def test_anyone_prefers_the_least_busy_resource(team, location, monday):
    ada, bob, _, consultation = team
    book(service=consultation, resource=ada, start=london(monday, 10), who=1)

    result = availability_slots(service=consultation, location=location, day=monday)

    assert {slot.resource_id for slot in result.slots} == {bob.pk}


def test_anyone_joins_an_open_group_session_before_opening_another(location, monday):
    # given: a class of 6 given by Ada and Bob; one person in Ada's 10:00 class
    ada, bob = at_location(location, name="Ada"), at_location(location, name="Bob")
    for person in (ada, bob):
        materialize_days(person, monday, 1)
    yoga = ServiceFactory(capacity=6, resources=[ada, bob])
    ten = london(monday, 10)
    book(service=yoga, resource=ada, start=ten, who=0)

    # when
    offered = {
        slot.start: slot
        for slot in availability_slots(service=yoga, location=location, day=monday).slots
    }

    # then: 10:00 is Ada's class with 5 places; other starts go to the less busy Bob
    assert (offered[ten].resource_id, offered[ten].remaining) == (ada.pk, 5)
    assert (offered[london(monday, 11)].resource_id, offered[london(monday, 11)].remaining) == (
        bob.pk,
        6,
    )

    # and once Ada's class is full, 10:00 is Bob's fresh class
    for who in range(1, 6):
        book(service=yoga, resource=ada, start=ten, who=who)
    full = {
        slot.start: slot
        for slot in availability_slots(service=yoga, location=location, day=monday).slots
    }
    assert (full[ten].resource_id, full[ten].remaining) == (bob.pk, 6)


# --- Time zones ------------------------------------------------------------------------


def test_slots_come_back_in_the_requested_zone_with_the_locations_zone_named(
    service, weekday_hours, monday
):
    result = availability_slots(
        service=service, resource=weekday_hours, day=monday, tz="America/New_York"
    )

    new_york = zone("America/New_York")
    assert (result.timezone, result.display_timezone) == ("Europe/London", "America/New_York")
    for slot in result.slots:
        in_new_york = slot.start.astimezone(new_york)
        assert slot.start.utcoffset() == in_new_york.utcoffset()
        assert slot.start.replace(tzinfo=None) == in_new_york.replace(tzinfo=None)
    # the same instants as the London view of that day, minus those on another NY date
    london_view = availability_slots(service=service, resource=weekday_hours, day=monday)
    assert starts(result) == [s for s in starts(london_view) if local_date(s, new_york) == monday]
    offset = result.slots[0].start.utcoffset()
    assert offset in (dt.timedelta(hours=-5), dt.timedelta(hours=-4))
    assert result.slots[0].start.isoformat().endswith(("-05:00", "-04:00"))


def test_a_far_away_booker_gets_starts_from_two_business_days(service, weekday_hours, monday):
    # given: Tuesday in Auckland (11 to 13 hours ahead of London)
    tuesday = monday + dt.timedelta(days=1)
    auckland = zone("Pacific/Auckland")

    # when
    result = availability_slots(
        service=service, resource=weekday_hours, day=tuesday, tz="Pacific/Auckland"
    )

    # then: every London start whose Auckland date is that Tuesday, from two London days
    expected = [
        start
        for day in (monday, tuesday)
        for start in day_grid(day)
        if local_date(start, auckland) == tuesday
    ]
    assert starts(result) == expected
    assert {local_date(start, LONDON) for start in starts(result)} == {monday, tuesday}
    assert all(
        slot.start.utcoffset() == slot.start.astimezone(auckland).utcoffset()
        for slot in result.slots
    )


def test_an_unknown_display_zone_is_refused_with_its_field(service, weekday_hours, monday):
    with pytest.raises(ValidationFailed) as refused:
        availability_slots(service=service, resource=weekday_hours, day=monday, tz="Moon/Base")

    assert refused.value.code == "VALIDATION_ERROR"
    assert refused.value.field_messages() == {
        "tz": ["“Moon/Base” is not an IANA time zone (e.g. Europe/London)."]
    }


# --- Dates -----------------------------------------------------------------------------


@pytest.mark.parametrize("tz", [None, "Pacific/Auckland", "America/Los_Angeles"])
def test_dates_count_exactly_the_starts_that_slots_offer_each_day(team, location, monday, tz):
    # given: bookings here and there
    ada, bob, cy, consultation = team
    book(service=consultation, resource=ada, start=london(monday, 10), who=1)
    book(service=consultation, resource=bob, start=london(monday, 10), who=2)
    book(service=consultation, resource=cy, start=london(monday + dt.timedelta(days=1), 9))
    first, last = monday - dt.timedelta(days=1), monday + dt.timedelta(days=7)

    for scope in ({"location": location}, {"resource": ada}, {}):
        # when
        dates = availability_dates(service=consultation, start=first, end=last, tz=tz, **scope)

        # then
        assert [entry.day for entry in dates.dates] == [
            first + dt.timedelta(days=n) for n in range(9)
        ]
        for entry in dates.dates:
            day_slots = availability_slots(service=consultation, day=entry.day, tz=tz, **scope)
            assert entry.free == day_slots.total, (scope, entry)
        assert sum(entry.free for entry in dates.dates) > 0


def test_dates_refuse_a_reversed_or_too_long_range(service, monday):
    with pytest.raises(ValidationFailed) as reversed_range:
        availability_dates(service=service, start=monday, end=monday - dt.timedelta(days=1))
    with pytest.raises(ValidationFailed) as too_long:
        availability_dates(service=service, start=monday, end=monday + dt.timedelta(days=92))

    assert list(reversed_range.value.field_messages()) == ["to"]
    assert "at most 92 days" in too_long.value.field_messages()["to"][0]


@pytest.mark.parametrize(
    "day", [dt.date.max, dt.date.min, dt.date(2900, 1, 1)], ids=["last", "first", "far"]
)
@pytest.mark.parametrize("tz", [None, "Pacific/Kiritimati", "Etc/GMT+12"])
def test_days_far_from_now_offer_nothing_at_the_ends_of_the_calendar(
    service, weekday_hours, day, tz
):
    # when: the last calendar day, whose "next day" does not exist, among others
    slots = availability_slots(service=service, resource=weekday_hours, day=day, tz=tz)
    start = min(day, dt.date.max - dt.timedelta(days=91))
    dates = availability_dates(
        service=service,
        resource=weekday_hours,
        start=start,
        end=start + dt.timedelta(days=91),
        tz=tz,
    )

    # then
    assert (slots.slots, slots.total) == ([], 0)
    assert len(dates.dates) == 92 and {entry.free for entry in dates.dates} == {0}


# --- Cost ------------------------------------------------------------------------------


def _statements(call) -> tuple[int, int]:
    """(every statement, SELECTs) one call sends to PostgreSQL."""
    with CaptureQueriesContext(connection) as captured:
        call()
    sql = [query["sql"] for query in captured.captured_queries]
    return len(sql), sum(1 for statement in sql if statement.startswith("SELECT"))


def test_availability_costs_the_same_few_queries_however_many_bookings(
    location, monday, django_assert_max_num_queries, settings
):
    # given: two resources at a location with a month of slots; one of them fully booked
    # on many days, the other empty; the cost of computing (cached answers cost none)
    settings.AVAILABILITY_CACHE_SECONDS = 0
    busy, idle = at_location(location, name="Busy"), at_location(location, name="Idle")
    for person in (busy, idle):
        materialize_days(person, monday, 28)
    service = ServiceFactory(resources=[busy, idle])
    for offset in (0, 1, 2, 7, 8):
        for start in day_grid(monday + dt.timedelta(days=offset)):
            book(service=service, resource=busy, start=start)
    assert SlotInstance.objects.filter(resource=busy, booked=1).count() == 80
    month_end = monday + dt.timedelta(days=27)
    reads = {
        "slots, booked day": lambda: availability_slots(service=service, resource=busy, day=monday),
        "slots, empty day": lambda: availability_slots(service=service, resource=idle, day=monday),
        "slots, location": lambda: availability_slots(
            service=service, location=location, day=monday
        ),
        "dates, booked month": lambda: availability_dates(
            service=service, resource=busy, start=monday, end=month_end
        ),
        "dates, empty month": lambda: availability_dates(
            service=service, resource=idle, start=monday, end=month_end
        ),
        "dates, location": lambda: availability_dates(
            service=service, location=location, start=monday, end=month_end
        ),
        "slots, anyone": lambda: availability_slots(service=service, day=monday),
        "dates, anyone": lambda: availability_dates(service=service, start=monday, end=month_end),
    }

    # when
    costs = {name: _statements(read) for name, read in reads.items()}
    for read in reads.values():
        with django_assert_max_num_queries(4):
            read()

    # then: one query for the scope, one for the slot rows, whatever the bookings
    print(f"\nstatements per availability call (all, SELECT): {costs}")  # noqa: T201
    assert {selects for _, selects in costs.values()} == {2}
    assert len({total for total, _ in costs.values()}) == 1
