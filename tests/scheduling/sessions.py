"""Put bookings on slots the way the booking core does (slot contract in the brief):
session fields and counters on every covered slot, one SlotHold row per held place."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from apps.calendars.models import SlotHold, SlotInstance
from apps.resources.models import Resource, Service


def session_occupy(
    *,
    resource: Resource,
    service: Service,
    start: dt.datetime,
    booked: int = 1,
    holds: Sequence[dt.datetime] = (),
) -> list[SlotInstance]:
    """`booked` confirmed places and one held place per expiry in `holds`."""
    end = start + dt.timedelta(minutes=service.duration_minutes)
    covered = list(
        SlotInstance.objects.filter(resource=resource, starts_at__lt=end, ends_at__gt=start)
        .order_by("starts_at")
        .select_for_update()
    )
    assert covered, f"no slot covers {start.isoformat()}"
    assert covered[0].starts_at == start, "a session starts at a slot start"
    caps = [slot.capacity for slot in covered if slot.capacity is not None]
    session_capacity = min([service.capacity, *caps])
    taken = booked + len(holds)
    status = SlotInstance.Status.FULL if taken >= session_capacity else SlotInstance.Status.PARTIAL
    SlotInstance.objects.filter(pk__in=[slot.pk for slot in covered]).update(
        session_service=service,
        session_starts_at=start,
        session_ends_at=end,
        session_capacity=session_capacity,
        busy_from=start - dt.timedelta(minutes=service.buffer_before_minutes),
        busy_until=end + dt.timedelta(minutes=service.buffer_after_minutes),
        booked=booked,
        held=len(holds),
        status=status,
    )
    for expires_at in holds:
        booking_id = uuid.uuid4()
        SlotHold.objects.bulk_create(
            [SlotHold(slot=slot, booking_id=booking_id, expires_at=expires_at) for slot in covered]
        )
    return list(SlotInstance.objects.filter(pk__in=[slot.pk for slot in covered]))
