"""Reads of the slot grid: what a customer can book, and what the tenant must resolve.

Availability costs two SQL queries whatever the number of bookings: one for the
resources in scope (with their location's zone), one for their slot rows around the
asked time (with the count of expired holds per held slot). Everything else is Python
over those rows, following the "places left" rule of the slot contract (PRODUCT.md §3):

    A start T of service S on resource R is offered when the slots covering
    [T, T + duration) exist back to back, none is blocked, and either
    - none carries a live session (booked > 0 or an unexpired hold) and the buffered
      interval [T - before, T + duration + after] overlaps no live session's
      [busy_from, busy_until] (touching is fine): places = min(S.capacity, caps of the
      covered slots); or
    - all carry exactly the session (S, T, T + duration): places =
      session_capacity - booked - unexpired holds.
    Places must be > 0, T ≥ now + minimum notice, and T before the end of the
    location's local day `horizon_days` after today.

For a location or "anyone" (no resource given) one start is offered once: the resource
whose session it would join wins, then the least busy resource, then the lowest id.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from apps.accounts.models import Tenant
from apps.accounts.selectors import tenant_current
from apps.calendars.availability import cache as availability_cache
from apps.calendars.availability.exposure import EXPOSURE_VARIANTS, slots_expose
from apps.calendars.models import SlotHold, SlotInstance
from apps.calendars.timezones import (
    as_seen_in,
    local_date,
    local_day_start,
    zone,
)
from apps.core import metrics
from apps.core.cache_values import model_cache_value, model_from_cache_value
from apps.core.errors import FieldError, ValidationFailed
from apps.core.timezones import is_timezone
from apps.resources.models import Location, Resource, Service
from apps.resources.services import MAX_HORIZON_DAYS

ONE_DAY = dt.timedelta(days=1)
MAX_DATES_SPAN_DAYS = 92


class AvailableSlot(NamedTuple):
    """A start a customer can book: `id` is the slot starting at `start` (the first one
    the session covers); `end - start` is the service's duration. `start` and `end` carry
    the display zone's wall time and UTC offset as a fixed offset (the zone's name is
    `AvailableSlots.display_timezone`), so they compare and hash as the instants they are
    even in a repeated fall-back hour."""

    id: UUID
    start: dt.datetime
    end: dt.datetime
    resource_id: UUID
    remaining: int


@dataclass(frozen=True)
class AvailableSlots:
    slots: list[AvailableSlot]
    total: int  # every free start that day (the exposed ones are a subset when curated)
    has_more: bool
    timezone: str  # the location's zone (the tenant's when "anyone" spans zones)
    display_timezone: str  # the zone `start`/`end` are expressed in


class DateAvailability(NamedTuple):
    day: dt.date
    free: int


@dataclass(frozen=True)
class AvailableDates:
    dates: list[DateAvailability]
    timezone: str
    display_timezone: str


class _Row(NamedTuple):
    id: UUID
    resource_id: UUID
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int | None
    status: str
    booked: int
    held: int
    session_service_id: UUID | None
    session_starts_at: dt.datetime | None
    session_ends_at: dt.datetime | None
    session_capacity: int | None
    busy_from: dt.datetime | None
    busy_until: dt.datetime | None
    expired_holds: int
    next_expiry: dt.datetime | None  # the first live hold's end, when there is one

    @property
    def live_holds(self) -> int:
        return max(self.held - self.expired_holds, 0)

    @property
    def live(self) -> bool:
        return self.booked > 0 or self.live_holds > 0


class _Candidate(NamedTuple):
    start: dt.datetime
    end: dt.datetime
    slot_id: UUID
    resource_id: UUID
    remaining: int
    joins_session: bool


class _ScopeRow(NamedTuple):
    resource_id: UUID
    location_id: UUID
    tz_name: str


# --- Scope -------------------------------------------------------------------------


def _scope(
    *, service: Service, resource: Resource | None, location: Location | None
) -> list[_ScopeRow]:
    """Active resources that deliver the active `service`, narrowed to a resource or a
    location; "anyone" when both are None. One query."""
    if not service.is_active:
        return []
    resources = Resource.objects.filter(is_active=True, services=service)
    if resource is not None:
        resources = resources.filter(pk=resource.pk)
    if location is not None:
        resources = resources.filter(location=location)
    return [
        _ScopeRow(*row)
        for row in resources.order_by("pk").values_list("pk", "location_id", "location__timezone")
    ]


def _location_timezone(
    *,
    scope: Sequence[_ScopeRow],
    resource: Resource | None,
    location: Location | None,
    tenant: Tenant,
) -> str:
    if location is not None:
        return location.timezone
    zones = {row.tz_name for row in scope}
    if len(zones) == 1:
        return zones.pop()
    if resource is not None and not scope:
        return resource.location.timezone  # only when nothing is bookable anyway
    return tenant.timezone


def _display_timezone(tz: str | None, default: str) -> str:
    if tz in (None, ""):
        return default
    if not is_timezone(tz):
        raise ValidationFailed(
            gettext("Unknown time zone."),
            [
                FieldError(
                    "tz",
                    gettext("“%(zone)s” is not an IANA time zone (e.g. Europe/London).")
                    % {"zone": tz},
                )
            ],
        )
    return str(tz)


# --- The places-left rule ----------------------------------------------------------


def _slot_rows(
    *,
    resource_ids: list[UUID],
    grid_from: dt.datetime,
    grid_until: dt.datetime,
    around_from: dt.datetime,
    around_until: dt.datetime,
    now: dt.datetime,
) -> list[_Row]:
    """Every slot starting in [grid_from, grid_until), plus the occupied ones in the
    wider [around_from, around_until) whose buffers may reach into it, with their holds
    already expired at `now` counted and the first live hold's end. One query, written
    out: it runs on every availability read, and compiling it through the ORM cost more
    than running it. The hold subqueries run only on held slots (CASE is lazy)."""
    slots = connection.ops.quote_name(SlotInstance._meta.db_table)
    holds = connection.ops.quote_name(SlotHold._meta.db_table)
    sql = f"""SELECT s.id, s.resource_id, s.starts_at, s.ends_at, s.capacity, s.status,
               s.booked, s.held, s.session_service_id, s.session_starts_at,
               s.session_ends_at, s.session_capacity, s.busy_from, s.busy_until,
               CASE WHEN s.held > 0 THEN (
                   SELECT count(*) FROM {holds} h
                   WHERE h.slot_id = s.id AND h.expires_at <= %(now)s
               ) ELSE 0 END,
               CASE WHEN s.held > 0 THEN (
                   SELECT min(h.expires_at) FROM {holds} h
                   WHERE h.slot_id = s.id AND h.expires_at > %(now)s
               ) END
        FROM {slots} s
        WHERE s.resource_id = ANY(%(resource_ids)s)
          AND s.starts_at >= %(around_from)s AND s.starts_at < %(around_until)s
          AND ((s.starts_at >= %(grid_from)s AND s.starts_at < %(grid_until)s)
               OR s.booked > 0 OR s.held > 0)
        ORDER BY s.resource_id, s.starts_at
    """  # noqa: S608 - the table names are ours; every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "resource_ids": resource_ids,
                "grid_from": grid_from,
                "grid_until": grid_until,
                "around_from": around_from,
                "around_until": around_until,
                "now": now,
            },
        )
        return [_Row(*values) for values in cursor.fetchall()]


class _BusyIntervals:
    """Live sessions' [busy_from, busy_until] on one resource; answers "does this
    interval overlap any of them" in O(log n)."""

    def __init__(self, intervals: Iterable[tuple[dt.datetime, dt.datetime]]) -> None:
        ordered = sorted(intervals)
        self._starts = [start for start, _ in ordered]
        self._reach: list[dt.datetime] = []  # running max of busy_until
        for _, until in ordered:
            self._reach.append(max(until, self._reach[-1]) if self._reach else until)

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        # Intervals starting before `end`; does any of them last beyond `start`?
        count = bisect.bisect_left(self._starts, end)
        return count > 0 and self._reach[count - 1] > start


