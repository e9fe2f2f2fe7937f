"""Local wall-time rules become the right UTC instants in every zone, across DST.

Property tests run the rule expansion (`OpeningHours.allowed_slots`, what
materialization writes) over many zones and dates, biased towards transition days;
their oracle is PEP 495 arithmetic done here, not the module under test. Example tests
pin the exact instants of every 2026 and 2027 transition of New York and London through
materialization and the availability read.
"""

from __future__ import annotations

import datetime as dt
import itertools
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.calendars.availability.selectors import availability_slots
from apps.calendars.grid.services import slots_materialize
from apps.calendars.rules.opening_hours import OpeningHours, RuleSpec
from apps.calendars.rules.services import availability_rule_create
from tests.calendars.factories import LocationFactory, ResourceFactory, ServiceFactory

UTC = dt.UTC
ZONES = (
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",  # 30-minute DST
    "Asia/Kathmandu",  # +05:45 (and +05:30 before 1986)
    "America/Sao_Paulo",  # transitions at midnight until 2019
    "Pacific/Chatham",  # +12:45 / +13:45, switching at 02:45
    "America/St_Johns",  # -03:30 / -02:30
    "Europe/Dublin",  # "negative" DST in the tz database
    "America/Santiago",  # transitions at 24:00
    "America/Havana",  # transitions at 00:00 / 01:00
    "Antarctica/Troll",  # a two-hour shift
    "Pacific/Apia",  # skipped 30 December 2011 entirely
    "Australia/Adelaide",  # +09:30 / +10:30, southern hemisphere
    "Asia/Tehran",
)
FIRST_YEAR, LAST_YEAR = 1985, 2035
EXAMPLES = settings(max_examples=150, deadline=None, database=None)


# --- The oracle ------------------------------------------------------------------------


def _naive(day: dt.date, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)


def occurrences(day: dt.date, minute: int, tz: ZoneInfo) -> list[dt.datetime]:
    """Instants at which the wall clock reads `minute` on `day` (PEP 495: a wall time
    that exists survives the round trip; fold picks the occurrence)."""
    naive = _naive(day, minute)
    found = {
        instant
        for fold in (0, 1)
        if (instant := naive.replace(tzinfo=tz, fold=fold).astimezone(UTC))
        .astimezone(tz)
        .replace(tzinfo=None)
        == naive
    }
    return sorted(found)


def window_end(day: dt.date, minute: int, tz: ZoneInfo) -> dt.datetime:
    """When a window ending at wall `minute` ends: the last time the clock reads it, or,
    when the clock jumps over it, the moment of the jump (found minute by minute)."""
    found = occurrences(day, minute, tz)
    if found:
        return found[-1]
    naive = _naive(day, minute)
    instant = min(naive.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1))
    while instant.astimezone(tz).replace(tzinfo=None) < naive:
        instant += dt.timedelta(minutes=1)
    return instant


def wall_minute(instant: dt.datetime, tz: ZoneInfo) -> int:
    local = instant.astimezone(tz)
    return local.hour * 60 + local.minute


