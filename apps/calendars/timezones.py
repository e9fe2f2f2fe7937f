"""Local wall time of a location → instants in UTC, right across DST transitions.

Rules speak in wall-clock minutes after local midnight; slots are instants. The mapping
is not one-to-one twice a year:

- in a spring-forward gap a wall time does not exist: it yields no instant, so a grid
  step that starts there is skipped;
- in a fall-back overlap a wall time happens twice: it yields both instants (earlier
  first), so the repeated hour is worked twice and its slots are distinct instants.

A slot lasts its granularity in real time from its start instant, and must end by the
window's end instant (`window_end_instant`): on a spring-forward night a step that
straddles the jump ends later on the wall clock than it began plus its length, and is
dropped when that passes the end (00:00-03:00 on a 90-minute grid in New York keeps
00:00 EST but not 01:30 EST, which would end at 04:00 EDT). Where a fall-back makes two
grid steps overlap in real time (possible when the step does not divide the shift, e.g. a
45-minute grid from 00:15 over a one-hour fall-back), `without_overlaps` keeps the
earlier one: one resource never has two slots at the same instant.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, TypeVar

UTC = dt.UTC
MINUTES_PER_DAY = 24 * 60
_WALL_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")

Interval = tuple[dt.datetime, dt.datetime]
_Timed = TypeVar("_Timed", bound=tuple[Any, ...])  # (start, end, …)


@lru_cache(maxsize=1024)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone `name`; raises `zoneinfo.ZoneInfoNotFoundError` (a KeyError) or
    ValueError for names that are not zones."""
    return zoneinfo.ZoneInfo(name)


def parse_wall_time(value: str | dt.time) -> int:
    """ "HH:MM" (00:00 … 24:00) or a `time` → minutes after local midnight.
    Raises ValueError with a readable message."""
    if isinstance(value, dt.time):
        if value.second or value.microsecond:
            raise ValueError("Use whole minutes (HH:MM).")
        return value.hour * 60 + value.minute
    if not isinstance(value, str):
        raise ValueError("Enter a time as HH:MM.")
    match = _WALL_TIME.match(value.strip())
    if match is None:
        raise ValueError("Enter a time as HH:MM, e.g. 09:00.")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        raise ValueError("Enter a time between 00:00 and 24:00.")
    return hours * 60 + minutes


def format_wall_time(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _naive(day: dt.date, minute: int) -> dt.datetime:
    # minute may be 1440: "24:00" is the next day's 00:00.
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)


def local_occurrences(day: dt.date, minute: int, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, ...]:
    """Every UTC instant at which the wall clock in `tz` reads `minute` on `day`:
    none in a spring-forward gap, two (earlier first) in a fall-back overlap."""
    naive = _naive(day, minute)
    found: list[dt.datetime] = []
    for fold in (0, 1):
        instant = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        # A wall time in a gap does not survive the round trip; one in an overlap does
        # for both folds (naive comparison ignores `fold`).
        if instant.astimezone(tz).replace(tzinfo=None) == naive and instant not in found:
            found.append(instant)
    return tuple(sorted(found))


def wall_time_instant(
    day: dt.date, minute: int, tz: zoneinfo.ZoneInfo, *, last: bool = False
) -> dt.datetime:
    """One instant for a wall time: the first (or `last`) occurrence; for a time inside a
    gap, the wall time read with the offset in force before the transition."""
    occurrences = local_occurrences(day, minute, tz)
    if occurrences:
        return occurrences[-1] if last else occurrences[0]
    return _naive(day, minute).replace(tzinfo=tz, fold=0).astimezone(UTC)


def window_end_instant(day: dt.date, minute: int, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """When a window ending at wall `minute` of `day` ends: the last time the clock reads
    it (a fall-back night reads it twice and both readings are inside), or, where the
    clock jumps over it, the moment of the jump."""
    occurrences = local_occurrences(day, minute, tz)
    if occurrences:
        return occurrences[-1]
    naive = _naive(day, minute)
    # The two readings of a skipped wall time (offset before and after the jump) lie on
    # either side of the jump; bisect between them on whole seconds.
    low, high = sorted(
        int(naive.replace(tzinfo=tz, fold=fold).astimezone(UTC).timestamp()) for fold in (0, 1)
    )
    while high - low > 1:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, tz).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return dt.datetime.fromtimestamp(high, UTC)


def local_time_span(
    day: dt.date, earliest: dt.time | None, latest: dt.time | None, zone_name: str
) -> tuple[dt.datetime, dt.datetime]:
    """The starts from `earliest` to `latest` (the whole day when not given) of a local
    `day` in `zone_name`, as instants: the acceptable starts of a waitlist entry."""
    tz = zone(zone_name)
    return (
        dt.datetime.combine(day, earliest or dt.time(0, 0), tzinfo=tz),
        dt.datetime.combine(day, latest or dt.time(23, 59), tzinfo=tz),
    )


def local_day_start(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first instant of local `day` (in UTC). When midnight falls in a gap (zones that
    switch at 00:00) the day starts at the transition, which is what fold=0 gives."""
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(UTC)


def local_day_bounds(day: dt.date, tz: zoneinfo.ZoneInfo) -> Interval:
    """[start, end) of local `day` in UTC: 23, 24 or 25 hours (or other lengths)."""
    return local_day_start(day, tz), local_day_start(day + dt.timedelta(days=1), tz)


def local_date(instant: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.date:
    return instant.astimezone(tz).date()


@lru_cache(maxsize=256)
def _fixed_offset(offset: dt.timedelta) -> dt.timezone:
    return dt.timezone(offset)


def as_seen_in(instant: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """`instant` with the wall time and UTC offset it has in `tz`, carried by a fixed
    offset rather than by the zone: a ZoneInfo datetime in a fall-back hour is ambiguous
    without its `fold`, and Python then calls it unequal to the very instant it is
    (PEP 495 inter-zone comparison), which breaks `==`, `in` and dict lookups."""
    local = instant.astimezone(tz)
    offset = local.utcoffset()
    assert offset is not None
    return local.replace(tzinfo=_fixed_offset(offset), fold=0)


@lru_cache(maxsize=1 << 16)
def expand_window(
    tz_name: str, day: dt.date, start_minute: int, end_minute: int, granularity: int
) -> tuple[Interval, ...]:
    """The grid of one local window on one date as UTC intervals, sorted.

    The grid starts at `start_minute` and steps by `granularity` wall minutes; a step is
    kept when it ends (in wall minutes) by `end_minute`. Each occurrence of a step's start
    becomes a slot lasting `granularity` real minutes, kept when it also ends (in real
    time) by the window's end. Cached: every resource sharing a location's rules shares
    the work.
    """
    tz = zone(tz_name)
    length = dt.timedelta(minutes=granularity)
    closes = window_end_instant(day, end_minute, tz)
    intervals: list[Interval] = []
    minute = start_minute
    while minute + granularity <= end_minute:
        intervals.extend(
            (start, start + length)
            for start in local_occurrences(day, minute, tz)
            if start + length <= closes
        )
        minute += granularity
    intervals.sort()
    return tuple(intervals)


def without_overlaps(items: Iterable[_Timed]) -> list[_Timed]:
    """Sorted by start, duplicate-free and non-overlapping: an item (start, end, …) that
    would overlap an earlier kept one is dropped (touching ends are fine)."""
    kept: list[_Timed] = []
    for item in sorted(items, key=lambda item: (item[0], item[1])):
        if kept and item[0] < kept[-1][1]:
            continue
        kept.append(item)
    return kept
