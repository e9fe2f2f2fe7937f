"""The write side of the slot contract (PRODUCT.md §3): locks, and the counters and
session fields of the slots a booking covers.

Every function here expects to run inside the caller's transaction with the resource row
already locked (`resources_lock`): writers of one resource's slots serialize on that
row, then lock the slot rows they touch in `starts_at` order. The CHECK constraints on
`SlotInstance` stay the last word: whatever this module computes, PostgreSQL refuses
`booked + held > session_capacity`.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.bookings.errors import SlotFull, SlotNotFound
from apps.calendars.availability.cache import slots_changed
from apps.calendars.models import SlotHold, SlotInstance
from apps.core import raw_rows
from apps.resources.models import Resource, Service

Interval = tuple[datetime, datetime]
ONE_DAY = timedelta(days=1)


def resources_lock(
    *, resource_ids: Iterable[uuid.UUID], annotate: Mapping[str, Any] | None = None
) -> dict[uuid.UUID, Resource]:
    """Locks resource rows in primary-key order (the first lock of every writer).
    `annotate`: expressions read with the lock, in the same statement (a hold asks
    whether the resource offers the service and has elapsed holds nearby)."""
    ids = sorted(set(resource_ids))
    rows = (
        Resource.objects.select_for_update(of=("self",))
        .select_related("location")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    if annotate:
        rows = rows.annotate(**annotate)
    return {row.pk: row for row in rows}


def slots_lock(
    *,
    resource_id: uuid.UUID,
    intervals: Sequence[Interval],
    busy_near: tuple[Service, datetime, datetime] | None = None,
) -> list[SlotInstance]:
    """Locks (in `starts_at` order) every slot of the resource overlapping any interval.
    Every writer of slot rows or their holds comes through here, so this is also where
    cached availability answers of the resource stop counting.

    `busy_near` (service, start, end): each row also says, in `busy_nearby`, whether a
    live session nearby overlaps that session's buffered interval (what `session_join`
    asks before opening a session), in the same statement. As fresh as a statement of
    its own: the caller holds the resource's lock, which every writer that opens a
    session takes first."""
    slots_changed(resource_ids=[resource_id])
    # Hand-written: compiling the ORM's version cost more than running it (a hold's
    # hottest statement). The same rows, order and locks.
    slots = raw_rows.table(SlotInstance)
    params: list[Any] = []
    busy = ""
    if busy_near is not None:
        service, starts_at, ends_at = busy_near
        busy_from, busy_until = _busy_interval(service, starts_at, ends_at)
        # _sessions_overlapping, as a column of each row.
        busy = (
            f", EXISTS (SELECT 1 FROM {slots} o WHERE o.resource_id = %s"  # noqa: S608
            " AND o.starts_at > %s AND o.starts_at < %s AND o.session_starts_at IS NOT NULL"
            " AND o.busy_from < %s AND o.busy_until > %s) AS busy_nearby"
        )
        params += [resource_id, busy_from - ONE_DAY, busy_until + ONE_DAY, busy_until, busy_from]
    overlapping = " OR ".join("(s.starts_at < %s AND s.ends_at > %s)" for _ in intervals)
    params.append(resource_id)
    for starts_at, ends_at in intervals:
        params += [ends_at, starts_at]
    sql = (
        f"SELECT {raw_rows.columns(SlotInstance, 's')}{busy} FROM {slots} s"  # noqa: S608
        f" WHERE s.resource_id = %s AND ({overlapping or 'TRUE'})"
        " ORDER BY s.starts_at FOR UPDATE OF s"
    )
    return list(SlotInstance.objects.raw(sql, params))


def _busy_interval(
    service: Service, starts_at: datetime, ends_at: datetime
) -> tuple[datetime, datetime]:
    return (
        starts_at - timedelta(minutes=service.buffer_before_minutes),
        ends_at + timedelta(minutes=service.buffer_after_minutes),
    )


def _sessions_overlapping(
    *, resource_id: uuid.UUID, busy_from: datetime, busy_until: datetime
) -> QuerySet[SlotInstance]:
    """Live sessions of the resource whose buffered interval overlaps (touching is
    fine). A session starting after our end can still reach back into us with its
    buffer before; a session and its buffers fit in one day (service_fits_in_a_day),
    which bounds the slots to look at."""
    return SlotInstance.objects.filter(
        resource_id=resource_id,
        starts_at__gt=busy_from - ONE_DAY,
        starts_at__lt=busy_until + ONE_DAY,
        session_starts_at__isnull=False,
        busy_from__lt=busy_until,
        busy_until__gt=busy_from,
    )


def slots_covering(
    slots: Sequence[SlotInstance], *, starts_at: datetime, ends_at: datetime
) -> list[SlotInstance]:
    return [slot for slot in slots if slot.starts_at < ends_at and slot.ends_at > starts_at]


def _status(slot: SlotInstance) -> str:
    if slot.status == SlotInstance.Status.BLOCKED:
        return SlotInstance.Status.BLOCKED
    taken = slot.booked + slot.held
    if taken == 0:
        return SlotInstance.Status.OPEN
    if slot.session_capacity is not None and taken >= slot.session_capacity:
        return SlotInstance.Status.FULL
    return SlotInstance.Status.PARTIAL


def _session_clear(slot: SlotInstance) -> None:
    slot.session_service = None
    slot.session_starts_at = None
    slot.session_ends_at = None
    slot.session_capacity = None
    slot.busy_from = None
    slot.busy_until = None


def _save(slots: Sequence[SlotInstance], *, hold: tuple[uuid.UUID, datetime] | None = None) -> None:
    """Writes the counters and session fields of the (locked) slots in one UPDATE over
    arrays: `bulk_update` builds a CASE per field and per row, and compiling it cost
    more than the rest of a hold's slot work. `hold` (booking id, expiry): the SlotHold
    row of each slot is inserted by the same statement."""
    now = timezone.now()
    for slot in slots:
        slot.status = _status(slot)
        slot.updated_at = now
    table = connection.ops.quote_name(SlotInstance._meta.db_table)
    with connection.cursor() as cursor:
        update = f"""UPDATE {table} AS s
            SET booked = v.booked, held = v.held, status = v.status,
                session_service_id = v.session_service_id,
                session_starts_at = v.session_starts_at, session_ends_at = v.session_ends_at,
                session_capacity = v.session_capacity,
                busy_from = v.busy_from, busy_until = v.busy_until, updated_at = %s
            FROM unnest(
                %s::uuid[], %s::integer[], %s::integer[], %s::text[], %s::uuid[],
                %s::timestamptz[], %s::timestamptz[], %s::integer[], %s::timestamptz[],
                %s::timestamptz[]
            ) AS v(id, booked, held, status, session_service_id, session_starts_at,
                   session_ends_at, session_capacity, busy_from, busy_until)
            WHERE s.id = v.id"""  # noqa: S608 - the table name is ours; values are parameters
        params: list[Any] = [
            now,
            [slot.pk for slot in slots],
            [slot.booked for slot in slots],
            [slot.held for slot in slots],
            [str(slot.status) for slot in slots],
            [slot.session_service_id for slot in slots],
            [slot.session_starts_at for slot in slots],
            [slot.session_ends_at for slot in slots],
            [slot.session_capacity for slot in slots],
            [slot.busy_from for slot in slots],
            [slot.busy_until for slot in slots],
        ]
        if hold is None:
            cursor.execute(update, params)
            updated = held = cursor.rowcount
        else:
            holds = connection.ops.quote_name(SlotHold._meta.db_table)
            cursor.execute(
                f"""WITH updated AS ({update} RETURNING s.id),
                held AS (
                    INSERT INTO {holds} (slot_id, booking_id, expires_at)
                    SELECT id, %s, %s FROM updated RETURNING id
                )
                SELECT (SELECT count(*) FROM updated), (SELECT count(*) FROM held)""",  # noqa: S608
                [*params, *hold],
            )
            updated, held = cursor.fetchone()
        if updated != len(slots) or held != len(slots):
            raise RuntimeError("A locked slot row was not updated.")


def _require_grid(
    covered: Sequence[SlotInstance], *, starts_at: datetime, ends_at: datetime
) -> None:
    """The candidate starts on a slot and every instant of it lies on an existing,
    bookable slot (no gaps, nothing blocked)."""
    if not covered or covered[0].starts_at != starts_at or covered[-1].ends_at < ends_at:
        raise SlotNotFound()
    for previous, following in itertools.pairwise(covered):
        if following.starts_at != previous.ends_at:
            raise SlotNotFound()
    if any(slot.status == SlotInstance.Status.BLOCKED for slot in covered):
        raise SlotNotFound(_("That time is no longer offered."))


def session_join(
    *,
    covered: Sequence[SlotInstance],
    service: Service,
    starts_at: datetime,
    ends_at: datetime,
    booking_id: uuid.UUID,
    hold_expires_at: datetime | None,
) -> int:
    """Takes one place in the session (service, starts_at, ends_at) on the locked slots
    it covers, opening the session if the slots are free. A hold (`hold_expires_at`
    set) counts in `held` and gets one SlotHold row per slot; otherwise in `booked`.
    Returns the session's capacity. Raises SlotNotFound / SlotFull.

    Expired holds must have been released before (they would count here)."""
    _require_grid(covered, starts_at=starts_at, ends_at=ends_at)
    sessions = {
        (slot.session_service_id, slot.session_starts_at, slot.session_ends_at) for slot in covered
    }
    if sessions == {(None, None, None)}:
        busy_from, busy_until = _busy_interval(service, starts_at, ends_at)
        # A live session nearby whose buffered interval overlaps ours: read with the
        # slots' lock when they were locked with `busy_near`, else here.
        read_with_lock = [getattr(slot, "busy_nearby", None) for slot in covered]
        if None in read_with_lock:
            busy_nearby = _sessions_overlapping(
                resource_id=covered[0].resource_id, busy_from=busy_from, busy_until=busy_until
            ).exists()
        else:
            busy_nearby = any(read_with_lock)
        if busy_nearby:
            raise SlotFull()
        capacity = min(
            [service.capacity, *(slot.capacity for slot in covered if slot.capacity is not None)]
        )
        if capacity < 1:
            raise SlotFull()
        for slot in covered:
            slot.session_service = service
            slot.session_starts_at = starts_at
            slot.session_ends_at = ends_at
            slot.session_capacity = capacity
            slot.busy_from = busy_from
            slot.busy_until = busy_until
    elif sessions == {(service.pk, starts_at, ends_at)}:
        if any(slot.booked + slot.held >= (slot.session_capacity or 0) for slot in covered):
            raise SlotFull()
        capacity = covered[0].session_capacity or 0
    else:
        raise SlotFull()

    for slot in covered:
        if hold_expires_at is None:
            slot.booked += 1
        else:
            slot.held += 1
    _save(covered, hold=None if hold_expires_at is None else (booking_id, hold_expires_at))
    return capacity


def session_leave(
    *, covered: Sequence[SlotInstance], booking_id: uuid.UUID, was_held: bool
) -> None:
    """Gives one place back; the session fields clear when nobody is left in it."""
    for slot in covered:
        if was_held:
            slot.held -= 1
        else:
            slot.booked -= 1
        if slot.booked + slot.held == 0:
            _session_clear(slot)
    if covered:
        _save(covered)
    if was_held:
        SlotHold.objects.filter(booking_id=booking_id).delete()


def session_hold_to_booked(*, covered: Sequence[SlotInstance], booking_id: uuid.UUID) -> None:
    """A held place becomes a booked one (confirmation): totals, and so status, stay."""
    for slot in covered:
        slot.held -= 1
        slot.booked += 1
    if covered:
        _save(covered)
    SlotHold.objects.filter(booking_id=booking_id).delete()


def session_hold_extend(
    *, covered: Sequence[SlotInstance], booking_id: uuid.UUID, until: datetime
) -> None:
    """A held place is kept longer (a checkout was opened for it): its hold rows move."""
    SlotHold.objects.filter(slot__in=covered, booking_id=booking_id).update(expires_at=until)
