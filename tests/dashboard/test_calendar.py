"""The staff calendar: a day with a column per resource, a resource's week, in the
location's time zone, navigable by date, with bad input reported instead of failing."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from apps.bookings.models import Booking
from apps.calendars.models import SlotInstance
from apps.dashboard.bookings.calendar_grid import ROW_MINUTES
from apps.dashboard.bookings.selectors import calendar_day, calendar_week
from tests.dashboard.factories import (
    CustomerFactory,
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    booking_row,
)
from tests.dashboard.queries import queries_of

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
DAY = dt.date(2031, 1, 15)  # a Wednesday


@pytest.fixture
def new_york(acme):
    location = LocationFactory.create(name="Fifth Avenue", timezone="America/New_York")
    ann = ResourceFactory.create(name="Ann", location=location)
    bob = ResourceFactory.create(name="Bob", location=location)
    service = ServiceFactory.create(name="Massage", duration_minutes=60, resources=[ann, bob])
    return location, ann, bob, service


def _ny(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NEW_YORK)


def _calendar(client, **params: str):
    return client.get(reverse("dashboard:calendar"), params)


def test_day_view_has_a_column_per_resource_with_bookings_at_local_wall_time(
    admin_client_acme, new_york
):
    location, ann, _, service = new_york
    booking_row(
        service=service,
        resource=ann,
        starts_at=dt.datetime(2031, 1, 15, 14, 0, tzinfo=dt.UTC),  # 09:00 in New York
        customer=CustomerFactory.create(name="Grace Hopper"),
    )

    response = _calendar(admin_client_acme, date="2031-01-15", location=str(location.pk))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Fifth Avenue" in body and "times in America/New_York" in body
    columns = re.findall(r'id="cal-col-\d+">\s*<a href="[^"]*">([^<]+)</a>', body)
    assert columns == ["Ann", "Bob"]
    assert re.search(r"09:00<span class=\"sr-only\"> to 10:00</span>.*Grace Hopper", body, re.S)


def test_day_grid_places_entries_by_wall_time_and_gives_overlaps_their_own_lane(new_york):
    location, ann, bob, service = new_york
    solo = booking_row(service=service, resource=ann, starts_at=_ny(9))
    class_service = ServiceFactory.create(duration_minutes=60, capacity=4, resources=[bob])
    first = booking_row(service=class_service, resource=bob, starts_at=_ny(10))
    second = booking_row(service=class_service, resource=bob, starts_at=_ny(10))
    # A cancelled booking overlapping the class keeps its own lane.
    cancelled = booking_row(
        service=service, resource=bob, starts_at=_ny(10, 30), status=Booking.Status.CANCELLED
    )

    grid = calendar_day(location=location, day=DAY, include_cancelled=True, now=_ny(8))

    ann_column, bob_column = grid.columns
    (entry,) = ann_column.entries
    assert entry.bookings == (solo,)
    assert entry.starts_at.hour == 9 and entry.starts_at.utcoffset() == dt.timedelta(hours=-5)
    rows_from_first = (9 * 60 - grid.first_minute) // ROW_MINUTES
    assert (entry.row_start, entry.row_end) == (rows_from_first + 1, rows_from_first + 5)
    group, alone = bob_column.entries
    assert set(group.bookings) == {first, second} and group.is_group
    assert alone.bookings == (cancelled,)
    assert (group.lane, alone.lane, bob_column.lanes) == (1, 2, 2)
    assert bob_column.booking_count == 2  # the cancelled booking takes no place


def test_day_grid_hides_cancelled_and_lapsed_holds_unless_cancelled_are_asked_for(new_york):
    location, ann, _, service = new_york
    kept = booking_row(service=service, resource=ann, starts_at=_ny(9))
    booking_row(service=service, resource=ann, starts_at=_ny(11), status=Booking.Status.CANCELLED)
    booking_row(
        service=service,
        resource=ann,
        starts_at=_ny(13),
        status=Booking.Status.HELD,
        hold_expires_at=_ny(7),
    )

    default = calendar_day(location=location, day=DAY, now=_ny(8))
    with_cancelled = calendar_day(location=location, day=DAY, include_cancelled=True, now=_ny(8))

    assert [e.bookings for e in default.columns[0].entries] == [(kept,)]
    assert len(with_cancelled.columns[0].entries) == 2


def test_day_grid_widens_to_the_open_hours_and_the_bookings(new_york):
    location, ann, _, service = new_york
    SlotInstance.objects.create(resource=ann, starts_at=_ny(7), ends_at=_ny(7, 30))
    booking_row(service=service, resource=ann, starts_at=_ny(19, 30))

    grid = calendar_day(location=location, day=DAY, now=_ny(6))

    assert grid.first_minute == 7 * 60
    assert grid.hours[0].label == "07:00" and grid.hours[-1].label == "20:00"
    assert grid.columns[0].bands[0].row_start == 1


def test_week_view_shows_monday_to_sunday_of_one_resource(admin_client_acme, new_york):
    _, ann, bob, service = new_york
    booking_row(service=service, resource=ann, starts_at=_ny(9, day=dt.date(2031, 1, 13)))
    booking_row(service=service, resource=ann, starts_at=_ny(15, day=dt.date(2031, 1, 19)))
    booking_row(service=service, resource=ann, starts_at=_ny(15, day=dt.date(2031, 1, 20)))
    booking_row(service=service, resource=bob, starts_at=_ny(9, day=dt.date(2031, 1, 14)))

    grid = calendar_week(resource=ann, day=DAY, now=_ny(6, day=dt.date(2031, 1, 12)))
    response = _calendar(admin_client_acme, view="week", date="2031-01-15", resource=str(ann.pk))

    assert [column.day for column in grid.columns] == [
        dt.date(2031, 1, 13) + dt.timedelta(days=n) for n in range(7)
    ]
    assert [column.booking_count for column in grid.columns] == [1, 0, 0, 0, 0, 0, 1]
    body = response.content.decode()
    assert response.status_code == 200
    assert "13 Jan \u2013 19 Jan 2031" in body
    assert "Mon 13 Jan" in body and "Sun 19 Jan" in body


def test_calendar_reads_in_the_same_number_of_queries_however_many_bookings(new_york):
    location, ann, bob, service = new_york
    customer = CustomerFactory.create()

    def read() -> None:
        for column in calendar_day(location=location, day=DAY, now=_ny(6)).columns:
            for entry in column.entries:
                assert entry.first.customer.name and entry.first.service.name

    booking_row(service=service, resource=ann, starts_at=_ny(9), customer=customer)
    few = queries_of(read)
    for hour in range(8, 20):
        booking_row(service=service, resource=bob, starts_at=_ny(hour), customer=customer)
    many = queries_of(read)

    assert few == many == 3


def test_calendar_links_to_the_previous_and_next_day_and_the_week(admin_client_acme, new_york):
    location, ann, _, _ = new_york

    body = _calendar(
        admin_client_acme, date="2031-01-15", location=str(location.pk)
    ).content.decode()

    assert f"view=day&amp;date=2031-01-14&amp;location={location.pk}" in body
    assert f"view=day&amp;date=2031-01-16&amp;location={location.pk}" in body
    assert f"view=week&amp;date=2031-01-15&amp;resource={ann.pk}" in body
    assert 'hx-get="/dashboard/calendar/?view=day&amp;date=2031-01-16' in body


@pytest.mark.parametrize(
    "params",
    [
        {"date": "2031-02-30"},
        {"date": "9999-12-31"},
        {"date": "0001-01-01", "view": "week"},
        {"view": "<script>", "location": "not-a-location"},
        {"view": "week", "resource": "../../etc"},
        {"location": "\x00", "cancelled": "maybe"},
    ],
)
def test_calendar_reports_bad_input_and_still_shows_a_calendar(admin_client_acme, new_york, params):
    response = _calendar(admin_client_acme, **params)

    body = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert"' in body
    assert "cal-scroll" in body  # a calendar for the defaults is still there


def test_calendar_of_a_business_without_locations_asks_for_the_setup(client_as, acme):
    manager = client_as("manager").get(reverse("dashboard:calendar")).content.decode()
    frontdesk = client_as("frontdesk").get(reverse("dashboard:calendar")).content.decode()

    setup_link = f'<a class="button" href="{reverse("dashboard:catalogue")}">'
    assert "There is nothing to show yet" in manager and setup_link in manager
    assert "There is nothing to show yet" in frontdesk and setup_link not in frontdesk
