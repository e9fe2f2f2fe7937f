"""How far ahead a series may reach (apps/bookings/series.py): the whole rule is checked
before a day past the grid is built. Customers up to SERIES_CUSTOMER_MAX_DAYS_AHEAD;
staff further with a reason, never past SERIES_MAX_DAYS_AHEAD; a refusal sits beside the
field that made the rule long, and nothing is built or booked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.bookings import series as series_module
from apps.bookings.models import Booking, BookingEvent, BookingSeries
from apps.bookings.series import RepeatRule, series_create
from apps.bookings.services import CustomerInput
from apps.calendars.grid.services import (
    horizon_last_date,
    materialization_horizon_days,
    slots_materialize_dates,
)
from apps.calendars.models import SlotInstance
from apps.calendars.timezones import local_date, zone
from apps.core.errors import ValidationFailed
from tests.bookings.factories import (
    CUSTOMER,
    STAFF,
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
)
from tests.dashboard.factories import WeeklyRuleFactory, local_at

ADA = CustomerInput(name="Ada Lovelace", email="ada@example.test")


@pytest.fixture
def room(acme):
    """A London room open every day, its grid built to the horizon; customers may book
    its service as a series."""
    location = LocationFactory.create(timezone="Europe/London")
    resource = ResourceFactory.create(location=location)
    service = ServiceFactory.create(resources=[resource], customers_may_repeat=True)
    WeeklyRuleFactory.create(location=location, days_of_week=[1, 2, 3, 4, 5, 6, 7])
    built_until = horizon_last_date(
        tz_name="Europe/London", days=materialization_horizon_days(), now=timezone.now()
    )
    slots_materialize_dates(
        resources=[resource],
        first=local_date(timezone.now(), zone("Europe/London")),
        last=built_until,
        beyond_horizon="clip",
    )
    return {"location": location, "resource": resource, "service": service}


def _create(room, *, rule, actor=STAFF, **kwargs):
    return series_create(
        service=room["service"],
        resource=room["resource"],
        first_starts_at=local_at(room["location"], days=2, hour=10),
        rule=rule,
        customer=ADA,
        actor=actor,
        source=Booking.Source.ADMIN if actor is STAFF else Booking.Source.PAGE,
        **kwargs,
    )


def _refused(room, **kwargs) -> dict[str, list[str]]:
    """The refusal's field messages; asserts nothing was built or booked."""
    slots_before = SlotInstance.objects.filter(resource=room["resource"]).count()
    with pytest.raises(ValidationFailed) as refused:
        _create(room, **kwargs)
    assert SlotInstance.objects.filter(resource=room["resource"]).count() == slots_before
    assert not Booking.objects.exists()
    assert not BookingSeries.objects.exists()
    return refused.value.field_messages()


def test_a_customers_series_reaching_past_a_year_is_refused_beside_count_and_builds_nothing(
    room,
):
    # every 8 weeks, 8 times: the last date is 56 weeks (392 days) ahead
    fields = _refused(room, rule=RepeatRule(every_weeks=8, count=8), actor=CUSTOMER)

    assert list(fields) == ["count"]
    assert "more than 365 days ahead" in fields["count"][0]


def test_a_customers_series_ending_past_the_bound_is_refused_beside_until(room):
    first_day = local_at(room["location"], days=2, hour=10).date()
    until = first_day + dt.timedelta(weeks=60)

    fields = _refused(room, rule=RepeatRule(every_weeks=8, until=until), actor=CUSTOMER)

    assert list(fields) == ["until"]


def test_a_customer_may_not_pass_the_bound_with_a_reason(room):
    fields = _refused(
        room,
        rule=RepeatRule(every_weeks=8, count=8),
        actor=CUSTOMER,
        override_reason="Please",
    )

    assert list(fields) == ["override_reason"]


def test_staff_past_the_customer_bound_give_a_reason_or_nothing_is_built(room):
    fields = _refused(room, rule=RepeatRule(every_weeks=8, count=8))

    assert set(fields) == {"count", "override_reason"}


