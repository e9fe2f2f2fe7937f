"""Lays bookings out on the staff calendar: columns (a resource on a day, or a day of a
resource's week), rows of ROW_MINUTES of local wall time, and lanes for bookings that
overlap in one column. Pure layout over rows already read; no queries here.

Positions are wall-clock minutes after the column's local midnight, so 09:00 sits on the
same row in every column whatever the UTC offset that day.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.bookings.models import Booking

ROW_MINUTES = 15
DAY_OPENS = 8 * 60  # the grid always shows at least 08:00-18:00
DAY_CLOSES = 18 * 60
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class Band:
    """Time the resource is open (its slots), drawn behind the bookings."""

    row_start: int
    row_end: int


@dataclass(frozen=True)
class FreeCell:
    """A half hour of open time no session touches: a link to a new booking at it."""

    row_start: int
    row_end: int
    start_time: str  # local "HH:MM"


@dataclass(frozen=True)
class Entry:
    """One session on the calendar: a booking, or the bookings sharing a group session."""

    bookings: tuple[Booking, ...]
    starts_at: dt.datetime  # local
    ends_at: dt.datetime  # local
    row_start: int
    row_end: int
    lane: int = 1

    @property
    def first(self) -> Booking:
        return self.bookings[0]

    @property
    def status(self) -> str:
        return self.first.status

    @property
    def is_group(self) -> bool:
        return len(self.bookings) > 1 or self.first.service.capacity > 1

    @property
    def short(self) -> bool:
        """Too short for more than one line of text."""
        return self.row_end - self.row_start < 2


@dataclass(frozen=True)
class ColumnSpec:
    key: str
    day: dt.date
    resource: Any = None  # Resource, or None in a week view (the resource is the page's)


@dataclass(frozen=True)
class Column:
    key: str
    day: dt.date
    resource: Any
    entries: list[Entry]
    bands: list[Band]
    lanes: int
    free_cells: list[FreeCell] = field(default_factory=list)

    @property
    def booking_count(self) -> int:
        return sum(
            len(entry.bookings)
            for entry in self.entries
            if entry.status != Booking.Status.CANCELLED
        )


@dataclass(frozen=True)
class HourMark:
    label: str
    row: int


@dataclass(frozen=True)
class CalendarGrid:
    timezone: str
    columns: list[Column]
    hours: list[HourMark] = field(default_factory=list)
    rows: int = 0
    first_minute: int = DAY_OPENS

    @property
    def booking_count(self) -> int:
        return sum(column.booking_count for column in self.columns)

    @property
    def rows_per_hour(self) -> int:
        return 60 // ROW_MINUTES


def _minute_of(instant: dt.datetime, day: dt.date, tz: zoneinfo.ZoneInfo) -> int:
    local = instant.astimezone(tz)
    minute = (local.date() - day).days * MINUTES_PER_DAY + local.hour * 60 + local.minute
    return max(0, min(MINUTES_PER_DAY, minute))


FREE_CELL_MINUTES = 30


def _free_cells(
    opens: list[tuple[int, int]], sessions: list[tuple[int, int, list[Booking]]]
) -> list[tuple[int, int]]:
    """The half hours (from each open stretch's start) that no shown session overlaps:
    where staff may start a new booking from the calendar."""
    taken = [
        (start, end)
        for start, end, group in sessions
        if group[0].status != Booking.Status.CANCELLED
    ]
    cells = []
    for open_start, open_end in opens:
        for start in range(open_start, open_end, FREE_CELL_MINUTES):
            end = min(start + FREE_CELL_MINUTES, open_end)
            if not any(s < end and start < e for s, e in taken):
                cells.append((start, end))
    return cells


def _sessions(bookings: Iterable[Booking]) -> list[list[Booking]]:
    """Bookings of one service at one time share a session (a group class); a cancelled
    booking is shown on its own so it never reads as a place taken."""
    grouped: dict[tuple[Any, ...], list[Booking]] = defaultdict(list)
    for booking in bookings:
        key = (
            booking.service_id,
            booking.starts_at,
            booking.ends_at,
            booking.status == Booking.Status.CANCELLED,
        )
        grouped[key].append(booking)
    return sorted(grouped.values(), key=lambda group: (group[0].starts_at, group[0].ends_at))


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def grid_build(
    *,
    tz_name: str,
    columns: Sequence[ColumnSpec],
    bookings: dict[str, list[Booking]],
    open_times: dict[str, list[tuple[dt.datetime, dt.datetime]]],
) -> CalendarGrid:
    """`bookings` and `open_times` (slot intervals) are keyed by ColumnSpec.key."""
    tz = zoneinfo.ZoneInfo(tz_name)
    spans: dict[str, list[tuple[int, int, list[Booking]]]] = {}
    opens: dict[str, list[tuple[int, int]]] = {}
    lowest, highest = DAY_OPENS, DAY_CLOSES
    for spec in columns:
        sessions = []
        for group in _sessions(bookings.get(spec.key, [])):
            start = _minute_of(group[0].starts_at, spec.day, tz)
            end = max(_minute_of(group[0].ends_at, spec.day, tz), start + 1)
            sessions.append((start, end, group))
            lowest, highest = min(lowest, start), max(highest, end)
        spans[spec.key] = sessions
        opens[spec.key] = _merge(
            (_minute_of(start, spec.day, tz), _minute_of(end, spec.day, tz))
            for start, end in open_times.get(spec.key, [])
        )
        for start, end in opens[spec.key]:
            lowest, highest = min(lowest, start), max(highest, end)
    first = lowest // 60 * 60
    last = min(MINUTES_PER_DAY, -(-highest // 60) * 60)
    rows = (last - first) // ROW_MINUTES

    def row_of(minute: int) -> int:
        return (minute - first) // ROW_MINUTES + 1

    def row_after(minute: int) -> int:
        return -(-(minute - first) // ROW_MINUTES) + 1

    built: list[Column] = []
    for spec in columns:
        entries: list[Entry] = []
        lane_ends: list[int] = []
        for start, end, group in spans[spec.key]:
            lane = next((i for i, lane_end in enumerate(lane_ends) if lane_end <= start), None)
            if lane is None:
                lane_ends.append(end)
                lane = len(lane_ends) - 1
            else:
                lane_ends[lane] = end
            entries.append(
                Entry(
                    bookings=tuple(group),
                    starts_at=group[0].starts_at.astimezone(tz),
                    ends_at=group[0].ends_at.astimezone(tz),
                    row_start=row_of(start),
                    row_end=max(row_after(end), row_of(start) + 1),
                    lane=lane + 1,
                )
            )
        bands = [Band(row_of(start), row_after(end)) for start, end in opens[spec.key]]
        free_cells = [
            FreeCell(row_of(start), row_after(end), f"{start // 60 % 24:02d}:{start % 60:02d}")
            for start, end in _free_cells(opens[spec.key], spans[spec.key])
        ]
        built.append(
            Column(
                key=spec.key,
                day=spec.day,
                resource=spec.resource,
                entries=entries,
                bands=bands,
                lanes=max(1, len(lane_ends)),
                free_cells=free_cells,
            )
        )
    hours = [
        HourMark(label=f"{minute // 60:02d}:00", row=row_of(minute))
        for minute in range(first, last, 60)
    ]
    return CalendarGrid(timezone=tz_name, columns=built, hours=hours, rows=rows, first_minute=first)
