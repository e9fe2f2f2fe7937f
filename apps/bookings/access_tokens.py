"""Customer access tokens: what a customer without an account holds for one booking.

One scheme for every place a customer comes back with: the hold, booked and manage pages
(`/manage/<token>/`, in every email) and the API's `X-Booking-Token` header. A token is
`django.core.signing` of the booking id and the tenant's schema: its holder may read,
confirm, cancel and reschedule that one booking on that one business's domain; it cannot
be forged without SECRET_KEY and is no key to any other booking or business. It does
not expire: a customer may cancel weeks later.

Tokens made before the schemes merged keep working where they worked, until they expire:
the pages' old token (the booking id alone, salt "booking-manage") on the pages, the
API's old token (the same shape as now, its own salt) in the API. Each is read for
LEGACY_TOKEN_MAX_AGE after it was made: longer than the furthest horizon a service may
have plus a year of rescheduling, so the bookings they name have ended by then.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Literal

from django.core import signing

from apps.core.tenancy import current_schema

SALT = "timenest.booking-access"
HEADER = "X-Booking-Token"
MAX_LENGTH = 512

LEGACY_PAGE_SALT = "booking-manage"
LEGACY_API_SALT = "timenest.api.booking-token"
LEGACY_TOKEN_MAX_AGE = timedelta(days=730 + 365)

# Where a token is presented: the old forms are read only where they were handed out.
Surface = Literal["pages", "api"]


def booking_access_token(*, booking_id: uuid.UUID | str, schema: str | None = None) -> str:
    """The token for one booking of the business whose schema is `schema` (by default the
    one the connection is on)."""
    return signing.dumps(
        {"b": str(booking_id), "s": schema or current_schema()}, salt=SALT, compress=False
    )


def booking_access_read(token: str, *, surface: Surface) -> uuid.UUID | None:
    """The booking id the token was made for on this tenant, or None when the token is
    malformed, forged, made on another tenant, or an old form past its time or shown
    where it was never valid."""
    if not token or len(token) > MAX_LENGTH:
        return None
    data = _loads(token, salt=SALT)
    if data is None and surface == "api":
        data = _loads(token, salt=LEGACY_API_SALT, max_age=LEGACY_TOKEN_MAX_AGE)
    if data is None and surface == "pages":
        legacy_id = _loads(token, salt=LEGACY_PAGE_SALT, max_age=LEGACY_TOKEN_MAX_AGE)
        # The old page token named no business; its booking id is looked up in this
        # tenant's schema only, so it opens nothing elsewhere.
        data = {"b": legacy_id, "s": current_schema()} if isinstance(legacy_id, str) else None
    if not isinstance(data, dict) or data.get("s") != current_schema():
        return None
    try:
        return uuid.UUID(str(data.get("b")))
    except ValueError:
        return None


def _loads(token: str, *, salt: str, max_age: timedelta | None = None) -> object | None:
    try:
        return signing.loads(token, salt=salt, max_age=max_age)
    except (signing.BadSignature, ValueError, TypeError):
        return None