def _resource_candidates(
    *,
    service: Service,
    rows: list[_Row],
    first_start: dt.datetime,
    last_start: dt.datetime,
) -> list[_Candidate]:
    """Free starts on one resource in [first_start, last_start), from its rows (sorted
    by start)."""
    duration = dt.timedelta(minutes=service.duration_minutes)
    before = dt.timedelta(minutes=service.buffer_before_minutes)
    after = dt.timedelta(minutes=service.buffer_after_minutes)
    busy = _BusyIntervals(
        {
            (row.busy_from or row.starts_at, row.busy_until or row.ends_at)
            for row in rows
            if row.live and row.session_starts_at is not None
        }
    )
    candidates: list[_Candidate] = []
    count = len(rows)
    for index, first in enumerate(rows):
        start = first.starts_at
        if start < first_start or start >= last_start:
            continue
        end = start + duration
        covered = [first]
        cursor = index
        while covered[-1].ends_at < end:
            cursor += 1
            if cursor >= count or rows[cursor].starts_at != covered[-1].ends_at:
                covered = []
                break
            covered.append(rows[cursor])
        if not covered or any(row.status == SlotInstance.Status.BLOCKED for row in covered):
            continue
        live = [row for row in covered if row.live]
        if not live:
            if busy.overlaps(start - before, end + after):
                continue
            caps = [row.capacity for row in covered if row.capacity is not None]
            remaining = min([service.capacity, *caps])
            joins = False
        elif len(live) == len(covered) and all(
            row.session_service_id == service.pk
            and row.session_starts_at == start
            and row.session_ends_at == end
            for row in covered
        ):
            remaining = (first.session_capacity or 0) - first.booked - first.live_holds
            joins = True
        else:
            continue
        if remaining > 0:
            candidates.append(_Candidate(start, end, first.id, first.resource_id, remaining, joins))
    return candidates


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def _micros(instant: dt.datetime) -> int:
    return (instant - _EPOCH) // _MICROSECOND


def _instant(micros: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=micros)


