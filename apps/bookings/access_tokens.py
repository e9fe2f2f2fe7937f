"""Customer access tokens: what a customer without an account holds for one booking.

One scheme for every place a customer comes back with: the hold, booked and manage pages
(`/manage/<token>/`, in every email) and the API's `X-Booking-Token` header. A token is
`django.core.signing` of the booking id, the tenant's schema and an expiry: its holder
may read, confirm, cancel and reschedule that one booking on that one business's domain
until then. It cannot be forged or altered without SECRET_KEY (the signature covers all
three) and is no key to any other booking or business.

Expiry: the booking's end plus BOOKING_LINK_GRACE_DAYS (30 days by default: long enough
to look a past visit up, fetch its .ics or follow a refund, short enough that a link in
an old mailbox or a log stops opening it). A booking moved later since the token was
made keeps its links working until its new end plus the grace (the booking's own end is
asked once the token's has passed). Reading a genuine token of this business after that
raises BookingLinkExpired, so the pages can say the link expired instead of "not found".

Tokens made before tokens carried an expiry are honoured on the same terms: until their
booking's end plus the grace, the booking looked up in this business's schema only.
They are the merged scheme without `e`, and the forms made before the schemes merged:
the pages' old token (the booking id alone, salt "booking-manage"; it names no business,
and its id names no booking in another's schema) on the pages, and the API's old token
(the same shape as now, its own salt) in the API, each also for at most
LEGACY_TOKEN_MAX_AGE after it was made.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

from django.conf import settings
from django.core import signing
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.bookings.errors import BookingLinkExpired
from apps.bookings.models import Booking
from apps.core.tenancy import current_schema

SALT = "timenest.booking-access"
HEADER = "X-Booking-Token"
MAX_LENGTH = 512

LEGACY_PAGE_SALT = "booking-manage"
LEGACY_API_SALT = "timenest.api.booking-token"
LEGACY_TOKEN_MAX_AGE = timedelta(days=730 + 365)

# Where a token is presented: the old forms are read only where they were handed out.
Surface = Literal["pages", "api"]


def booking_access_expiry(*, ends_at: datetime) -> datetime:
    """Until when a token for a booking ending at `ends_at` opens it."""
    return ends_at + timedelta(days=settings.BOOKING_LINK_GRACE_DAYS)


def booking_access_token(
    *, booking_id: uuid.UUID | str, ends_at: datetime | None = None, schema: str | None = None
) -> str:
    """The token for one booking of the business whose schema is `schema` (by default the
    one the connection is on). `ends_at` is the booking's end; without it the booking is
    read from that schema (Booking.DoesNotExist when there is none)."""
    schema = schema or current_schema()
    if ends_at is None:
        ends_at = _booking_end(booking_id=booking_id, schema=schema)
        if ends_at is None:
            raise Booking.DoesNotExist("No booking to make a token for.")
    expires = int(booking_access_expiry(ends_at=ends_at).timestamp())
    return signing.dumps(
        {"b": str(booking_id), "s": schema, "e": expires}, salt=SALT, compress=False
    )


def booking_access_read(
    token: str, *, surface: Surface, now: datetime | None = None
) -> uuid.UUID | None:
    """The booking id the token was made for on this tenant, or None when the token is
    malformed, forged or altered, made on another tenant, an old form shown where it was
    never valid, or one naming no booking here. Raises BookingLinkExpired for a genuine
    token of this tenant whose booking ended more than the grace ago."""
    if not token or len(token) > MAX_LENGTH:
        return None
    claims = _claims(token, surface=surface)
    if claims is None:
        return None
    booking_id, expires_at = claims
    now = now or timezone.now()
    if expires_at is not None and now < expires_at:
        return booking_id
    # Past the expiry the token carries (its booking may have moved later since), or a
    # token from before they carried one: the booking's own end decides.
    ends_at = _booking_end(booking_id=booking_id, schema=current_schema())
    if ends_at is None:
        return None
    if now < booking_access_expiry(ends_at=ends_at):
        return booking_id
    raise BookingLinkExpired()


def _claims(token: str, *, surface: Surface) -> tuple[uuid.UUID, datetime | None] | None:
    """(booking id, expiry or None for a token made before they carried one) of a token
    signed by us for this tenant, else None."""
    data = _loads(token, salt=SALT)
    if data is None and surface == "api":
        data = _loads(token, salt=LEGACY_API_SALT, max_age=LEGACY_TOKEN_MAX_AGE)
    if data is None and surface == "pages":
        legacy_id = _loads(token, salt=LEGACY_PAGE_SALT, max_age=LEGACY_TOKEN_MAX_AGE)
        data = {"b": legacy_id, "s": current_schema()} if isinstance(legacy_id, str) else None
    if not isinstance(data, dict) or data.get("s") != current_schema():
        return None
    try:
        booking_id = uuid.UUID(str(data.get("b")))
    except ValueError:
        return None
    expires = data.get("e")
    if expires is None:
        return booking_id, None
    if not isinstance(expires, int) or isinstance(expires, bool):
        return None
    try:
        return booking_id, datetime.fromtimestamp(expires, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _booking_end(*, booking_id: uuid.UUID | str, schema: str) -> datetime | None:
    ends = Booking.objects.filter(pk=booking_id).values_list("ends_at", flat=True)
    if schema == current_schema():
        return ends.first()
    with schema_context(schema):
        return ends.first()


def _loads(token: str, *, salt: str, max_age: timedelta | None = None) -> object | None:
    try:
        return signing.loads(token, salt=salt, max_age=max_age)
    except (signing.BadSignature, ValueError, TypeError):
        return None
