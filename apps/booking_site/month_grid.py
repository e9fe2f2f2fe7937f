"""The month grid and time groups the booking pages draw (presentation only: which
days and times are free comes from the availability selectors)."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils.dates import WEEKDAYS as WEEKDAY_NAMES
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext_noop

from apps.calendars.availability.selectors import AvailableSlot

# Monday first, in the active language (Django's lazily translated day names).
WEEKDAYS = [(WEEKDAY_NAMES[day], WEEKDAYS_ABBR[day]) for day in range(7)]


@dataclass(frozen=True)
class CalendarDay:
    day: dt.date
    free: int
    past: bool
    selected: bool
    today: bool

    @property
    def bookable(self) -> bool:
        return self.free > 0 and not self.past


@dataclass(frozen=True)
class MonthGrid:
    month: dt.date  # the first day of the month
    weeks: list[list[CalendarDay | None]]  # Monday first; None pads the first/last week
    previous: dt.date | None  # first day of the previous month, when it can be shown
    next: dt.date | None
    free_days: int


def month_first(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_add(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_last(month: dt.date) -> dt.date:
    return month_add(month, 1) - dt.timedelta(days=1)


def month_clamp(month: dt.date, *, first: dt.date, last: dt.date) -> dt.date:
    """`month` moved into the months from `first`'s to `last`'s."""
    return max(month_first(first), min(month_first(month), month_first(last)))


def month_grid(
    *,
    month: dt.date,
    free_by_day: Mapping[dt.date, int],
    today: dt.date,
    last_day: dt.date,
    selected: dt.date | None,
) -> MonthGrid:
    """Weeks of `month` (Monday first) with each day's free count; the previous and next
    months are offered only while they hold a day between `today` and `last_day`."""
    month = month_first(month)
    weeks: list[list[CalendarDay | None]] = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month):
        weeks.append(
            [
                CalendarDay(
                    day=day,
                    free=free_by_day.get(day, 0),
                    past=day < today or day > last_day,
                    selected=day == selected,
                    today=day == today,
                )
                if day.month == month.month
                else None
                for day in week
            ]
        )
    previous = month_add(month, -1)
    following = month_add(month, 1)
    return MonthGrid(
        month=month,
        weeks=weeks,
        previous=previous if month_last(previous) >= today else None,
        next=following if following <= last_day else None,
        free_days=sum(1 for week in weeks for cell in week if cell is not None and cell.bookable),
    )


@dataclass(frozen=True)
class TimeGroup:
    label: str
    slots: list[AvailableSlot]


def time_groups(slots: Iterable[AvailableSlot]) -> list[TimeGroup]:
    """Morning (before 12:00), afternoon (before 17:00) and evening, by the wall clock
    the slots are expressed in; empty groups are left out."""
    # Labels are msgids, translated where the page shows them (`{% translate label %}`).
    morning, afternoon, evening = (
        gettext_noop("Morning"),
        gettext_noop("Afternoon"),
        gettext_noop("Evening"),
    )
    groups: dict[str, list[AvailableSlot]] = {morning: [], afternoon: [], evening: []}
    for slot in slots:
        hour = slot.start.hour
        label = morning if hour < 12 else afternoon if hour < 17 else evening
        groups[label].append(slot)
    return [TimeGroup(label, entries) for label, entries in groups.items() if entries]