@dataclass(frozen=True)
class _Grid:
    """Free starts in [lo, hi) on the resources in scope before the cuts that move
    with the clock (minimum notice, horizon), each resource's count of live sessions
    around (its load, used to spread "anyone" bookings), and the first instant at
    which this stops being true by itself (a live hold ending), if any.

    Kept in columns of plain numbers and strings, sorted by (start, resource): a month of
    starts is cached (as JSON) and read back on every request, and decoding a UUID and
    two datetimes per start cost more than the rest of a cached request."""

    starts: list[int]  # microseconds since the epoch
    slot_ids: list[str]  # UUID hex
    resources: list[int]  # index in resource_ids
    remaining: list[int]
    joins: list[bool]
    resource_ids: list[UUID]
    duration_micros: int
    load: dict[UUID, int]
    valid_until: dt.datetime | None

    @classmethod
    def of(
        cls,
        candidates: list[_Candidate],
        *,
        duration: dt.timedelta,
        load: dict[UUID, int],
        valid_until: dt.datetime | None,
    ) -> _Grid:
        resource_ids = sorted({candidate.resource_id for candidate in candidates})
        index = {resource_id: position for position, resource_id in enumerate(resource_ids)}
        return cls(
            starts=[_micros(candidate.start) for candidate in candidates],
            slot_ids=[candidate.slot_id.hex for candidate in candidates],
            resources=[index[candidate.resource_id] for candidate in candidates],
            remaining=[candidate.remaining for candidate in candidates],
            joins=[candidate.joins_session for candidate in candidates],
            resource_ids=resource_ids,
            duration_micros=duration // _MICROSECOND,
            load=load,
            valid_until=valid_until,
        )

    @classmethod
    def empty(cls) -> _Grid:
        return cls([], [], [], [], [], [], 0, {}, None)

    def cache_value(self) -> dict[str, object]:
        return {
            "starts": self.starts,
            "slot_ids": self.slot_ids,
            "resources": self.resources,
            "remaining": self.remaining,
            "joins": self.joins,
            "resource_ids": [str(resource_id) for resource_id in self.resource_ids],
            "duration_micros": self.duration_micros,
            "load": {str(resource_id): count for resource_id, count in self.load.items()},
            "valid_until": None if self.valid_until is None else _micros(self.valid_until),
        }

    @classmethod
    def from_cache_value(cls, value: dict[str, Any]) -> _Grid:
        valid_until = value["valid_until"]
        return cls(
            starts=value["starts"],
            slot_ids=value["slot_ids"],
            resources=value["resources"],
            remaining=value["remaining"],
            joins=value["joins"],
            resource_ids=[UUID(resource_id) for resource_id in value["resource_ids"]],
            duration_micros=value["duration_micros"],
            load={UUID(resource_id): count for resource_id, count in value["load"].items()},
            valid_until=None if valid_until is None else _instant(valid_until),
        )

    def candidate(self, position: int) -> _Candidate:
        start = self.starts[position]
        return _Candidate(
            start=_instant(start),
            end=_instant(start + self.duration_micros),
            slot_id=UUID(hex=self.slot_ids[position]),
            resource_id=self.resource_ids[self.resources[position]],
            remaining=self.remaining[position],
            joins_session=self.joins[position],
        )


def _free_candidates(
    *,
    service: Service,
    scope: Sequence[_ScopeRow],
    lo: dt.datetime,
    hi: dt.datetime,
    now: dt.datetime,
) -> _Grid:
    if not scope:
        return _Grid.empty()
    duration = dt.timedelta(minutes=service.duration_minutes)
    before = dt.timedelta(minutes=service.buffer_before_minutes)
    after = dt.timedelta(minutes=service.buffer_after_minutes)
    # A session and its buffers fit in one day (constraint service_fits_in_a_day), so a
    # session whose buffers reach the window starts less than a day beyond it.
    rows_by_resource: dict[UUID, list[_Row]] = defaultdict(list)
    valid_until: dt.datetime | None = None
    for row in _slot_rows(
        resource_ids=[row.resource_id for row in scope],
        grid_from=lo,
        grid_until=hi + duration,
        around_from=lo - before - ONE_DAY,
        around_until=hi + duration + after + ONE_DAY,
        now=now,
    ):
        rows_by_resource[row.resource_id].append(row)
        if row.next_expiry is not None and (valid_until is None or row.next_expiry < valid_until):
            valid_until = row.next_expiry

    candidates: list[_Candidate] = []
    load: dict[UUID, int] = {}
    for scope_row in scope:
        rows = rows_by_resource.get(scope_row.resource_id, [])
        load[scope_row.resource_id] = len(
            {row.session_starts_at for row in rows if row.live and row.session_starts_at}
        )
        candidates.extend(
            _resource_candidates(service=service, rows=rows, first_start=lo, last_start=hi)
        )
    candidates.sort(key=lambda candidate: (candidate.start, candidate.resource_id))
    return _Grid.of(candidates, duration=duration, load=load, valid_until=valid_until)


