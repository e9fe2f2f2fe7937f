"""The reads and the presentation helpers behind the customer pages."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from apps.booking_site.forms import slot_parse, slot_value
from apps.booking_site.month_grid import month_add, month_clamp, month_grid, time_groups
from apps.booking_site.selectors import (
    alternative_starts,
    bookable_services,
    booking_change_deadline,
    service_resource_get,
)
from apps.calendars.availability.selectors import AvailableSlot
from apps.core.errors import NotFound
from tests.booking_site.catalogue import (
    confirmed_booking,
    held_booking,
    london_today,
    slots_add,
)
from tests.bookings.factories import ResourceFactory, ServiceFactory


@pytest.mark.django_db
def test_alternatives_are_the_nearest_free_starts_in_order(catalogue):
    held_booking(catalogue, hour=10)

    found = alternative_starts(
        service=catalogue.service,
        resource=catalogue.ada,
        around=catalogue.at(10),
        tz="Europe/London",
        limit=2,
    )

    assert [slot.start for slot in found] == [catalogue.at(10, 30), catalogue.at(11)]
    assert {slot.resource_id for slot in found} == {catalogue.ada.pk}


@pytest.mark.django_db
def test_alternatives_for_anyone_start_with_the_same_time_elsewhere(catalogue):
    held_booking(catalogue, resource=catalogue.ada, hour=10)

    found = alternative_starts(
        service=catalogue.service,
        resource=None,
        around=catalogue.at(10),
        tz="Europe/London",
        limit=1,
    )

    assert [(slot.start, slot.resource_id) for slot in found] == [
        (catalogue.at(10), catalogue.grace.pk)
    ]


@pytest.mark.django_db
def test_alternatives_look_at_the_following_days_when_the_day_is_full(catalogue):
    for hour in (10, 11):
        held_booking(catalogue, hour=hour)
    next_day = catalogue.day + dt.timedelta(days=2)
    slots_add(catalogue, catalogue.ada, catalogue.at(9, day=next_day))

    found = alternative_starts(
        service=catalogue.service,
        resource=catalogue.ada,
        around=catalogue.at(11),
        tz="Europe/London",
        limit=2,
    )

    assert [slot.start for slot in found] == [catalogue.at(10, 30), catalogue.at(9, day=next_day)]


@pytest.mark.django_db
def test_alternatives_when_nothing_is_free_nearby_are_none(catalogue):
    found = alternative_starts(
        service=catalogue.service,
        resource=catalogue.ada,
        around=catalogue.at(10, day=catalogue.day + dt.timedelta(days=30)),
        tz="Europe/London",
    )

    assert found == []


@pytest.mark.django_db
def test_bookable_services_need_an_active_resource(catalogue):
    retired_person = ResourceFactory.create(location=catalogue.location, is_active=False)
    ServiceFactory.create(name="Only a retired person", resources=[retired_person])

    assert list(bookable_services()) == [catalogue.service]


@pytest.mark.django_db
def test_a_resource_that_does_not_deliver_the_service_is_not_found(catalogue):
    stranger = ResourceFactory.create(location=catalogue.location)

    with pytest.raises(NotFound):
        service_resource_get(service=catalogue.service, resource_id=stranger.pk)
    assert service_resource_get(service=catalogue.service, resource_id=catalogue.ada.pk)


@pytest.mark.django_db
def test_change_deadline_is_the_cancellation_window_before_a_confirmed_start(tenant, catalogue):
    held = held_booking(catalogue, hour=11)
    confirmed = confirmed_booking(catalogue, hour=10)

    assert booking_change_deadline(booking=held, tenant=tenant) is None
    assert booking_change_deadline(booking=confirmed, tenant=tenant) == catalogue.at(10) - (
        dt.timedelta(minutes=tenant.cancellation_window_minutes)
    )


def test_month_grid_weeks_start_on_monday_and_mark_bookable_days():
    today = dt.date(2026, 2, 10)

    grid = month_grid(
        month=dt.date(2026, 2, 1),
        free_by_day={dt.date(2026, 2, 9): 4, dt.date(2026, 2, 12): 2},
        today=today,
        last_day=dt.date(2026, 3, 15),
        selected=dt.date(2026, 2, 12),
    )

    first_week = grid.weeks[0]
    assert [cell.day.day if cell else None for cell in first_week] == [None] * 6 + [1]
    cells = {cell.day: cell for week in grid.weeks for cell in week if cell}
    assert not cells[dt.date(2026, 2, 9)].bookable  # free, but in the past
    assert cells[dt.date(2026, 2, 12)].bookable and cells[dt.date(2026, 2, 12)].selected
    assert grid.free_days == 1
    assert grid.previous is None  # January is entirely past
    assert grid.next == dt.date(2026, 3, 1)


def test_month_grid_stops_at_the_horizon():
    grid = month_grid(
        month=dt.date(2026, 3, 1),
        free_by_day={},
        today=dt.date(2026, 2, 10),
        last_day=dt.date(2026, 3, 15),
        selected=None,
    )

    assert grid.previous == dt.date(2026, 2, 1)
    assert grid.next is None
    assert month_clamp(
        dt.date(2030, 1, 1), first=dt.date(2026, 2, 10), last=dt.date(2026, 3, 15)
    ) == (dt.date(2026, 3, 1))
    assert month_add(dt.date(2026, 12, 1), 1) == dt.date(2027, 1, 1)


def test_time_groups_split_morning_afternoon_evening():
    day = london_today()
    zone = dt.UTC

    def slot(hour: int) -> AvailableSlot:
        start = dt.datetime.combine(day, dt.time(hour), tzinfo=zone)
        return AvailableSlot(uuid.uuid4(), start, start, uuid.uuid4(), 1)

    groups = time_groups([slot(9), slot(11), slot(12), slot(18)])

    assert [(group.label, len(group.slots)) for group in groups] == [
        ("Morning", 2),
        ("Afternoon", 1),
        ("Evening", 1),
    ]


def test_slot_values_round_trip_and_reject_garbage():
    resource_id = uuid.uuid4()
    start = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)

    value = slot_value(resource_id=resource_id, start=start)

    assert slot_parse(value) == (resource_id, start)
    assert "+" not in value and ":" not in value
    for garbage in ("", "x", f"{resource_id}_2026", f"{resource_id}_20261399T000000Z", None):
        assert slot_parse(garbage) is None
