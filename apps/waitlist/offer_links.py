"""The one-click link of a waitlist offer: `/waitlist/offer/<token>/` on the business's
domain, where the token is `django.core.signing` of the offer id, the business's schema
and an expiry (the offered time's end plus BOOKING_LINK_GRACE_DAYS, like a booking's
access token, apps/bookings/access_tokens.py). It cannot be forged or altered without
SECRET_KEY and opens that one offer on that one business only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.core import signing
from django.utils import timezone

from apps.accounts.addresses import tenant_base_url
from apps.accounts.models import Tenant
from apps.bookings.access_tokens import booking_access_expiry
from apps.core.tenancy import current_schema
from apps.waitlist.models import WaitlistOffer

SALT = "timenest.waitlist-offer"
MAX_LENGTH = 512


def offer_token(offer: WaitlistOffer, *, schema: str | None = None) -> str:
    expires = int(booking_access_expiry(ends_at=offer.booking.ends_at).timestamp())
    return signing.dumps(
        {"o": str(offer.pk), "s": schema or current_schema(), "e": expires},
        salt=SALT,
        compress=False,
    )


def offer_confirm_url(offer: WaitlistOffer, *, tenant: Tenant) -> str:
    """The address the offer's email and text carry (served by the booking pages)."""
    return (
        f"{tenant_base_url(tenant)}/waitlist/offer/{offer_token(offer, schema=tenant.schema_name)}/"
    )


def offer_token_read(token: str, *, now: datetime | None = None) -> uuid.UUID | None:
    """The offer id a token was made for on this business, or None when it is malformed,
    forged, another business's or expired."""
    if not token or len(token) > MAX_LENGTH:
        return None
    try:
        data = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("s") != current_schema():
        return None
    expires = data.get("e")
    if not isinstance(expires, int) or isinstance(expires, bool):
        return None
    if datetime.fromtimestamp(expires, tz=UTC) <= (now or timezone.now()):
        return None
    try:
        return uuid.UUID(str(data.get("o")))
    except ValueError:
        return None
