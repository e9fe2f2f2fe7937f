"""Recurring series (apps/bookings/series.py): every N weeks, a count or an end date, all
occurrences booked in one transaction or the conflicts listed and nothing booked."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.utils import timezone, translation
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.bookings.customer_data import csv_sections, customer_erase, customer_export
from apps.bookings.errors import HoldExpired, InvalidTransition, TooLateToCancel
from apps.bookings.models import Booking, BookingEvent, BookingSeries
from apps.bookings.series import (
    MAX_OCCURRENCES,
    RepeatRule,
    SeriesConflicts,
    repeat_rule_clean,
    series_cancel_from,
    series_confirm,
    series_create,
    series_starts,
)
from apps.bookings.services import CustomerInput, booking_cancel, booking_hold
from apps.calendars.grid.services import (
    horizon_last_date,
    materialization_horizon_days,
    slots_materialize_dates,
)
from apps.calendars.models import SlotInstance
from apps.calendars.timezones import local_date, local_occurrences, zone
from apps.core.errors import ValidationFailed
from apps.notifications.models import Notification
from apps.resources.intake import question_create
from apps.resources.models import IntakeQuestion
from tests.bookings.factories import (
    CUSTOMER,
    STAFF,
    LocationFactory,
    ResourceFactory,
    ServiceFactory,
    customer,
)
from tests.dashboard.factories import WeeklyRuleFactory, local_at

ADA = CustomerInput(name="Ada Lovelace", email="ada@example.test")
ZONES = (
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST
    "America/Sao_Paulo",
    "Pacific/Chatham",
    "America/Santiago",  # transitions at 24:00
    "Asia/Kathmandu",
    "Europe/Dublin",
)


@pytest.fixture
def room(acme):
    """A room open every day 09:00 to 17:00 in London, its grid built to the horizon (as
    the periodic run keeps it)."""
    location = LocationFactory.create(timezone="Europe/London")
    resource = ResourceFactory.create(location=location)
    service = ServiceFactory.create(resources=[resource])
    WeeklyRuleFactory.create(location=location, days_of_week=[1, 2, 3, 4, 5, 6, 7])
    today = local_date(timezone.now(), zone("Europe/London"))
    built_until = horizon_last_date(
        tz_name="Europe/London", days=materialization_horizon_days(), now=timezone.now()
    )
    slots_materialize_dates(
        resources=[resource], first=today, last=built_until, beyond_horizon="clip"
    )
    return {"location": location, "resource": resource, "service": service}


def _create(room, *, first=None, rule=None, **kwargs):
    defaults = {
        "service": room["service"],
        "resource": room["resource"],
        "first_starts_at": first or local_at(room["location"], days=2, hour=10),
        "rule": rule or RepeatRule(every_weeks=1, count=4),
        "customer": ADA,
        "actor": STAFF,
        "source": Booking.Source.ADMIN,
    }
    return series_create(**{**defaults, **kwargs})


def test_series_create_books_every_occurrence_confirmed_at_the_same_local_time(room):
    series = _create(room, rule=RepeatRule(every_weeks=2, count=4))

    occurrences = list(series.occurrences.order_by("starts_at"))
    assert len(occurrences) == 4
    assert {b.status for b in occurrences} == {Booking.Status.CONFIRMED}
    tz = zone("Europe/London")
    locals_ = [b.starts_at.astimezone(tz) for b in occurrences]
    assert {(t.hour, t.minute) for t in locals_} == {(10, 0)}
    assert [(b - a).days for a, b in itertools.pairwise(locals_)] == [14, 14, 14]
    assert series.customer_id == occurrences[0].customer_id
    assert (series.every_weeks, series.count, series.until) == (2, 4, None)
    for booking in occurrences:
        slot = SlotInstance.objects.get(resource=room["resource"], starts_at=booking.starts_at)
        assert slot.booked == 1


def test_series_create_plans_reminders_per_occurrence_and_one_confirmation(room):
    series = _create(room, rule=RepeatRule(every_weeks=1, count=3))

    occurrences = list(series.occurrences.order_by("starts_at"))
    for booking in occurrences:
        reminders = Notification.objects.filter(booking=booking, kind=Notification.Kind.REMINDER)
        assert reminders.filter(status=Notification.Status.PENDING).exists()
    confirmations = Notification.objects.filter(
        booking__series=series,
        kind=Notification.Kind.CONFIRMED,
        status=Notification.Status.PENDING,
    )
    assert list(confirmations.values_list("booking_id", flat=True).distinct()) == [
        occurrences[0].pk
    ]


def test_series_create_lists_every_conflict_and_books_nothing(room):
    # given the second and fourth dates already taken
    first = local_at(room["location"], days=2, hour=10)
    for weeks in (1, 3):
        booking_hold(
            service=room["service"],
            resource=room["resource"],
            starts_at=first + dt.timedelta(weeks=weeks),
            customer=customer(weeks),
            actor=CUSTOMER,
        )
    bookings_before = Booking.objects.count()

    # when staff book the series
    with pytest.raises(SeriesConflicts) as refused:
        _create(room, first=first)

    # then both dates are listed with their reason, and nothing was booked
    conflicts = refused.value.field_messages()["occurrences"]
    assert len(conflicts) == 2
    for weeks, message in zip((1, 3), conflicts, strict=True):
        day = (first + dt.timedelta(weeks=weeks)).date().isoformat()
        assert message.startswith(f"{day} 10:00: ")
    assert refused.value.code == "SERIES_CONFLICTS"
    assert Booking.objects.count() == bookings_before
    assert not BookingSeries.objects.exists()
    slot = SlotInstance.objects.get(resource=room["resource"], starts_at=first)
    assert (slot.booked, slot.held) == (0, 0)


def test_series_create_materializes_days_beyond_the_horizon_first(room, acme):
    # a series every 8 weeks, 4 times, runs well past the built grid and the horizon
    built_until = horizon_last_date(
        tz_name="Europe/London", days=materialization_horizon_days(), now=timezone.now()
    )
    series = _create(room, rule=RepeatRule(every_weeks=8, count=4))

    last = series.occurrences.order_by("-starts_at").first()
    assert last is not None
    assert local_date(last.starts_at, zone("Europe/London")) > built_until
    assert last.status == Booking.Status.CONFIRMED
    assert SlotInstance.objects.get(resource=room["resource"], starts_at=last.starts_at).booked == 1
    # only the days the series needs were built, not the weeks between
    beyond = SlotInstance.objects.filter(
        resource=room["resource"],
        starts_at__date__gt=built_until + dt.timedelta(days=1),
    )
    assert beyond.dates("starts_at", "day").count() <= 4


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"every_weeks": 1, "count": "", "until": ""}, "count"),  # never ends
        ({"every_weeks": 1, "count": 53, "until": ""}, "count"),
        ({"every_weeks": 1, "count": "", "until": "2031-01-01"}, "until"),  # over 52 dates
        ({"every_weeks": 1, "count": 3, "until": "2030-03-01"}, "until"),  # both
        ({"every_weeks": 0, "count": 3, "until": ""}, "every_weeks"),
        ({"every_weeks": "x", "count": 3, "until": ""}, "every_weeks"),
        ({"every_weeks": 1, "count": "", "until": "not a date"}, "until"),
        ({"every_weeks": 1, "count": "", "until": "2030-01-01"}, "until"),  # not after
    ],
)
def test_repeat_rule_clean_refuses_rules_that_never_end_or_run_long(values, field):
    with pytest.raises(ValidationFailed) as refused:
        repeat_rule_clean(**values, first_day=dt.date(2030, 1, 1))
    assert field in refused.value.field_messages()


def test_repeat_rule_clean_accepts_an_end_date_giving_52_dates():
    first = dt.date(2030, 1, 1)
    rule = repeat_rule_clean(
        every_weeks="1", count="", until=first + dt.timedelta(weeks=51), first_day=first
    )
    assert len(series_starts(first_starts_at=_at(first, 9), tz_name="UTC", rule=rule)) == 52


@pytest.mark.slow
def test_series_create_books_all_52_weeks_of_a_year(room):
    # a year of Wednesdays: most lie beyond the built grid and the booking horizon
    series = _create(room, rule=RepeatRule(every_weeks=1, count=MAX_OCCURRENCES))

    occurrences = series.occurrences.order_by("starts_at")
    assert occurrences.filter(status=Booking.Status.CONFIRMED).count() == MAX_OCCURRENCES
    tz = zone("Europe/London")
    assert {b.starts_at.astimezone(tz).time() for b in occurrences} == {dt.time(10)}
    # across both of the year's clock changes the instant moved, the wall time did not
    assert {b.starts_at.astimezone(dt.UTC).hour for b in occurrences} == {9, 10}


def _at(day: dt.date, hour: int, tz_name: str = "UTC") -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zone(tz_name))


def test_series_starts_keep_the_local_time_across_a_dst_change():
    # London leaves GMT for BST on 29 March 2026: 10:00 local is 10:00Z, then 09:00Z
    starts = series_starts(
        first_starts_at=_at(dt.date(2026, 3, 22), 10, "Europe/London"),
        tz_name="Europe/London",
        rule=RepeatRule(every_weeks=1, count=2),
    )
    assert [s.astimezone(dt.UTC).hour for s in starts] == [10, 9]


@settings(max_examples=120, deadline=None, database=None)
@given(
    tz_name=st.sampled_from(ZONES),
    first_day=st.dates(dt.date(2000, 1, 1), dt.date(2035, 12, 31)),
    minute=st.integers(0, 24 * 60 - 1),
    every_weeks=st.integers(1, 8),
    count=st.integers(2, MAX_OCCURRENCES),
)
def test_series_starts_keep_the_wall_time_and_move_the_instant(
    tz_name, first_day, minute, every_weeks, count
):
    tz = zone(tz_name)
    first = dt.datetime.combine(first_day, dt.time(minute // 60, minute % 60), tzinfo=tz)
    if first.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) != first.replace(tzinfo=None):
        return  # the first time itself is in a gap: the booking screens never offer it
    starts = series_starts(
        first_starts_at=first, tz_name=tz_name, rule=RepeatRule(every_weeks, count=count)
    )
    assert len(starts) == count
    for index, instant in enumerate(starts):
        local = instant.astimezone(tz)
        expected_day = first_day + dt.timedelta(weeks=every_weeks * index)
        wall = dt.datetime.combine(expected_day, dt.time(minute // 60, minute % 60))
        exists = (
            wall.replace(tzinfo=tz).astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) == wall
        )
        if exists:
            # the wall time stays; the instant is that wall time's offset there
            assert local.replace(tzinfo=None) == wall
            assert instant.utcoffset() is not None
        else:
            # a wall time a spring-forward skips: read with the offset before the jump
            assert local.date() == expected_day
            assert wall < local.replace(tzinfo=None) <= wall + dt.timedelta(hours=2)


def test_series_create_by_a_customer_needs_a_service_that_allows_it(room):
    with pytest.raises(ValidationFailed) as refused:
        _create(room, actor=CUSTOMER, source=Booking.Source.PAGE)
    assert "repeat" in refused.value.field_messages()

    room["service"].customers_may_repeat = True
    room["service"].save(update_fields=["customers_may_repeat"])
    series = _create(room, actor=CUSTOMER, source=Booking.Source.PAGE)
    assert series.occurrences.filter(status=Booking.Status.CONFIRMED).count() == 4


def test_series_create_of_a_paid_service_is_paid_at_the_venue(room):
    service = room["service"]
    service.price = Decimal("40.00")
    service.requires_payment = True
    service.customers_may_repeat = True
    service.save()

    with pytest.raises(ValidationFailed) as by_link:
        _create(room, payment="link")
    assert "payment" in by_link.value.field_messages()
    with pytest.raises(ValidationFailed) as by_customer:
        _create(room, actor=CUSTOMER, source=Booking.Source.PAGE)
    assert "repeat" in by_customer.value.field_messages()
    assert not Booking.objects.exists()

    series = _create(room, payment="at_venue")
    assert set(series.occurrences.values_list("payment_status", flat=True)) == {
        Booking.PaymentStatus.AT_VENUE
    }


def test_series_cancel_from_cancels_this_and_the_rest_each_on_its_own(room):
    series = _create(room, rule=RepeatRule(every_weeks=1, count=4))
    occurrences = list(series.occurrences.order_by("starts_at"))

    cancelled = series_cancel_from(booking=occurrences[1], actor=STAFF, reason="Moved away")

    assert [b.pk for b in cancelled] == [b.pk for b in occurrences[1:]]
    statuses = list(series.occurrences.order_by("starts_at").values_list("status", flat=True))
    assert statuses == [Booking.Status.CONFIRMED] + [Booking.Status.CANCELLED] * 3
    for booking in occurrences[1:]:
        assert BookingEvent.objects.filter(
            booking=booking, kind=BookingEvent.Kind.CANCELLED, reason="Moved away"
        ).exists()
        assert Notification.objects.filter(
            booking=booking, kind=Notification.Kind.CANCELLED
        ).exists()
        assert not Notification.objects.filter(
            booking=booking, kind=Notification.Kind.REMINDER, status=Notification.Status.PENDING
        ).exists()


def test_series_cancel_from_inside_the_window_cancels_nothing(room, acme):
    series = _create(room, rule=RepeatRule(every_weeks=1, count=3))
    first = series.occurrences.order_by("starts_at").first()
    acme.cancellation_window_minutes = 7 * 24 * 60
    acme.save(update_fields=["cancellation_window_minutes"])

    with pytest.raises(TooLateToCancel):
        series_cancel_from(booking=first, actor=CUSTOMER)
    assert not series.occurrences.filter(status=Booking.Status.CANCELLED).exists()


def test_series_cancel_one_occurrence_keeps_the_others(room):
    series = _create(room, rule=RepeatRule(every_weeks=1, count=3))
    second = series.occurrences.order_by("starts_at")[1]

    booking_cancel(booking=second, actor=STAFF)

    assert series.occurrences.filter(status=Booking.Status.CONFIRMED).count() == 2


def test_a_customers_export_holds_their_series_and_erasure_cancels_the_dates_to_come(room):
    series = _create(room, rule=RepeatRule(every_weeks=1, count=3))
    customer_record = series.customer

    document = customer_export(customer=customer_record)

    assert [s["id"] for s in document["series"]] == [str(series.pk)]
    assert document["series"][0]["every_weeks"] == 1
    assert document["series"][0]["local_time"] == "10:00"
    assert {b["series_id"] for b in document["bookings"]} == {str(series.pk)}
    assert "series" in csv_sections(document)

    customer_erase(customer=customer_record, actor=STAFF, reason="Asked to be forgotten")

    assert set(series.occurrences.values_list("status", flat=True)) == {Booking.Status.CANCELLED}


def test_series_create_keeps_the_intake_answers_with_every_date(room):
    question = question_create(
        service=room["service"], kind=IntakeQuestion.Kind.SHORT_TEXT, label="Goal", required=True
    )
    room["service"].refresh_from_db()
    room["service"].customers_may_repeat = True
    room["service"].save(update_fields=["customers_may_repeat"])

    # a required question left unanswered refuses the whole series
    with pytest.raises(ValidationFailed):
        _create(room, actor=CUSTOMER, source=Booking.Source.PAGE)
    assert not Booking.objects.exists()

    series = _create(
        room, actor=CUSTOMER, source=Booking.Source.PAGE, answers={str(question.pk): "Run 10k"}
    )
    assert [[a.text for a in b.answers] for b in series.occurrences.all()] == [["Run 10k"]] * 4


def test_a_series_has_a_model_history(room):
    series = _create(room, rule=RepeatRule(every_weeks=1, count=2))

    assert auditlog.contains(BookingSeries)
    entry = LogEntry.objects.get_for_object(series).get()
    assert entry.action == LogEntry.Action.CREATE


# --- Edges found in review: odd digits, DST readings, translated conflicts -----------


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"every_weeks": "²", "count": 3, "until": ""}, "every_weeks"),
        ({"every_weeks": 1, "count": "1²", "until": ""}, "count"),
        ({"every_weeks": 1, "count": "9" * 5000, "until": ""}, "count"),
    ],
)
def test_repeat_rule_clean_refuses_digits_int_cannot_read_beside_the_field(values, field):
    # "²".isdigit() is true, but int("²") raises: the rule must refuse it, not crash
    with pytest.raises(ValidationFailed) as refused:
        repeat_rule_clean(**values, first_day=dt.date(2030, 1, 1))
    assert field in refused.value.field_messages()


def test_series_starts_keep_the_chosen_reading_of_a_fall_back_hour():
    # London's 01:30 happens twice on 25 October 2026 (BST, then GMT)
    tz = zone("Europe/London")
    earlier, later = (
        dt.datetime(2026, 10, 25, 1, 30, tzinfo=tz, fold=fold).astimezone(dt.UTC) for fold in (0, 1)
    )
    assert later - earlier == dt.timedelta(hours=1)

    starts = series_starts(
        first_starts_at=later, tz_name="Europe/London", rule=RepeatRule(every_weeks=1, count=2)
    )

    assert starts[0] == later
    assert starts[1].astimezone(tz).replace(tzinfo=None) == dt.datetime(2026, 11, 1, 1, 30)


def _next_spring_forward(tz_name: str, minute: int) -> dt.date:
    """The next date, at least a week and a few days ahead, whose wall `minute` the
    clocks skip in `tz_name`."""
    tz = zone(tz_name)
    today = local_date(timezone.now(), tz)
    for ahead in range(9, 400):
        day = today + dt.timedelta(days=ahead)
        if not local_occurrences(day, minute, tz):
            return day
    raise AssertionError("no spring-forward within a year")


@pytest.fixture
def night_room(acme):
    """A London room open round the clock every day, its grid built to the horizon."""
    location = LocationFactory.create(timezone="Europe/London")
    resource = ResourceFactory.create(location=location)
    service = ServiceFactory.create(resources=[resource])
    WeeklyRuleFactory.create(
        location=location, days_of_week=[1, 2, 3, 4, 5, 6, 7], start_minute=0, end_minute=1440
    )
    now = timezone.now()
    built_until = horizon_last_date(
        tz_name="Europe/London", days=materialization_horizon_days(), now=now
    )
    slots_materialize_dates(
        resources=[resource],
        first=local_date(now, zone("Europe/London")),
        last=built_until,
        beyond_horizon="clip",
    )
    return {"location": location, "resource": resource, "service": service}


def test_series_create_lists_a_date_whose_wall_time_the_clocks_skip(night_room):
    # given a weekly 01:30 whose second date is the night the clocks go forward (01:30
    # does not exist; read with the old offset it is 02:30, a time the grid offers)
    tz = zone("Europe/London")
    gap_day = _next_spring_forward("Europe/London", 90)
    first = dt.datetime.combine(gap_day - dt.timedelta(weeks=1), dt.time(1, 30), tzinfo=tz)

    # when staff book it
    with pytest.raises(SeriesConflicts) as refused:
        _create(
            night_room,
            first=first,
            rule=RepeatRule(every_weeks=1, count=2),
            override_reason="Night shift cover",
        )

    # then that date is listed, at the wall time asked, and nothing is booked at 02:30
    assert refused.value.field_messages()["occurrences"] == [
        f"{gap_day.isoformat()} 01:30: The clocks change that night: this time does not "
        "exist that day."
    ]
    assert not Booking.objects.exists()


def test_series_create_books_the_chosen_reading_of_a_fall_back_hour(night_room):
    # the grid has both 01:30s of a fall-back night; the second one was chosen
    tz = zone("Europe/London")
    today = local_date(timezone.now(), tz)
    day = next(
        today + dt.timedelta(days=n)
        for n in range(2, 400)
        if len(local_occurrences(today + dt.timedelta(days=n), 90, tz)) == 2
    )
    later = local_occurrences(day, 90, tz)[1]

    series = _create(
        night_room,
        first=later,
        rule=RepeatRule(every_weeks=1, count=2),
        override_reason="Night shift cover",
    )

    first = series.occurrences.order_by("starts_at").first()
    assert first is not None
    assert first.starts_at == later


def test_series_conflicts_speak_the_request_language(room):
    first = local_at(room["location"], days=2, hour=10)
    booking_hold(
        service=room["service"],
        resource=room["resource"],
        starts_at=first + dt.timedelta(weeks=1),
        customer=customer("taken"),
        actor=CUSTOMER,
    )

    with translation.override("de"):
        expected = translation.gettext("That time is no longer available.")
        with pytest.raises(SeriesConflicts) as refused:
            _create(room, first=first)
    assert expected != "That time is no longer available."  # German has it

    [message] = refused.value.field_messages()["occurrences"]
    assert message.endswith(f": {expected}")


def _hold_series(room, count=3):
    room["service"].customers_may_repeat = True
    room["service"].save(update_fields=["customers_may_repeat"])
    return _create(
        room,
        rule=RepeatRule(every_weeks=1, count=count),
        actor=CUSTOMER,
        source=Booking.Source.PAGE,
        confirm=False,
    )


def test_a_held_series_holds_every_date_until_one_instant_and_tells_nobody_yet(room):
    series = _hold_series(room)

    occurrences = list(series.occurrences.order_by("starts_at"))
    assert [b.status for b in occurrences] == [Booking.Status.HELD] * 3
    assert len({b.hold_expires_at for b in occurrences}) == 1
    assert occurrences[0].hold_expires_at is not None
    assert occurrences[0].hold_expires_at > timezone.now()
    for booking in occurrences:
        slot = SlotInstance.objects.get(resource=room["resource"], starts_at=booking.starts_at)
        assert (slot.booked, slot.held) == (0, 1)
    assert not Notification.objects.filter(booking__in=occurrences).exists()


def test_series_confirm_confirms_every_held_date_with_one_confirmation(room):
    series = _hold_series(room)
    occurrences = list(series.occurrences.order_by("starts_at"))

    confirmed = series_confirm(booking=occurrences[0], actor=CUSTOMER)
    again = series_confirm(booking=occurrences[0], actor=CUSTOMER)

    assert [b.pk for b in confirmed] == [b.pk for b in occurrences]
    assert [b.pk for b in again] == [b.pk for b in occurrences]
    assert set(series.occurrences.values_list("status", flat=True)) == {Booking.Status.CONFIRMED}
    [confirmation] = Notification.objects.filter(
        kind=Notification.Kind.CONFIRMED, status=Notification.Status.PENDING
    )
    assert confirmation.booking_id == occurrences[0].pk
    assert confirmation.details[Notification.SERIES_STARTS] == [
        b.starts_at.isoformat() for b in occurrences
    ]


def test_series_confirm_after_the_holds_lapsed_confirms_none(room):
    series = _hold_series(room)
    occurrences = list(series.occurrences.order_by("starts_at"))
    series.occurrences.update(hold_expires_at=timezone.now() - dt.timedelta(seconds=1))

    with pytest.raises(HoldExpired):
        series_confirm(booking=occurrences[0], actor=CUSTOMER)

    assert not series.occurrences.filter(status=Booking.Status.CONFIRMED).exists()
    assert not Notification.objects.filter(kind=Notification.Kind.CONFIRMED).exists()


def test_series_confirm_with_a_date_no_longer_held_confirms_none(room):
    series = _hold_series(room)
    occurrences = list(series.occurrences.order_by("starts_at"))
    booking_cancel(booking=occurrences[2], actor=STAFF)

    with pytest.raises(InvalidTransition):
        series_confirm(booking=occurrences[0], actor=CUSTOMER)

    assert list(series.occurrences.order_by("starts_at").values_list("status", flat=True)) == [
        Booking.Status.HELD,
        Booking.Status.HELD,
        Booking.Status.CANCELLED,
    ]


def test_a_held_series_with_a_taken_date_holds_nothing(room):
    taken = local_at(room["location"], days=2 + 7, hour=10)
    booking_hold(
        service=room["service"],
        resource=room["resource"],
        starts_at=taken,
        customer=customer(),
        actor=CUSTOMER,
    )

    with pytest.raises(SeriesConflicts):
        _hold_series(room)

    assert Booking.objects.count() == 1
    assert not BookingSeries.objects.exists()


def test_series_confirm_when_one_date_lapsed_meanwhile_confirms_none(room):
    # given a held series whose last date's hold ran out while the others still run
    series = _hold_series(room)
    occurrences = list(series.occurrences.order_by("starts_at"))
    Booking.objects.filter(pk=occurrences[-1].pk).update(
        hold_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    # when the customer confirms
    with pytest.raises(HoldExpired):
        series_confirm(booking=occurrences[0], actor=CUSTOMER)

    # then the dates confirmed before it came back: none is confirmed, none is told
    assert set(series.occurrences.values_list("status", flat=True)) == {Booking.Status.HELD}
    assert not BookingEvent.objects.filter(
        booking__in=occurrences, kind=BookingEvent.Kind.CONFIRMED
    ).exists()
    assert not Notification.objects.filter(booking__in=occurrences).exists()
    for booking in occurrences[:-1]:
        slot = SlotInstance.objects.get(resource=room["resource"], starts_at=booking.starts_at)
        assert (slot.booked, slot.held) == (0, 1)
