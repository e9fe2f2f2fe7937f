"""The materialized slot grid: rules turned into SlotInstance rows, as a diff.

`slots_materialize_dates` is the one entry point for a range of local dates: the booking
horizon bounds it unless the caller names a range beyond it on purpose (staff booking
further ahead, a recurring series); the hourly run, a rule change and the dashboard's
"rebuild this week" all go through it or through `resources_materialize`, its
from-now-to-the-horizon form.

`slots_materialize` turns rules into SlotInstance rows for a time range: it creates the
missing steps, removes free steps no rule allows any more, and marks `blocked` (never
deletes) steps no rule allows that still carry bookings or holds — the tenant resolves
those (see `availability.selectors.slot_conflicts`). Like every writer of a resource's
slots it first locks the Resource row, then the slot rows it changes in `starts_at`
order. `slots_prune` deletes slots long past.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Max, Value, When
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.due_work import work_due_note
from apps.accounts.selectors import tenant_current
from apps.calendars.availability import cache as availability_cache
from apps.calendars.errors import BeyondHorizon
from apps.calendars.models import AvailabilityRule, SlotInstance
from apps.calendars.rules.opening_hours import OpeningHours, RuleSpec
from apps.calendars.signals import slots_materialized
from apps.calendars.timezones import (
    local_date,
    local_day_start,
    zone,
)
from apps.core.ids import uuid7
from apps.core.task_queue import task_enqueue
from apps.core.tenancy import current_schema
from apps.resources.models import Location, Resource, Service

logger = logging.getLogger(__name__)

SLOT_INSERT_BATCH = 5000
SLOT_ID_BATCH = 5000

# --- Materialization ---------------------------------------------------------------


@dataclass
class MaterializationResult:
    created: int = 0
    kept: int = 0
    removed: int = 0
    blocked: int = 0

    def __add__(self, other: MaterializationResult) -> MaterializationResult:
        return MaterializationResult(
            created=self.created + other.created,
            kept=self.kept + other.kept,
            removed=self.removed + other.removed,
            blocked=self.blocked + other.blocked,
        )

    @property
    def changed(self) -> bool:
        return bool(self.created or self.removed or self.blocked)

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "kept": self.kept,
            "removed": self.removed,
            "blocked": self.blocked,
        }


def slots_materialize_enqueue(*, resource_ids: Iterable[UUID | str]) -> None:
    """After the surrounding transaction commits, rebuild these resources' grids in a
    task (in this tenant's schema, captured now: the commit may happen elsewhere)."""
    ids = sorted({str(resource_id) for resource_id in resource_ids})
    if not ids:
        return
    schema = current_schema()

    def send() -> None:
        try:
            with schema_context(schema):
                task_enqueue("calendars.materialize_resource", resource_ids=ids)
        except Exception:
            # The change has committed; never fail its response. The broker is out of
            # reach (or the task unknown): the business's upkeep, due now, rebuilds
            # every grid at beat's next tick that reaches a broker.
            logger.exception(
                "slots.materialize_enqueue_failed", extra={"resources": len(ids), "schema": schema}
            )
            with contextlib.suppress(Exception):  # the database is out of reach as well
                work_due_note(kind=MATERIALIZE_WORK, due=timezone.now(), schema=schema)

    transaction.on_commit(send)


def materialization_horizon_days() -> int:
    """How far ahead grids reach: the tenant's horizon, or a longer one a service asks."""
    tenant_days = tenant_current().horizon_days
    longest = Service.objects.filter(is_active=True).aggregate(days=Max("horizon_days"))["days"]
    return max(tenant_days, longest or 0)


def materialization_range(
    *, tz_name: str, days: int, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """From now to the end of the location's local day `days` after today."""
    last = horizon_last_date(tz_name=tz_name, days=days, now=now)
    return now, local_day_start(last + dt.timedelta(days=1), zone(tz_name))


def horizon_last_date(*, tz_name: str, days: int, now: dt.datetime) -> dt.date:
    """The last local date of the booking horizon in zone `tz_name`."""
    return local_date(now, zone(tz_name)) + dt.timedelta(days=days)


def _rule_specs_for(
    resources: Sequence[Resource],
) -> tuple[dict[UUID, list[RuleSpec]], dict[UUID, list[RuleSpec]]]:
    resource_ids = [resource.pk for resource in resources]
    location_ids = {resource.location_id for resource in resources}
    by_resource: dict[UUID, list[RuleSpec]] = defaultdict(list)
    by_location: dict[UUID, list[RuleSpec]] = defaultdict(list)
    rules = AvailabilityRule.objects.filter(resource_id__in=resource_ids) | (
        AvailabilityRule.objects.filter(location_id__in=location_ids)
    )
    for rule in rules:
        if rule.resource_id is not None:
            by_resource[rule.resource_id].append(RuleSpec.of(rule))
        elif rule.location_id is not None:
            by_location[rule.location_id].append(RuleSpec.of(rule))
    return by_resource, by_location


def slots_materialize(
    *, resource: Resource, start: dt.datetime, end: dt.datetime
) -> MaterializationResult:
    """Make `resource`'s slots starting in [start, end) match its rules (idempotent)."""
    by_resource, by_location = _rule_specs_for([resource])
    hours = OpeningHours(
        own=by_resource.get(resource.pk, []), location=by_location.get(resource.location_id, [])
    )
    tz_name = Location.objects.values_list("timezone", flat=True).get(pk=resource.location_id)
    steps = _allowed_steps(hours=hours, tz_name=tz_name, start=start, end=end)
    return _slots_apply(resource_id=resource.pk, steps=steps, start=start, end=end)


# Materialization compares and writes instants as Unix seconds: loading and dumping
# datetimes through the driver costs more than everything else it does.
_Step = tuple[int, int, int | None]  # (starts_at, ends_at, capacity)


def _allowed_steps(
    *, hours: OpeningHours, tz_name: str, start: dt.datetime, end: dt.datetime
) -> list[_Step]:
    tz = zone(tz_name)
    first_day = local_date(start, tz) - dt.timedelta(days=1)
    last_day = local_date(end, tz)
    return [
        (int(slot_start.timestamp()), int(slot_end.timestamp()), capacity)
        for slot_start, slot_end, capacity in hours.allowed_slots(
            tz_name=tz_name, first_day=first_day, last_day=last_day
        )
        if start <= slot_start < end
    ]


def _overlaps_any(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    return any(start < taken_end and taken_start < end for taken_start, taken_end in taken)


@transaction.atomic
def _slots_apply(
    *, resource_id: UUID, steps: list[_Step], start: dt.datetime, end: dt.datetime
) -> MaterializationResult:
    # Lock order shared with the booking core: the Resource row first …
    if not Resource.objects.select_for_update().filter(pk=resource_id).exists():
        return MaterializationResult()
    availability_cache.slots_changed(resource_ids=[resource_id])
    result = MaterializationResult()
    wanted = {step_start: (step_end, capacity) for step_start, step_end, capacity in steps}
    table = connection.ops.quote_name(SlotInstance._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT id, extract(epoch FROM starts_at)::bigint, extract(epoch FROM ends_at)::bigint,
                   capacity, status, booked, held
            FROM {table}
            WHERE resource_id = %s AND starts_at >= %s AND starts_at < %s
            """,  # noqa: S608 — the table name is ours; every value is a parameter
            [resource_id, start, end],
        )
        existing = cursor.fetchall()

    to_delete: list[UUID] = []
    to_block: list[UUID] = []
    to_unblock: list[UUID] = []
    new_capacity: dict[int | None, list[UUID]] = defaultdict(list)
    present: set[int] = set()
    occupied_elsewhere: list[tuple[int, int]] = []
    for slot_id, slot_start, slot_end, capacity, status, booked, held in existing:
        want = wanted.get(slot_start)
        if want is not None and want[0] == slot_end:
            result.kept += 1
            present.add(slot_start)
            if capacity != want[1]:
                new_capacity[want[1]].append(slot_id)
            if status == SlotInstance.Status.BLOCKED:
                to_unblock.append(slot_id)
        elif booked or held:
            # No rule allows it, but people are on it: keep it for the tenant to resolve.
            result.blocked += 1
            present.add(slot_start)
            occupied_elsewhere.append((slot_start, slot_end))
            if status != SlotInstance.Status.BLOCKED:
                to_block.append(slot_id)
        else:
            to_delete.append(slot_id)

    # … then the slot rows it changes, in starts_at order.
    changing = [
        *to_delete,
        *to_block,
        *to_unblock,
        *(i for ids in new_capacity.values() for i in ids),
    ]
    for batch in _batches(changing, SLOT_ID_BATCH):
        list(
            SlotInstance.objects.filter(id__in=batch)
            .order_by("starts_at")
            .select_for_update()
            .values_list("id", flat=True)
        )

    now = timezone.now()
    with connection.cursor() as cursor:
        for batch in _batches(to_delete, SLOT_ID_BATCH):
            # Only free rows die, whatever happened since they were read.
            cursor.execute(
                f"DELETE FROM {table} WHERE id = ANY(%s) AND booked = 0 AND held = 0",  # noqa: S608
                [batch],
            )
            result.removed += cursor.rowcount
    for batch in _batches(to_block, SLOT_ID_BATCH):
        SlotInstance.objects.filter(id__in=batch).update(
            status=SlotInstance.Status.BLOCKED, updated_at=now
        )
    for batch in _batches(to_unblock, SLOT_ID_BATCH):
        SlotInstance.objects.filter(id__in=batch).update(
            status=_status_from_counters(), updated_at=now
        )
    for capacity, ids in new_capacity.items():
        for batch in _batches(ids, SLOT_ID_BATCH):
            SlotInstance.objects.filter(id__in=batch).update(capacity=capacity, updated_at=now)

    missing = [
        step
        for step in steps
        if step[0] not in present
        and not (occupied_elsewhere and _overlaps_any(step[0], step[1], occupied_elsewhere))
    ]
    result.created = _slots_insert(resource_id=resource_id, steps=missing, now=now)
    return result


def _slots_insert(*, resource_id: UUID, steps: list[_Step], now: dt.datetime) -> int:
    """One INSERT … SELECT over arrays per batch: an order of magnitude faster than
    `bulk_create`, which compiles every value of every row in Python."""
    table = connection.ops.quote_name(SlotInstance._meta.db_table)
    sql = f"""
        INSERT INTO {table}
            (id, resource_id, starts_at, ends_at, capacity, booked, held, status,
             created_at, updated_at)
        SELECT new.id, %s, to_timestamp(new.starts_at), to_timestamp(new.ends_at),
               new.capacity, 0, 0, %s, %s, %s
        FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::smallint[])
            AS new(id, starts_at, ends_at, capacity)
    """  # noqa: S608 — the table name is ours; every value is a parameter
    inserted = 0
    with connection.cursor() as cursor:
        for offset in range(0, len(steps), SLOT_INSERT_BATCH):
            batch = steps[offset : offset + SLOT_INSERT_BATCH]
            cursor.execute(
                sql,
                [
                    resource_id,
                    SlotInstance.Status.OPEN.value,
                    now,
                    now,
                    [uuid7() for _ in batch],
                    [step[0] for step in batch],
                    [step[1] for step in batch],
                    [step[2] for step in batch],
                ],
            )
            inserted += cursor.rowcount
    return inserted


def _status_from_counters() -> Case:
    return Case(
        When(booked=0, held=0, then=Value(SlotInstance.Status.OPEN)),
        When(
            session_capacity__isnull=False,
            session_capacity__lte=F("booked") + F("held"),
            then=Value(SlotInstance.Status.FULL),
        ),
        default=Value(SlotInstance.Status.PARTIAL),
    )


def _batches(items: list[UUID], size: int) -> Iterable[list[UUID]]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


def resources_materialize(
    *,
    resources: Sequence[Resource] | None = None,
    resource_ids: Iterable[UUID] | None = None,
    days: int | None = None,
    now: dt.datetime | None = None,
    on_resource_done: Callable[[Resource, MaterializationResult], None] | None = None,
) -> MaterializationResult:
    """Materialize from now to the horizon for the given resources (or ids); inactive
    ones are skipped. Rules are read once; resources sharing their location's rules
    share the computed grid."""
    now = now or timezone.now()
    if resources is None:
        resources = list(
            Resource.objects.filter(pk__in=list(resource_ids or ()), is_active=True)
            .select_related("location")
            .order_by("pk")
        )
    else:
        resources = [resource for resource in resources if resource.is_active]
    if not resources:
        return MaterializationResult()
    days = days if days is not None else materialization_horizon_days()
    by_resource, by_location = _rule_specs_for(resources)
    shared: dict[tuple[UUID, str], list[_Step]] = {}
    total = MaterializationResult()
    for resource in resources:
        tz_name = resource.location.timezone
        start, end = materialization_range(tz_name=tz_name, days=days, now=now)
        own = by_resource.get(resource.pk, [])
        hours = OpeningHours(own=own, location=by_location.get(resource.location_id, []))
        if own:
            steps = _allowed_steps(hours=hours, tz_name=tz_name, start=start, end=end)
        else:
            key = (resource.location_id, tz_name)
            if key not in shared:
                shared[key] = _allowed_steps(hours=hours, tz_name=tz_name, start=start, end=end)
            steps = shared[key]
        result = _slots_apply(resource_id=resource.pk, steps=steps, start=start, end=end)
        total += result
        if on_resource_done is not None:
            on_resource_done(resource, result)
    logger.info(
        "slots.materialized",
        extra={"resources": len(resources)}
        | {f"slots_{name}": count for name, count in total.as_dict().items()},
    )
    _announce(resources, total)
    return total


def _announce(resources: Sequence[Resource], result: MaterializationResult) -> None:
    if result.changed:
        slots_materialized.send(
            sender=SlotInstance, resource_ids=[resource.pk for resource in resources]
        )


def tenant_materialize(
    *,
    days: int | None = None,
    now: dt.datetime | None = None,
    on_resource_done: Callable[[Resource, MaterializationResult], None] | None = None,
) -> MaterializationResult:
    """Every active resource of the current tenant, from now to the horizon."""
    resources = list(
        Resource.objects.filter(is_active=True).select_related("location").order_by("pk")
    )
    return resources_materialize(
        resources=resources, days=days, now=now, on_resource_done=on_resource_done
    )


# The kind of due work (apps/accounts/due_work.py) the daily grid upkeep is: extending
# every grid as the horizon moves, healing drift and pruning old slots.
MATERIALIZE_WORK = "materialize"
# Businesses are spread over this long after a local midnight, each at its own fixed
# offset, so that the businesses of one zone do not all fall due at the same instant.
UPKEEP_SPREAD_SECONDS = 30 * 60


def upkeep_offset(schema: str) -> dt.timedelta:
    """How long after a local midnight a business's upkeep is due: one minute, plus its
    fixed place in the spread."""
    spread = zlib.crc32(schema.encode()) % UPKEEP_SPREAD_SECONDS
    return dt.timedelta(minutes=1, seconds=spread)


def tenant_materialize_next_due(
    *, now: dt.datetime | None = None, schema: str | None = None
) -> dt.datetime:
    """When the current tenant's grids next need extending: just after the next local
    midnight of any location with an active resource (each grid reaches a number of
    local dates ahead, so it falls a day short then), or a day from now without any;
    plus the business's offset (`upkeep_offset`)."""
    now = now or timezone.now()
    zones = set(
        Resource.objects.filter(is_active=True).values_list("location__timezone", flat=True)
    )
    midnights = [
        local_day_start(local_date(now, zone(name)) + dt.timedelta(days=1), zone(name))
        for name in zones
    ]
    offset = upkeep_offset(schema or current_schema())
    return min(midnights, default=now + dt.timedelta(days=1)) + offset


PRUNE_BATCH = 5000


def slots_prune(*, now: dt.datetime | None = None, batch: int = PRUNE_BATCH) -> int:
    """Deletes the current tenant's slots that ended more than SLOT_RETENTION_DAYS ago,
    in batches (each its own short transaction, so live booking locks wait for a few
    milliseconds at most). Nothing reads them: availability starts at now, bookings carry
    their own start and end, and materialization only ever writes from now on."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.SLOT_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                SlotInstance.objects.filter(ends_at__lt=cutoff)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            # Holds go with their slot (CASCADE); by now any on such an old slot elapsed.
            SlotInstance.objects.filter(pk__in=ids).delete()
            deleted += len(ids)
    if deleted:
        logger.info("slots.pruned", extra={"slots": deleted, "before": cutoff.isoformat()})
    return deleted


# What to do with the part of a range beyond the booking horizon.
BeyondHorizonPolicy = Literal["refuse", "clip", "build"]


def slots_materialize_dates(
    *,
    resources: Iterable[Resource],
    first: dt.date,
    last: dt.date,
    beyond_horizon: BeyondHorizonPolicy = "refuse",
    now: dt.datetime | None = None,
) -> MaterializationResult:
    """The one entry point for a range of local dates: brings each active resource's grid
    over its location's dates first…last (never before now) in line with its rules.

    The booking horizon (the tenant's, or a longer one a service asks) bounds the range:
    by default a range ending after the last date of any location's horizon (each in its
    own zone) is refused with `BeyondHorizon`, which names that date, before anything is
    built; "clip" builds up to it; "build" is for callers that need days beyond it on
    purpose (staff booking further ahead, a series).
    """
    now = now or timezone.now()
    horizon_days = materialization_horizon_days()
    resources = [resource for resource in resources if resource.is_active]
    if beyond_horizon == "refuse":
        zones = {resource.location.timezone for resource in resources}
        limit = min(
            (horizon_last_date(tz_name=name, days=horizon_days, now=now) for name in zones),
            default=last,
        )
        if last > limit:
            raise BeyondHorizon.at(field="to", limit=limit, days=horizon_days)
    total = MaterializationResult()
    for resource in resources:
        tz_name = resource.location.timezone
        tz = zone(tz_name)
        start = max(local_day_start(first, tz), now)
        end = local_day_start(last + dt.timedelta(days=1), tz)
        if beyond_horizon != "build":
            # Each location's horizon ends at its own local midnight.
            _, horizon_end = materialization_range(tz_name=tz_name, days=horizon_days, now=now)
            end = min(end, horizon_end)
        if start < end:
            total += slots_materialize(resource=resource, start=start, end=end)
    _announce(resources, total)
    return total


def slots_week_materialize(
    *, resources: Iterable[Resource], day: dt.date, now: dt.datetime | None = None
) -> MaterializationResult:
    """Brings the local week holding `day` of each active resource in line with its rules
    now, so whoever just changed the hours sees the resulting slots at once. A rule change
    also enqueues a rebuild of the whole horizon; both are idempotent, so whichever runs
    second changes nothing. Like the periodic rebuild, it never touches the past or
    reaches beyond the booking horizon."""
    monday = day - dt.timedelta(days=day.weekday())
    return slots_materialize_dates(
        resources=resources,
        first=monday,
        last=monday + dt.timedelta(days=6),
        beyond_horizon="clip",
        now=now,
    )