def _one_per_start(candidates: list[_Candidate], load: dict[UUID, int]) -> list[_Candidate]:
    best: dict[dt.datetime, _Candidate] = {}
    for candidate in candidates:
        current = best.get(candidate.start)
        if current is None or _preference(candidate, load) < _preference(current, load):
            best[candidate.start] = candidate
    return [best[start] for start in sorted(best)]


def _preference(candidate: _Candidate, load: dict[UUID, int]) -> tuple[bool, int, UUID]:
    return (not candidate.joins_session, load.get(candidate.resource_id, 0), candidate.resource_id)


# Nothing is bookable before now or beyond the horizon: calendar days outside
# [now - 2 days, now + the longest horizon + 2 days] (a margin for any zone's date) are
# answered "nothing free" without date arithmetic, which would overflow near the ends of
# the calendar (9999-12-31 + 1 day).
def _earliest_bookable(now: dt.datetime) -> dt.date:
    return (now - 2 * ONE_DAY).date()


def _latest_bookable(now: dt.datetime, *, service_horizon: int | None, tenant: Tenant) -> dt.date:
    days = max(MAX_HORIZON_DAYS, tenant.horizon_days, service_horizon or 0)
    return (now + dt.timedelta(days=days + 2)).date()


# --- Computing, caching and cutting --------------------------------------------------


@dataclass(frozen=True)
class AvailabilityScope:
    """What an availability query names, by id: the service, and the resource or the
    location (both None: "anyone")."""

    service_id: UUID
    resource_id: UUID | None = None
    location_id: UUID | None = None


Resolve = Callable[[], tuple[Service, Resource | None, Location | None]]


