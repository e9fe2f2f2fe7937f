"""Series racing each other and a single booking for the same places: real threads, each
with its own PostgreSQL connection, started together. A series is booked whole or not
at all, and no place is ever taken twice; a customer's held series confirmed from two
tabs at once is confirmed once, with one confirmation listing every date."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest

from apps.bookings.models import Booking, BookingEvent, BookingSeries
from apps.bookings.series import RepeatRule, series_confirm, series_create
from apps.bookings.services import booking_hold
from apps.notifications.models import Notification
from tests.bookings.factories import (
    CUSTOMER,
    STAFF,
    ResourceFactory,
    ServiceFactory,
    customer,
    future_start,
    slots_create,
)
from tests.bookings.races import race

pytestmark = pytest.mark.slow

ROUNDS = 4
WEEKS = 4


def test_two_series_and_a_single_booking_racing_leave_no_half_series(committed):
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource])
    for index in range(ROUNDS):
        # given four weekly free places
        first = future_start(hour=8 + index)
        starts = [first + timedelta(weeks=week) for week in range(WEEKS)]
        for start in starts:
            slots_create(resource=resource, starts_at=start)

        # when two front desks book a series on them and a customer the last one, at once
        def series(n: int, first=first, index=index):
            return series_create(
                service=service,
                resource=resource,
                first_starts_at=first,
                rule=RepeatRule(every_weeks=1, count=WEEKS),
                customer=customer(f"series-{index}-{n}"),
                actor=STAFF,
                source=Booking.Source.ADMIN,
            )

        result = race(
            committed,
            [
                partial(series, 1),
                partial(series, 2),
                partial(
                    booking_hold,
                    service=service,
                    resource=resource,
                    starts_at=starts[-1],
                    customer=customer(f"single-{index}"),
                    actor=CUSTOMER,
                ),
            ],
        )

        # then nothing crashed, each place is taken once, and a series is all or nothing
        assert not result.crashes, result.crashes
        assert {o.code for o in result.outcomes if not o.ok} <= {"SERIES_CONFLICTS", "SLOT_FULL"}
        active = Booking.objects.filter(starts_at__in=starts, status__in=Booking.ACTIVE_STATUSES)
        taken = list(active.values_list("starts_at", flat=True))
        assert len(taken) == len(set(taken))
        made = BookingSeries.objects.filter(occurrences__starts_at=first).distinct()
        assert made.count() == result.outcomes[0].ok + result.outcomes[1].ok <= 1
        for made_series in made:
            assert made_series.occurrences.count() == WEEKS
        # the single booking and a series never both hold the last place
        single_ok = result.outcomes[2].ok
        assert single_ok + made.count() >= 1
        assert active.filter(series__isnull=True).count() == int(single_ok)


def test_two_tabs_confirming_a_held_series_at_once_confirm_every_date_once(committed):
    # given a series of three weekly dates, every one held (as the booking pages do)
    resource = ResourceFactory.create()
    service = ServiceFactory.create(resources=[resource])
    start = future_start(days=4, hour=11)
    for week in range(3):
        slots_create(resource=resource, starts_at=start + timedelta(weeks=week))
    series = series_create(
        service=service,
        resource=resource,
        first_starts_at=start,
        rule=RepeatRule(every_weeks=1, count=3),
        customer=customer("two-tabs"),
        actor=STAFF,
        source=Booking.Source.PAGE,
        confirm=False,
    )
    occurrences = list(series.occurrences.order_by("starts_at"))

    # when two tabs confirm it at the same moment
    confirm = partial(series_confirm, booking=occurrences[0], actor=CUSTOMER)
    outcome = race(committed, [confirm, confirm])

    # then both see it confirmed, every date was confirmed once, one confirmation went
    assert outcome.crashes == []
    assert outcome.count() == 2
    assert set(series.occurrences.values_list("status", flat=True)) == {Booking.Status.CONFIRMED}
    for booking in occurrences:
        assert (
            BookingEvent.objects.filter(booking=booking, kind=BookingEvent.Kind.CONFIRMED).count()
            == 1
        )
    # (sent at commit here, or still due)
    [due] = Notification.objects.filter(
        booking__in=occurrences, kind=Notification.Kind.CONFIRMED, channel="email"
    ).exclude(status=Notification.Status.CANCELLED)
    assert due.booking_id == occurrences[0].pk
    assert due.details[Notification.SERIES_STARTS] == [b.starts_at.isoformat() for b in occurrences]
