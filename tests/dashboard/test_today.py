"""The dashboard home: today's figures, the next appointments, and the bookings-per-day
chart with its text alternative, read in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from apps.bookings.models import Booking
from apps.dashboard.bookings.day_chart import day_chart
from apps.dashboard.bookings.selectors import today_summary
from tests.dashboard.factories import CustomerFactory, booking_made, booking_row, local_at
from tests.dashboard.queries import queries_of

pytestmark = pytest.mark.django_db

Status = Booking.Status
NEW_YORK = ZoneInfo("America/New_York")
# A fixed "now": 15 January 2031, 10:00 in New York (15:00 UTC).
NOW = dt.datetime(2031, 1, 15, 10, 0, tzinfo=NEW_YORK)


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2031, 1, day, hour, minute, tzinfo=NEW_YORK)


def test_today_summary_counts_todays_bookings_by_status_in_the_given_zone(clinic):
    # given bookings on 15 January in New York, including one at 23:30 there (the 16th in
    # UTC) and one at 19:30 on the 14th there (already 00:30 on the 15th in UTC)
    def row(starts_at: dt.datetime, status: str, **kwargs: object) -> None:
        booking_row(
            service=clinic.service,
            resource=clinic.smith,
            starts_at=starts_at,
            status=status,
            **kwargs,  # type: ignore[arg-type]
        )

    row(_at(15, 9), Status.CONFIRMED)
    row(_at(15, 23, 30), Status.CONFIRMED)
    row(_at(15, 11), Status.HELD, hold_expires_at=NOW + dt.timedelta(minutes=5))
    row(_at(15, 12), Status.HELD, hold_expires_at=NOW - dt.timedelta(minutes=1))  # lapsed
    row(_at(15, 13), Status.CANCELLED)
    row(_at(15, 8), Status.NO_SHOW)
    row(_at(14, 19, 30), Status.COMPLETED)
    row(_at(16, 10), Status.CONFIRMED)
    row(_at(16, 10, 30), Status.EXPIRED)

    # when
    summary = today_summary(tz_name="America/New_York", now=NOW)

    # then
    assert summary.today == dt.date(2031, 1, 15)
    figures = summary.figures
    assert (figures.confirmed, figures.held, figures.cancelled, figures.no_show) == (2, 1, 1, 1)
    assert figures.booked == 4
    by_day = {day.day: day for day in summary.days}
    assert len(summary.days) == 61
    assert summary.days[0].day == dt.date(2030, 12, 16)
    assert summary.days[-1].day == dt.date(2031, 2, 14)
    assert by_day[dt.date(2031, 1, 14)].completed == 1
    assert by_day[dt.date(2031, 1, 16)].booked == 1


def test_today_summary_lists_the_next_live_appointments_in_start_order(clinic):
    later = booking_row(service=clinic.service, resource=clinic.smith, starts_at=_at(15, 14))
    sooner = booking_row(service=clinic.service, resource=clinic.jones, starts_at=_at(15, 11))
    booking_row(service=clinic.service, resource=clinic.smith, starts_at=_at(15, 9))  # past
    booking_row(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=_at(15, 12),
        status=Status.CANCELLED,
    )

    summary = today_summary(tz_name="America/New_York", now=NOW)

    assert [booking.pk for booking in summary.upcoming] == [sooner.pk, later.pk]


def test_today_summary_reads_in_the_same_number_of_queries_however_many_bookings(clinic):
    customer = CustomerFactory.create()

    def read() -> None:
        summary = today_summary(tz_name="America/New_York", now=NOW)
        assert summary.figures.day == summary.today
        for booking in summary.upcoming:
            assert booking.customer.name and booking.resource.location.timezone

    booking_row(
        service=clinic.service, resource=clinic.smith, starts_at=_at(15, 11), customer=customer
    )
    few = queries_of(read)
    for offset in range(40):
        booking_row(
            service=clinic.service,
            resource=clinic.jones,
            starts_at=_at(15, 11) + dt.timedelta(days=offset % 20, minutes=30 * (offset // 20)),
            customer=customer,
        )
    many = queries_of(read)

    assert few == many == 3


def test_day_chart_scales_bars_to_a_round_maximum_and_describes_itself():
    today = dt.date(2031, 1, 15)
    counts = [(today + dt.timedelta(days=offset), 0) for offset in range(-30, 31)]
    counts[10] = (counts[10][0], 6)  # 26 December, a past day
    counts[30] = (today, 3)
    counts[45] = (counts[45][0], 1)

    chart = day_chart(counts=counts, today=today)

    assert [tick.value for tick in chart.ticks] == [0, 2, 4, 6, 8]
    tallest = chart.bars[10]
    assert tallest.when == "past" and chart.bars[30].when == "today"
    assert chart.bars[45].when == "future"
    assert tallest.height == pytest.approx(chart.bars[30].height * 2)
    assert chart.bars[0].height == 0
    assert [label.text for label in chart.labels][4] == "Today"
    assert "Past 30 days: 6 bookings, busiest day Thu 26 Dec (6)" in chart.description
    assert "Today: 3." in chart.description
    assert "Next 30 days: 1 booked so far" in chart.description


def test_today_page_shows_the_figures_the_next_appointment_and_the_chart(admin_client_acme, clinic):
    booking_made(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=local_at(clinic.location, days=1, hour=10),
        name="Grace Hopper",
    )

    response = admin_client_acme.get(reverse("dashboard:home"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Bookings today" in body
    assert "Grace Hopper" in body
    assert 'role="img"' in body
    assert '<title id="chart-title">Bookings per day' in body
    assert '<desc id="chart-desc">Past 30 days:' in body
    assert body.count('class="chart-bar ') == 61
    assert "Show the numbers" in body


def test_today_page_points_schedulers_to_conflicts_but_not_front_desk(client_as, clinic):
    from apps.calendars.models import SlotInstance

    booking = booking_made(
        service=clinic.service,
        resource=clinic.smith,
        starts_at=local_at(clinic.location, days=2, hour=10),
    )
    SlotInstance.objects.filter(resource=clinic.smith, starts_at=booking.starts_at).update(
        status=SlotInstance.Status.BLOCKED
    )

    scheduler = client_as("scheduler").get(reverse("dashboard:home")).content.decode()
    frontdesk = client_as("frontdesk").get(reverse("dashboard:home")).content.decode()

    assert "1 booked time no longer within opening hours" in scheduler
    assert "no longer within opening hours" not in frontdesk
