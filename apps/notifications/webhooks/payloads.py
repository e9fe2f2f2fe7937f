"""The JSON body of a webhook event (payload version 1).

    {"id": "<event id, UUIDv7>", "type": "booking.confirmed", "version": 1,
     "created_at": "2026-03-02T09:00:00.123456+00:00", "business": "acme",
     "data": {"booking": {...}, "previous": {...}}}

`data.booking` has the field names of GET /api/v1/admin/bookings/{id}, as the booking was
when the event happened (a later retry or replay sends the same snapshot). A rescheduled
event adds `data.previous` (the `start` and `end` it had); a cancelled one carries the
booking's `cancellation_reason`. A ping has `data.endpoint` instead. Fields may be added
within a version; renaming or removing one is a new version.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from apps.bookings.models import Booking

PAYLOAD_VERSION = 1


def _instant(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def booking_snapshot(booking: Booking) -> dict[str, Any]:
    customer = booking.customer
    return {
        "id": str(booking.pk),
        "status": booking.status,
        "hold_expires_at": _instant(booking.hold_expires_at),
        "start": _instant(booking.starts_at),
        "end": _instant(booking.ends_at),
        "resource": str(booking.resource_id),
        "service": str(booking.service_id),
        "timezone": booking.resource.location.timezone,
        "payment_status": booking.payment_status,
        "customer": {
            "id": str(customer.pk),
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
        },
        "source": booking.source,
        "notes": booking.notes,
        "answers": [answer.as_dict() for answer in booking.answers],
        "cancellation_reason": booking.cancellation_reason,
        "sequence": booking.sequence,
        "created_at": _instant(booking.created_at),
        "updated_at": _instant(booking.updated_at),
    }


def event_body(
    *, event_id: UUID, event_type: str, created_at: datetime, business: str, data: dict[str, Any]
) -> str:
    """The exact text sent (and signed): compact JSON, keys in a fixed order."""
    return json.dumps(
        {
            "id": str(event_id),
            "type": event_type,
            "version": PAYLOAD_VERSION,
            "created_at": created_at.isoformat(),
            "business": business,
            "data": data,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
