"""London wall times as instants, and a grid made for a run of London dates."""

from __future__ import annotations

import datetime as dt

from apps.calendars.grid.services import MaterializationResult, slots_materialize
from apps.calendars.timezones import zone
from apps.resources.models import Resource

LONDON = zone("Europe/London")


def london(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """The UTC instant of a London wall time (never in a gap in these tests)."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).astimezone(dt.UTC)


def materialize_days(resource: Resource, first: dt.date, days: int) -> MaterializationResult:
    """Materialize `days` London dates from `first` (the services read the rules)."""
    return slots_materialize(
        resource=resource,
        start=london(first, 0),
        end=london(first + dt.timedelta(days=days), 0),
    )
