"""Booking tokens: what a customer without an account holds after a hold through the API.

A token is `django.core.signing` of the booking id and the tenant's schema. It lets its
holder read, confirm, cancel and reschedule that one booking on that one business's
domain; it cannot be forged without SECRET_KEY, and it is not valid for any other
booking or business. It does not expire: a customer may cancel weeks later.
"""

from __future__ import annotations

import uuid

from django.core import signing

from apps.core.schemas import current_schema

SALT = "timenest.api.booking-token"
HEADER = "X-Booking-Token"
MAX_LENGTH = 512


def booking_token_make(*, booking_id: uuid.UUID) -> str:
    return signing.dumps({"b": str(booking_id), "s": current_schema()}, salt=SALT, compress=False)


def booking_token_read(token: str) -> uuid.UUID | None:
    """The booking id the token was made for on this tenant, or None when the token is
    malformed, forged, or made on another tenant."""
    if not token or len(token) > MAX_LENGTH:
        return None
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("s") != current_schema():
        return None
    try:
        return uuid.UUID(str(data.get("b")))
    except ValueError:
        return None