def test_staff_past_the_hard_bound_are_refused_even_with_a_reason(room):
    # every 8 weeks, 52 times: eight years ahead
    fields = _refused(
        room, rule=RepeatRule(every_weeks=8, count=52), override_reason="Standing order"
    )

    assert list(fields) == ["count"]
    assert "more than 730 days ahead" in fields["count"][0]


def test_staff_book_past_the_customer_bound_with_a_reason_kept_on_the_first_date(room, settings):
    # given a bound of 30 days for customers (a small one keeps the test quick)
    settings.SERIES_CUSTOMER_MAX_DAYS_AHEAD = 30
    settings.SERIES_MAX_DAYS_AHEAD = 60

    series = _create(
        room, rule=RepeatRule(every_weeks=2, count=4), override_reason="Course runs 7 weeks"
    )

    occurrences = list(series.occurrences.order_by("starts_at"))
    assert [b.status for b in occurrences] == [Booking.Status.CONFIRMED] * 4
    assert occurrences[0].window_override_reason == "Course runs 7 weeks"
    assert BookingEvent.objects.filter(
        booking=occurrences[0], kind=BookingEvent.Kind.HELD, reason="Course runs 7 weeks"
    ).exists()


def test_a_series_within_the_customer_bound_needs_no_reason(room, settings):
    settings.SERIES_CUSTOMER_MAX_DAYS_AHEAD = 30

    series = _create(room, rule=RepeatRule(every_weeks=1, count=4), actor=CUSTOMER)

    assert series.occurrences.filter(status=Booking.Status.CONFIRMED).count() == 4


def test_the_bound_counts_days_from_today_in_the_locations_zone(room, settings):
    # the last date exactly on the bound is let in, the day after it is not
    first = local_at(room["location"], days=2, hour=10)
    settings.SERIES_CUSTOMER_MAX_DAYS_AHEAD = 2 + 7

    _create(room, rule=RepeatRule(every_weeks=1, count=2), actor=CUSTOMER)
    assert Booking.objects.count() == 2

    settings.SERIES_CUSTOMER_MAX_DAYS_AHEAD = 2 + 7 - 1
    with pytest.raises(ValidationFailed) as refused:
        series_create(
            service=room["service"],
            resource=room["resource"],
            first_starts_at=first + dt.timedelta(hours=1),
            rule=RepeatRule(every_weeks=1, count=2),
            customer=ADA,
            actor=CUSTOMER,
        )
    assert "count" in refused.value.field_messages()


def test_a_customer_giving_a_reason_is_refused_as_for_one_booking(room):
    # a reason is for staff only, even for a series well within the bound
    fields = _refused(
        room, rule=RepeatRule(every_weeks=1, count=2), actor=CUSTOMER, override_reason="Please"
    )

    assert list(fields) == ["override_reason"]


@pytest.mark.parametrize(
    ("last_day", "let_in"), [(dt.date(2027, 7, 1), True), (dt.date(2027, 7, 2), False)]
)
def test_the_bound_starts_from_today_in_the_locations_zone_not_utcs(
    monkeypatch, settings, last_day, let_in
):
    # given 23:30 UTC on 30 June, already 1 July in Auckland (UTC+12 in winter)
    settings.SERIES_CUSTOMER_MAX_DAYS_AHEAD = 365
    now = dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(series_module.timezone, "now", lambda: now)
    tz = zone("Pacific/Auckland")
    last = dt.datetime.combine(last_day, dt.time(10), tzinfo=tz)

    # when a customer's last date lies 365 (or 366) days after 1 July, 366 (367) after 30 June
    def check() -> None:
        series_module._require_within_reach(
            last_starts_at=last,
            tz_name="Pacific/Auckland",
            rule=RepeatRule(every_weeks=1, count=2),
            staff=False,
            reason="",
        )

    # then the days are counted from Auckland's today
    if let_in:
        check()
    else:
        with pytest.raises(ValidationFailed):
            check()