@dataclass(frozen=True)
class _Computed:
    """One computation of a query, reusable by a later read at `now` while
    computed_at <= now < valid_until and its cache tokens hold (apps/calendars/
    availability/cache.py). Everything that moves with the clock is applied at read
    time by `_bookable`."""

    timezone: str
    display_timezone: str
    service_notice: int | None
    service_horizon: int | None
    zones: dict[UUID, str]  # each resource in scope: its location's zone
    days: tuple[dt.date, dt.date] | None  # the calendar days the rows were read for
    grid: _Grid
    computed_at: dt.datetime

    def cache_value(self) -> dict[str, object]:
        return {
            "timezone": self.timezone,
            "display_timezone": self.display_timezone,
            "service_notice": self.service_notice,
            "service_horizon": self.service_horizon,
            "zones": {str(resource_id): name for resource_id, name in self.zones.items()},
            "days": None if self.days is None else [day.isoformat() for day in self.days],
            "grid": self.grid.cache_value(),
            "computed_at": _micros(self.computed_at),
        }

    @classmethod
    def from_cache_value(cls, value: Any) -> _Computed | None:
        """The computation a cache entry holds; None for an entry this release did not
        write (a miss)."""
        try:
            days = value["days"]
            return cls(
                timezone=value["timezone"],
                display_timezone=value["display_timezone"],
                service_notice=value["service_notice"],
                service_horizon=value["service_horizon"],
                zones={UUID(resource_id): name for resource_id, name in value["zones"].items()},
                days=None
                if days is None
                else (dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[1])),
                grid=_Grid.from_cache_value(value["grid"]),
                computed_at=_instant(value["computed_at"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


_Resolved = tuple[Service, Resource | None, Location | None, list[_ScopeRow]]


def _resolved_cache_value(resolved: _Resolved) -> dict[str, object]:
    service, resource, location, scope = resolved
    return {
        "service": model_cache_value(service),
        "resource": None if resource is None else model_cache_value(resource),
        "location": None if location is None else model_cache_value(location),
        "scope": [[str(row.resource_id), str(row.location_id), row.tz_name] for row in scope],
    }


def _resolved_from_cache_value(value: Any) -> _Resolved | None:
    """The objects a cache entry holds; None for an entry this release did not write."""
    try:
        resource, location = value["resource"], value["location"]
        return (
            model_from_cache_value(Service, value["service"]),
            None if resource is None else model_from_cache_value(Resource, resource),
            None if location is None else model_from_cache_value(Location, location),
            [_ScopeRow(UUID(r), UUID(loc), tz) for r, loc, tz in value["scope"]],
        )
    except (KeyError, TypeError, ValueError, ValidationError):
        return None


def _resolved(*, ids: AvailabilityScope, resolve: Resolve) -> _Resolved:
    """The objects a query names and the resources in its scope. They change only with
    the catalogue, so they are cached under its token alone and shared by every day
    and zone asked about (a query for a new day then costs its slot rows only)."""

    def fresh() -> _Resolved:
        service, resource, location = resolve()  # NotFound for unknown ids: not cached
        return (
            service,
            resource,
            location,
            _scope(service=service, resource=resource, location=location),
        )

    seconds = availability_cache.entry_seconds()
    if seconds <= 0:
        return fresh()
    name = f"availability-scope:{ids.service_id}:{ids.resource_id or '-'}:{ids.location_id or '-'}"
    cached, current = availability_cache.entry_get(name, [availability_cache.CATALOGUE])
    if cached is not None:
        from_cache = _resolved_from_cache_value(cached)
        if from_cache is not None:
            _cache_lookup_count("scope", hit=True)
            return from_cache
    _cache_lookup_count("scope", hit=False)
    resolved = fresh()
    if current is not None:
        availability_cache.entry_put(
            name, _resolved_cache_value(resolved), tokens=current, seconds=seconds
        )
    return resolved


def _compute(
    *,
    ids: AvailabilityScope,
    resolve: Resolve,
    tz: str | None,
    first: dt.date,
    last: dt.date,
    now: dt.datetime,
    tenant: Tenant,
) -> _Computed:
    service, resource, location, scope = _resolved(ids=ids, resolve=resolve)
    location_tz = _location_timezone(
        scope=scope, resource=resource, location=location, tenant=tenant
    )
    display_tz = _display_timezone(tz, location_tz)
    display = zone(display_tz)
    days = _bookable_days(first, last, now=now, service_horizon=service.horizon_days, tenant=tenant)
    grid = _Grid.empty()
    if days is not None:
        lo = local_day_start(days[0], display)
        hi = local_day_start(days[1] + ONE_DAY, display)
        grid = _free_candidates(service=service, scope=scope, lo=lo, hi=hi, now=now)
    return _Computed(
        timezone=location_tz,
        display_timezone=display_tz,
        service_notice=service.min_notice_minutes,
        service_horizon=service.horizon_days,
        zones={row.resource_id: row.tz_name for row in scope},
        days=days,
        grid=grid,
        computed_at=now,
    )


def _bookable_days(
    first: dt.date, last: dt.date, *, now: dt.datetime, service_horizon: int | None, tenant: Tenant
) -> tuple[dt.date, dt.date] | None:
    first = max(first, _earliest_bookable(now))
    last = min(last, _latest_bookable(now, service_horizon=service_horizon, tenant=tenant))
    return (first, last) if first <= last else None


def _entry_names(
    scope: AvailabilityScope, *, first: dt.date, last: dt.date, tz: str | None, tenant: Tenant
) -> tuple[str, list[str]]:
    """The cache entry of a query's computation and the tokens it counts under."""
    name = ":".join(
        [
            "availability",
            str(scope.service_id),
            str(scope.resource_id or "-"),
            str(scope.location_id or "-"),
            first.isoformat(),
            last.isoformat(),
            f"tz={tz}" if tz else "-",  # (a zone named "-" is not "no zone")
            tenant.timezone,  # the answer's zone when "anyone" spans zones
        ]
    )
    tokens = [
        availability_cache.CATALOGUE,
        availability_cache.slots_token(scope.resource_id)
        if scope.resource_id is not None
        else availability_cache.ALL_SLOTS,
    ]
    return name, tokens


def _computed(
    *,
    scope: AvailabilityScope,
    resolve: Resolve,
    tz: str | None,
    first: dt.date,
    last: dt.date,
    now: dt.datetime,
    tenant: Tenant,
) -> _Computed:
    """The computation of this query: a cached one when it still holds at `now`, else
    a fresh one (then cached)."""
    seconds = availability_cache.entry_seconds()
    if seconds <= 0:
        return _compute(
            ids=scope, resolve=resolve, tz=tz, first=first, last=last, now=now, tenant=tenant
        )
    name, tokens = _entry_names(scope, first=first, last=last, tz=tz, tenant=tenant)
    entry, current = availability_cache.entry_get(name, tokens)
    cached = None if entry is None else _Computed.from_cache_value(entry)
    if cached is not None and _still_holds(cached, first, last, now=now, tenant=tenant):
        _cache_lookup_count("answer", hit=True)
        return cached
    _cache_lookup_count("answer", hit=False)
    computed = _compute(
        ids=scope, resolve=resolve, tz=tz, first=first, last=last, now=now, tenant=tenant
    )
    if current is not None:
        valid_until = computed.grid.valid_until
        if valid_until is not None:
            seconds = min(seconds, (valid_until - now).total_seconds())
        availability_cache.entry_put(name, computed.cache_value(), tokens=current, seconds=seconds)
    return computed


def _cache_lookup_count(entry: str, *, hit: bool) -> None:
    metrics.availability_cache_lookups_total.labels(
        entry=entry, result="hit" if hit else "miss"
    ).inc()


def _still_holds(
    computed: _Computed, first: dt.date, last: dt.date, *, now: dt.datetime, tenant: Tenant
) -> bool:
    if now < computed.computed_at:
        return False
    if computed.grid.valid_until is not None and now >= computed.grid.valid_until:
        return False  # a hold it counted has expired: that place is free again
    days = _bookable_days(
        first, last, now=now, service_horizon=computed.service_horizon, tenant=tenant
    )
    if days is None:
        return True  # nothing is bookable; the zones are all that is read
    # The bookable days move with the clock; the rows read must still cover them.
    return computed.days is not None and computed.days[0] <= days[0] and days[1] <= computed.days[1]


def _bookable(
    computed: _Computed,
    *,
    first: dt.date,
    last: dt.date,
    now: dt.datetime,
    tenant: Tenant,
) -> list[int]:
    """Positions in the computed grid of the starts still bookable at `now`: after the
    minimum notice, before each resource's horizon (the end of its location's local
    day `horizon_days` after today), within the asked days."""
    grid = computed.grid
    days = _bookable_days(
        first, last, now=now, service_horizon=computed.service_horizon, tenant=tenant
    )
    if days is None or not grid.starts:
        return []
    display = zone(computed.display_timezone)
    notice = (
        computed.service_notice
        if computed.service_notice is not None
        else tenant.min_notice_minutes
    )
    horizon_days = (
        computed.service_horizon if computed.service_horizon is not None else tenant.horizon_days
    )
    first_start = _micros(
        max(local_day_start(days[0], display), now + dt.timedelta(minutes=notice))
    )
    hi = local_day_start(days[1] + ONE_DAY, display)
    horizon: dict[str, int] = {}
    for tz_name in set(computed.zones.values()):
        tz = zone(tz_name)
        today = local_date(now, tz)
        horizon[tz_name] = _micros(
            min(hi, local_day_start(today + dt.timedelta(days=horizon_days + 1), tz))
        )
    last_start = [horizon[computed.zones[resource_id]] for resource_id in grid.resource_ids]
    # Starts are sorted: skip to the first one allowed, stop after the last one.
    position = bisect.bisect_left(grid.starts, first_start)
    end = bisect.bisect_left(grid.starts, max(last_start))
    return [
        index
        for index in range(position, end)
        if grid.starts[index] < last_start[grid.resources[index]]
    ]


def _bookable_candidates(
    computed: _Computed, positions: list[int], *, one_per_start: bool
) -> list[_Candidate]:
    candidates = [computed.grid.candidate(position) for position in positions]
    if one_per_start:
        return _one_per_start(candidates, computed.grid.load)
    return candidates


# --- Public selectors --------------------------------------------------------------


def _objects(
    service: Service, resource: Resource | None, location: Location | None
) -> tuple[AvailabilityScope, Resolve]:
    scope = AvailabilityScope(
        service_id=service.pk,
        resource_id=resource.pk if resource is not None else None,
        location_id=location.pk if location is not None else None,
    )
    return scope, lambda: (service, resource, location)


def availability_slots(
    *,
    service: Service,
    resource: Resource | None = None,
    location: Location | None = None,
    day: dt.date,
    tz: str | None = None,
    now: dt.datetime | None = None,
    viewer_key: str = "",
    exposure_variant: str | None = None,
) -> AvailableSlots:
    """Bookable starts of `service` on calendar `day` in `tz` (default: the location's
    zone; a booker far away may get starts from two of the business's days).

    Scope: `resource`, or every active resource at `location` delivering the service,
    or — both None — every active resource delivering it ("anyone"). In curated
    exposure (the tenant's `exposure_mode`, or `exposure_variant` "all"/"curated" when
    given) only a few starts are returned, chosen per `viewer_key` (PRODUCT.md §4.5)."""
    scope, resolve = _objects(service, resource, location)
    if exposure_variant not in (None, "", *EXPOSURE_VARIANTS):
        raise _unknown_variant()
    return availability_slots_of(
        scope=scope,
        resolve=resolve,
        day=day,
        tz=tz,
        now=now,
        viewer_key=viewer_key,
        exposure_variant=exposure_variant,
    )


def _unknown_variant() -> ValidationFailed:
    return ValidationFailed(
        gettext("Unknown exposure variant."),
        [
            FieldError(
                "exposure_variant",
                gettext("Choose one of: %(names)s.") % {"names": ", ".join(EXPOSURE_VARIANTS)},
            )
        ],
    )


def availability_slots_of(
    *,
    scope: AvailabilityScope,
    resolve: Resolve,
    day: dt.date,
    tz: str | None = None,
    now: dt.datetime | None = None,
    viewer_key: str = "",
    exposure_variant: str | None = None,
) -> AvailableSlots:
    """`availability_slots` for a query naming its objects by id: `resolve` returns
    them (raising NotFound for unknown ids) and is called only when no cached answer
    holds, which is what keeps a repeated read at one cache round trip."""
    now = now or timezone.now()
    tenant = tenant_current()
    computed = _computed(
        scope=scope, resolve=resolve, tz=tz, first=day, last=day, now=now, tenant=tenant
    )
    if exposure_variant not in (None, "", *EXPOSURE_VARIANTS):
        raise _unknown_variant()
    return _slots_answer(
        computed,
        scope=scope,
        day=day,
        now=now,
        tenant=tenant,
        viewer_key=viewer_key,
        exposure_variant=exposure_variant,
    )


def _slots_answer(
    computed: _Computed,
    *,
    scope: AvailabilityScope,
    day: dt.date,
    now: dt.datetime,
    tenant: Tenant,
    viewer_key: str,
    exposure_variant: str | None,
) -> AvailableSlots:
    display = zone(computed.display_timezone)
    candidates = _bookable_candidates(
        computed,
        _bookable(computed, first=day, last=day, now=now, tenant=tenant),
        one_per_start=scope.resource_id is None,
    )
    free = [
        AvailableSlot(
            id=candidate.slot_id,
            start=as_seen_in(candidate.start, display),
            end=as_seen_in(candidate.end, display),
            resource_id=candidate.resource_id,
            remaining=candidate.remaining,
        )
        for candidate in candidates
    ]
    mode = exposure_variant or tenant.exposure_mode
    if mode == Tenant.ExposureMode.CURATED:
        location_key = scope.location_id if scope.location_id is not None else "any"
        exposure = slots_expose(
            slots=free,
            viewer_key=viewer_key,
            day=day,
            resource_id=scope.resource_id,
            scope_key=f"{scope.service_id}:{location_key}:{computed.display_timezone}",
            now=now,
            bucket_tz=zone(computed.timezone),
        )
        metrics.exposed_slots_count.labels(variant="curated").observe(len(exposure.slots))
        return AvailableSlots(
            slots=exposure.slots,
            total=exposure.total,
            has_more=exposure.has_more,
            timezone=computed.timezone,
            display_timezone=computed.display_timezone,
        )
    metrics.exposed_slots_count.labels(variant="all").observe(len(free))
    return AvailableSlots(
        slots=free,
        total=len(free),
        has_more=False,
        timezone=computed.timezone,
        display_timezone=computed.display_timezone,
    )


# --- Answers from a cache read the caller made (the API's fast reads) -----------------


def availability_cache_keys(
    scope: AvailabilityScope, *, first: dt.date, last: dt.date, tz: str | None, tenant: Tenant
) -> list[str]:
    """The Redis keys whose values `availability_slots_cached` and
    `availability_dates_cached` answer from, for a caller that reads them in a round
    trip of its own (with its other reads)."""
    name, tokens = _entry_names(scope, first=first, last=last, tz=tz, tenant=tenant)
    return availability_cache.entry_keys(name, tokens)


def _cached_computation(
    raw: Sequence[bytes | None], *, first: dt.date, last: dt.date, now: dt.datetime, tenant: Tenant
) -> _Computed | None:
    if availability_cache.entry_seconds() <= 0:
        return None
    entry, _current = availability_cache.entry_decode(raw[0], raw[1:])
    cached = None if entry is None else _Computed.from_cache_value(entry)
    if cached is None or not _still_holds(cached, first, last, now=now, tenant=tenant):
        return None
    _cache_lookup_count("answer", hit=True)
    return cached


class CachedAnswer(NamedTuple):
    """An answer cut from a cached computation, and the first instant at which the clock
    alone may change it (`_unchanged_until`): until then, the same values of
    `availability_cache_keys` give the same answer."""

    answer: AvailableSlots | AvailableDates
    unchanged_until: dt.datetime


def availability_slots_cached(
    *,
    scope: AvailabilityScope,
    day: dt.date,
    raw: Sequence[bytes | None],
    now: dt.datetime,
    tenant: Tenant,
) -> CachedAnswer | None:
    """What `availability_slots_of` answers (all starts shown), from the values of
    `availability_cache_keys`; None when they do not hold an answer for `now`, or the
    business curates what it shows (the caller then asks `availability_slots_of`)."""
    if tenant.exposure_mode == Tenant.ExposureMode.CURATED:
        return None
    computed = _cached_computation(raw, first=day, last=day, now=now, tenant=tenant)
    if computed is None:
        return None
    answer = _slots_answer(
        computed,
        scope=scope,
        day=day,
        now=now,
        tenant=tenant,
        viewer_key="",
        exposure_variant=Tenant.ExposureMode.ALL,
    )
    return CachedAnswer(answer, _unchanged_until(computed, now=now, tenant=tenant))


def availability_dates_cached(
    *,
    scope: AvailabilityScope,
    start: dt.date,
    end: dt.date,
    raw: Sequence[bytes | None],
    now: dt.datetime,
    tenant: Tenant,
) -> CachedAnswer | None:
    """What `availability_dates_of` answers, from the values of `availability_cache_keys`;
    None when they do not hold an answer for `now` or the range is refused."""
    if end < start or (end - start).days >= MAX_DATES_SPAN_DAYS:
        return None
    computed = _cached_computation(raw, first=start, last=end, now=now, tenant=tenant)
    if computed is None:
        return None
    answer = _dates_answer(computed, scope=scope, start=start, end=end, now=now, tenant=tenant)
    return CachedAnswer(answer, _unchanged_until(computed, now=now, tenant=tenant))


def availability_tenant_inputs(tenant: Tenant) -> tuple[object, ...]:
    """The business's settings an answer cut by `availability_*_cached` depends on
    besides the cache values and the clock: a caller keeping answers keys them by these
    too (kept beside `_bookable` and `_slots_answer`, which read them)."""
    return (tenant.exposure_mode, tenant.min_notice_minutes, tenant.horizon_days)


def availability_answer_reused(answer: AvailableSlots | AvailableDates) -> None:
    """Counts an answer a caller kept from `availability_*_cached` and gives again (same
    values, before its `unchanged_until`) as the selectors count one they cut."""
    _cache_lookup_count("answer", hit=True)
    if isinstance(answer, AvailableSlots):
        metrics.exposed_slots_count.labels(variant="all").observe(len(answer.slots))


def _unchanged_until(computed: _Computed, *, now: dt.datetime, tenant: Tenant) -> dt.datetime:
    """The first instant after `now` at which the answer `_bookable` cuts from `computed`
    may change with the clock alone; earlier is always safe (it is cut again):

    - a hold the computation counted ends (`grid.valid_until`);
    - the next midnight of `now`'s own zone (UTC): the bookable days move
      (`_bookable_days`, and with them `_still_holds`);
    - the next local midnight of any zone in scope: a resource's horizon, or the
      display's day, moves;
    - the first start still after the minimum notice passes it."""
    limits = [dt.datetime.combine(now.date() + ONE_DAY, dt.time(), tzinfo=now.tzinfo)]
    grid = computed.grid
    if grid.valid_until is not None:
        limits.append(grid.valid_until)
    for tz_name in {*computed.zones.values(), computed.display_timezone}:
        tz = zone(tz_name)
        limits.append(local_day_start(local_date(now, tz) + ONE_DAY, tz))
    notice = dt.timedelta(
        minutes=computed.service_notice
        if computed.service_notice is not None
        else tenant.min_notice_minutes
    )
    position = bisect.bisect_left(grid.starts, _micros(now + notice))
    if position < len(grid.starts):
        limits.append(_instant(grid.starts[position]) - notice)
    return min(limits)


def availability_dates(
    *,
    service: Service,
    resource: Resource | None = None,
    location: Location | None = None,
    start: dt.date,
    end: dt.date,
    tz: str | None = None,
    now: dt.datetime | None = None,
) -> AvailableDates:
    """Free starts per calendar date start…end (inclusive) in `tz`; the same count as
    `availability_slots(...).total` for each date, zero included."""
    scope, resolve = _objects(service, resource, location)
    return availability_dates_of(scope=scope, resolve=resolve, start=start, end=end, tz=tz, now=now)


def availability_dates_of(
    *,
    scope: AvailabilityScope,
    resolve: Resolve,
    start: dt.date,
    end: dt.date,
    tz: str | None = None,
    now: dt.datetime | None = None,
) -> AvailableDates:
    """`availability_dates` for a query naming its objects by id (see
    `availability_slots_of`)."""
    problems: list[FieldError] = []
    if end < start:
        problems.append(
            FieldError("to", gettext("The last date must not be before the first date."))
        )
    elif (end - start).days >= MAX_DATES_SPAN_DAYS:
        problems.append(
            FieldError(
                "to",
                gettext("Ask for at most %(days)s days at a time.") % {"days": MAX_DATES_SPAN_DAYS},
            )
        )
    if problems:
        resolve()  # an unknown id is still a 404 first, as it always was
        raise ValidationFailed(gettext("Invalid date range."), problems)
    now = now or timezone.now()
    tenant = tenant_current()
    computed = _computed(
        scope=scope, resolve=resolve, tz=tz, first=start, last=end, now=now, tenant=tenant
    )
    return _dates_answer(computed, scope=scope, start=start, end=end, now=now, tenant=tenant)


def _dates_answer(
    computed: _Computed,
    *,
    scope: AvailabilityScope,
    start: dt.date,
    end: dt.date,
    now: dt.datetime,
    tenant: Tenant,
) -> AvailableDates:
    display = zone(computed.display_timezone)
    positions = _bookable(computed, first=start, last=end, now=now, tenant=tenant)
    counts: dict[dt.date, int] = defaultdict(int)
    if scope.resource_id is None:
        for candidate in _bookable_candidates(computed, positions, one_per_start=True):
            counts[local_date(candidate.start, display)] += 1
    elif positions:
        # Starts are sorted: count them between the local midnights of the days.
        starts = computed.grid.starts
        day = local_date(_instant(starts[positions[0]]), display)
        next_midnight = _micros(local_day_start(day + ONE_DAY, display))
        for position in positions:
            while starts[position] >= next_midnight:
                day += ONE_DAY
                next_midnight = _micros(local_day_start(day + ONE_DAY, display))
            counts[day] += 1
    days = [start + dt.timedelta(days=offset) for offset in range((end - start).days + 1)]
    return AvailableDates(
        dates=[DateAvailability(day, counts.get(day, 0)) for day in days],
        timezone=computed.timezone,
        display_timezone=computed.display_timezone,
    )


def slot_conflicts(
    *,
    resource: Resource | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> QuerySet[SlotInstance]:
    """Slots no rule allows any more that still carry bookings or holds (status
    `blocked`): the tenant moves or cancels those bookings, or restores the hours."""
    conflicts = SlotInstance.objects.filter(status=SlotInstance.Status.BLOCKED).select_related(
        "resource", "session_service"
    )
    if resource is not None:
        conflicts = conflicts.filter(resource=resource)
    if start is not None:
        conflicts = conflicts.filter(starts_at__gte=start)
    if end is not None:
        conflicts = conflicts.filter(starts_at__lt=end)
    return conflicts.order_by("starts_at", "resource_id")