def steady(day: dt.date, tz: ZoneInfo) -> bool:
    """No transition on `day`: the same offset at every hour of a 24-hour day."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(UTC)
    if end - start != dt.timedelta(hours=24):
        return False
    offsets = {(start + dt.timedelta(hours=h)).astimezone(tz).utcoffset() for h in range(25)}
    return len(offsets) == 1


@cache
def transition_days(name: str) -> tuple[tuple[dt.date, dt.timedelta], ...]:
    """(day, offset after - offset before) for every local day with a transition."""
    tz = ZoneInfo(name)
    found = []
    day = dt.date(FIRST_YEAR, 1, 1)
    before = dt.datetime.combine(day, dt.time(), tzinfo=tz).utcoffset()
    while day.year <= LAST_YEAR:
        following = day + dt.timedelta(days=1)
        after = dt.datetime.combine(following, dt.time(), tzinfo=tz).utcoffset()
        assert before is not None and after is not None
        if after != before:
            found.append((day, after - before))
        day, before = following, after
    return tuple(found)


# --- Strategies ------------------------------------------------------------------------


@st.composite
def zone_days(draw: st.DrawFn) -> tuple[str, dt.date]:
    """A zone and a date: half the time a transition day or one of its neighbours."""
    name = draw(st.sampled_from(ZONES))
    transitions = transition_days(name)
    near_a_transition = draw(st.booleans())
    if transitions and near_a_transition:
        day, _ = draw(st.sampled_from(transitions))
        return name, day + dt.timedelta(days=draw(st.integers(-1, 1)))
    return name, draw(st.dates(dt.date(FIRST_YEAR, 1, 1), dt.date(LAST_YEAR, 12, 31)))


@st.composite
def windows(draw: st.DrawFn) -> tuple[int, int, int]:
    """(start minute, end minute, granularity) of a valid rule; often a night window,
    where transitions happen."""
    granularity = draw(st.sampled_from([5, 10, 15, 20, 25, 30, 45, 60, 90, 120, 240]))
    if draw(st.booleans()):
        start = draw(st.integers(0, 240))
        end = draw(st.integers(start + granularity, min(start + granularity + 300, 1440)))
    else:
        start = draw(st.integers(0, 1440 - granularity))
        end = draw(st.integers(start + granularity, 1440))
    return start, end, granularity


def expand(name: str, day: dt.date, *rules: tuple[int, int, int]):
    """What materialization would write for `day` from exceptions with these windows."""
    specs = [
        RuleSpec(
            kind="exception",
            days_of_week=frozenset(),
            start_minute=start,
            end_minute=end,
            valid_from=day,
            valid_to=day,
            granularity_minutes=granularity,
            capacity=None,
            is_closed=False,
        )
        for start, end, granularity in rules
    ]
    hours = OpeningHours(own=specs, location=[])
    return hours.allowed_slots(tz_name=name, first_day=day, last_day=day)


# --- Properties ------------------------------------------------------------------------


@EXAMPLES
@given(case=zone_days(), window=windows())
def test_grid_is_sorted_non_overlapping_on_the_rules_grid_and_inside_its_window(case, window):
    name, day = case
    start, end, granularity = window
    tz = ZoneInfo(name)
    length = dt.timedelta(minutes=granularity)

    # when
    slots = expand(name, day, window)

    # then: sorted, never two at one instant, never overlapping
    for (_, a_end, _), (b_start, _, _) in itertools.pairwise(slots):
        assert a_end <= b_start
    closes = window_end(day, end, tz)
    for slot_start, slot_end, _ in slots:
        # each lasts its step in real time, starts at an existing wall time of `day` on
        # the grid from the rule's start, and ends by the rule's end
        assert slot_end - slot_start == length
        assert slot_start.astimezone(tz).date() == day
        assert slot_start.astimezone(tz).second == 0
        minute = wall_minute(slot_start, tz)
        assert start <= minute and minute + granularity <= end
        assert (minute - start) % granularity == 0
        assert slot_end <= closes, (slot_start, slot_end, closes)
    # and nothing is lost: every occurrence of every grid step is a slot, unless it
    # would end after the window or overlaps a slot kept before it
    kept = {slot_start for slot_start, _, _ in slots}
    for minute in range(start, end - granularity + 1, granularity):
        for instant in occurrences(day, minute, tz):
            assert (
                instant in kept
                or instant + length > closes
                or any(instant < e and s < instant + length for s, e, _ in slots)
            ), (minute, instant)
    if steady(day, tz):
        assert [wall_minute(s, tz) for s, _, _ in slots] == list(
            range(start, end - granularity + 1, granularity)
        )


@EXAMPLES
@given(case=zone_days(), first=windows(), second=windows())
def test_windows_that_add_up_never_give_two_slots_at_one_instant(case, first, second):
    name, day = case

    slots = expand(name, day, first, second)

    for (_, a_end, _), (b_start, _, _) in itertools.pairwise(slots):
        assert a_end <= b_start


@EXAMPLES
@given(case=zone_days())
def test_nine_to_five_is_nine_to_five_local_on_both_sides_of_a_transition(case):
    name, day = case
    tz = ZoneInfo(name)
    opens, closes = occurrences(day, 9 * 60, tz), occurrences(day, 17 * 60, tz)
    # (a transition inside working hours would be a different property)
    transition_inside = not (len(opens) == len(closes) == 1) or (
        opens[0].astimezone(tz).utcoffset() != closes[0].astimezone(tz).utcoffset()
    )

    slots = expand(name, day, (9 * 60, 17 * 60, 30))

    if not transition_inside:
        assert [s.astimezone(tz).strftime("%H:%M") for s, _, _ in slots] == [
            f"{9 + n // 2:02d}:{30 * (n % 2):02d}" for n in range(16)
        ]
        assert slots[0][0] == opens[0] and slots[-1][1] == closes[0]


@st.composite
def shifts(draw: st.DrawFn, *, backwards: bool) -> tuple[str, dt.date, dt.timedelta, int]:
    """A transition day with a clock shift of one direction, and a grid dividing it."""
    name = draw(st.sampled_from(ZONES))
    candidates = [
        (day, shift)
        for day, shift in transition_days(name)
        if (shift < dt.timedelta(0)) == backwards and shift and abs(shift) <= dt.timedelta(hours=3)
    ]
    if not candidates:
        name = "America/New_York"
        candidates = [
            (day, shift)
            for day, shift in transition_days(name)
            if (shift < dt.timedelta(0)) == backwards
        ]
    day, shift = draw(st.sampled_from(candidates))
    minutes = int(abs(shift).total_seconds() // 60)
    granularity = draw(st.sampled_from([g for g in (5, 10, 15, 30, 60) if minutes % g == 0]))
    return name, day, shift, granularity


@EXAMPLES
@given(case=shifts(backwards=True))
def test_fall_back_hour_yields_both_occurrences_as_distinct_instants(case):
    name, day, _, granularity = case
    tz = ZoneInfo(name)

    slots = expand(name, day, (0, 24 * 60, granularity))

    starts = [s for s, _, _ in slots]
    repeated = 0
    for minute in range(0, 24 * 60, granularity):
        instants = occurrences(day, minute, tz)
        assert set(instants) <= set(starts), (minute, instants)
        if len(instants) == 2:
            repeated += 1
            first, second = (instant.astimezone(tz) for instant in instants)
            assert first.utcoffset() != second.utcoffset()
            assert first.strftime("%H:%M") == second.strftime("%H:%M")
    assert repeated > 0
    assert len(starts) == len(set(starts))


@EXAMPLES
@given(case=shifts(backwards=False))
def test_spring_forward_gap_skips_the_wall_times_that_do_not_exist(case):
    name, day, _, granularity = case
    tz = ZoneInfo(name)

    slots = expand(name, day, (0, 24 * 60, granularity))

    existing = [
        instant
        for minute in range(0, 24 * 60, granularity)
        for instant in occurrences(day, minute, tz)
    ]
    assert [s for s, _, _ in slots] == sorted(existing)
    skipped = [m for m in range(0, 24 * 60, granularity) if not occurrences(day, m, tz)]
    assert skipped, "a spring-forward day has wall times that never happen"


def test_a_window_ending_inside_a_gap_ends_when_the_clock_jumps():
    # given: New York, 8 March 2026: 02:00 EST jumps to 03:00 EDT (07:00Z)
    day = dt.date(2026, 3, 8)

    # when: 00:00-03:00 on a 90-minute grid, and 00:00-02:30 on an hourly one
    ninety = expand("America/New_York", day, (0, 180, 90))
    hourly = expand("America/New_York", day, (0, 150, 60))

    # then: 01:30 EST + 90 min would end at 04:00 EDT, past the 03:00 end; the hourly
    # 01:00 slot ends exactly at the jump, which is when "02:30" is passed
    assert [(s, e) for s, e, _ in ninety] == [
        (dt.datetime(2026, 3, 8, 5, 0, tzinfo=UTC), dt.datetime(2026, 3, 8, 6, 30, tzinfo=UTC))
    ]
    assert [s for s, _, _ in hourly] == [
        dt.datetime(2026, 3, 8, 5, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 8, 6, 0, tzinfo=UTC),
    ]


# --- Every 2026 and 2027 transition of New York and London -----------------------------


def nth_sunday(year: int, month: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))


def last_sunday(year: int, month: int) -> dt.date:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    last = following - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() + 1) % 7)


def _transitions() -> list[tuple[str, dt.date, str, int, int]]:
    """(zone, day, direction, standard offset hours, daylight offset hours): the US
    switches on the second Sunday of March and first of November at 02:00 local; the
    UK on the last Sundays of March and October at 01:00 UTC."""
    cases = []
    for year in (2026, 2027):
        cases += [
            ("America/New_York", nth_sunday(year, 3, 2), "spring", -5, -4),
            ("America/New_York", nth_sunday(year, 11, 1), "fall", -5, -4),
            ("Europe/London", last_sunday(year, 3), "spring", 0, 1),
            ("Europe/London", last_sunday(year, 10), "fall", 0, 1),
        ]
    return cases


def test_transition_dates_are_computed_as_the_calendar_says():
    assert [day for _, day, *_ in _transitions()] == [
        dt.date(2026, 3, 8),
        dt.date(2026, 11, 1),
        dt.date(2026, 3, 29),
        dt.date(2026, 10, 25),
        dt.date(2027, 3, 14),
        dt.date(2027, 11, 7),
        dt.date(2027, 3, 28),
        dt.date(2027, 10, 31),
    ]


def _utc(day: dt.date, hour: float) -> dt.datetime:
    """Hours after the start of `day` in UTC (may be negative or past 24)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=UTC) + dt.timedelta(hours=hour)


