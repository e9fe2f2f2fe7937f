"""The review link a customer is sent when their booking is marked completed:
`/review/<token>/` on the business's own domain.

The token is `django.core.signing` of the booking id, the business's schema and an
expiry (REVIEW_LINK_DAYS after it was made), under its own salt, so a manage link is no
review link and the reverse. Read on another business's domain, a genuine token is
refused as "another business's" (it opens nothing there); past its expiry it is refused
as expired, unless its review was written and may still be changed (the 14 days count
from writing, and may end after the link's own expiry).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from django.core import signing
from django.utils import timezone

from apps.accounts.addresses import tenant_base_url
from apps.accounts.models import Tenant
from apps.core.tenancy import current_schema
from apps.reviews.errors import ReviewLinkExpired, ReviewLinkInvalid, ReviewLinkOtherBusiness
from apps.reviews.models import Review

SALT = "timenest.review-link"
MAX_LENGTH = 512
REVIEW_LINK_DAYS = 30


def review_token(*, booking_id: uuid.UUID, schema: str, now: datetime | None = None) -> str:
    expires = (now or timezone.now()) + timedelta(days=REVIEW_LINK_DAYS)
    return signing.dumps(
        {"b": str(booking_id), "s": schema, "e": int(expires.timestamp())},
        salt=SALT,
        compress=False,
    )


def review_url(*, booking_id: uuid.UUID, tenant: Tenant, now: datetime | None = None) -> str:
    token = review_token(booking_id=booking_id, schema=tenant.schema_name, now=now)
    return f"{tenant_base_url(tenant)}/review/{token}/"


def review_token_read(token: str, *, now: datetime | None = None) -> uuid.UUID:
    """The booking id a genuine token of this business names. Raises ReviewLinkInvalid
    (malformed, forged, altered), ReviewLinkOtherBusiness or ReviewLinkExpired."""
    if not token or len(token) > MAX_LENGTH:
        raise ReviewLinkInvalid()
    try:
        data = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        raise ReviewLinkInvalid() from None
    if not isinstance(data, dict):
        raise ReviewLinkInvalid()
    expires = data.get("e")
    try:
        booking_id = uuid.UUID(str(data.get("b")))
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise ValueError
        expires_at = datetime.fromtimestamp(expires, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise ReviewLinkInvalid() from None
    if data.get("s") != current_schema():
        raise ReviewLinkOtherBusiness()
    now = now or timezone.now()
    if (
        now >= expires_at
        and not Review.objects.filter(
            booking_id=booking_id, editable_until__gt=now, anonymised_at__isnull=True
        ).exists()
    ):
        raise ReviewLinkExpired()
    return booking_id