def _expected_night(zone: str, day: dt.date, direction: str, std: int, dst: int) -> list:
    """Hourly slots of a 00:00-04:00 window on the transition night, in UTC."""
    if zone == "America/New_York":
        # 02:00 local: spring skips 02:00; fall repeats 01:00 (EDT, then EST)
        walls = [(0, dst if direction == "fall" else std), (1, dst if direction == "fall" else std)]
        walls += [(1, std), (2, std), (3, std)] if direction == "fall" else [(3, dst)]
    else:
        # 01:00 UTC: spring skips 01:00 local; fall repeats 01:00 (BST, then GMT)
        walls = [(0, std if direction == "spring" else dst)]
        walls += (
            [(2, dst), (3, dst)]
            if direction == "spring"
            else [(1, dst), (1, std), (2, std), (3, std)]
        )
    return [_utc(day, wall - offset) for wall, offset in walls]


@pytest.mark.parametrize(
    ("zone_name", "day", "direction", "std", "dst"),
    _transitions(),
    ids=[f"{zone}-{day}-{d}" for zone, day, d, *_ in _transitions()],
)
def test_materialized_slots_on_each_2026_and_2027_transition_are_exact_instants(
    tenant, zone_name, day, direction, std, dst
):
    # given: a location in the zone, hourly night hours and 09:00-17:00, every day
    location = LocationFactory(timezone=zone_name)
    resource = ResourceFactory(location=location)
    for start, end in (("00:00", "04:00"), ("09:00", "17:00")):
        availability_rule_create(
            kind="weekly",
            resource=resource,
            days_of_week=[1, 2, 3, 4, 5, 6, 7],
            start_time=start,
            end_time=end,
            granularity_minutes=60,
        )
    tz = ZoneInfo(zone_name)
    before, after = day - dt.timedelta(days=1), day + dt.timedelta(days=1)

    # when
    slots_materialize(
        resource=resource,
        start=dt.datetime.combine(before, dt.time(), tzinfo=tz),
        end=dt.datetime.combine(day + dt.timedelta(days=2), dt.time(), tzinfo=tz),
    )

    # then: the night of the transition, exactly
    night = [
        s.starts_at
        for s in resource.slots.order_by("starts_at")
        if s.starts_at.astimezone(tz).date() == day and s.starts_at.astimezone(tz).hour < 4
    ]
    assert night == _expected_night(zone_name, day, direction, std, dst)
    # and 09:00-17:00 local on both sides: the offset before, then after
    offset_before, offset_after = (std, dst) if direction == "spring" else (dst, std)
    for date, offset in ((before, offset_before), (day, offset_after), (after, offset_after)):
        working = [
            s.starts_at
            for s in resource.slots.order_by("starts_at")
            if s.starts_at.astimezone(tz).date() == date and s.starts_at.astimezone(tz).hour >= 9
        ]
        assert working == [_utc(date, hour - offset) for hour in range(9, 17)], date

    # and the availability read offers those instants with their own offsets
    service = ServiceFactory(duration_minutes=60, resources=[resource])
    offered = availability_slots(
        service=service,
        resource=resource,
        day=day,
        now=_utc(day, -48),
    ).slots
    assert [slot.start for slot in offered] == night + [
        _utc(day, hour - offset_after) for hour in range(9, 17)
    ]
    night_offsets = {slot.start.utcoffset() for slot in offered[: len(night)]}
    assert night_offsets == {dt.timedelta(hours=std), dt.timedelta(hours=dst)}
    if direction == "fall":
        # the repeated 01:00 is offered twice: one wall time, two offsets, two instants
        repeated = [slot.start for slot in offered if slot.start.strftime("%H:%M") == "01:00"]
        assert len(repeated) == 2
        assert repeated[0].isoformat()[:19] == repeated[1].isoformat()[:19]
        assert repeated[1] - repeated[0] == dt.timedelta(hours=1)
